//! The tonic implementation of `vnpop.v1.AuditTrail`: agencies ingest what they report, auditors
//! ask for ratios, signed tree heads and proofs.
//!
//! Queries open their own read connection (SQLite WAL readers never block the writer) and run on
//! the blocking pool.

use std::{path::PathBuf, sync::Arc};

use chrono::{Days, FixedOffset, NaiveDate, TimeZone};
use tonic::{Request, Response, Status};

use super::{
    merkle::{self, Subtrees},
    query::{AuditReader, EventFilter, GroupBy, LoggedEvent, RatioQuery, UnverifiedQuery},
    reconcile::{FindingKind, ReconcileQuery},
    recorder::ServedRecorder,
    AuditError, AuditEvent, EventKind, EventSource,
};
use crate::{
    domain::CccdNumber,
    error::ApiError,
    proto::{self, audit_trail_server::AuditTrail, reported_event::Kind},
    security::{Agency, Authenticator},
};

/// Findings returned by Reconcile when the request does not say, and at most.
const DEFAULT_FINDINGS: usize = 1_000;
const MAX_FINDINGS: usize = 100_000;

/// Most events in one Ingest call.
pub const MAX_INGEST_BATCH: usize = 10_000;

#[derive(Clone)]
pub struct AuditService {
    authn: Arc<Authenticator>,
    recorder: Arc<ServedRecorder>,
}

impl AuditService {
    pub fn new(authn: Arc<Authenticator>, recorder: Arc<ServedRecorder>) -> Self {
        AuditService { authn, recorder }
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
        let path: PathBuf = self.recorder.log().path().to_owned();
        tokio::task::spawn_blocking(move || {
            let reader = AuditReader::open(&path).map_err(ApiError::AuditUnavailable)?;
            query(&reader)
        })
        .await
        .map_err(|e| ApiError::AuditUnavailable(AuditError::Write(e.to_string())))?
    }

    fn event(
        &self,
        agency: &Agency,
        index: usize,
        reported: proto::ReportedEvent,
    ) -> Result<AuditEvent, ApiError> {
        let invalid = |field, message: &str| ApiError::InvalidEvent {
            index,
            field,
            message: message.to_owned(),
        };
        let required = |field, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() {
                Err(invalid(field, "required"))
            } else if value.chars().count() > max {
                Err(invalid(field, &format!("at most {max} characters")))
            } else {
                Ok(value.to_owned())
            }
        };
        let kind = match reported.kind {
            None => return Err(invalid("kind", "set dossier or verification")),
            Some(Kind::Dossier(d)) => EventKind::Dossier {
                procedure: required("dossier.procedure_code", &d.procedure_code, 64)?,
                channel: match d.channel.as_str() {
                    "online" | "desk" => d.channel,
                    _ => return Err(invalid("dossier.channel", "must be \"online\" or \"desk\"")),
                },
            },
            Some(Kind::Verification(v)) => EventKind::Verification {
                rpc: required("verification.rpc", &v.rpc, 64)?,
                outcome: required("verification.outcome", &v.outcome, 64)?,
                purpose: v.purpose.trim().to_owned(),
                subject: match v.cccd_number.trim() {
                    "" => String::new(),
                    number => self.recorder.subject(number),
                },
            },
        };
        Ok(AuditEvent {
            event_id: required("event_id", &reported.event_id, 128)?,
            source: EventSource::Client,
            dossier_id: required("dossier_id", &reported.dossier_id, 128)?,
            // The agency is who the certificate says, never what the event claims.
            agency_id: agency.id.clone(),
            district: reported.district.trim().to_owned(),
            officer_id: required("officer_id", &reported.officer_id, 128)?,
            occurred_at_ms: reported.occurred_at_ms,
            load_test: reported.load_test,
            kind,
        })
    }
}

/// Midnight at the start of `date` in Vietnam, Unix milliseconds.
pub fn vietnam_midnight_ms(date: NaiveDate) -> i64 {
    let vietnam = FixedOffset::east_opt(7 * 3600).expect("valid offset");
    vietnam
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("valid time"))
        .single()
        .expect("fixed offsets are unambiguous")
        .timestamp_millis()
}

fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| ApiError::InvalidField {
        field,
        message: format!("{text:?} is not a date written YYYY-MM-DD"),
    })
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

/// `[from, to]` (inclusive days) as `[from_ms, to_ms)`; the error names the bad field.
fn period(from: &str, to: &str) -> Result<(i64, i64), ApiError> {
    let (from, to) = (parse_day("from", from)?, parse_day("to", to)?);
    if to < from {
        return Err(ApiError::InvalidField {
            field: "to",
            message: "is before from".into(),
        });
    }
    Ok((
        vietnam_midnight_ms(from),
        vietnam_midnight_ms(to + Days::new(1)),
    ))
}

fn optional(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Page tokens are the last row's key, fields separated by U+001F.
const TOKEN_SEPARATOR: char = '\u{1f}';

fn parse_page_token(token: &str) -> Result<Option<(i64, String, String)>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::InvalidField {
        field: "page_token",
        message: "is not a token this server returned".into(),
    };
    let mut parts = token.split(TOKEN_SEPARATOR);
    let at = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let agency = parts.next().ok_or_else(bad)?.to_owned();
    let dossier = parts.next().ok_or_else(bad)?.to_owned();
    Ok(Some((at, agency, dossier)))
}

fn logged_event(logged: LoggedEvent) -> proto::LoggedEvent {
    let event = logged.event;
    let mut message = proto::LoggedEvent {
        seq: logged.seq,
        event_id: event.event_id,
        source: event.source.as_str().to_owned(),
        kind: String::new(),
        dossier_id: event.dossier_id,
        agency_id: event.agency_id,
        district: event.district,
        officer_id: event.officer_id,
        occurred_at_ms: event.occurred_at_ms,
        load_test: event.load_test,
        ..Default::default()
    };
    match event.kind {
        EventKind::Dossier { procedure, channel } => {
            message.kind = "dossier".into();
            message.procedure_code = procedure;
            message.channel = channel;
        }
        EventKind::Verification {
            rpc,
            outcome,
            purpose,
            subject,
        } => {
            message.kind = "verification".into();
            message.rpc = rpc;
            message.outcome = outcome;
            message.purpose = purpose;
            message.subject = subject;
        }
    }
    message
}

#[tonic::async_trait]
impl AuditTrail for AuditService {
    async fn list_unverified_dossiers(
        &self,
        request: Request<proto::ListUnverifiedDossiersRequest>,
    ) -> Result<Response<proto::ListUnverifiedDossiersResponse>, Status> {
        self.auditor(&request, "ListUnverifiedDossiers")?;
        let request = request.into_inner();
        let (from_ms, to_ms) = period(&request.from, &request.to)?;
        let limit = match request.page_size {
            0 => 100,
            n if n <= 1_000 => n as usize,
            n => {
                return Err(ApiError::InvalidField {
                    field: "page_size",
                    message: format!("{n} is more than 1000"),
                }
                .into())
            }
        };
        let query = UnverifiedQuery {
            from_ms,
            to_ms,
            agency_id: optional(request.agency_id),
            district: optional(request.district),
            officer_id: optional(request.officer_id),
            after: parse_page_token(&request.page_token)?,
            limit,
        };
        let rows = self
            .read(move |reader| {
                reader
                    .unverified(&query)
                    .map_err(ApiError::AuditUnavailable)
            })
            .await?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() == limit => format!(
                "{}{TOKEN_SEPARATOR}{}{TOKEN_SEPARATOR}{}",
                last.received_at_ms, last.agency_id, last.dossier_id
            ),
            _ => String::new(),
        };
        Ok(Response::new(proto::ListUnverifiedDossiersResponse {
            dossiers: rows
                .into_iter()
                .map(|d| proto::UnverifiedDossier {
                    agency_id: d.agency_id,
                    dossier_id: d.dossier_id,
                    district: d.district,
                    officer_id: d.officer_id,
                    procedure_code: d.procedure,
                    channel: d.channel,
                    received_at_ms: d.received_at_ms,
                })
                .collect(),
            next_page_token,
        }))
    }

    type ListEventsStream =
        tokio_stream::wrappers::ReceiverStream<Result<proto::LoggedEvent, Status>>;

    async fn list_events(
        &self,
        request: Request<proto::ListEventsRequest>,
    ) -> Result<Response<Self::ListEventsStream>, Status> {
        self.auditor(&request, "ListEvents")?;
        let request = request.into_inner();
        let (from_ms, to_ms) = match (request.from.is_empty(), request.to.is_empty()) {
            (true, true) => (None, None),
            (false, true) => (
                Some(vietnam_midnight_ms(parse_day("from", &request.from)?)),
                None,
            ),
            (true, false) => (
                None,
                Some(vietnam_midnight_ms(
                    parse_day("to", &request.to)? + Days::new(1),
                )),
            ),
            (false, false) => {
                let (from, to) = period(&request.from, &request.to)?;
                (Some(from), Some(to))
            }
        };
        let source = optional(request.source);
        if source
            .as_deref()
            .is_some_and(|s| EventSource::parse(s).is_none())
        {
            return Err(ApiError::InvalidField {
                field: "source",
                message: "must be \"client\" or \"server\"".into(),
            }
            .into());
        }
        let filter = EventFilter {
            from_ms,
            to_ms,
            agency_id: optional(request.agency_id),
            officer_id: optional(request.officer_id),
            dossier_id: optional(request.dossier_id),
            outcome: optional(request.outcome),
            source,
            limit: (request.limit > 0).then_some(request.limit),
        };
        let path = self.recorder.log().path().to_owned();
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::task::spawn_blocking(move || {
            let result = AuditReader::open(&path).and_then(|reader| {
                reader.events(&filter, |event| {
                    tx.blocking_send(Ok(logged_event(event))).is_ok()
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
        let number = CccdNumber::parse(&request.into_inner().cccd_number).map_err(|error| {
            ApiError::InvalidCccd {
                field: "cccd_number",
                error,
            }
        })?;
        let subject = self.recorder.subject(&number.to_string());
        let events = self
            .read(move |reader| {
                reader
                    .accesses(&subject)
                    .map_err(ApiError::AuditUnavailable)
            })
            .await?;
        Ok(Response::new(proto::CitizenAccessLogResponse {
            accesses: events
                .into_iter()
                .filter_map(|event| match event.kind {
                    EventKind::Verification {
                        rpc,
                        outcome,
                        purpose,
                        ..
                    } => Some(proto::CitizenAccess {
                        agency_id: event.agency_id,
                        district: event.district,
                        officer_id: event.officer_id,
                        dossier_id: event.dossier_id,
                        purpose,
                        rpc,
                        outcome,
                        occurred_at_ms: event.occurred_at_ms,
                        source: event.source.as_str().to_owned(),
                    }),
                    EventKind::Dossier { .. } => None,
                })
                .collect(),
        }))
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
        let events = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| self.event(&agency, i, e))
            .collect::<Result<Vec<_>, _>>()?;
        let receipt = self
            .recorder
            .log()
            .append(events)
            .await
            .map_err(ApiError::AuditUnavailable)?;
        Ok(Response::new(proto::IngestResponse {
            stored: receipt.appended as u32,
            duplicates: receipt.duplicates as u32,
            tree_size: receipt.tree_size,
        }))
    }

    async fn lookup_ratio(
        &self,
        request: Request<proto::LookupRatioRequest>,
    ) -> Result<Response<proto::LookupRatioResponse>, Status> {
        self.auditor(&request, "LookupRatio")?;
        let request = request.into_inner();
        let (from_ms, to_ms) = period(&request.from, &request.to)?;
        let group_by = request
            .group_by
            .iter()
            .map(|g| {
                GroupBy::parse(g).ok_or_else(|| ApiError::InvalidField {
                    field: "group_by",
                    message: format!(
                        "{g:?} is not one of agency, district, officer, procedure, channel, month"
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query = RatioQuery {
            from_ms,
            to_ms,
            agency_id: Some(request.agency_id).filter(|a| !a.is_empty()),
            group_by,
            include_load_test: request.include_load_test,
        };
        let rows = self
            .read(move |reader| reader.ratio(&query).map_err(ApiError::AuditUnavailable))
            .await?;
        Ok(Response::new(proto::LookupRatioResponse {
            rows: rows
                .into_iter()
                .map(|r| proto::RatioRow {
                    lookups_per_dossier: r.ratio(),
                    coverage: r.coverage(),
                    group: r.group,
                    dossiers: r.dossiers,
                    lookups: r.lookups,
                    dossiers_with_lookup: r.covered,
                    served: r.served,
                })
                .collect(),
        }))
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
                let event = reader
                    .event(index)
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
                let leaf_data = event.leaf_bytes(index);
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
        let path: PathBuf = self.recorder.log().path().to_owned();
        let report = tokio::task::spawn_blocking(move || super::verify_file(&path, &public_key))
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
        let (from_ms, to_ms) = period(&request.from, &request.to)?;
        let max_findings = match request.max_findings as usize {
            0 => DEFAULT_FINDINGS,
            n if n <= MAX_FINDINGS => n,
            n => {
                return Err(ApiError::InvalidField {
                    field: "max_findings",
                    message: format!("{n} is more than {MAX_FINDINGS}"),
                }
                .into())
            }
        };
        let query = ReconcileQuery {
            from_ms,
            to_ms,
            agency_id: optional(request.agency_id),
            include_load_test: request.include_load_test,
        };
        let result = self
            .read(move |reader| reader.reconcile(&query).map_err(ApiError::AuditUnavailable))
            .await?;
        let truncated = result.findings.len() > max_findings;
        Ok(Response::new(proto::ReconcileResponse {
            dossiers: result.dossiers,
            reported: result.reported,
            served: result.served,
            not_reaching_server: result.not_reaching_server,
            served_not_reported: result.count(FindingKind::ServedNotReported),
            reported_not_served: result.count(FindingKind::ReportedNotServed),
            dossier_not_reported: result.count(FindingKind::DossierNotReported),
            findings: result
                .findings
                .into_iter()
                .take(max_findings)
                .map(|f| proto::ReconcileFinding {
                    kind: f.kind.as_str().to_owned(),
                    agency_id: f.agency_id,
                    dossier_id: f.dossier_id,
                    district: f.district,
                    officer_id: f.officer_id,
                    rpc: f.rpc,
                    reported: f.reported,
                    served: f.served,
                    first_at_ms: f.first_at_ms,
                })
                .collect(),
            truncated,
        }))
    }
}
