//! TLS material: where certificates come from and the server's mTLS configuration.
//!
//! Without paths, the development certificates from `certs/` are used; they are embedded in the
//! binary so that `vnpop serve` works from any directory. DEVELOPMENT ONLY.

use std::{fs, io, path::Path, sync::Arc};

use tokio_rustls::rustls::{
    self,
    crypto::ring,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};

/// PEM text of a CA certificate, a certificate and its key.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// The embedded development CA certificate.
pub(crate) const DEV_CA_PEM: &str = include_str!("../../certs/ca.pem");

impl TlsMaterial {
    /// The embedded development server identity.
    pub(crate) fn development_server() -> Self {
        TlsMaterial {
            ca_pem: DEV_CA_PEM.to_owned(),
            cert_pem: include_str!("../../certs/server.pem").to_owned(),
            key_pem: include_str!("../../certs/server.key").to_owned(),
        }
    }

    /// The embedded development client identity of the agency `simulation` (role agency, every
    /// field, allowed load tests): what `vnpop load` calls with unless given other certificates.
    pub(crate) fn development_simulation_client() -> Self {
        TlsMaterial {
            ca_pem: DEV_CA_PEM.to_owned(),
            cert_pem: include_str!("../../certs/simulation.pem").to_owned(),
            key_pem: include_str!("../../certs/simulation.key").to_owned(),
        }
    }

    /// Reads the three PEM files.
    pub fn read(ca: &Path, cert: &Path, key: &Path) -> io::Result<Self> {
        let read = |p: &Path| {
            fs::read_to_string(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        Ok(TlsMaterial {
            ca_pem: read(ca)?,
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        })
    }

    /// The server's rustls configuration: TLS 1.2 and 1.3 (ring), a client certificate that
    /// chains to `ca_pem` required, HTTP/2 by ALPN.
    pub(crate) fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
        };
        let certs = |pem: &str, what: &str| {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(what, &e))?;
            if certs.is_empty() {
                return Err(invalid(what, &"no PEM certificate found"));
            }
            Ok(certs)
        };
        let mut roots = RootCertStore::empty();
        for ca in certs(&self.ca_pem, "CA certificate")? {
            roots.add(ca).map_err(|e| invalid("CA certificate", &e))?;
        }
        let provider = Arc::new(ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .map_err(|e| invalid("client certificate verifier", &e))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| invalid("server key", &e))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e: rustls::Error| invalid("TLS versions", &e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs(&self.cert_pem, "server certificate")?, key)
            .map_err(|e| invalid("server certificate and key", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}
