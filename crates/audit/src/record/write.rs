//! Writing a payload: the one writer of the format, for records being stored (strings interned)
//! and for the canonical leaf bytes (every string inline), from an event or a record read back.

use prost::encoding::encode_varint;

use super::{
    checksum, frame, zigzag, Dictionary, Subject, View, ViewKind, CALL_ID, CLEANING, COMMUNE,
    LOAD_TEST, PROVINCE, SERVER, SUBJECT_BYTES, VERIFICATION,
};
use crate::event::AuditEvent;

/// Writes the payload of `event`, interning strings into `dictionary` when it is given.
fn write_payload(
    event: &AuditEvent,
    received_at_ms: i64,
    dictionary: Option<(&mut Dictionary, &mut Vec<(u64, String)>)>,
    out: &mut Vec<u8>,
) {
    write_view(&View::of(event, received_at_ms), dictionary, out);
}

/// Writes the payload a [`View`] reads, interning strings into `dictionary` when it is given:
/// the one writer of the format, for events being stored and records read back alike.
fn write_view(
    view: &View<'_>,
    mut dictionary: Option<(&mut Dictionary, &mut Vec<(u64, String)>)>,
    out: &mut Vec<u8>,
) {
    let mut string = |text: &str, out: &mut Vec<u8>| {
        let id = match &mut dictionary {
            Some((dictionary, added)) => dictionary.intern(text, added),
            None => None,
        };
        match id {
            Some(id) => encode_varint(u64::from(id) << 1, out),
            None => inline(text, out),
        }
    };
    let mut flags = 0;
    if view.server {
        flags |= SERVER;
    }
    if matches!(view.kind, ViewKind::Verification { .. }) {
        flags |= VERIFICATION;
    }
    if view.load_test {
        flags |= LOAD_TEST;
    }
    if matches!(
        view.kind,
        ViewKind::Verification {
            subject: Subject::Bytes(_),
            ..
        }
    ) {
        flags |= SUBJECT_BYTES;
    }
    if view.commune.is_some() {
        flags |= COMMUNE;
    }
    if view.province.is_some() {
        flags |= PROVINCE;
    }
    if view.server && view.event_id.is_some() {
        flags |= CALL_ID;
    }
    if view.is_cleaning() {
        flags |= CLEANING;
    }
    out.push(flags);
    encode_varint(zigzag(view.received_at_ms), out);
    encode_varint(
        zigzag(view.occurred_at_ms.wrapping_sub(view.received_at_ms)),
        out,
    );
    if let Some(event_id) = view.event_id {
        // Event and call ids are unique: interning them would only grow the dictionary.
        inline(event_id, out);
    }
    inline(view.dossier_id, out);
    string(view.agency_id, out);
    string(view.district, out);
    string(view.officer_id, out);
    if let Some(commune) = view.commune {
        encode_varint(u64::from(commune), out);
    }
    if let Some(province) = view.province {
        encode_varint(u64::from(province), out);
    }
    match view.kind {
        ViewKind::Dossier { procedure, channel } => {
            string(procedure, out);
            string(channel, out);
        }
        ViewKind::Verification {
            rpc,
            outcome,
            purpose,
            subject,
        } => {
            if flags & CLEANING == 0 {
                string(rpc, out);
            }
            string(outcome, out);
            string(purpose, out);
            match subject {
                Subject::Bytes(bytes) => out.extend_from_slice(bytes),
                Subject::Text(text) => inline(text, out),
            }
        }
    }
}

/// A string written inline: its tag (length, odd) and its bytes.
#[inline]
fn inline(text: &str, out: &mut Vec<u8>) {
    encode_varint((text.len() as u64) << 1 | 1, out);
    out.extend_from_slice(text.as_bytes());
}

/// Replaces `out` with the canonical bytes of leaf `seq` for a record read back: what
/// [`leaf_bytes`] gives for the event it records, without building the event.
pub(crate) fn view_leaf_bytes(seq: u64, view: &View<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&seq.to_be_bytes());
    write_view(view, None, out);
}

/// The canonical bytes of leaf `seq` for `event` received at `received_at_ms`.
pub fn leaf_bytes(seq: u64, event: &AuditEvent, received_at_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(&seq.to_be_bytes());
    write_payload(event, received_at_ms, None, &mut out);
    out
}

/// Appends the record of event `seq` to `out`, interning its strings (new entries go to
/// `added`, to be stored with the record).
pub(crate) fn encode(
    seq: u64,
    event: &AuditEvent,
    received_at_ms: i64,
    dictionary: &mut Dictionary,
    added: &mut Vec<(u64, String)>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    scratch.clear();
    write_payload(event, received_at_ms, Some((dictionary, added)), scratch);
    frame(scratch, checksum(seq, scratch), out);
}

/// The payload of `event` with every string inline (no dictionary).
#[cfg(any(test, feature = "testing"))]
pub(crate) fn inline_payload(event: &AuditEvent, received_at_ms: i64) -> Vec<u8> {
    let mut payload = Vec::new();
    write_payload(event, received_at_ms, None, &mut payload);
    payload
}
