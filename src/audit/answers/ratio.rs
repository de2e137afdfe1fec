//! LookupRatio and StreamLookupRatio: the request checked, and the rows in chunks.

use super::{
    super::query::{AuditReader, GroupBy, RatioQuery, RatioRow},
    optional, period, Chunker,
};
use crate::{error::ApiError, proto};

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
