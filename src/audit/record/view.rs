//! Reading a payload in place: a [`View`] borrows its strings from the payload or the
//! dictionary, so scans over millions of records allocate nothing; [`View::to_stored`] builds
//! the owned event when one is wanted.

use prost::encoding::decode_varint;

use super::{
    unzigzag, Dictionary, RecordError, StoredEvent, ALL_FLAGS, COMMUNE, LOAD_TEST, PROVINCE,
    SERVER, SUBJECT_BYTES, VERIFICATION,
};
use crate::audit::event::{AuditEvent, EventKind, EventSource};

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
    /// The client's event id (`None` for a server event).
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
    #[inline]
    pub(super) fn of(
        event: &'a AuditEvent,
        received_at_ms: i64,
        subject: Option<&'a [u8; 32]>,
    ) -> Self {
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
                    Subject::Bytes(bytes) => crate::audit::keys::hex(bytes),
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

/// A client event's agency and event id, as bytes of its record.
pub(crate) type AgencyAndId<'a> = (&'a [u8], &'a [u8]);

/// The deduplication key of a payload's client event — its agency and its event id (event ids
/// are the agency's own: two agencies may use the same) — reading only the fields before them
/// (`None` for server events). The agency may be a `dictionary` entry.
pub(crate) fn client_event_key<'a>(
    payload: &'a [u8],
    dictionary: &'a Dictionary,
) -> Result<Option<AgencyAndId<'a>>, RecordError> {
    let Some(id) = client_event_id(payload)? else {
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
    Ok(Some((string()?, id)))
}
