//! Development material the server can run with, and the rule that keeps it off the network.
//!
//! The development CA, server certificate, mock CSCA and document signer under `certs/` have
//! public keys (they are in the repository), and the VNeID test credentials are derived from the
//! population seed. Any of them on a server that others can reach lets anyone impersonate an
//! agency, forge chip reads or log in as any citizen. So a server that listens on a non-loopback
//! address refuses to start with any of them, naming each, unless `--allow-dev-pki` is given.

use std::net::IpAddr;

/// One piece of development material in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevMaterial {
    /// The development CA (certs/ca.pem) as the trust anchor of client certificates.
    Ca,
    /// The development server certificate and key (certs/server.pem, certs/server.key).
    ServerCertificate,
    /// The development CSCA (certs/csca.pem) as the chip trust anchor.
    Csca,
    /// The development document signer (certs/document-signer.key), trusted through the
    /// development CSCA.
    DocumentSigner,
    /// VNeID credentials derived from the population seed (the VNeID service is on).
    SeedDerivedVneidCredentials,
}

impl DevMaterial {
    /// What the error and the warning call it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DevMaterial::Ca => "the development CA (certs/ca.pem; use --ca)",
            DevMaterial::ServerCertificate => {
                "the development server certificate (certs/server.pem; use --cert, --key)"
            }
            DevMaterial::Csca => "the development CSCA (certs/csca.pem; use --csca)",
            DevMaterial::DocumentSigner => {
                "the development document signer (certs/document-signer.key, public; trusted \
                 through the development CSCA)"
            }
            DevMaterial::SeedDerivedVneidCredentials => {
                "seed-derived VNeID test credentials (anyone with the seed logs in as anyone; \
                 use --disable-vneid)"
            }
        }
    }
}

/// Which development material a server would use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DevUse {
    /// The client CA is the development CA (embedded, or the same certificate given by path).
    pub ca: bool,
    /// The server certificate is the development one.
    pub server_certificate: bool,
    /// The chip trust anchor is the development CSCA.
    pub csca: bool,
    /// The VNeID service is served (its credentials are always seed-derived).
    pub vneid: bool,
}

impl DevUse {
    /// Each piece in use, in a fixed order.
    pub(crate) fn materials(self) -> Vec<DevMaterial> {
        let mut out = Vec::new();
        if self.ca {
            out.push(DevMaterial::Ca);
        }
        if self.server_certificate {
            out.push(DevMaterial::ServerCertificate);
        }
        if self.csca {
            out.push(DevMaterial::Csca);
            out.push(DevMaterial::DocumentSigner);
        }
        if self.vneid {
            out.push(DevMaterial::SeedDerivedVneidCredentials);
        }
        out
    }
}

/// Whether a server on `ip` may use `materials`: always on loopback; elsewhere only with
/// `allow` (`--allow-dev-pki`). `Err` lists what it would use.
pub fn check(ip: IpAddr, materials: &[DevMaterial], allow: bool) -> Result<(), String> {
    if ip.is_loopback() || materials.is_empty() || allow {
        return Ok(());
    }
    let named: Vec<&str> = materials.iter().map(|m| m.describe()).collect();
    Err(format!(
        "refusing to listen on {ip} with development material whose keys are public: {}. \
         Give your own (see docs/operating.md, \"Running it for real\"), or pass --allow-dev-pki for a \
         test network",
        named.join("; ")
    ))
}

/// Whether two PEM texts hold the same first certificate (so a development certificate copied
/// to another path is still recognised).
pub(crate) fn same_certificate(a: &str, b: &str) -> bool {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let first = |pem: &str| CertificateDer::pem_slice_iter(pem.as_bytes()).next()?.ok();
    matches!((first(a), first(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_always_elsewhere_only_when_allowed() {
        let all = DevUse {
            ca: true,
            server_certificate: true,
            csca: true,
            vneid: true,
        }
        .materials();
        assert_eq!(all.len(), 5);
        assert!(check("127.0.0.1".parse().unwrap(), &all, false).is_ok());
        assert!(check("::1".parse().unwrap(), &all, false).is_ok());
        assert!(check("0.0.0.0".parse().unwrap(), &all, true).is_ok());
        assert!(check("0.0.0.0".parse().unwrap(), &[], false).is_ok());
        let error = check("0.0.0.0".parse().unwrap(), &all, false).unwrap_err();
        for m in all {
            assert!(error.contains(m.describe()), "{error}");
        }
    }

    #[test]
    fn a_copied_certificate_is_recognised() {
        let ca = super::super::tls::DEV_CA_PEM;
        assert!(same_certificate(ca, &format!("\n{ca}")));
        assert!(!same_certificate(ca, "not a certificate"));
    }
}
