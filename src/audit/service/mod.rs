//! The tonic implementation of `vnpop.v1.AuditTrail`: agencies ingest what they report, auditors
//! ask for ratios, signed tree heads and proofs.
//!
//! Queries open their own read connection (SQLite WAL readers never block the writer) and run on
//! the blocking pool; what each answers is in [`super::answers`], shared with `vnpop audit --db`.
//! A reader is had only through `AuditService::read` or `AuditService::stream`, both of which
//! first wait for the log to be caught up (`AuditLog::caught_up_read`), so every
//! query sees what was acknowledged before it (read-your-writes, in a fleet too). Streamed
//! answers are made on the blocking pool chunk by chunk and sent through a bounded channel: the
//! reader waits for the connection, never collecting the answer.

//!
//! The service's files: the service and its RPCs here (each auditor query hands its reader to
//! [`super::answers`]); `ingest` (agencies' reports through the reporting rules into the log);
//! `proofs` (signed heads, inclusion and consistency proofs from the stored tree); `anomalies`
//! (FindAnomalies).

mod anomalies;
mod ingest;
mod proofs;

use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{
    answers, merkle, query::AuditReader, quota::IngestQuotas, reads::AuditReads,
    recorder::ServedRecorder, AuditError, SignedTreeHead,
};
use crate::{
    error::ApiError,
    proto::{self, audit_trail_server::AuditTrail},
    security::{Agency, Authenticator},
};

/// Most events in one Ingest call.
pub const MAX_INGEST_BATCH: usize = 10_000;

/// Messages of a streamed answer made ahead of the connection at most: chunked answers
/// (at most [`answers::CHUNK_BYTES`] each) and events (ListEvents, one a message).
const CHUNKS_AHEAD: usize = 4;
const EVENTS_AHEAD: usize = 256;

/// A streamed answer, as tonic sends it.
pub(crate) type AnswerStream<T> = ReceiverStream<Result<T, Status>>;

/// The `AuditTrail` service: agencies' reports in, auditors' questions answered.
#[derive(Clone)]
pub struct AuditService {
    authn: Arc<Authenticator>,
    /// What ingest writes through (and hashes citizens' numbers with).
    recorder: Arc<ServedRecorder>,
    /// What every auditor query reads through.
    reads: AuditReads,
    quotas: Arc<IngestQuotas>,
}

impl AuditService {
    /// The service over the log `recorder` writes to, for the callers `authn` knows.
    pub fn new(authn: Arc<Authenticator>, recorder: Arc<ServedRecorder>) -> Self {
        AuditService {
            authn,
            reads: AuditReads::new(Arc::clone(recorder.log())),
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

    /// The newest signed tree head (of an empty tree, unsigned, before the first event).
    async fn latest_head(&self) -> Result<SignedTreeHead, ApiError> {
        let head = self
            .read(|reader| reader.latest_head().map_err(ApiError::AuditUnavailable))
            .await?;
        Ok(head.unwrap_or(SignedTreeHead {
            tree_size: 0,
            root: merkle::empty_root(),
            signed_at_ms: 0,
            signature: [0; 64],
        }))
    }

    /// Runs a read-only query on the blocking pool, once the log is caught up.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&AuditReader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        // Read-your-writes: everything acknowledged before this query is in the query tables.
        let read = self
            .reads
            .caught_up_read()
            .await
            .map_err(ApiError::AuditUnavailable)?;
        tokio::task::spawn_blocking(move || {
            let reader = read.open().map_err(ApiError::AuditUnavailable)?;
            query(&reader)
        })
        .await
        .map_err(|e| ApiError::AuditUnavailable(AuditError::Write(e.to_string())))?
    }

    /// A streamed answer: once the log is caught up, `produce` runs on the blocking pool and
    /// hands each message to its sender, which waits while `ahead` messages are unsent and
    /// answers false once the caller went away (then `produce` should stop). An error after
    /// the first message ends the stream with its status.
    async fn stream<T: Send + 'static>(
        &self,
        ahead: usize,
        produce: impl FnOnce(&AuditReader, &mut dyn FnMut(T) -> bool) -> Result<(), ApiError>
            + Send
            + 'static,
    ) -> Result<AnswerStream<T>, ApiError> {
        let read = self
            .reads
            .caught_up_read()
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let (tx, rx) = tokio::sync::mpsc::channel(ahead);
        tokio::task::spawn_blocking(move || {
            let result = read
                .open()
                .map_err(ApiError::AuditUnavailable)
                .and_then(|reader| {
                    produce(&reader, &mut |message| {
                        tx.blocking_send(Ok(message)).is_ok()
                    })
                });
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error.into()));
            }
        });
        Ok(ReceiverStream::new(rx))
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

    type ListEventsStream = AnswerStream<proto::LoggedEvent>;

    async fn list_events(
        &self,
        request: Request<proto::ListEventsRequest>,
    ) -> Result<Response<Self::ListEventsStream>, Status> {
        self.auditor(&request, "ListEvents")?;
        let filter = answers::event_filter(request.into_inner())?;
        let stream = self
            .stream(EVENTS_AHEAD, move |reader, send| {
                reader
                    .events(&filter, |event| send(answers::logged_event(event)))
                    .map_err(ApiError::AuditUnavailable)
            })
            .await?;
        Ok(Response::new(stream))
    }

    type StreamLookupRatioStream = AnswerStream<proto::LookupRatioChunk>;

    async fn stream_lookup_ratio(
        &self,
        request: Request<proto::LookupRatioRequest>,
    ) -> Result<Response<Self::StreamLookupRatioStream>, Status> {
        self.auditor(&request, "StreamLookupRatio")?;
        let query = answers::ratio_query(request.into_inner())?;
        let stream = self
            .stream(CHUNKS_AHEAD, move |reader, send| {
                answers::lookup_ratio_chunks(reader, &query, send)
            })
            .await?;
        Ok(Response::new(stream))
    }

    type StreamReconcileStream = AnswerStream<proto::ReconcileChunk>;

    async fn stream_reconcile(
        &self,
        request: Request<proto::ReconcileRequest>,
    ) -> Result<Response<Self::StreamReconcileStream>, Status> {
        self.auditor(&request, "StreamReconcile")?;
        let query = answers::reconcile_query(request.into_inner())?;
        let stream = self
            .stream(CHUNKS_AHEAD, move |reader, send| {
                answers::reconcile_chunks(reader, &query, send)
            })
            .await?;
        Ok(Response::new(stream))
    }

    type FindAnomaliesStream = AnswerStream<proto::AnomaliesChunk>;

    async fn find_anomalies(
        &self,
        request: Request<proto::AnomaliesRequest>,
    ) -> Result<Response<Self::FindAnomaliesStream>, Status> {
        self.find_anomalies_answer(request).await
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
        let public_key = self.reads.public_key().to_bytes();
        let head = self.latest_head().await?;
        Ok(Response::new(proofs::head_message(head, public_key)))
    }

    async fn get_checkpoint(
        &self,
        request: Request<proto::GetCheckpointRequest>,
    ) -> Result<Response<proto::Checkpoint>, Status> {
        self.auditor(&request, "GetCheckpoint")?;
        let head = self.latest_head().await?;
        Ok(Response::new(proofs::checkpoint_message(
            &self.reads,
            &head,
        )))
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
        let public_key = self.reads.public_key();
        self.reads
            .caught_up()
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let reads = self.reads.clone();
        let report = tokio::task::spawn_blocking(move || reads.verify())
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
