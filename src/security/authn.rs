//! Per-request authentication: which agency is calling.
//!
//! rustls has already checked during the handshake that the client certificate chains to the
//! configured CA; here its subject (CN, O) is mapped to an agency of the directory. Parsing a
//! certificate costs a few microseconds, so results are cached by certificate bytes.

use std::sync::Arc;

use dashmap::DashMap;
use tonic::Request;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Agency, AgencyDirectory};

/// Distinct client certificates remembered before the cache starts over.
const CACHE_LIMIT: usize = 4096;

/// Why a caller could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    #[error("no client certificate was presented; vnpop requires mutual TLS")]
    NoCertificate,
    #[error("the client certificate cannot be read: {0}")]
    BadCertificate(String),
    #[error(
        "no agency is configured for certificate subject CN={common_name:?} O={organization:?}"
    )]
    UnknownAgency {
        common_name: String,
        organization: Option<String>,
    },
}

#[derive(Debug)]
pub struct Authenticator {
    directory: AgencyDirectory,
    /// In plaintext mode, every caller is this agency.
    insecure_agency: Option<Arc<Agency>>,
    cache: DashMap<Vec<u8>, Arc<Agency>>,
}

impl Authenticator {
    /// Identifies callers by their mTLS client certificate.
    pub(crate) fn mtls(directory: AgencyDirectory) -> Self {
        Authenticator {
            directory,
            insecure_agency: None,
            cache: DashMap::new(),
        }
    }

    /// Plaintext mode: there is no certificate, so every caller is taken to be `agency`.
    pub fn insecure(directory: AgencyDirectory, agency: Arc<Agency>) -> Self {
        Authenticator {
            insecure_agency: Some(agency),
            ..Self::mtls(directory)
        }
    }

    pub fn directory(&self) -> &AgencyDirectory {
        &self.directory
    }

    /// The agency making this request.
    pub(crate) fn identify<T>(&self, request: &Request<T>) -> Result<Arc<Agency>, CallerError> {
        let certs = request.peer_certs();
        self.identify_leaf(certs.as_deref().and_then(|c| c.first()).map(|c| c.as_ref()))
    }

    /// The agency whose client certificate (DER) is `leaf`; for code that sees the connection's
    /// certificates before a tonic `Request` exists (the fault-injection layer).
    pub(crate) fn identify_leaf(&self, leaf: Option<&[u8]>) -> Result<Arc<Agency>, CallerError> {
        if let Some(agency) = &self.insecure_agency {
            return Ok(Arc::clone(agency));
        }
        let leaf = leaf.ok_or(CallerError::NoCertificate)?;
        if let Some(agency) = self.cache.get(leaf) {
            return Ok(Arc::clone(agency.value()));
        }
        let agency = self.agency_of(leaf)?;
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(leaf.to_vec(), Arc::clone(&agency));
        Ok(agency)
    }

    fn agency_of(&self, der: &[u8]) -> Result<Arc<Agency>, CallerError> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| CallerError::BadCertificate(e.to_string()))?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .find_map(|v| v.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let organization = subject
            .iter_organization()
            .find_map(|v| v.as_str().ok())
            .map(str::to_owned);
        self.directory
            .find(&common_name, organization.as_deref())
            .ok_or(CallerError::UnknownAgency {
                common_name,
                organization,
            })
    }
}
