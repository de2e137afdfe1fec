//! Reading a payload in place: a [`View`] borrows its strings from the payload or the
//! dictionary, so scans over millions of records allocate nothing; [`View::to_stored`] builds
//! the owned event when one is wanted.

use prost::encoding::decode_varint;

use super::{
    unzigzag, Dictionary, RecordError, StoredEvent, ALL_FLAGS, CALL_ID, CLEANING, CLEANING_RPC,
    COMMUNE, LOAD_TEST, PROVINCE, SERVER, SUBJECT_BYTES, VERIFICATION,
};
use crate::{
    event::{AuditEvent, EventKind, EventSource},
    vocabulary::{self, Channel, Outcome, Rpc},
};

/// A record read in place: strings borrowed from the payload or the dictionary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    /// Observed by the server (else reported by a client).
    pub server: bool,
    /// Load-test traffic (left out of figures by default).
    pub load_test: bool,
    /// When the server took the event in (Unix ms).
    pub received_at_ms: i64,
    /// When it happened, as stated (Unix ms).
    pub occurred_at_ms: i64,
    /// The id stored: a client event's id, or a server event's call id (`None` for a server
    /// event without one).
    pub event_id: Option<&'a str>,
    /// The dossier, as the agency numbers it.
    pub dossier_id: &'a str,
    /// The agency's directory id.
    pub agency_id: &'a str,
    /// The district (the directory's spelling).
    pub district: &'a str,
    /// The officer who handled it.
    pub officer_id: &'a str,
    /// The commune's official code (dossiers received since 1 July 2025).
    pub commune: Option<u32>,
    /// The receiving unit's province code as it stood then.
    pub province: Option<u16>,
    /// What it is, with the fields of its kind.
    pub kind: ViewKind<'a>,
}

impl View<'_> {
    /// Whether it records a data-cleaning verification (flag `CLEANING`): under a job, not a
    /// dossier, so every dossier figure leaves it out.
    pub(crate) fn is_cleaning(&self) -> bool {
        matches!(self.kind, ViewKind::Verification { rpc, .. } if rpc == CLEANING_RPC)
    }
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

impl Subject<'_> {
    /// The keyed hash it stores, if any: its bytes, or its text when that spells one (records
    /// written before subjects were stored as bytes). Other text — the empty text of a call
    /// that named nobody — is none.
    pub(crate) fn keyed(self) -> Option<vocabulary::Subject> {
        match self {
            Subject::Bytes(bytes) => bytes.try_into().ok().map(vocabulary::Subject),
            Subject::Text(text) => vocabulary::Subject::from_hex(text),
        }
    }

    /// Whether two subjects are the same, however each is stored (bytes or their hex text).
    fn same(self, other: Subject<'_>) -> bool {
        match (self, other) {
            (Subject::Bytes(a), Subject::Bytes(b)) => a == b,
            (Subject::Text(a), Subject::Text(b)) => a == b,
            (Subject::Bytes(bytes), Subject::Text(text))
            | (Subject::Text(text), Subject::Bytes(bytes)) => {
                text.len() == 64 && crate::keys::hex(bytes) == text
            }
        }
    }
}

/// Reads a payload in place (no allocation).
pub(crate) fn view<'a>(
    payload: &'a [u8],
    dictionary: &'a Dictionary,
) -> Result<View<'a>, RecordError> {
    let mut input = payload;
    let input = &mut input;
    /// The next varint.
    fn varint(input: &mut &[u8]) -> Result<u64, RecordError> {
        decode_varint(input).map_err(|_| RecordError::Truncated)
    }
    /// The next `len` bytes.
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
    // Every bit of the byte is a flag since `CLEANING`: none is unknown. A format needing more
    // would spend the last one on "a second flags byte follows".
    const _: () = assert!(ALL_FLAGS == u8::MAX);
    if flags & CLEANING != 0 && (flags & (VERIFICATION | SERVER)) != (VERIFICATION | SERVER) {
        return Err(RecordError::Invalid(
            "a cleaning flag on what is not a served verification",
        ));
    }
    let received_at_ms = unzigzag(varint(input)?);
    let occurred_at_ms = received_at_ms.wrapping_add(unzigzag(varint(input)?));
    let server = flags & SERVER != 0;
    if !server && flags & CALL_ID != 0 {
        return Err(RecordError::Invalid("a call id on a client event"));
    }
    let event_id = if !server || flags & CALL_ID != 0 {
        Some(string(input)?)
    } else {
        None
    };
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
        let rpc = if flags & CLEANING != 0 {
            CLEANING_RPC
        } else {
            string(input)?
        };
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
    /// A view of `event` received at `received_at_ms`: its words spelled, its subject as its
    /// 32 bytes (no subject: the empty text).
    #[inline]
    pub(super) fn of(event: &'a AuditEvent, received_at_ms: i64) -> Self {
        View {
            server: event.source == EventSource::Server,
            load_test: event.load_test,
            received_at_ms,
            occurred_at_ms: event.occurred_at_ms,
            event_id: match event.source {
                EventSource::Client => Some(event.event_id.as_str()),
                EventSource::Server => event.call_id.as_deref(),
            },
            dossier_id: &event.dossier_id,
            agency_id: &event.agency_id,
            district: &event.district,
            officer_id: &event.officer_id,
            commune: event.commune,
            province: event.province,
            kind: match &event.kind {
                EventKind::Dossier { procedure, channel } => ViewKind::Dossier {
                    procedure,
                    channel: channel.as_str(),
                },
                EventKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    subject,
                } => ViewKind::Verification {
                    rpc: rpc.as_str(),
                    outcome: outcome.as_str(),
                    purpose,
                    subject: match subject {
                        Some(subject) => Subject::Bytes(&subject.0),
                        None => Subject::Text(""),
                    },
                },
            },
        }
    }

    /// A view of `event`, its subject as stated (text).
    pub(crate) fn of_event(event: &'a AuditEvent) -> Self {
        View::of(event, 0)
    }

    /// Whether `self` and `other` record the same call, tried twice: every field the same but
    /// the times (a call tried again is served again, later).
    pub(crate) fn same_call(&self, other: &View<'_>) -> bool {
        let kinds = match (self.kind, other.kind) {
            (
                ViewKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    subject,
                },
                ViewKind::Verification {
                    rpc: rpc2,
                    outcome: outcome2,
                    purpose: purpose2,
                    subject: subject2,
                },
            ) => {
                rpc == rpc2 && outcome == outcome2 && purpose == purpose2 && subject.same(subject2)
            }
            (
                ViewKind::Dossier { procedure, channel },
                ViewKind::Dossier {
                    procedure: procedure2,
                    channel: channel2,
                },
            ) => procedure == procedure2 && channel == channel2,
            _ => false,
        };
        kinds
            && self.server == other.server
            && self.load_test == other.load_test
            && self.event_id == other.event_id
            && self.dossier_id == other.dossier_id
            && self.agency_id == other.agency_id
            && self.district == other.district
            && self.officer_id == other.officer_id
            && self.commune == other.commune
            && self.province == other.province
    }

    /// The event it records, as owned values (`seq` names a server event).
    pub(crate) fn to_stored(self, seq: u64) -> StoredEvent {
        let kind = match self.kind {
            ViewKind::Dossier { procedure, channel } => EventKind::Dossier {
                procedure: procedure.to_owned(),
                channel: Channel::parse(channel),
            },
            ViewKind::Verification {
                rpc,
                outcome,
                purpose,
                subject,
            } => EventKind::Verification {
                rpc: Rpc::parse(rpc),
                outcome: Outcome::parse(outcome),
                purpose: purpose.to_owned(),
                subject: subject.keyed(),
            },
        };
        StoredEvent {
            seq,
            received_at_ms: self.received_at_ms,
            event: AuditEvent {
                event_id: match self.event_id {
                    Some(id) if !self.server => id.to_owned(),
                    _ => format!("server-{seq}"),
                },
                call_id: self.event_id.filter(|_| self.server).map(str::to_owned),
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

/// What a stored id names: a client's report, or a call the server served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeyKind {
    /// A client event's id: the agency's report, stored once.
    Report,
    /// A server event's call id: the call, recorded once however often it is tried.
    Call,
}

/// The id a payload stores (a client event's id, or a server event's call id) and what it
/// names, without decoding the rest; `None` for a server event without a call id.
fn stored_id(payload: &[u8]) -> Result<Option<(KeyKind, &[u8])>, RecordError> {
    let mut input = payload;
    let (&flags, rest) = input.split_first().ok_or(RecordError::Truncated)?;
    input = rest;
    let kind = match (flags & SERVER != 0, flags & CALL_ID != 0) {
        (false, _) => KeyKind::Report,
        (true, true) => KeyKind::Call,
        (true, false) => return Ok(None),
    };
    for _ in 0..2 {
        decode_varint(&mut input).map_err(|_| RecordError::Truncated)?;
    }
    let tag = decode_varint(&mut input).map_err(|_| RecordError::Truncated)?;
    let len = (tag >> 1) as usize;
    if tag & 1 == 0 || input.len() < len {
        return Err(RecordError::Invalid("a stored id not inline"));
    }
    Ok(Some((kind, &input[..len])))
}

/// The client event id of a payload, without decoding the rest (`None` for server events).
pub(crate) fn client_event_id(payload: &[u8]) -> Result<Option<&[u8]>, RecordError> {
    Ok(match stored_id(payload)? {
        Some((KeyKind::Report, id)) => Some(id),
        _ => None,
    })
}

/// The deduplication key of a stored id: the agency and the id, of a report or of a call. Ids
/// are the agency's own (two agencies may use the same), and a call id names another thing than
/// an event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DedupKey<'a> {
    pub kind: KeyKind,
    pub agency: &'a [u8],
    pub id: &'a [u8],
}

impl<'a> DedupKey<'a> {
    /// The key of a record read in place, if it stores an id.
    pub(crate) fn of_view(view: &View<'a>) -> Option<Self> {
        Some(DedupKey {
            kind: if view.server {
                KeyKind::Call
            } else {
                KeyKind::Report
            },
            agency: view.agency_id.as_bytes(),
            id: view.event_id?.as_bytes(),
        })
    }
}

/// The deduplication key of a payload ([`DedupKey`]), reading only the fields up to the agency
/// (`None` for a server event without a call id). The agency may be a `dictionary` entry.
pub(crate) fn dedup_key<'a>(
    payload: &'a [u8],
    dictionary: &'a Dictionary,
) -> Result<Option<DedupKey<'a>>, RecordError> {
    let Some((kind, id)) = stored_id(payload)? else {
        return Ok(None);
    };
    // After the id: the dossier (skipped), then the agency.
    let offset = id.as_ptr() as usize - payload.as_ptr() as usize + id.len();
    let mut input = &payload[offset..];
    let mut string = || -> Result<&'a [u8], RecordError> {
        let tag = decode_varint(&mut input).map_err(|_| RecordError::Truncated)?;
        if tag & 1 == 0 {
            return Ok(dictionary.text(tag >> 1)?.as_bytes());
        }
        let len = (tag >> 1) as usize;
        if input.len() < len {
            return Err(RecordError::Truncated);
        }
        let (text, rest) = input.split_at(len);
        input = rest;
        Ok(text)
    };
    string()?;
    Ok(Some(DedupKey {
        kind,
        agency: string()?,
        id,
    }))
}
