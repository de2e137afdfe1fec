//! The tonic implementation of `vnpop.v1.AuditTrail`: agencies ingest what they report, auditors
//! ask for ratios, signed tree heads and proofs.
//!
//! Queries open their own read connection (SQLite WAL readers never block the writer) and run on
//! the blocking pool; what each answers is in [`super::answers`], shared with `vnpop audit --db`.

//!
//! The service's files: the service and its RPCs here (each auditor query hands its reader to
//! [`super::answers`]); `ingest` (agencies' reports through the reporting rules into the log);
//! `proofs` (signed heads, inclusion and consistency proofs from the stored tree).

mod ingest;
mod proofs;

use std::{path::PathBuf, sync::Arc};

use tonic::{Request, Response, Status};

use super::{
    answers, merkle, query::AuditReader, quota::IngestQuotas, recorder::ServedRecorder, AuditError,
    SignedTreeHead,
};
use crate::{
    error::ApiError,
    proto::{self, audit_trail_server::AuditTrail},
    security::{Agency, Authenticator},
};

/// Most events in one Ingest call.
pub const MAX_INGEST_BATCH: usize = 10_000;

/// The `AuditTrail` service: agencies' reports in, auditors' questions answered.
#[derive(Clone)]
pub struct AuditService {
    authn: Arc<Authenticator>,
    recorder: Arc<ServedRecorder>,
    quotas: Arc<IngestQuotas>,
}

impl AuditService {
    /// The service over the log `recorder` writes to, for the callers `authn` knows.
    pub fn new(authn: Arc<Authenticator>, recorder: Arc<ServedRecorder>) -> Self {
        AuditService {
            authn,
            recorder,
            quotas: Arc::default(),
        }
    }

    /// The calling agency, if its role passes `allowed` for `rpc`.
    fn caller<T>(
        &self,
        request: &Request<T>,
        rpc: &'static str,
        allowed: fn(&Agency) -> bool,
    ) -> Result<Arc<Agency>, ApiError> {
        let agency = self.authn.identify(request)?;
        if !allowed(&agency) {
            return Err(ApiError::RoleNotAllowed {
                agency: agency.id.clone(),
                role: agency.role.name().to_owned(),
                rpc,
            });
        }
        Ok(agency)
    }

    /// Refuses a caller whose role may not audit.
    fn auditor<T>(&self, request: &Request<T>, rpc: &'static str) -> Result<(), ApiError> {
        self.caller(request, rpc, |a| a.role.may_audit())
            .map(|_| ())
    }

    /// Runs a read-only query on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&AuditReader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        // Read-your-writes: everything acknowledged before this query is in the query tables.
        self.recorder
            .log()
            .caught_up()
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let path: PathBuf = self.recorder.log().path().to_owned();
        tokio::task::spawn_blocking(move || {
            let reader = AuditReader::open(&path).map_err(ApiError::AuditUnavailable)?;
            query(&reader)
        })
        .await
        .map_err(|e| ApiError::AuditUnavailable(AuditError::Write(e.to_string())))?
    }
}

#[tonic::async_trait]
impl AuditTrail for AuditService {
    async fn list_unverified_dossiers(
        &self,
        request: Request<proto::ListUnverifiedDossiersRequest>,
    ) -> Result<Response<proto::ListUnverifiedDossiersResponse>, Status> {
        self.auditor(&request, "ListUnverifiedDossiers")?;
        let request = request.into_inner();
        let page = self
            .read(move |reader| answers::unverified_dossiers(reader, request))
            .await?;
        Ok(Response::new(page))
    }

    type ListEventsStream =
        tokio_stream::wrappers::ReceiverStream<Result<proto::LoggedEvent, Status>>;

    async fn list_events(
        &self,
        request: Request<proto::ListEventsRequest>,
    ) -> Result<Response<Self::ListEventsStream>, Status> {
        self.auditor(&request, "ListEvents")?;
        let filter = answers::event_filter(request.into_inner())?;
        let path = self.recorder.log().path().to_owned();
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::task::spawn_blocking(move || {
            let result = AuditReader::open(&path).and_then(|reader| {
                reader.events(&filter, |event| {
                    tx.blocking_send(Ok(answers::logged_event(event))).is_ok()
                })
            });
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(ApiError::AuditUnavailable(error).into()));
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn citizen_access_log(
        &self,
        request: Request<proto::CitizenAccessLogRequest>,
    ) -> Result<Response<proto::CitizenAccessLogResponse>, Status> {
        self.auditor(&request, "CitizenAccessLog")?;
        let request = request.into_inner();
        let recorder = Arc::clone(&self.recorder);
        let accesses = self
            .read(move |reader| {
                answers::citizen_accesses(reader, request, |cccd| recorder.subject(cccd))
            })
            .await?;
        Ok(Response::new(accesses))
    }

    async fn ingest(
        &self,
        request: Request<proto::IngestRequest>,
    ) -> Result<Response<proto::IngestResponse>, Status> {
        self.ingest_reports(request).await
    }

    async fn lookup_ratio(
        &self,
        request: Request<proto::LookupRatioRequest>,
    ) -> Result<Response<proto::LookupRatioResponse>, Status> {
        self.auditor(&request, "LookupRatio")?;
        let request = request.into_inner();
        let ratio = self
            .read(move |reader| answers::lookup_ratio(reader, request))
            .await?;
        Ok(Response::new(ratio))
    }

    async fn get_tree_head(
        &self,
        request: Request<proto::GetTreeHeadRequest>,
    ) -> Result<Response<proto::SignedTreeHead>, Status> {
        self.auditor(&request, "GetTreeHead")?;
        let public_key = self.recorder.log().public_key().to_bytes();
        let head = self
            .read(|reader| reader.latest_head().map_err(ApiError::AuditUnavailable))
            .await?;
        let head = head.unwrap_or(SignedTreeHead {
            tree_size: 0,
            root: merkle::empty_root(),
            signed_at_ms: 0,
            signature: [0; 64],
        });
        Ok(Response::new(proofs::head_message(head, public_key)))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<proto::GetInclusionProofRequest>,
    ) -> Result<Response<proto::InclusionProof>, Status> {
        self.auditor(&request, "GetInclusionProof")?;
        let request = request.into_inner();
        let proof = self
            .read(move |reader| proofs::inclusion_proof(reader, &request))
            .await?;
        Ok(Response::new(proof))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<proto::GetConsistencyProofRequest>,
    ) -> Result<Response<proto::ConsistencyProof>, Status> {
        self.auditor(&request, "GetConsistencyProof")?;
        let request = request.into_inner();
        let proof = self
            .read(move |reader| proofs::consistency_proof(reader, &request))
            .await?;
        Ok(Response::new(proof))
    }

    async fn verify_log(
        &self,
        request: Request<proto::VerifyLogRequest>,
    ) -> Result<Response<proto::VerifyLogResponse>, Status> {
        self.auditor(&request, "VerifyLog")?;
        let public_key = self.recorder.log().public_key();
        self.recorder
            .log()
            .caught_up()
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let log = Arc::clone(self.recorder.log());
        let report = tokio::task::spawn_blocking(move || log.verify())
            .await
            .map_err(|e| ApiError::AuditUnavailable(AuditError::Write(e.to_string())))?
            .map_err(ApiError::AuditUnavailable)?;
        let key = public_key.to_bytes();
        Ok(Response::new(proto::VerifyLogResponse {
            intact: report.tamper.is_none(),
            events: report.events,
            heads_checked: report.heads_checked as u64,
            latest_head: report.latest_head.map(|h| proofs::head_message(h, key)),
            problem: report
                .tamper
                .as_ref()
                .map_or_else(String::new, |t| t.to_string()),
            problem_kind: report.tamper.as_ref().map_or("", |t| t.kind()).to_owned(),
            first_bad_seq: report.tamper.as_ref().map_or(0, |t| t.first_seq()),
        }))
    }

    async fn reconcile(
        &self,
        request: Request<proto::ReconcileRequest>,
    ) -> Result<Response<proto::ReconcileResponse>, Status> {
        self.auditor(&request, "Reconcile")?;
        let request = request.into_inner();
        let result = self
            .read(move |reader| answers::reconcile(reader, request))
            .await?;
        Ok(Response::new(result))
    }
}
