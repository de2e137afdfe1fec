//! TLS material: where certificates come from and the server's mTLS configuration.
//!
//! Without paths, the development certificates from `certs/` are used; they are embedded in the
//! binary so that `vnpop serve` works from any directory. DEVELOPMENT ONLY.

use std::{fs, io, path::Path};

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// PEM text of a CA certificate, a certificate and its key.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// The embedded development CA certificate.
pub const DEV_CA_PEM: &str = include_str!("../../certs/ca.pem");

impl TlsMaterial {
    /// The embedded development server identity.
    pub fn development_server() -> Self {
        TlsMaterial {
            ca_pem: DEV_CA_PEM.to_owned(),
            cert_pem: include_str!("../../certs/server.pem").to_owned(),
            key_pem: include_str!("../../certs/server.key").to_owned(),
        }
    }

    /// The embedded development client identity of the one-stop shop `one-stop-ba-dinh` (role
    /// agency, every field): what `vnpop load` calls with unless given other certificates.
    pub fn development_one_stop_client() -> Self {
        TlsMaterial {
            ca_pem: DEV_CA_PEM.to_owned(),
            cert_pem: include_str!("../../certs/one-stop-ba-dinh.pem").to_owned(),
            key_pem: include_str!("../../certs/one-stop-ba-dinh.key").to_owned(),
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

    /// Server configuration that requires a client certificate signed by `ca_pem`.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
    }
}
