//! The client library that agency software links to (feature `client`, no server code).
//!
//! ```no_run
//! # async fn example() -> Result<(), vnpop::client::ClientError> {
//! use vnpop::client::{ClientTls, LookupContext, RegistryClient};
//!
//! let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-ba-dinh.pem", "certs/one-stop-ba-dinh.key")?;
//! let client = RegistryClient::connect("https://localhost:50051", Some(tls)).await?;
//! let context = LookupContext::new("000.00.01.H26-261123-0001", "đăng ký thường trú", "officer-017");
//! let answer = client.lookup_by_cccd(&context, "001090012345").await?;
//! println!("{:?}", answer.citizen.and_then(|c| c.full_name));
//! # Ok(()) }
//! ```

mod admin;
mod agency;
mod outbox;

use std::{fs, path::Path};

pub use admin::AdminClient;
pub use agency::{AgencyClient, AgencyClientConfig, Dossier, DossierChannel, DossierInfo};
pub use outbox::{Outbox, OutboxError, QuarantinedEvent};

use tonic::{
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
    Code, Status,
};
use tonic_types::StatusExt;

use crate::proto::{
    self, audit_trail_client::AuditTrailClient, citizen_registry_client::CitizenRegistryClient,
};

mod vneid;

pub use vneid::{TokenVerifier, VneidClient};

/// Why a call through the client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {path}: {source}")]
    ReadTls {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to vnpop: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The connection to the server failed; `cause` says why in words a user can act on.
    #[error("cannot connect to vnpop at {endpoint}: {cause}")]
    Unreachable { endpoint: String, cause: String },
    #[error("vnpop answered {}: {}", .0.code(), .0.message())]
    Rpc(#[from] Status),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("{pending} audit event(s) are still waiting for delivery (kept in the outbox)")]
    FlushTimeout { pending: u64 },
    /// The event breaks a reporting rule (checked before it is queued): nothing was recorded and,
    /// for a lookup, nothing was called.
    #[error("the audit event would be refused: {0}")]
    EventRefused(#[from] crate::reporting::Refusal),
    /// The server refused the event (`IngestResponse.refused`).
    #[error("vnpop refused the audit event ({reason}, {field}): {message}")]
    RefusedByServer {
        code: String,
        reason: String,
        field: String,
        message: String,
    },
}

impl From<tokio::task::JoinError> for ClientError {
    fn from(error: tokio::task::JoinError) -> Self {
        ClientError::Outbox(OutboxError::Task(error.to_string()))
    }
}

impl ClientError {
    /// The gRPC status code (UNAVAILABLE when the connection failed).
    pub fn code(&self) -> Code {
        match self {
            ClientError::Rpc(status) => status.code(),
            ClientError::EventRefused(refusal) if refusal.is_permission() => Code::PermissionDenied,
            ClientError::RefusedByServer { code, .. } if code == "PERMISSION_DENIED" => {
                Code::PermissionDenied
            }
            ClientError::EventRefused(_) | ClientError::RefusedByServer { .. } => {
                Code::InvalidArgument
            }
            _ => Code::Unavailable,
        }
    }

    /// The reason code from google.rpc.ErrorInfo (see the README's error catalogue).
    pub fn reason(&self) -> Option<String> {
        match self {
            ClientError::Rpc(status) => status
                .get_error_details()
                .error_info()
                .map(|i| i.reason.clone()),
            ClientError::EventRefused(refusal) => Some(refusal.reason().to_owned()),
            ClientError::RefusedByServer { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }

    /// The fields named by google.rpc.BadRequest, for INVALID_ARGUMENT.
    pub fn invalid_fields(&self) -> Vec<String> {
        match self {
            ClientError::Rpc(status) => status
                .get_error_details()
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                .unwrap_or_default(),
            ClientError::EventRefused(refusal) => vec![refusal.field().to_owned()],
            ClientError::RefusedByServer { field, .. } => vec![field.clone()],
            _ => Vec::new(),
        }
    }
}

/// The agency's mTLS identity and the CA it trusts.
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// The name the server certificate must carry; "localhost" for the development one.
    pub domain: String,
    /// Where the CA and the client certificate were read from, for error messages.
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
}

impl ClientTls {
    pub fn from_pem(ca_pem: String, cert_pem: String, key_pem: String) -> Self {
        ClientTls {
            ca_pem,
            cert_pem,
            key_pem,
            domain: "localhost".into(),
            ca_file: None,
            cert_file: None,
        }
    }

    /// Reads the CA certificate, the client certificate and its key from PEM files.
    pub fn from_files(
        ca: impl AsRef<Path>,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ClientError> {
        let read = |p: &Path| {
            fs::read_to_string(p).map_err(|source| ClientError::ReadTls {
                path: p.display().to_string(),
                source,
            })
        };
        let mut tls = Self::from_pem(
            read(ca.as_ref())?,
            read(cert.as_ref())?,
            read(key.as_ref())?,
        );
        tls.ca_file = Some(ca.as_ref().display().to_string());
        tls.cert_file = Some(cert.as_ref().display().to_string());
        Ok(tls)
    }

    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    fn config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(self.domain.clone())
    }
}

/// Why and for which dossier a lookup is made; sent with every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupContext {
    pub dossier_id: String,
    pub purpose: String,
    pub officer_id: String,
    /// Marks synthetic load-test traffic.
    pub load_test: bool,
}

impl LookupContext {
    pub fn new(
        dossier_id: impl Into<String>,
        purpose: impl Into<String>,
        officer_id: impl Into<String>,
    ) -> Self {
        LookupContext {
            dossier_id: dossier_id.into(),
            purpose: purpose.into(),
            officer_id: officer_id.into(),
            load_test: false,
        }
    }

    pub(crate) fn to_proto(&self) -> Option<proto::RequestContext> {
        Some(proto::RequestContext {
            dossier_id: self.dossier_id.clone(),
            purpose: self.purpose.clone(),
            officer_id: self.officer_id.clone(),
            load_test: self.load_test,
        })
    }
}

/// A connection to the CitizenRegistry service. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    inner: CitizenRegistryClient<Channel>,
}

/// Opens a channel to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server
/// started with --insecure. One channel can serve several clients.
pub async fn connect_channel(
    endpoint: &str,
    tls: Option<&ClientTls>,
) -> Result<Channel, ClientError> {
    let address = endpoint.to_owned();
    let mut endpoint = Endpoint::from_shared(address.clone())?;
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls.config())?;
    }
    endpoint
        .connect()
        .await
        .map_err(|error| match connection_failure(&error, tls) {
            Some(cause) => ClientError::Unreachable {
                endpoint: address,
                cause,
            },
            None => ClientError::Connect(error),
        })
}

/// Why a connection failed, in words a user can act on, if `error` (or what caused it) says:
/// nothing listening, the server's certificate not verifying against our CA, or our certificate
/// refused by the server. `None` for anything else. A server that refuses our certificate says so
/// after the TLS 1.3 handshake, so that failure shows on the first call, not on connecting: give
/// its status to this function too.
pub fn connection_failure(
    error: &(dyn std::error::Error + 'static),
    tls: Option<&ClientTls>,
) -> Option<String> {
    let ca = tls
        .and_then(|t| t.ca_file.clone())
        .unwrap_or_else(|| "the given CA certificate".into());
    let cert = tls
        .and_then(|t| t.cert_file.clone())
        .unwrap_or_else(|| "our client certificate".into());
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => {
                    return Some("connection refused (is `vnpop serve` running there?)".into())
                }
                TimedOut => return Some("no answer (timed out)".into()),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
                    if tls.is_some() =>
                {
                    return Some(format!(
                        "the server closed the connection; it may have refused our certificate \
                         {cert}"
                    ))
                }
                _ => {}
            }
            // rustls reports TLS failures as an io::Error wrapping its own error (or its text).
            let inner = io.get_ref().map(ToString::to_string).unwrap_or_default();
            if inner.contains("invalid peer certificate") || inner.starts_with("InvalidCertificate")
            {
                return Some(format!(
                    "the server's certificate did not verify against the CA in {ca} ({inner})"
                ));
            }
            if inner.contains("received fatal alert") {
                return Some(format!(
                    "the server refused our certificate {cert} ({inner}): is it signed by the \
                     server's CA?"
                ));
            }
        }
        if error.source().is_none() && error.to_string() == "connection closed" && tls.is_some() {
            // hyper's words when the server drops the connection as the first call goes out,
            // which is how a refused certificate can look too.
            return Some(format!(
                "the server closed the connection; it may have refused our certificate {cert}"
            ));
        }
        next = error.source();
    }
    None
}

impl RegistryClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server started
    /// with --insecure.
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    pub fn from_channel(channel: Channel) -> Self {
        RegistryClient {
            inner: CitizenRegistryClient::new(channel),
        }
    }

    /// The generated client, for requests this wrapper does not build (e.g. deliberately
    /// malformed ones in tests).
    pub fn raw(&self) -> CitizenRegistryClient<Channel> {
        self.inner.clone()
    }

    pub async fn lookup_by_cccd(
        &self,
        context: &LookupContext,
        cccd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let request = proto::LookupByCccdRequest {
            context: context.to_proto(),
            cccd_number: cccd_number.to_owned(),
        };
        Ok(self.raw().lookup_by_cccd(request).await?.into_inner())
    }

    pub async fn lookup_by_cmnd(
        &self,
        context: &LookupContext,
        cmnd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let request = proto::LookupByCmndRequest {
            context: context.to_proto(),
            cmnd_number: cmnd_number.to_owned(),
        };
        Ok(self.raw().lookup_by_cmnd(request).await?.into_inner())
    }

    pub async fn verify_demographics(
        &self,
        context: &LookupContext,
        cccd_number: &str,
        declared: proto::Declared,
    ) -> Result<proto::VerifyDemographicsResponse, ClientError> {
        let request = proto::VerifyDemographicsRequest {
            context: context.to_proto(),
            cccd_number: cccd_number.to_owned(),
            declared: Some(declared),
        };
        Ok(self.raw().verify_demographics(request).await?.into_inner())
    }

    pub async fn verify_qr(
        &self,
        context: &LookupContext,
        qr_payload: &str,
    ) -> Result<proto::VerifyQrResponse, ClientError> {
        let request = proto::VerifyQrRequest {
            context: context.to_proto(),
            qr_payload: qr_payload.to_owned(),
        };
        Ok(self.raw().verify_qr(request).await?.into_inner())
    }

    /// Who the server takes this client to be (agency, role, field scope), from its
    /// certificate: a quick check of a new certificate. Reads no citizen and is not audited.
    pub async fn who_am_i(&self) -> Result<proto::WhoAmIResponse, ClientError> {
        Ok(self
            .raw()
            .who_am_i(proto::WhoAmIRequest {})
            .await?
            .into_inner())
    }
}

/// A connection to the AuditTrail service (auditors' queries; agencies' Ingest).
#[derive(Debug, Clone)]
pub struct AuditClient {
    inner: AuditTrailClient<Channel>,
}

impl AuditClient {
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    pub fn from_channel(channel: Channel) -> Self {
        AuditClient {
            inner: AuditTrailClient::new(channel),
        }
    }

    /// The generated client, for every RPC of the service.
    pub fn raw(&self) -> AuditTrailClient<Channel> {
        self.inner.clone()
    }

    pub async fn ingest(
        &self,
        events: Vec<proto::ReportedEvent>,
    ) -> Result<proto::IngestResponse, ClientError> {
        Ok(self
            .raw()
            .ingest(proto::IngestRequest { events })
            .await?
            .into_inner())
    }

    pub async fn lookup_ratio(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<Vec<proto::RatioRow>, ClientError> {
        Ok(self.raw().lookup_ratio(request).await?.into_inner().rows)
    }

    pub async fn tree_head(&self) -> Result<proto::SignedTreeHead, ClientError> {
        Ok(self
            .raw()
            .get_tree_head(proto::GetTreeHeadRequest {})
            .await?
            .into_inner())
    }

    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<proto::InclusionProof, ClientError> {
        let request = proto::GetInclusionProofRequest {
            leaf_index,
            tree_size,
        };
        Ok(self.raw().get_inclusion_proof(request).await?.into_inner())
    }

    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<proto::ConsistencyProof, ClientError> {
        let request = proto::GetConsistencyProofRequest { old_size, new_size };
        Ok(self
            .raw()
            .get_consistency_proof(request)
            .await?
            .into_inner())
    }
}
