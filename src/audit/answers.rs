//! The auditor's answers: each query of the AuditTrail service as a plain function from a read
//! connection and the protobuf request to the protobuf answer. The gRPC service calls them after
//! checking the caller's role; `vnpop audit --db FILE` calls the same functions on the file, so
//! both ways give the same figures, the same lists and the same errors.
//!
//! Answers that can grow without bound come in chunks ([`lookup_ratio_chunks`],
//! [`reconcile_chunks`]; ListEvents one event at a time, ListUnverifiedDossiers in pages): each
//! chunk is handed to the caller as it is made, at most [`CHUNK_ROWS`] rows and about
//! [`CHUNK_BYTES`], so neither the server nor `--db` ever holds the whole answer in one message.
//! The unary LookupRatio and Reconcile are those chunks put together.

use std::ops::RangeInclusive;

use chrono::{Datelike, Days, Months, NaiveDate};

use super::{
    query::{
        AuditReader, EventFilter, GroupBy, LoggedEvent, RatioQuery, RatioRow, UnverifiedQuery,
    },
    reconcile::{FindingKind, ReconcileQuery},
    EventKind, EventSource,
};
use crate::{
    domain::{vietnam::midnight_ms as vietnam_midnight_ms, CccdNumber},
    error::ApiError,
    proto,
    vocabulary::Subject,
};

/// Findings returned by Reconcile when the request does not say, and at most.
const DEFAULT_FINDINGS: usize = 1_000;
/// Findings returned by Reconcile at most, whatever the request asks.
const MAX_FINDINGS: usize = 100_000;

/// Rows (ratio rows, findings) in one chunk of a streamed answer at most.
pub const CHUNK_ROWS: usize = 1_000;
/// A chunk of a streamed answer is sent once its rows' encoded size reaches this, whatever
/// their number: well under any receiver's message limit (tonic's default is 4 MiB).
pub const CHUNK_BYTES: usize = 1 << 20;

/// Rows gathered into chunks of at most [`CHUNK_ROWS`] rows and about [`CHUNK_BYTES`].
struct Chunker<T> {
    rows: Vec<T>,
    bytes: usize,
}

impl<T: prost::Message> Chunker<T> {
    fn new() -> Self {
        Chunker {
            rows: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds `row`; the chunk to send when it is full.
    fn push(&mut self, row: T) -> Option<Vec<T>> {
        self.bytes += row.encoded_len() + 4;
        self.rows.push(row);
        (self.rows.len() >= CHUNK_ROWS || self.bytes >= CHUNK_BYTES).then(|| self.take())
    }

    /// The rows not sent yet.
    fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        std::mem::take(&mut self.rows)
    }
}

/// The years an auditor's date may fall in: anything else is a typo (year 0, 20233).
pub const YEARS: RangeInclusive<i32> = 1900..=9999;
/// The widest period a query covers, in years.
pub const MAX_PERIOD_YEARS: u32 = 20;

/// A date written YYYY-MM-DD (a real calendar day in [`YEARS`]); the error names `field`.
pub fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    let quoted = crate::error::quote(text);
    let day =
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| ApiError::InvalidField {
            field,
            message: format!("{quoted} is not a date written YYYY-MM-DD"),
        })?;
    if !YEARS.contains(&day.year()) {
        return Err(ApiError::InvalidField {
            field,
            message: format!(
                "{quoted} is not a date an audit covers (years {} to {})",
                YEARS.start(),
                YEARS.end()
            ),
        });
    }
    Ok(day)
}

/// The days `[from, to]` (inclusive), checked: real dates, `to` not before `from`, at most
/// [`MAX_PERIOD_YEARS`] apart. The error names the bad field.
pub fn days(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = (parse_day("from", from)?, parse_day("to", to)?);
    if to < from {
        return Err(ApiError::InvalidField {
            field: "to",
            message: format!("{to} is before from ({from})"),
        });
    }
    let widest = from
        .checked_add_months(Months::new(12 * MAX_PERIOD_YEARS))
        .unwrap_or(NaiveDate::MAX);
    if to >= widest {
        return Err(ApiError::InvalidField {
            field: "to",
            message: format!(
                "the period {from} to {to} is wider than {MAX_PERIOD_YEARS} years; ask for a shorter one"
            ),
        });
    }
    Ok((from, to))
}

/// `[from, to]` (inclusive days, checked by [`days`]) as `[from_ms, to_ms)`.
pub fn period(from: &str, to: &str) -> Result<(i64, i64), ApiError> {
    let (from, to) = days(from, to)?;
    Ok((
        vietnam_midnight_ms(from),
        vietnam_midnight_ms(to + Days::new(1)),
    ))
}

/// `text` trimmed, or `None` when nothing is left (an unset protobuf string).
fn optional(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

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
            .map(|c| super::query::commune_label(i64::from(c)))
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

/// LookupRatio and StreamLookupRatio, checked: the query to answer.
pub fn ratio_query(request: proto::LookupRatioRequest) -> Result<RatioQuery, ApiError> {
    let (from_ms, to_ms) = period(&request.from, &request.to)?;
    let group_by = request
        .group_by
        .iter()
        .map(|g| {
            GroupBy::parse(g).ok_or_else(|| ApiError::InvalidField {
                field: "group_by",
                message: format!("{g:?} is not one of {}", GroupBy::names()),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RatioQuery {
        from_ms,
        to_ms,
        agency_id: optional(request.agency_id),
        group_by,
        include_load_test: request.include_load_test,
    })
}

/// One row of a ratio as answers give it.
fn ratio_row(r: RatioRow) -> proto::RatioRow {
    proto::RatioRow {
        lookups_per_dossier: r.ratio(),
        coverage: r.coverage(),
        group: r.group,
        dossiers: r.dossiers,
        lookups: r.lookups,
        dossiers_with_lookup: r.served_covered,
        served: r.served,
        reported_not_served: r.not_served,
        reported_failed: r.failed,
        dossiers_with_reported_lookup: r.reported_covered,
    }
}

/// StreamLookupRatio: the figures left out, then the rows in chunks as SQLite produces them,
/// each handed to `send` until it returns false (the receiver went away).
pub fn lookup_ratio_chunks(
    reader: &AuditReader,
    query: &RatioQuery,
    send: &mut dyn FnMut(proto::LookupRatioChunk) -> bool,
) -> Result<(), ApiError> {
    let left_out = reader
        .ratio_left_out(query)
        .map_err(ApiError::AuditUnavailable)?;
    let summary = proto::LookupRatioResponse {
        rows: Vec::new(),
        load_test_dossiers_left_out: left_out.dossiers,
        load_test_lookups_left_out: left_out.lookups,
        load_test_served_left_out: left_out.served,
    };
    if !send(proto::LookupRatioChunk {
        summary: Some(summary),
        rows: Vec::new(),
    }) {
        return Ok(());
    }
    let mut chunker = Chunker::new();
    let mut open = true;
    reader
        .ratio_each(query, |row| {
            if let Some(rows) = chunker.push(ratio_row(row)) {
                open = send(proto::LookupRatioChunk {
                    summary: None,
                    rows,
                });
            }
            open
        })
        .map_err(ApiError::AuditUnavailable)?;
    let rows = chunker.take();
    if open && !rows.is_empty() {
        send(proto::LookupRatioChunk {
            summary: None,
            rows,
        });
    }
    Ok(())
}

/// LookupRatio: [`lookup_ratio_chunks`] in one message.
pub fn lookup_ratio(
    reader: &AuditReader,
    request: proto::LookupRatioRequest,
) -> Result<proto::LookupRatioResponse, ApiError> {
    let query = ratio_query(request)?;
    let mut answer = proto::LookupRatioResponse::default();
    lookup_ratio_chunks(reader, &query, &mut |chunk| {
        if let Some(summary) = chunk.summary {
            answer = summary;
        }
        answer.rows.extend(chunk.rows);
        true
    })?;
    Ok(answer)
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

/// Reconcile and StreamReconcile, checked: the query to answer.
pub fn reconcile_query(request: proto::ReconcileRequest) -> Result<ReconcileQuery, ApiError> {
    let (from_ms, to_ms) = period(&request.from, &request.to)?;
    let max_findings = match request.max_findings as usize {
        0 => DEFAULT_FINDINGS,
        n if n <= MAX_FINDINGS => n,
        n => {
            return Err(ApiError::InvalidField {
                field: "max_findings",
                message: format!("{n} is more than {MAX_FINDINGS}"),
            })
        }
    };
    Ok(ReconcileQuery {
        from_ms,
        to_ms,
        agency_id: optional(request.agency_id),
        include_load_test: request.include_load_test,
        max_findings,
    })
}

/// StreamReconcile: the counts once the comparison is done, then the findings kept (at most
/// the query's `max_findings`), oldest first, in chunks, each handed to `send` until it returns
/// false (the receiver went away).
pub fn reconcile_chunks(
    reader: &AuditReader,
    query: &ReconcileQuery,
    send: &mut dyn FnMut(proto::ReconcileChunk) -> bool,
) -> Result<(), ApiError> {
    let result = reader
        .reconcile(query)
        .map_err(ApiError::AuditUnavailable)?;
    let summary = proto::ReconcileResponse {
        dossiers: result.dossiers,
        reported: result.reported,
        served: result.served,
        not_reaching_server: result.not_reaching_server,
        served_not_reported: result.count(FindingKind::ServedNotReported),
        reported_not_served: result.count(FindingKind::ReportedNotServed),
        dossier_not_reported: result.count(FindingKind::DossierNotReported),
        reported_failure_unconfirmed: result.count(FindingKind::ReportedFailureUnconfirmed),
        reported_late: result.count(FindingKind::ReportedLate),
        findings: Vec::new(),
        truncated: result.total() > result.findings.len() as u64,
    };
    if !send(proto::ReconcileChunk {
        summary: Some(summary),
        findings: Vec::new(),
    }) {
        return Ok(());
    }
    let mut chunker = Chunker::new();
    for f in result.findings.into_iter().take(query.max_findings) {
        let finding = proto::ReconcileFinding {
            kind: f.kind.as_str().to_owned(),
            agency_id: f.agency_id,
            dossier_id: f.dossier_id,
            district: f.district,
            officer_id: f.officer_id,
            rpc: f.rpc.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            reported: f.reported,
            served: f.served,
            first_at_ms: f.first_at_ms,
            received_at_ms: f.received_at_ms,
        };
        if let Some(findings) = chunker.push(finding) {
            if !send(proto::ReconcileChunk {
                summary: None,
                findings,
            }) {
                return Ok(());
            }
        }
    }
    let findings = chunker.take();
    if !findings.is_empty() {
        send(proto::ReconcileChunk {
            summary: None,
            findings,
        });
    }
    Ok(())
}

/// Reconcile: [`reconcile_chunks`] in one message.
pub fn reconcile(
    reader: &AuditReader,
    request: proto::ReconcileRequest,
) -> Result<proto::ReconcileResponse, ApiError> {
    let query = reconcile_query(request)?;
    let mut answer = proto::ReconcileResponse::default();
    reconcile_chunks(reader, &query, &mut |chunk| {
        if let Some(summary) = chunk.summary {
            answer = summary;
        }
        answer.findings.extend(chunk.findings);
        true
    })?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{log::DATABASE_FILE, AuditLog};

    /// 2024-01-01T00:00:00+07:00.
    const JAN_1_2024: i64 = 1_704_042_000_000;

    #[test]
    fn chunks_are_cut_by_rows_and_by_bytes() {
        let mut chunker = Chunker::new();
        let small = proto::RatioRow::default;
        let cut: Vec<usize> = (0..2_500)
            .filter_map(|_| chunker.push(small()).map(|c| c.len()))
            .collect();
        assert_eq!(cut, [CHUNK_ROWS, CHUNK_ROWS]);
        assert_eq!(chunker.take().len(), 500);
        // Rows of 100 KB each: cut by size long before their number.
        let big = || proto::RatioRow {
            group: vec!["x".repeat(100_000)],
            ..Default::default()
        };
        let first = (1..).find_map(|n| chunker.push(big()).map(|c| (n, c.len())));
        assert_eq!(first, Some((11, 11)));
    }

    #[test]
    fn a_ratio_of_many_groups_streams_in_chunks_that_make_the_unary_answer() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        let events = (0..2_500)
            .map(|n| {
                crate::audit::event::test_dossier(
                    &format!("D-{n}"),
                    "Quận Ba Đình",
                    &format!("officer-{n:04}"),
                    JAN_1_2024 + n,
                )
            })
            .collect();
        log.append_blocking(events).unwrap();
        drop(log);
        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let request = proto::LookupRatioRequest {
            from: "2024-01-01".into(),
            to: "2024-01-31".into(),
            group_by: vec!["officer".into()],
            ..Default::default()
        };
        let query = ratio_query(request.clone()).unwrap();
        let mut chunks = Vec::new();
        lookup_ratio_chunks(&reader, &query, &mut |chunk| {
            chunks.push(chunk);
            true
        })
        .unwrap();
        assert!(chunks[0].summary.is_some() && chunks[0].rows.is_empty());
        let sizes: Vec<usize> = chunks[1..].iter().map(|c| c.rows.len()).collect();
        assert_eq!(sizes, [1_000, 1_000, 500]);
        assert!(chunks[1..].iter().all(|c| c.summary.is_none()));
        let rows: Vec<proto::RatioRow> = chunks.into_iter().flat_map(|c| c.rows).collect();
        assert_eq!(rows[0].group, ["officer-0000"]);
        assert_eq!(rows, lookup_ratio(&reader, request).unwrap().rows);

        // A receiver that goes away stops the answer: nothing more is made for it.
        let mut sent = 0;
        lookup_ratio_chunks(&reader, &query, &mut |_| {
            sent += 1;
            sent < 2
        })
        .unwrap();
        assert_eq!(sent, 2);
    }
}
