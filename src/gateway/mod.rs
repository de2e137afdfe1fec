//! `vnpop gateway`: the durable audit trail for agency software in any language.
//!
//! The gateway runs beside the agency's software, holds the agency's client certificate and a
//! durable outbox ([`AgencyClient`]), and forwards to the vnpop server over mTLS. On one local
//! port it serves
//! - a REST/JSON API (`rest`): the verifying calls for a dossier named in the path, in the proto3
//!   JSON mapping of the same messages (`json`), errors as RFC 9457 problem+json carrying the gRPC
//!   code and reason (`error`), and its OpenAPI 3.1 document generated from the route table
//!   (`openapi`);
//! - the same gRPC services (`grpc`), the dossier taken from `context.dossier_id`, plus
//!   `AgencyGateway` to open dossiers.
//!
//! Every call goes through [`Gateway`], which resolves the dossier (it must have been opened here:
//! `dossiers`) and makes the call through the client library's [`Dossier`], so the event is in
//! the outbox before the answer leaves; the outbox is delivered in the background, across server
//! outages. Local callers are authenticated by an API key when one is set (`serve`), which is
//! required off loopback.

mod config;
mod dossiers;
mod error;
mod grpc;
mod health;
mod json;
pub mod openapi;
mod passthrough;
mod recent;
mod rest;
mod routes;
mod serve;

use std::net::SocketAddr;

pub use config::{check_api_key, ApiKeyRule, GatewayConfig, API_KEY_MAX_LEN, API_KEY_MIN_LEN};
pub use error::GatewayError;
pub use serve::RunningGateway;

use crate::{
    client::{AgencyClient, AgencyClientConfig, ClientTls, Dossier},
    proto,
};

/// The gateway's state: the agency client (outbox, connection) and the dossiers opened here.
pub(crate) struct Gateway {
    client: AgencyClient,
    dossiers: dossiers::DossierIndex,
    server: String,
    /// The server's reachability, as the health probe last found it.
    upstream: health::Upstream,
}

/// How long opening a dossier waits to learn the agency's reporting rules from the server, when
/// they are not known yet (the gateway has not reached the server since it started).
const RULES_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Gateway {
    /// Opens the outbox and the dossier index under `config.data_dir`.
    pub(crate) async fn open(config: &GatewayConfig) -> Result<Self, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let tls = ClientTls::from_files(&config.ca, &config.cert, &config.key)
            .map_err(|e| StartError::Client(e.to_string()))?
            .with_domain(config.server_name.clone());
        let client = AgencyClient::open(AgencyClientConfig::new(
            config.server.clone(),
            Some(tls),
            config.data_dir.join("outbox.sqlite"),
        ))
        .await
        .map_err(|e| StartError::Client(e.to_string()))?;
        let path = config.data_dir.join("dossiers.sqlite");
        let dossiers = tokio::task::spawn_blocking(move || dossiers::DossierIndex::open(&path))
            .await
            .map_err(|e| StartError::Client(e.to_string()))?
            .map_err(|e| StartError::Client(e.to_string()))?;
        Ok(Gateway {
            client,
            dossiers,
            server: config.server.clone(),
            upstream: health::Upstream::default(),
        })
    }

    /// Opens a dossier: checked against the agency's reporting rules (its district, its commune:
    /// refused with the rule's reason, nothing recorded), recorded in the outbox, then in the
    /// index, before it is answered. Returns the dossier and whether it is new.
    pub(crate) async fn open_dossier(
        &self,
        request: proto::OpenDossierRequest,
    ) -> Result<(proto::OpenedDossier, bool), GatewayError> {
        if let Some(known) = self.dossiers.get(request.dossier_id.trim()) {
            return if dossiers::same_dossier(&known, &request) {
                Ok((dossiers::to_proto(&known), false))
            } else {
                Err(GatewayError::DossierConflict(known.id.clone()))
            };
        }
        let info = dossiers::from_request(&request, crate::ids::now_ms())?;
        // The rules come from the server's directory (WhoAmI), asked once and kept; while the
        // server has never been reached the dossier is checked against the rules every agency
        // keeps, and the server checks the rest on delivery (outbox quarantine).
        let _ = tokio::time::timeout(RULES_WAIT, self.client.report_policy()).await;
        self.client.open_dossier(info.clone()).await?;
        let info = self.dossiers.insert(info).await?;
        Ok((dossiers::to_proto(&info), true))
    }

    pub(crate) fn get_dossier(&self, id: &str) -> Result<proto::OpenedDossier, GatewayError> {
        self.dossiers
            .get(id)
            .map(|info| dossiers::to_proto(&info))
            .ok_or_else(|| GatewayError::DossierNotOpened(id.to_owned()))
    }

    /// The dossier a call is for — named by the REST path (`path_id`) or by the request context —
    /// as the officer the context names, and the call's purpose.
    fn dossier(
        &self,
        path_id: Option<&str>,
        context: Option<&proto::RequestContext>,
    ) -> Result<(Dossier, String), GatewayError> {
        let empty = proto::RequestContext::default();
        let context = context.unwrap_or(&empty);
        // The officer and the purpose go on to the server and into the outbox's events: the
        // same characters are refused here as there, before anything is made or recorded.
        for (field, value) in [
            ("context.officer_id", &context.officer_id),
            ("context.purpose", &context.purpose),
        ] {
            crate::domain::check_safe_text(value.trim()).map_err(|unsafe_char| {
                GatewayError::InvalidField {
                    field,
                    message: unsafe_char.to_string(),
                }
            })?;
        }
        let id = match path_id {
            Some(path) if !context.dossier_id.is_empty() && context.dossier_id != path => {
                return Err(GatewayError::InvalidField {
                    field: "context.dossier_id",
                    message: format!(
                        "names dossier {:?} but the path names {path:?}; leave it out or make them equal",
                        context.dossier_id
                    ),
                })
            }
            Some(path) => path,
            None if context.dossier_id.trim().is_empty() => {
                return Err(GatewayError::InvalidField {
                    field: "context.dossier_id",
                    message: "required: every verification is made for a dossier".into(),
                })
            }
            None => context.dossier_id.trim(),
        };
        let info = self
            .dossiers
            .get(id)
            .ok_or_else(|| GatewayError::DossierNotOpened(id.to_owned()))?;
        // Asking the server in the caller's language (`serve::dispatch`).
        let mut dossier = self
            .client
            .resume_dossier((*info).clone())
            .in_language(crate::lang::layer::caller_language());
        if !context.officer_id.trim().is_empty() {
            dossier = dossier.by_officer(context.officer_id.trim());
        }
        Ok((dossier, context.purpose.clone()))
    }

    pub(crate) async fn lookup_by_cccd(
        &self,
        path_id: Option<&str>,
        request: proto::LookupByCccdRequest,
    ) -> Result<proto::LookupResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier
            .lookup_by_cccd(&purpose, &request.cccd_number)
            .await?)
    }

    pub(crate) async fn lookup_by_cmnd(
        &self,
        path_id: Option<&str>,
        request: proto::LookupByCmndRequest,
    ) -> Result<proto::LookupResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier
            .lookup_by_cmnd(&purpose, &request.cmnd_number)
            .await?)
    }

    pub(crate) async fn verify_demographics(
        &self,
        path_id: Option<&str>,
        request: proto::VerifyDemographicsRequest,
    ) -> Result<proto::VerifyDemographicsResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier
            .verify_demographics(
                &purpose,
                &request.cccd_number,
                request.declared.unwrap_or_default(),
            )
            .await?)
    }

    pub(crate) async fn verify_qr(
        &self,
        path_id: Option<&str>,
        request: proto::VerifyQrRequest,
    ) -> Result<proto::VerifyQrResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier.verify_qr(&purpose, &request.qr_payload).await?)
    }

    pub(crate) async fn start_vneid(
        &self,
        path_id: Option<&str>,
        request: proto::StartAuthenticationRequest,
    ) -> Result<proto::StartAuthenticationResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        let level = proto::VneidLevel::try_from(request.level).unwrap_or_default();
        Ok(dossier
            .start_vneid(&purpose, &request.cccd_number, level)
            .await?)
    }

    pub(crate) async fn complete_vneid(
        &self,
        path_id: Option<&str>,
        request: proto::CompleteAuthenticationRequest,
    ) -> Result<proto::CompleteAuthenticationResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier
            .complete_vneid(
                &purpose,
                &request.challenge_id,
                &request.passcode,
                &request.totp_code,
                request.chip_read,
            )
            .await?)
    }

    pub(crate) async fn verify_chip(
        &self,
        path_id: Option<&str>,
        request: proto::VerifyChipReadRequest,
    ) -> Result<proto::VerifyChipReadResponse, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        Ok(dossier
            .verify_chip(&purpose, request.chip_read.unwrap_or_default())
            .await?)
    }

    /// The gateway's state for `/health` (see `health`): its status, the server's reachability,
    /// events waiting in the outbox, dossiers known; the server's address only to an
    /// `authenticated` caller. The HTTP status is 503 when NOT_SERVING, 200 otherwise.
    pub(crate) async fn health(&self, authenticated: bool) -> (u16, serde_json::Value) {
        let pending = self.client.pending().await;
        let reach = self.upstream.get();
        let status = health::Status::of(reach, pending.is_ok());
        let mut document = serde_json::json!({
            "status": status.name(),
            "upstream": reach.name(),
            "dossiers": self.dossiers.len(),
        });
        match &pending {
            Ok(pending) => document["pendingEvents"] = (*pending).into(),
            Err(error) if authenticated => document["outboxError"] = error.to_string().into(),
            Err(_) => {}
        }
        if authenticated {
            document["server"] = self.server.clone().into();
        }
        let code = if status == health::Status::NotServing {
            503
        } else {
            200
        };
        (code, document)
    }

    pub(crate) fn client(&self) -> &AgencyClient {
        &self.client
    }
}

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to listen on {0} without an API key: off loopback, set --api-key (VNPOP_GATEWAY_API_KEY)")]
    ApiKeyRequired(SocketAddr),
    #[error("refusing the API key given by --api-key (VNPOP_GATEWAY_API_KEY): {0}")]
    ApiKey(#[from] ApiKeyRule),
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    #[error("no randomness for the API key's HMAC")]
    Randomness,
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Client(String),
}

/// Starts a gateway with `config` in the background.
pub async fn start(config: &GatewayConfig) -> Result<RunningGateway, StartError> {
    serve::start(config).await
}

/// `vnpop gateway`: runs until Ctrl-C.
pub fn run(config: GatewayConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = start(&config).await.map_err(|e| e.to_string())?;
        tracing::info!(listen = %running.local_addr, server = %config.server, "vnpop gateway: REST on http://{}/ (see /openapi.json), gRPC on the same port", running.local_addr);
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
        tracing::info!("shutting down; undelivered events stay in the outbox");
        running.shutdown().await;
        Ok(())
    })
}
