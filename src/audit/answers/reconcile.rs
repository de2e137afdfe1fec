//! Reconcile and StreamReconcile: the request checked, the counts, then the findings kept in
//! chunks.

use super::{
    super::{
        query::AuditReader,
        reconcile::{FindingKind, ReconcileQuery},
    },
    optional, period, Chunker,
};
use crate::{error::ApiError, proto};

/// Findings returned by Reconcile when the request does not say, and at most.
const DEFAULT_FINDINGS: usize = 1_000;
/// Findings returned by Reconcile at most, whatever the request asks.
const MAX_FINDINGS: usize = 100_000;

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
