//! The log of record's binary form of an event, and the canonical leaf bytes hashed into the tree.
//!
//! A record is `varint length, CRC-32 (4 bytes, little-endian), payload`. The CRC covers the
//! record's position (its sequence number, 8 bytes little-endian) and its payload, so a record
//! edited, moved or copied to another position without recomputing it is named by position.
//! The payload, in order:
//!
//! | field | encoding |
//! |---|---|
//! | flags | 1 byte: [`SERVER`], [`VERIFICATION`], [`LOAD_TEST`], [`SUBJECT_BYTES`], [`COMMUNE`], [`PROVINCE`] |
//! | received_at_ms | zig-zag varint: when the server took the event in |
//! | occurred_at_ms | zig-zag varint, minus received_at_ms |
//! | event_id | string, client events only (server events are known by position) |
//! | dossier_id, agency_id, district, officer_id | strings |
//! | commune | varint official code, if [`COMMUNE`] (dossiers received since 1 July 2025) |
//! | province | varint province code as it stood then, if [`PROVINCE`] |
//! | procedure, channel | strings, dossiers only |
//! | rpc, outcome, purpose | strings, verifications only |
//! | subject | verifications only: 32 bytes if [`SUBJECT_BYTES`] (a 64-hex keyed hash), else a string |
//!
//! A string is a varint `tag`: `tag = id << 1` refers to entry `id` of the [`Dictionary`] (the
//! log's `strings` table), `tag = len << 1 | 1` is followed by `len` bytes of UTF-8. Agency,
//! district, officer, RPC, outcome, purpose, procedure and channel repeat across millions of
//! events and so take one or two bytes each.
//!
//! The leaf of event `seq` is `seq` (8 bytes big-endian) followed by its payload with every
//! string inline ([`leaf_bytes`]): what the tree signs does not depend on the dictionary, so a
//! dictionary entry edited in the file changes the recomputed leaves of every event using it.

use std::collections::HashMap;

use prost::encoding::{decode_varint, encode_varint};

use super::event::{AuditEvent, EventKind, EventSource};

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
/// Every flag a record may carry.
const ALL_FLAGS: u8 = SERVER | VERIFICATION | LOAD_TEST | SUBJECT_BYTES | COMMUNE | PROVINCE;

/// Strings longer than this are always written inline (free text rarely repeats).
const INTERN_MAX_LEN: usize = 64;
/// Entries after which the dictionary stops growing and new strings go inline.
const DICTIONARY_LIMIT: usize = 1 << 20;

/// An event as stored: its position, the server's receive time and what was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    /// When the server took the event in (Unix ms).
    pub received_at_ms: i64,
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

/// The interned strings of one log: text ↔ small integer. Entries are only ever added; new
/// ones are written to the log's `strings` table in the group commit that first uses them.
#[derive(Debug, Default)]
pub struct Dictionary {
    ids: HashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Dictionary {
    /// A dictionary holding `entries` (id, text), as read from the `strings` table.
    pub(crate) fn from_entries(
        entries: impl IntoIterator<Item = (u64, String)>,
    ) -> Result<Self, RecordError> {
        let mut dictionary = Dictionary::default();
        dictionary.extend(entries)?;
        Ok(dictionary)
    }

    fn push(&mut self, text: String) {
        let text: Box<str> = text.into();
        self.ids
            .entry(text.clone())
            .or_insert(self.texts.len() as u32);
        self.texts.push(text);
    }

    /// Entries held.
    pub(crate) fn len(&self) -> u64 {
        self.texts.len() as u64
    }

    /// Forgets the entries from `len` on (added by a group whose commit failed).
    pub(crate) fn truncate(&mut self, len: u64) {
        for text in self.texts.drain(len as usize..) {
            self.ids.remove(&text);
        }
    }

    /// Adds entries written by another process since this copy was read.
    pub(crate) fn extend(
        &mut self,
        entries: impl IntoIterator<Item = (u64, String)>,
    ) -> Result<(), RecordError> {
        for (id, text) in entries {
            if id == self.len() {
                self.push(text);
            } else if id > self.len() {
                return Err(RecordError::Invalid("string ids are not contiguous"));
            }
        }
        Ok(())
    }

    /// The id of `text`, adding it (and noting it in `added`) if it is new and worth interning.
    fn intern(&mut self, text: &str, added: &mut Vec<(u64, String)>) -> Option<u32> {
        if let Some(&id) = self.ids.get(text) {
            return Some(id);
        }
        if text.len() > INTERN_MAX_LEN || self.texts.len() >= DICTIONARY_LIMIT {
            return None;
        }
        let id = self.texts.len() as u32;
        added.push((u64::from(id), text.to_owned()));
        self.push(text.to_owned());
        Some(id)
    }

    fn text(&self, id: u64) -> Result<&str, RecordError> {
        self.texts
            .get(id as usize)
            .map(|t| &**t)
            .ok_or(RecordError::UnknownString(id))
    }
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// The subject's 32 bytes when it is 64 lower-case hex digits (a keyed hash), so it is stored as
/// bytes and read back as the same text.
fn subject_bytes(subject: &str) -> Option<[u8; 32]> {
    let digits = subject.as_bytes();
    if digits.len() != 64
        || !digits
            .iter()
            .all(|d| d.is_ascii_digit() || (b'a'..=b'f').contains(d))
    {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
        let nibble = |d: u8| if d <= b'9' { d - b'0' } else { d - b'a' + 10 };
        *byte = nibble(pair[0]) << 4 | nibble(pair[1]);
    }
    Some(bytes)
}

/// Writes the payload of `event`, interning strings into `dictionary` when it is given.
fn write_payload(
    event: &AuditEvent,
    received_at_ms: i64,
    dictionary: Option<(&mut Dictionary, &mut Vec<(u64, String)>)>,
    out: &mut Vec<u8>,
) {
    let subject = match &event.kind {
        EventKind::Verification { subject, .. } => subject_bytes(subject),
        EventKind::Dossier { .. } => None,
    };
    write_view(
        &View::of(event, received_at_ms, subject.as_ref()),
        dictionary,
        out,
    );
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
    out.push(flags);
    encode_varint(zigzag(view.received_at_ms), out);
    encode_varint(
        zigzag(view.occurred_at_ms.wrapping_sub(view.received_at_ms)),
        out,
    );
    if let Some(event_id) = view.event_id {
        // Event ids are unique: interning them would only grow the dictionary.
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
            string(rpc, out);
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

/// The checksum of `payload` at position `seq`.
pub(crate) fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
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
pub(crate) fn inline_payload(event: &AuditEvent, received_at_ms: i64) -> Vec<u8> {
    let mut payload = Vec::new();
    write_payload(event, received_at_ms, None, &mut payload);
    payload
}

/// Appends a record (length, checksum `crc`, `payload`) to `out`: what [`next_record`] reads.
pub(crate) fn frame(payload: &[u8], crc: u32, out: &mut Vec<u8>) {
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Splits the next record off `body`: its payload, and whether its checksum matches `seq`.
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
pub(crate) fn checks(seq: u64, payload: &[u8], crc: u32) -> bool {
    checksum(seq, payload) == crc
}

/// A record read in place: strings borrowed from the payload or the dictionary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub server: bool,
    pub load_test: bool,
    pub received_at_ms: i64,
    pub occurred_at_ms: i64,
    /// The client's event id (`None` for a server event).
    pub event_id: Option<&'a str>,
    pub dossier_id: &'a str,
    pub agency_id: &'a str,
    pub district: &'a str,
    pub officer_id: &'a str,
    /// The commune's official code (dossiers received since 1 July 2025).
    pub commune: Option<u32>,
    /// The receiving unit's province code as it stood then.
    pub province: Option<u16>,
    pub kind: ViewKind<'a>,
}

/// The kind-specific fields of a [`View`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum ViewKind<'a> {
    Dossier {
        procedure: &'a str,
        channel: &'a str,
    },
    Verification {
        rpc: &'a str,
        outcome: &'a str,
        purpose: &'a str,
        subject: Subject<'a>,
    },
}

/// A stored subject: the 32 bytes of a keyed hash, or text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
}

/// Reads a payload in place (no allocation).
pub(crate) fn view<'a>(
    payload: &'a [u8],
    dictionary: &'a Dictionary,
) -> Result<View<'a>, RecordError> {
    let mut input = payload;
    let input = &mut input;
    fn varint(input: &mut &[u8]) -> Result<u64, RecordError> {
        decode_varint(input).map_err(|_| RecordError::Truncated)
    }
    fn bytes<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], RecordError> {
        if input.len() < len {
            return Err(RecordError::Truncated);
        }
        let (taken, rest) = input.split_at(len);
        *input = rest;
        Ok(taken)
    }
    let string = |input: &mut &'a [u8]| -> Result<&'a str, RecordError> {
        let tag = varint(input)?;
        if tag & 1 == 1 {
            std::str::from_utf8(bytes(input, (tag >> 1) as usize)?)
                .map_err(|_| RecordError::Invalid("a string is not UTF-8"))
        } else {
            dictionary.text(tag >> 1)
        }
    };
    let flags = bytes(input, 1)?[0];
    if flags & !ALL_FLAGS != 0 {
        return Err(RecordError::Invalid("unknown flags"));
    }
    let received_at_ms = unzigzag(varint(input)?);
    let occurred_at_ms = received_at_ms.wrapping_add(unzigzag(varint(input)?));
    let server = flags & SERVER != 0;
    let event_id = if server { None } else { Some(string(input)?) };
    let dossier_id = string(input)?;
    let agency_id = string(input)?;
    let district = string(input)?;
    let officer_id = string(input)?;
    let commune = if flags & COMMUNE != 0 {
        Some(u32::try_from(varint(input)?).map_err(|_| RecordError::Invalid("a commune code"))?)
    } else {
        None
    };
    let province = if flags & PROVINCE != 0 {
        Some(u16::try_from(varint(input)?).map_err(|_| RecordError::Invalid("a province code"))?)
    } else {
        None
    };
    let kind = if flags & VERIFICATION == 0 {
        ViewKind::Dossier {
            procedure: string(input)?,
            channel: string(input)?,
        }
    } else {
        let rpc = string(input)?;
        let outcome = string(input)?;
        let purpose = string(input)?;
        let subject = if flags & SUBJECT_BYTES != 0 {
            Subject::Bytes(bytes(input, 32)?)
        } else {
            Subject::Text(string(input)?)
        };
        ViewKind::Verification {
            rpc,
            outcome,
            purpose,
            subject,
        }
    };
    if !input.is_empty() {
        return Err(RecordError::Invalid("bytes after the last field"));
    }
    Ok(View {
        server,
        load_test: flags & LOAD_TEST != 0,
        received_at_ms,
        occurred_at_ms,
        event_id,
        dossier_id,
        agency_id,
        district,
        officer_id,
        commune,
        province,
        kind,
    })
}

impl<'a> View<'a> {
    /// A view of `event` received at `received_at_ms`, its subject given as the 32 bytes of a
    /// keyed hash when it is one.
    fn of(event: &'a AuditEvent, received_at_ms: i64, subject: Option<&'a [u8; 32]>) -> Self {
        View {
            server: event.source == EventSource::Server,
            load_test: event.load_test,
            received_at_ms,
            occurred_at_ms: event.occurred_at_ms,
            event_id: (event.source != EventSource::Server).then_some(event.event_id.as_str()),
            dossier_id: &event.dossier_id,
            agency_id: &event.agency_id,
            district: &event.district,
            officer_id: &event.officer_id,
            commune: event.commune,
            province: event.province,
            kind: match &event.kind {
                EventKind::Dossier { procedure, channel } => {
                    ViewKind::Dossier { procedure, channel }
                }
                EventKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    subject: text,
                } => ViewKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    subject: match subject {
                        Some(bytes) => Subject::Bytes(bytes),
                        None => Subject::Text(text),
                    },
                },
            },
        }
    }

    /// The event it records, as owned values (`seq` names a server event).
    pub(crate) fn to_stored(self, seq: u64) -> StoredEvent {
        let kind = match self.kind {
            ViewKind::Dossier { procedure, channel } => EventKind::Dossier {
                procedure: procedure.to_owned(),
                channel: channel.to_owned(),
            },
            ViewKind::Verification {
                rpc,
                outcome,
                purpose,
                subject,
            } => EventKind::Verification {
                rpc: rpc.to_owned(),
                outcome: outcome.to_owned(),
                purpose: purpose.to_owned(),
                subject: match subject {
                    Subject::Bytes(bytes) => super::keys::hex(bytes),
                    Subject::Text(text) => text.to_owned(),
                },
            },
        };
        StoredEvent {
            seq,
            received_at_ms: self.received_at_ms,
            event: AuditEvent {
                event_id: match self.event_id {
                    Some(id) => id.to_owned(),
                    None => format!("server-{seq}"),
                },
                source: if self.server {
                    EventSource::Server
                } else {
                    EventSource::Client
                },
                dossier_id: self.dossier_id.to_owned(),
                agency_id: self.agency_id.to_owned(),
                district: self.district.to_owned(),
                officer_id: self.officer_id.to_owned(),
                occurred_at_ms: self.occurred_at_ms,
                load_test: self.load_test,
                commune: self.commune,
                province: self.province,
                kind,
            },
        }
    }
}

/// Reads a payload back into the event it records.
pub(crate) fn decode(
    seq: u64,
    payload: &[u8],
    dictionary: &Dictionary,
) -> Result<StoredEvent, RecordError> {
    Ok(view(payload, dictionary)?.to_stored(seq))
}

/// The client event id of a payload, without decoding the rest (`None` for server events).
pub(crate) fn client_event_id(payload: &[u8]) -> Result<Option<&[u8]>, RecordError> {
    let mut input = payload;
    let (&flags, rest) = input.split_first().ok_or(RecordError::Truncated)?;
    input = rest;
    if flags & SERVER != 0 {
        return Ok(None);
    }
    for _ in 0..2 {
        decode_varint(&mut input).map_err(|_| RecordError::Truncated)?;
    }
    let tag = decode_varint(&mut input).map_err(|_| RecordError::Truncated)?;
    let len = (tag >> 1) as usize;
    if tag & 1 == 0 || input.len() < len {
        return Err(RecordError::Invalid("a client event without its id"));
    }
    Ok(Some(&input[..len]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event(source: EventSource, subject: &str, kind: u8) -> AuditEvent {
        AuditEvent {
            event_id: "e-1".into(),
            source,
            dossier_id: "D1".into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: "Phường Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: 1_751_300_000_000,
            load_test: kind == 2,
            commune: (kind == 0).then_some(4930),
            province: (kind == 0).then_some(25),
            kind: if kind == 0 {
                EventKind::Dossier {
                    procedure: "1.004227".into(),
                    channel: "desk".into(),
                }
            } else {
                EventKind::Verification {
                    rpc: "LookupByCccd".into(),
                    outcome: "found".into(),
                    purpose: "đăng ký thường trú".into(),
                    subject: subject.into(),
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
            }
            let _ = decode(0, &bytes, &dictionary);
        }

        #[test]
        fn any_event_round_trips(
            id in "[a-z0-9-]{1,40}", dossier in ".{0,30}", officer in ".{0,80}",
            occurred in any::<i64>(), received in any::<i64>(), server in any::<bool>(),
            commune in proptest::option::of(any::<u32>()), province in proptest::option::of(any::<u16>()),
        ) {
            let mut event = event(
                if server { EventSource::Server } else { EventSource::Client }, "s", 1);
            event.event_id = id;
            event.dossier_id = dossier;
            event.officer_id = officer;
            event.occurred_at_ms = occurred;
            event.commune = commune;
            event.province = province;
            let (stored, _) = round_trip(1, &event, received);
            if server {
                event.event_id = "server-1".into();
            }
            prop_assert_eq!(stored.event, event);
            prop_assert_eq!(stored.received_at_ms, received);
        }
    }
}
