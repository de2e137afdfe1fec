//! The tonic implementation of `vnpop.v1.AuditTrail`: agencies ingest what they report, auditors
//! ask for ratios, signed tree heads and proofs.
//!
//! Queries open their own read connection (SQLite WAL readers never block the writer) and run on
//! the blocking pool; what each answers is in [`super::answers`], shared with `vnpop audit --db`.

use std::{path::PathBuf, sync::Arc, time::Instant};

use tonic::{Request, Response, Status};

use super::{
    answers,
    merkle::{self, Subtrees},
    query::AuditReader,
    quota::IngestQuotas,
    recorder::ServedRecorder,
    AuditError, AuditEvent, EventKind, EventSource,
};
use crate::{
    error::{code_name, ApiError},
    proto::{self, audit_trail_server::AuditTrail, reported_event::Kind},
    reporting::Refusal,
    security::{Agency, Authenticator},
};

/// Most events in one Ingest call.
pub const MAX_INGEST_BATCH: usize = 10_000;

#[derive(Clone)]
pub struct AuditService {
    authn: Arc<Authenticator>,
    recorder: Arc<ServedRecorder>,
    quotas: Arc<IngestQuotas>,
}

impl AuditService {
    pub fn new(authn: Arc<Authenticator>, recorder: Arc<ServedRecorder>) -> Self {
        AuditService {
            authn,
            recorder,
            quotas: Arc::default(),
        }
    }

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

    /// A reported event as the log records it, once it has passed the reporting rules (see
    /// [`crate::reporting`]) for `agency` at the receive time `received_at_ms`: the agency is who
    /// the certificate says and the district is the directory's spelling, never what the event
    /// claims; the commune is its code and the province the one the directory and the geography
    /// give.
    fn event(
        &self,
        agency: &Agency,
        received_at_ms: i64,
        reported: proto::ReportedEvent,
    ) -> Result<AuditEvent, Refusal> {
        let place = agency.report.check(&reported, received_at_ms)?;
        let kind = match reported.kind {
            None => {
                return Err(Refusal::Invalid {
                    field: "kind",
                    message: "set dossier or verification".into(),
                })
            }
            Some(Kind::Dossier(d)) => EventKind::Dossier {
                procedure: d.procedure_code.trim().to_owned(),
                channel: d.channel,
            },
            Some(Kind::Verification(v)) => EventKind::Verification {
                rpc: v.rpc.trim().to_owned(),
                outcome: v.outcome.trim().to_owned(),
                purpose: v.purpose.trim().to_owned(),
                subject: match v.cccd_number.trim() {
                    "" => String::new(),
                    number => self.recorder.subject(number),
                },
            },
        };
        Ok(AuditEvent {
            event_id: reported.event_id.trim().to_owned(),
            source: EventSource::Client,
            dossier_id: reported.dossier_id.trim().to_owned(),
            agency_id: agency.id.clone(),
            district: place.district,
            officer_id: reported.officer_id.trim().to_owned(),
            occurred_at_ms: reported.occurred_at_ms,
            load_test: reported.load_test,
            commune: place.commune.map(|c| c.get()),
            province: place.province,
            kind,
        })
    }
}

/// What the Ingest answer says of a refused event: the status it alone would have had.
fn refusal_message(index: usize, event_id: String, refusal: Refusal) -> proto::EventRefusal {
    let error = ApiError::EventRefused { index, refusal };
    let field = error
        .violations()
        .into_iter()
        .next()
        .map(|(field, _)| field)
        .unwrap_or_default();
    proto::EventRefusal {
        index: index as u32,
        event_id: event_id
            .chars()
            .take(crate::reporting::MAX_ID_CHARS)
            .collect(),
        code: code_name(error.code()).to_owned(),
        reason: error.reason().to_string(),
        field,
        message: error.to_string(),
    }
}

fn head_message(head: super::SignedTreeHead, public_key: [u8; 32]) -> proto::SignedTreeHead {
    proto::SignedTreeHead {
        tree_size: head.tree_size,
        root_hash: head.root.to_vec(),
        signed_at_ms: head.signed_at_ms,
        signature: head.signature.to_vec(),
        public_key: public_key.to_vec(),
    }
}

/// The size a proof is asked for: 0 means the latest signed head.
fn resolve_size(reader: &AuditReader, field: &'static str, size: u64) -> Result<u64, ApiError> {
    let latest = reader
        .latest_head()
        .map_err(ApiError::AuditUnavailable)?
        .map_or(0, |h| h.tree_size);
    match size {
        0 => Ok(latest),
        s if s <= latest => Ok(s),
        s => Err(ApiError::InvalidField {
            field,
            message: format!("{s} is beyond the latest signed tree head ({latest})"),
        }),
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
        let agency = self.caller(&request, "Ingest", |a| a.role.may_look_up())?;
        let events = request.into_inner().events;
        if events.len() > MAX_INGEST_BATCH {
            return Err(ApiError::BatchTooLarge {
                count: events.len(),
                max: MAX_INGEST_BATCH,
            }
            .into());
        }
        self.quotas.take(&agency, events.len(), Instant::now())?;
        let received_at_ms = crate::ids::now_ms();
        let mut accepted = Vec::with_capacity(events.len());
        let mut refused = Vec::new();
        // The ids of refused events, to be looked up in the log: a redelivery of an event
        // already stored is a duplicate, whatever the rules say of it now (its backdate limit
        // may have passed while it waited for the acknowledgement).
        let mut probes = Vec::new();
        for (index, reported) in events.into_iter().enumerate() {
            let event_id = reported.event_id.clone();
            match self.event(&agency, received_at_ms, reported) {
                Ok(event) => accepted.push(event),
                Err(refusal) => {
                    let id = event_id.trim();
                    if !id.is_empty() && id.len() <= crate::reporting::MAX_ID_CHARS {
                        probes.push((refused.len(), id.to_owned()));
                    }
                    refused.push(refusal_message(index, event_id, refusal));
                }
            }
        }
        let (probed, probe_ids): (Vec<usize>, Vec<String>) = probes.into_iter().unzip();
        let receipt = self
            .recorder
            .log()
            .append_received(accepted, received_at_ms, probe_ids)
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let mut stored_before = vec![false; refused.len()];
        for (&at, &stored) in probed.iter().zip(&receipt.probed) {
            stored_before[at] = stored;
        }
        let redelivered = stored_before.iter().filter(|&&s| s).count();
        let mut before = stored_before.into_iter();
        refused.retain(|_| !before.next().unwrap_or(false));
        if let Some(first) = refused.first() {
            tracing::info!(
                agency = %agency.id,
                refused = refused.len(),
                stored = receipt.appended,
                first_reason = %first.reason,
                first_field = %first.field,
                "refused reported events; the rest of the batch is stored"
            );
        }
        Ok(Response::new(proto::IngestResponse {
            stored: receipt.appended as u32,
            duplicates: (receipt.duplicates + redelivered) as u32,
            tree_size: receipt.tree_size,
            refused,
        }))
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
        let head = head.unwrap_or(super::SignedTreeHead {
            tree_size: 0,
            root: merkle::empty_root(),
            signed_at_ms: 0,
            signature: [0; 64],
        });
        Ok(Response::new(head_message(head, public_key)))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<proto::GetInclusionProofRequest>,
    ) -> Result<Response<proto::InclusionProof>, Status> {
        self.auditor(&request, "GetInclusionProof")?;
        let request = request.into_inner();
        let proof = self
            .read(move |reader| {
                let size = resolve_size(reader, "tree_size", request.tree_size)?;
                let index = request.leaf_index;
                if index >= size {
                    return Err(ApiError::InvalidField {
                        field: "leaf_index",
                        message: format!("{index} is not below the tree size {size}"),
                    });
                }
                let tree = reader.tree(size);
                let leaf_data = reader
                    .leaf_data(index)
                    .map_err(ApiError::AuditUnavailable)?
                    .ok_or_else(|| {
                        ApiError::AuditUnavailable(AuditError::Corrupt(format!(
                            "event #{index} is unreadable"
                        )))
                    })?;
                let path = merkle::inclusion_proof_in(&tree, index)
                    .map_err(ApiError::AuditUnavailable)?
                    .unwrap_or_default();
                let root = tree
                    .range_root(0, size)
                    .map_err(ApiError::AuditUnavailable)?;
                Ok(proto::InclusionProof {
                    leaf_index: index,
                    tree_size: size,
                    leaf_hash: merkle::leaf_hash(&leaf_data).to_vec(),
                    leaf_data,
                    path: path.iter().map(|h| h.to_vec()).collect(),
                    root_hash: root.to_vec(),
                })
            })
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
            .read(move |reader| {
                let new_size = resolve_size(reader, "new_size", request.new_size)?;
                if request.old_size > new_size {
                    return Err(ApiError::InvalidField {
                        field: "old_size",
                        message: format!("{} is beyond new_size {new_size}", request.old_size),
                    });
                }
                let tree = reader.tree(new_size);
                let old_size = request.old_size;
                let path = merkle::consistency_proof_in(&tree, old_size)
                    .map_err(ApiError::AuditUnavailable)?
                    .unwrap_or_default();
                let old_root = tree
                    .range_root(0, old_size)
                    .map_err(ApiError::AuditUnavailable)?;
                let new_root = tree
                    .range_root(0, new_size)
                    .map_err(ApiError::AuditUnavailable)?;
                Ok(proto::ConsistencyProof {
                    old_size: request.old_size,
                    new_size,
                    path: path.iter().map(|h| h.to_vec()).collect(),
                    old_root: old_root.to_vec(),
                    new_root: new_root.to_vec(),
                })
            })
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
            latest_head: report.latest_head.map(|h| head_message(h, key)),
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
