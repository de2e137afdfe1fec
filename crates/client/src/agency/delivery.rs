//! The background delivery of an [`AgencyClient`](super::AgencyClient)'s outbox to the server's
//! AuditTrail: batches, backoff while the server is unreachable, and the quarantine of the events
//! it refuses one by one.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;
use tonic_types::StatusExt;

use super::Shared;
use crate::{ids::now_ms, proto, reason::Reason, ClientError, QuarantinedEvent};

/// Events sent in one Ingest call.
const DELIVERY_BATCH: usize = 1_000;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the delivery task asks the server for the agency's reporting policy until it knows.
const POLICY_RETRY: Duration = Duration::from_secs(5);

/// Stops the delivery task when the last clone of the client goes away; what is still in the
/// outbox is delivered by the next client opened on the same file.
pub(super) struct DeliveryTask(JoinHandle<()>);

impl DeliveryTask {
    /// Starts delivering the outbox of `shared`.
    pub(super) fn start(shared: Arc<Shared>) -> Self {
        DeliveryTask(tokio::spawn(deliver(shared)))
    }
}

impl Drop for DeliveryTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Delivers the outbox in batches, forever; backs off exponentially while the server is
/// unreachable or refuses a whole batch (for a quota, at least as long as its RetryInfo says).
/// Events the server refuses one by one go to the quarantine with the rest of their batch
/// cleared, so they never hold up what follows.
async fn deliver(shared: Arc<Shared>) {
    let mut backoff = BACKOFF_START;
    let mut policy_asked: Option<Instant> = None;
    loop {
        if shared.known_policy().is_none()
            && policy_asked.is_none_or(|at| at.elapsed() >= POLICY_RETRY)
        {
            policy_asked = Some(Instant::now());
            if let Err(error) = shared.fetch_policy().await {
                tracing::debug!(%error, "cannot ask the server for this agency's reporting rules yet");
            }
        }
        let source = Arc::clone(&shared.outbox);
        let batch = match tokio::task::spawn_blocking(move || source.peek(DELIVERY_BATCH)).await {
            Ok(Ok(batch)) => batch,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the audit outbox");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
            Err(_) => return,
        };
        let Some(&(last, _)) = batch.last() else {
            // Nothing to send: wait for a new event (or look again in a while).
            let _ = tokio::time::timeout(Duration::from_secs(1), shared.wake.notified()).await;
            continue;
        };
        let events = batch.iter().map(|(_, event)| event.clone()).collect();
        match shared.bounded(shared.audit.ingest(events)).await {
            Ok(answer) => {
                let refused = quarantine(&batch, answer.refused);
                if let Err(error) = shared.outbox.settle(last, refused).await {
                    tracing::error!(%error, "cannot clear delivered events; they will be redelivered");
                }
                backoff = BACKOFF_START;
            }
            Err(error) => {
                let asked = match &error {
                    ClientError::Rpc(status) => status
                        .get_error_details()
                        .retry_info()
                        .and_then(|r| r.retry_delay),
                    _ => None,
                };
                let wait = asked.map_or(backoff, |asked| {
                    asked.clamp(backoff, Duration::from_secs(60))
                });
                tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "audit delivery failed; will retry");
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// The events of `batch` the server refused, as the quarantine keeps them; each logged at WARN
/// (ids and the reason only: an event's citizen number never reaches a log).
fn quarantine(
    batch: &[(i64, proto::ReportedEvent)],
    refused: Vec<proto::EventRefusal>,
) -> Vec<QuarantinedEvent> {
    let at = now_ms();
    refused
        .into_iter()
        .filter_map(|refusal| {
            let (_, event) = batch.get(refusal.index as usize)?;
            tracing::warn!(
                event_id = %event.event_id,
                dossier = %event.dossier_id,
                reason = %refusal.reason,
                field = %refusal.field,
                message = %refusal.message,
                "vnpop refused an audit event; it is kept in the outbox's quarantine and the rest is delivered"
            );
            Some(QuarantinedEvent {
                event: event.clone(),
                code: vnpop_core::reason::code_from_name(&refusal.code),
                reason: Reason::from(refusal.reason),
                field: refusal.field,
                message: refusal.message,
                quarantined_at_ms: at,
            })
        })
        .collect()
}
