//! What the audit log records: dossiers received and verifications made for them.
//!
//! Each event becomes one leaf of the Merkle tree; its stored form and leaf bytes are in
//! [`record`](super::record).

use serde::{Deserialize, Serialize};

pub use crate::vocabulary::{Channel, Outcome, Rpc, Subject};

/// Who reported the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Reported by agency software through the client library.
    Client,
    /// Observed by the server while serving the call.
    Server,
}

impl EventSource {
    /// The name queries and answers use ("client", "server").
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Client => "client",
            EventSource::Server => "server",
        }
    }

    /// The source named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "client" => Some(EventSource::Client),
            "server" => Some(EventSource::Server),
            _ => None,
        }
    }
}

/// What happened: a dossier was received, or a verification was made for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// An administrative dossier received by a unit.
    Dossier {
        /// Procedure code (mã thủ tục hành chính), e.g. "1.004227".
        procedure: String,
        /// At the desk or online.
        channel: Channel,
    },
    /// A lookup, verification or authentication made for a dossier (or an action outside any).
    Verification {
        /// The call.
        rpc: Rpc,
        /// How it ended.
        outcome: Outcome,
        /// Why, as the officer gave it.
        purpose: String,
        /// The citizen, as the keyed hash of their CCCD number (never the number itself);
        /// `None` when the call named nobody.
        subject: Option<Subject>,
    },
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Globally unique id chosen by the reporter; deduplicates redelivery.
    pub event_id: String,
    /// Who recorded it: the agency's client or the server.
    pub source: EventSource,
    /// The dossier, as the agency numbers it.
    pub dossier_id: String,
    /// The agency's directory id.
    pub agency_id: String,
    /// District of the receiving unit.
    pub district: String,
    /// The officer who handled it.
    pub officer_id: String,
    /// When it happened (simulated time in simulations), Unix milliseconds.
    pub occurred_at_ms: i64,
    /// Synthetic load-test traffic.
    pub load_test: bool,
    /// The commune-level unit that received the dossier (dossiers received since 1 July 2025):
    /// its official code ([`CommuneCode`](crate::domain::geography::CommuneCode)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commune: Option<u32>,
    /// The receiving unit's province code as it stood then: one of the 63 old provinces for a
    /// district, one of the 34 for a commune or a province-level unit (see
    /// [`Receiving`](crate::reporting::Receiving)); `None` for server events and districts
    /// whose province is not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<u16>,
    /// Server events only: the caller's name for the call it served
    /// ([`RequestContext::call_id`](vnpop_core::proto::RequestContext::call_id)), under which the
    /// same call tried again is recorded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// What it is, with the fields of its kind.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl AuditEvent {
    /// Whether it records a data-cleaning verification ([`Rpc::CleanRecord`]): its
    /// `dossier_id` is the job's id, and every dossier figure leaves it out.
    pub fn is_cleaning(&self) -> bool {
        matches!(&self.kind, EventKind::Verification { rpc, .. } if rpc.is_cleaning())
    }
}

/// Unit tests' dossier: `id`, received at the desk in `district` by `officer` at `at` (Unix ms),
/// reported by the client.
#[cfg(any(test, feature = "testing"))]
pub fn test_dossier(id: &str, district: &str, officer: &str, at: i64) -> AuditEvent {
    AuditEvent {
        event_id: format!("dossier-{id}"),
        source: EventSource::Client,
        dossier_id: id.into(),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: district.into(),
        officer_id: officer.into(),
        occurred_at_ms: at,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Dossier {
            procedure: "1.004227".into(),
            channel: Channel::Desk,
        },
    }
}

/// Unit tests' lookup: the `n`-th LookupByCccd of dossier `id` at `at` (Unix ms), reported by
/// `source`, with one officer, purpose and subject throughout.
#[cfg(test)]
pub(crate) fn test_lookup(n: usize, id: &str, source: EventSource, at: i64) -> AuditEvent {
    AuditEvent {
        event_id: format!("lookup-{id}-{n}-{}", source.as_str()),
        source,
        dossier_id: id.into(),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: String::new(),
        officer_id: "o".into(),
        occurred_at_ms: at,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Verification {
            rpc: Rpc::LookupByCccd,
            outcome: crate::vocabulary::Answer::Found.into(),
            purpose: "p".into(),
            subject: Some(Subject([7; 32])),
        },
    }
}
