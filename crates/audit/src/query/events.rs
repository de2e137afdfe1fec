//! The log's events, filtered, in log order (`vnpop audit export`, `ListEvents`): read in place
//! from the log of record, only the matching ones built as owned events.

use super::AuditReader;
use crate::{record, AuditError, AuditEvent};

/// Which events to list (all filters optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events that happened at or after this time, as they state it (Unix ms; any when
    /// `None`).
    pub from_ms: Option<i64>,
    /// Only events that happened before this time (Unix ms; any when `None`).
    pub to_ms: Option<i64>,
    /// Only this agency's (any when `None`).
    pub agency_id: Option<String>,
    /// Only this officer's (any when `None`).
    pub officer_id: Option<String>,
    /// Only this dossier's (any when `None`).
    pub dossier_id: Option<String>,
    /// Only events of this outcome (any when `None`).
    pub outcome: Option<String>,
    /// Only events of this source, "client" or "server" (any when `None`).
    pub source: Option<String>,
    /// Only verifications of this RPC (any event when `None`).
    pub rpc: Option<String>,
    /// At most this many (all when `None`).
    pub limit: Option<u64>,
}

/// An event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its position in the log (leaf index).
    pub seq: u64,
    /// The event.
    pub event: AuditEvent,
}

impl AuditReader {
    /// Calls `each` with every event matching `filter`, in log order, until it returns false.
    pub fn events(
        &self,
        filter: &EventFilter,
        mut each: impl FnMut(LoggedEvent) -> bool,
    ) -> Result<(), AuditError> {
        let same =
            |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
        let mut left = filter.limit.unwrap_or(u64::MAX);
        if left == 0 {
            return Ok(());
        }
        self.scan_views(0, self.size()?, &mut |seq, event| {
            let (rpc, outcome) = match event.kind {
                record::ViewKind::Verification { rpc, outcome, .. } => (Some(rpc), Some(outcome)),
                record::ViewKind::Dossier { .. } => (None, None),
            };
            let source = if event.server { "server" } else { "client" };
            let matches = filter
                .from_ms
                .is_none_or(|from| event.occurred_at_ms >= from)
                && filter.to_ms.is_none_or(|to| event.occurred_at_ms < to)
                && same(&filter.agency_id, event.agency_id)
                && same(&filter.officer_id, event.officer_id)
                && same(&filter.dossier_id, event.dossier_id)
                && same(&filter.source, source)
                && filter
                    .outcome
                    .as_deref()
                    .is_none_or(|wanted| outcome == Some(wanted))
                && filter
                    .rpc
                    .as_deref()
                    .is_none_or(|wanted| rpc == Some(wanted));
            if !matches {
                return Ok(true);
            }
            left -= 1;
            Ok(each(LoggedEvent {
                seq,
                event: event.to_stored(seq).event,
            }) && left > 0)
        })
    }
}
