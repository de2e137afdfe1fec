//! The log of record's binary form of an event, and the canonical leaf bytes hashed into the tree.
//!
//! A record is `varint length, CRC-32 (4 bytes, little-endian), payload`. The CRC covers the
//! record's position (its sequence number, 8 bytes little-endian) and its payload, so a record
//! edited, moved or copied to another position without recomputing it is named by position.
//! The payload, in order:
//!
//! | field | encoding |
//! |---|---|
//! | flags | 1 byte: `SERVER`, `VERIFICATION`, `LOAD_TEST`, `SUBJECT_BYTES`, `COMMUNE`, `PROVINCE`, `CALL_ID`, `CLEANING` |
//! | received_at_ms | zig-zag varint: when the server took the event in |
//! | occurred_at_ms | zig-zag varint, minus received_at_ms |
//! | event_id | string: a client event's id; a server event's call id if `CALL_ID` (server events are known by position) |
//! | dossier_id, agency_id, district, officer_id | strings; with `CLEANING`, `dossier_id` is the cleaning job's id |
//! | commune | varint official code, if `COMMUNE` (dossiers received since 1 July 2025) |
//! | province | varint province code as it stood then, if `PROVINCE` |
//! | procedure, channel | strings, dossiers only |
//! | rpc, outcome, purpose | strings, verifications only; with `CLEANING` no `rpc` is stored (it is `CleanRecord`) |
//! | subject | verifications only: 32 bytes if `SUBJECT_BYTES` (a 64-hex keyed hash), else a string |
//!
//! A string is a varint `tag`: `tag = id << 1` refers to entry `id` of the [`Dictionary`] (the
//! log's `strings` table), `tag = len << 1 | 1` is followed by `len` bytes of UTF-8. Agency,
//! district, officer, RPC, outcome, purpose, procedure and channel repeat across millions of
//! events and so take one or two bytes each.
//!
//! The leaf of event `seq` is `seq` (8 bytes big-endian) followed by its payload with every
//! string inline ([`leaf_bytes`]): what the tree signs does not depend on the dictionary, so a
//! dictionary entry edited in the file changes the recomputed leaves of every event using it.

//!
//! The module's files: `dictionary` (the interned strings), `write` (the one writer of the
//! payload, for records and leaves), `view` (reading a payload in place); the framing
//! (length, checksum) is here.

mod dictionary;
mod view;
mod write;

use prost::encoding::{decode_varint, encode_varint};

use super::event::AuditEvent;
pub use dictionary::Dictionary;
pub(crate) use view::{
    client_event_id, decode, dedup_key, view, DedupKey, KeyKind, Subject, View, ViewKind,
};
#[cfg(any(test, feature = "testing"))]
pub(crate) use write::inline_payload;
pub use write::leaf_bytes;
pub(crate) use write::{encode, view_leaf_bytes};

/// Flag: observed by the server (no event id stored).
const SERVER: u8 = 1;
/// Flag: a verification (else a dossier).
const VERIFICATION: u8 = 2;
/// Flag: load-test traffic.
const LOAD_TEST: u8 = 4;
/// Flag: the subject is stored as the 32 bytes of its 64 lower-case hex digits.
const SUBJECT_BYTES: u8 = 8;
/// Flag: a commune code follows the officer (records written before it never carry one).
const COMMUNE: u8 = 16;
/// Flag: a province code follows (after the commune, if any).
const PROVINCE: u8 = 32;
/// Flag: a server event that carries the caller's call id where a client event has its event id
/// (records written before it never carry one).
const CALL_ID: u8 = 64;
/// Flag: a data-cleaning verification (`Rpc::CleanRecord`), not a dossier's lookup: its
/// `dossier_id` is the cleaning job's id, and its RPC is not stored. Every dossier figure leaves
/// it out; a citizen's access log shows it (records written before it never carry one).
const CLEANING: u8 = 128;
/// The RPC a `CLEANING` record stands for.
pub(crate) const CLEANING_RPC: &str = "CleanRecord";
/// Every flag a record may carry.
const ALL_FLAGS: u8 =
    SERVER | VERIFICATION | LOAD_TEST | SUBJECT_BYTES | COMMUNE | PROVINCE | CALL_ID | CLEANING;

/// An event as stored: its position, the server's receive time and what was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the log (leaf index).
    pub seq: u64,
    /// When the server took the event in (Unix ms).
    pub received_at_ms: i64,
    /// The event.
    pub event: AuditEvent,
}

/// Why a stored record cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("its bytes end early")]
    Truncated,
    #[error("its checksum does not match its position and content")]
    Checksum,
    #[error("it is not a valid record ({0})")]
    Invalid(&'static str),
    #[error("it refers to string #{0}, which the dictionary does not hold")]
    UnknownString(u64),
}

/// `value` zig-zag encoded, so small negative numbers take few varint bytes.
#[inline]
pub(super) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// The inverse of [`zigzag`].
#[inline]
pub(super) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// The checksum of `payload` at position `seq`.
#[inline]
pub(crate) fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Appends a record (length, checksum `crc`, `payload`) to `out`: what [`next_record`] reads.
#[inline]
pub(crate) fn frame(payload: &[u8], crc: u32, out: &mut Vec<u8>) {
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Splits the next record off `body`: its payload, and whether its checksum matches `seq`.
#[inline]
pub(crate) fn next_record<'a>(body: &mut &'a [u8]) -> Result<(&'a [u8], u32), RecordError> {
    let len = decode_varint(body).map_err(|_| RecordError::Truncated)? as usize;
    if body.len() < 4 + len {
        return Err(RecordError::Truncated);
    }
    let crc = u32::from_le_bytes(body[..4].try_into().expect("4 bytes"));
    let payload = &body[4..4 + len];
    *body = &body[4 + len..];
    Ok((payload, crc))
}

/// Whether a record's stored checksum matches `payload` at position `seq`.
#[inline]
pub(crate) fn checks(seq: u64, payload: &[u8], crc: u32) -> bool {
    checksum(seq, payload) == crc
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{
        event::{Channel, EventKind, EventSource, Rpc, Subject},
        vocabulary::Answer,
    };

    fn event(source: EventSource, subject: &str, kind: u8) -> AuditEvent {
        AuditEvent {
            event_id: "e-1".into(),
            source,
            dossier_id: "D1".into(),
            agency_id: "one-stop-phuong-ba-dinh".into(),
            district: "Phường Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: 1_751_300_000_000,
            load_test: kind == 2,
            commune: (kind == 0).then_some(4930),
            province: (kind == 0).then_some(25),
            call_id: None,
            kind: if kind == 0 {
                EventKind::Dossier {
                    procedure: "1.004227".into(),
                    channel: Channel::Desk,
                }
            } else {
                EventKind::Verification {
                    rpc: Rpc::LookupByCccd,
                    outcome: Answer::Found.into(),
                    purpose: "đăng ký thường trú".into(),
                    // A keyed hash, or none (other text is not a subject).
                    subject: Subject::from_hex(subject),
                }
            },
        }
    }

    fn round_trip(seq: u64, event: &AuditEvent, received: i64) -> (StoredEvent, usize) {
        let mut dictionary = Dictionary::default();
        let (mut added, mut scratch, mut out) = (Vec::new(), Vec::new(), Vec::new());
        encode(
            seq,
            event,
            received,
            &mut dictionary,
            &mut added,
            &mut scratch,
            &mut out,
        );
        let stored = Dictionary::from_entries(added).unwrap();
        let mut body = &out[..];
        let (payload, crc) = next_record(&mut body).unwrap();
        assert!(body.is_empty());
        assert!(checks(seq, payload, crc));
        assert!(!checks(seq + 1, payload, crc), "the position is covered");
        // The leaf of the record read back is the leaf of the event written.
        let mut leaf = Vec::new();
        view_leaf_bytes(seq, &view(payload, &stored).unwrap(), &mut leaf);
        assert_eq!(leaf, leaf_bytes(seq, event, received));
        (decode(seq, payload, &stored).unwrap(), out.len())
    }

    #[test]
    fn records_read_back_as_written() {
        let subject = "ab".repeat(32);
        for (source, subject, kind) in [
            (EventSource::Client, subject.as_str(), 1),
            (EventSource::Client, "s3", 2),
            (EventSource::Client, "", 0),
            (EventSource::Server, subject.as_str(), 1),
        ] {
            let event = event(source, subject, kind);
            let (stored, _) = round_trip(7, &event, 1_751_300_000_250);
            let mut expected = event.clone();
            if source == EventSource::Server {
                expected.event_id = "server-7".into();
            }
            assert_eq!(stored.event, expected);
            assert_eq!(stored.received_at_ms, 1_751_300_000_250);
        }
    }

    #[test]
    fn a_cleaning_verification_is_flagged_and_reads_back_as_written() {
        let mut event = event(EventSource::Server, &"ab".repeat(32), 1);
        event.dossier_id = "bhxh-2026".into();
        event.call_id = Some("clean:bhxh-2026:R1".into());
        event.kind = EventKind::Verification {
            rpc: Rpc::CleanRecord,
            outcome: Answer::Match.into(),
            purpose: "làm sạch dữ liệu BHXH".into(),
            subject: Subject::from_hex(&"ab".repeat(32)),
        };
        let payload = inline_payload(&event, 1_751_300_000_250);
        assert_eq!(payload[0] & CLEANING, CLEANING);
        assert!(
            !payload
                .windows(CLEANING_RPC.len())
                .any(|w| w == CLEANING_RPC.as_bytes()),
            "the flag stands for the RPC"
        );
        let (stored, _) = round_trip(9, &event, 1_751_300_000_250);
        let mut expected = event.clone();
        expected.event_id = "server-9".into();
        assert_eq!(stored.event, expected);
        assert!(stored.event.is_cleaning());
        // A lookup is not flagged: records written before the flag read as before.
        let lookup = inline_payload(&super::tests::event(EventSource::Server, "", 1), 0);
        assert_eq!(lookup[0] & CLEANING, 0);
    }

    #[test]
    fn a_served_lookup_takes_few_bytes_once_its_strings_are_known() {
        let event = event(EventSource::Server, &"cd".repeat(32), 1);
        let mut dictionary = Dictionary::default();
        let (mut added, mut scratch, mut first) = (Vec::new(), Vec::new(), Vec::new());
        encode(
            0,
            &event,
            1,
            &mut dictionary,
            &mut added,
            &mut scratch,
            &mut first,
        );
        let mut second = Vec::new();
        encode(
            1,
            &event,
            1,
            &mut dictionary,
            &mut added,
            &mut scratch,
            &mut second,
        );
        assert_eq!(added.len(), 6, "{added:?}");
        assert!(second.len() <= 54, "{} bytes", second.len());
    }

    #[test]
    fn leaves_cover_every_field_and_the_position() {
        let event = event(EventSource::Client, "s", 1);
        let leaf = leaf_bytes(3, &event, 10);
        assert_ne!(leaf, leaf_bytes(4, &event, 10));
        assert_ne!(leaf, leaf_bytes(3, &event, 11));
        let mut other = event.clone();
        other.officer_id = "officer-2".into();
        assert_ne!(leaf, leaf_bytes(3, &other, 10));
        let mut other = event.clone();
        other.commune = Some(4930);
        assert_ne!(leaf, leaf_bytes(3, &other, 10));
        other.commune = None;
        other.province = Some(17);
        assert_ne!(leaf, leaf_bytes(3, &other, 10));
        assert!(leaf.starts_with(&3u64.to_be_bytes()));
        // A server event's call id is signed too; a client event never carries one.
        let mut served = event.clone();
        served.source = EventSource::Server;
        let mut called = served.clone();
        called.call_id = Some("run/D/v0".into());
        assert_ne!(leaf_bytes(3, &served, 10), leaf_bytes(3, &called, 10));
        let mut reported = event.clone();
        reported.call_id = Some("run/D/v0".into());
        assert_eq!(leaf, leaf_bytes(3, &reported, 10));
    }

    proptest! {
        /// Any bytes are refused or read, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let dictionary = Dictionary::from_entries([(0, "x".to_owned())]).unwrap();
            let mut body = &bytes[..];
            if let Ok((payload, _)) = next_record(&mut body) {
                let _ = decode(0, payload, &dictionary);
                let _ = client_event_id(payload);
                let _ = dedup_key(payload, &dictionary);
            }
            let _ = decode(0, &bytes, &dictionary);
        }

        #[test]
        fn any_event_round_trips(
            id in "[a-z0-9-]{1,40}", dossier in ".{0,30}", officer in ".{0,80}",
            occurred in any::<i64>(), received in any::<i64>(), server in any::<bool>(),
            commune in proptest::option::of(any::<u32>()), province in proptest::option::of(any::<u16>()),
            call_id in proptest::option::of("[ -~]{0,40}"),
        ) {
            let mut event = event(
                if server { EventSource::Server } else { EventSource::Client }, "s", 1);
            event.event_id = id;
            event.dossier_id = dossier;
            event.officer_id = officer;
            event.occurred_at_ms = occurred;
            event.commune = commune;
            event.province = province;
            event.call_id = call_id.filter(|_| server);
            let (stored, _) = round_trip(1, &event, received);
            if server {
                event.event_id = "server-1".into();
            }
            let mut raw = Vec::new();
            let mut dictionary = Dictionary::default();
            encode(1, &event, received, &mut dictionary, &mut Vec::new(), &mut Vec::new(), &mut raw);
            let mut body = &raw[..];
            let (payload, _) = next_record(&mut body).unwrap();
            let key = dedup_key(payload, &dictionary).unwrap();
            let expected = match (server, event.call_id.as_deref()) {
                (false, _) => Some((KeyKind::Report, event.event_id.as_bytes())),
                (true, Some(call)) => Some((KeyKind::Call, call.as_bytes())),
                (true, None) => None,
            };
            prop_assert_eq!(key.map(|k| (k.kind, k.id)), expected);
            prop_assert_eq!(stored.event, event);
            prop_assert_eq!(stored.received_at_ms, received);
        }
    }
}
