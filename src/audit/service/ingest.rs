//! Ingest: agencies' reported events through the reporting rules into the log, with a refusal
//! for each event that breaks one (the rest of the batch is stored).

use std::time::Instant;

use tonic::{Request, Response, Status};

use super::{AuditService, MAX_INGEST_BATCH};
use crate::vocabulary::{Channel, Outcome, Rpc};
use crate::{
    audit::{log::EventKey, AuditEvent, EventKind, EventSource},
    error::{code_name, ApiError},
    proto::{self, reported_event::Kind},
    reporting::Refusal,
    security::Agency,
};

impl AuditService {
    /// Ingest: checks each reported event against the reporting rules, stores the accepted ones
    /// (and learns which refused ones are redeliveries of stored events) in one append.
    pub(super) async fn ingest_reports(
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
                        probes.push((
                            refused.len(),
                            EventKey {
                                agency_id: agency.id.clone(),
                                event_id: id.to_owned(),
                            },
                        ));
                    }
                    refused.push(refusal_message(index, event_id, refusal));
                }
            }
        }
        let (probed, probe_ids): (Vec<usize>, Vec<EventKey>) = probes.into_iter().unzip();
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
            // The words as the reporting rules checked them (a channel and a verification
            // method this version knows); an outcome it does not know is kept as reported.
            Some(Kind::Dossier(d)) => EventKind::Dossier {
                procedure: d.procedure_code.trim().to_owned(),
                channel: Channel::parse(&d.channel),
            },
            Some(Kind::Verification(v)) => EventKind::Verification {
                rpc: Rpc::parse(v.rpc.trim()),
                outcome: Outcome::parse(v.outcome.trim()),
                purpose: v.purpose.trim().to_owned(),
                subject: match v.cccd_number.trim() {
                    "" => None,
                    number => Some(self.recorder.subject(number)),
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
            call_id: None,
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
