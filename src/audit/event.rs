//! What the audit log records: dossiers received and verifications made for them.
//!
//! Each event becomes one leaf of the Merkle tree. Its leaf bytes are a canonical encoding of
//! its position and fields (JSON, fields in declaration order, no whitespace), recomputed from
//! the stored columns when the log is verified: an edited column, a removed or inserted row
//! changes a leaf and so the tree.

use serde::{Deserialize, Serialize};

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
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Client => "client",
            EventSource::Server => "server",
        }
    }

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
        /// "online" or "desk".
        channel: String,
    },
    /// A lookup, verification or authentication made for a dossier.
    Verification {
        /// The RPC, e.g. "LookupByCccd".
        rpc: String,
        /// "found", "not_found", "match", "valid", "invalid_argument" …
        outcome: String,
        /// Why, as the officer gave it.
        purpose: String,
        /// Keyed hash of the citizen's CCCD number (never the number itself).
        subject: String,
    },
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Globally unique id chosen by the reporter; deduplicates redelivery.
    pub event_id: String,
    pub source: EventSource,
    pub dossier_id: String,
    pub agency_id: String,
    /// District of the receiving unit.
    pub district: String,
    pub officer_id: String,
    /// When it happened (simulated time in simulations), Unix milliseconds.
    pub occurred_at_ms: i64,
    /// Synthetic load-test traffic.
    pub load_test: bool,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Serialize)]
struct Leaf<'a> {
    seq: u64,
    event: &'a AuditEvent,
}

impl AuditEvent {
    /// The bytes hashed into leaf `seq` of the tree.
    pub fn leaf_bytes(&self, seq: u64) -> Vec<u8> {
        serde_json::to_vec(&Leaf { seq, event: self }).expect("events always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_bytes_are_canonical_and_cover_the_position() {
        let event = AuditEvent {
            event_id: "e-1".into(),
            source: EventSource::Client,
            dossier_id: "D1".into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: 1_700_000_000_000,
            load_test: false,
            kind: EventKind::Dossier {
                procedure: "1.004227".into(),
                channel: "desk".into(),
            },
        };
        let bytes = String::from_utf8(event.leaf_bytes(7)).unwrap();
        assert!(
            bytes.starts_with(r#"{"seq":7,"event":{"event_id":"e-1","source":"client""#),
            "{bytes}"
        );
        assert!(
            bytes.contains(r#""kind":"dossier","procedure":"1.004227""#),
            "{bytes}"
        );
        assert_ne!(event.leaf_bytes(7), event.leaf_bytes(8));
    }
}
