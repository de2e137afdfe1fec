//! The answers that list the log's rows: ListEvents (the filter checked, each event as it is
//! streamed), ListUnverifiedDossiers (a page, and its page token) and CitizenAccessLog.

use chrono::Days;

use super::{
    super::{
        query::{AuditReader, EventFilter, LoggedEvent, UnverifiedQuery},
        EventKind, EventSource,
    },
    optional, parse_day, period,
};
use crate::{
    domain::{vietnam::midnight_ms as vietnam_midnight_ms, CccdNumber},
    error::ApiError,
    proto,
    vocabulary::Subject,
};

/// Page tokens are the last row's key, fields separated by U+001F.
const TOKEN_SEPARATOR: char = '\u{1f}';

/// The last row of the previous page from its page token (`None` for the first page); a
/// token this server did not write is an invalid `page_token`.
fn parse_page_token(token: &str) -> Result<Option<(i64, String, String)>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::InvalidField {
        field: "page_token",
        message: "is not a token this server returned".into(),
    };
    let mut parts = token.split(TOKEN_SEPARATOR);
    let at = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let agency = parts.next().ok_or_else(bad)?.to_owned();
    let dossier = parts.next().ok_or_else(bad)?.to_owned();
    Ok(Some((at, agency, dossier)))
}

/// An event of the log as ListEvents streams it.
pub fn logged_event(logged: LoggedEvent) -> proto::LoggedEvent {
    let event = logged.event;
    let mut message = proto::LoggedEvent {
        seq: logged.seq,
        event_id: event.event_id,
        source: event.source.as_str().to_owned(),
        kind: String::new(),
        dossier_id: event.dossier_id,
        agency_id: event.agency_id,
        district: event.district,
        officer_id: event.officer_id,
        occurred_at_ms: event.occurred_at_ms,
        load_test: event.load_test,
        commune_code: event.commune.map(|c| format!("{c:05}")).unwrap_or_default(),
        commune: event
            .commune
            .map(|c| super::super::query::commune_label(i64::from(c)))
            .unwrap_or_default(),
        province_code: event
            .province
            .map(|p| format!("{p:03}"))
            .unwrap_or_default(),
        call_id: event.call_id.unwrap_or_default(),
        ..Default::default()
    };
    match event.kind {
        EventKind::Dossier { procedure, channel } => {
            message.kind = "dossier".into();
            message.procedure_code = procedure;
            message.channel = channel.as_str().to_owned();
        }
        EventKind::Verification {
            rpc,
            outcome,
            purpose,
            subject,
        } => {
            message.kind = "verification".into();
            message.rpc = rpc.as_str().to_owned();
            message.outcome = outcome.as_str().to_owned();
            message.purpose = purpose;
            message.subject = subject.map(|s| s.to_hex()).unwrap_or_default();
        }
    }
    message
}

/// ListUnverifiedDossiers: one page.
pub fn unverified_dossiers(
    reader: &AuditReader,
    request: proto::ListUnverifiedDossiersRequest,
) -> Result<proto::ListUnverifiedDossiersResponse, ApiError> {
    let (from_ms, to_ms) = period(&request.from, &request.to)?;
    let limit = match request.page_size {
        0 => 100,
        n if n <= 1_000 => n as usize,
        n => {
            return Err(ApiError::InvalidField {
                field: "page_size",
                message: format!("{n} is more than 1000"),
            })
        }
    };
    let query = UnverifiedQuery {
        from_ms,
        to_ms,
        agency_id: optional(request.agency_id),
        district: optional(request.district),
        officer_id: optional(request.officer_id),
        after: parse_page_token(&request.page_token)?,
        limit,
    };
    let rows = reader
        .unverified(&query)
        .map_err(ApiError::AuditUnavailable)?;
    let next_page_token = match rows.last() {
        Some(last) if rows.len() == limit => format!(
            "{}{TOKEN_SEPARATOR}{}{TOKEN_SEPARATOR}{}",
            last.received_at_ms, last.agency_id, last.dossier_id
        ),
        _ => String::new(),
    };
    Ok(proto::ListUnverifiedDossiersResponse {
        dossiers: rows
            .into_iter()
            .map(|d| proto::UnverifiedDossier {
                agency_id: d.agency_id,
                dossier_id: d.dossier_id,
                district: d.district,
                officer_id: d.officer_id,
                procedure_code: d.procedure,
                channel: d.channel,
                received_at_ms: d.received_at_ms,
                commune: d.commune,
            })
            .collect(),
        next_page_token,
    })
}

/// ListEvents, checked: the filter to stream the log through.
pub fn event_filter(request: proto::ListEventsRequest) -> Result<EventFilter, ApiError> {
    let (from_ms, to_ms) = match (request.from.is_empty(), request.to.is_empty()) {
        (true, true) => (None, None),
        (false, true) => (
            Some(vietnam_midnight_ms(parse_day("from", &request.from)?)),
            None,
        ),
        (true, false) => (
            None,
            Some(vietnam_midnight_ms(
                parse_day("to", &request.to)? + Days::new(1),
            )),
        ),
        (false, false) => {
            let (from, to) = period(&request.from, &request.to)?;
            (Some(from), Some(to))
        }
    };
    let source = optional(request.source);
    if source
        .as_deref()
        .is_some_and(|s| EventSource::parse(s).is_none())
    {
        return Err(ApiError::InvalidField {
            field: "source",
            message: "must be \"client\" or \"server\"".into(),
        });
    }
    Ok(EventFilter {
        from_ms,
        to_ms,
        agency_id: optional(request.agency_id),
        officer_id: optional(request.officer_id),
        dossier_id: optional(request.dossier_id),
        outcome: optional(request.outcome),
        source,
        rpc: optional(request.rpc),
        limit: (request.limit > 0).then_some(request.limit),
    })
}

/// CitizenAccessLog; `subject` is the log's keyed hash of a CCCD number.
pub fn citizen_accesses(
    reader: &AuditReader,
    request: proto::CitizenAccessLogRequest,
    subject: impl Fn(&str) -> Subject,
) -> Result<proto::CitizenAccessLogResponse, ApiError> {
    let number =
        CccdNumber::parse(&request.cccd_number).map_err(|error| ApiError::InvalidCccd {
            field: "cccd_number",
            error,
        })?;
    let events = reader
        .accesses(&subject(&number.to_string()))
        .map_err(ApiError::AuditUnavailable)?;
    Ok(proto::CitizenAccessLogResponse {
        accesses: events
            .into_iter()
            .filter_map(|event| match event.kind {
                EventKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    ..
                } => Some(proto::CitizenAccess {
                    agency_id: event.agency_id,
                    district: event.district,
                    officer_id: event.officer_id,
                    dossier_id: event.dossier_id,
                    purpose,
                    rpc: rpc.as_str().to_owned(),
                    outcome: outcome.as_str().to_owned(),
                    occurred_at_ms: event.occurred_at_ms,
                    source: event.source.as_str().to_owned(),
                }),
                EventKind::Dossier { .. } => None,
            })
            .collect(),
    })
}
