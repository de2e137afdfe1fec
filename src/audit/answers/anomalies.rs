//! FindAnomalies from protobuf request to answer, shared by the service and `vnpop audit
//! anomalies --db`: the request checked into an [`AnomalyQuery`] (a bad field is
//! INVALID_ARGUMENT naming it), the findings as chunks (the counts first).

use crate::audit::anomalies::{
    explain, find, Anomaly, AnomalyKind, AnomalyQuery, Evidence, Thresholds,
};
use crate::{
    audit::{answers, query::AuditReader},
    error::ApiError,
    proto,
};

/// Findings returned when the request does not say, and at most.
const DEFAULT_FINDINGS: u32 = 1_000;
const MAX_FINDINGS: u32 = 100_000;
/// Evidence rows per finding at most, whatever the request asks.
const MAX_EVIDENCE: u32 = 100;

/// A count threshold: 0 takes `default`.
fn count(value: u32, default: u32) -> u32 {
    if value == 0 {
        default
    } else {
        value
    }
}

/// A real threshold: 0 takes `default`; anything else must be a positive number.
fn real(field: &'static str, value: f64, default: f64) -> Result<f64, ApiError> {
    if value == 0.0 {
        return Ok(default);
    }
    if !value.is_finite() || value < 0.0 {
        return Err(ApiError::InvalidField {
            field,
            message: format!("{value} is not a positive number"),
        });
    }
    Ok(value)
}

/// FindAnomalies, checked: the query to answer.
pub fn anomaly_query(request: proto::AnomaliesRequest) -> Result<AnomalyQuery, ApiError> {
    let (from_ms, to_ms) = answers::period(&request.from, &request.to)?;
    let d = Thresholds::default();
    if request.evidence > MAX_EVIDENCE {
        return Err(ApiError::InvalidField {
            field: "evidence",
            message: format!("at most {MAX_EVIDENCE} rows a finding"),
        });
    }
    if request.max_findings > MAX_FINDINGS {
        return Err(ApiError::InvalidField {
            field: "max_findings",
            message: format!("at most {MAX_FINDINGS}"),
        });
    }
    if request.citizen_window_minutes > 31 * 24 * 60 {
        return Err(ApiError::InvalidField {
            field: "citizen_window_minutes",
            message: "at most 31 days".into(),
        });
    }
    if request.dossier_window_hours > 366 * 24 {
        return Err(ApiError::InvalidField {
            field: "dossier_window_hours",
            message: "at most a year".into(),
        });
    }
    if request.grace_minutes > 12 * 60 {
        return Err(ApiError::InvalidField {
            field: "grace_minutes",
            message: "at most 12 hours".into(),
        });
    }
    let thresholds = Thresholds {
        grace_minutes: count(request.grace_minutes, d.grace_minutes),
        dossier_citizens: count(request.dossier_citizens, d.dossier_citizens),
        citizen_officers: count(request.citizen_officers, d.citizen_officers),
        citizen_window_minutes: count(request.citizen_window_minutes, d.citizen_window_minutes),
        peer_z: real("peer_z", request.peer_z, d.peer_z)?,
        peer_min_difference: real(
            "peer_min_difference",
            request.peer_min_difference,
            d.peer_min_difference,
        )?,
        peer_min_dossiers: count(request.peer_min_dossiers, d.peer_min_dossiers),
        peer_min_officers: count(request.peer_min_officers, d.peer_min_officers),
        burst_per_minute: count(request.burst_per_minute, d.burst_per_minute),
        burst_factor: real("burst_factor", request.burst_factor, d.burst_factor)?,
        dossier_window_hours: count(request.dossier_window_hours, d.dossier_window_hours),
        evidence: count(request.evidence, d.evidence),
    };
    Ok(AnomalyQuery {
        from_ms,
        to_ms,
        agency_id: Some(request.agency_id.trim().to_owned()).filter(|a| !a.is_empty()),
        thresholds,
        max_findings: count(request.max_findings, DEFAULT_FINDINGS) as usize,
    })
}

fn evidence_row(e: Evidence) -> proto::AnomalyEvidence {
    proto::AnomalyEvidence {
        seq: e.seq,
        occurred_at_ms: e.occurred_at_ms,
        agency_id: e.agency_id,
        district: e.district,
        officer_id: e.officer_id,
        dossier_id: e.dossier_id,
        rpc: e.rpc,
        subject: e.subject,
        procedure_code: e.procedure,
        lookups: e.lookups,
    }
}

/// A finding as the answer carries it, with its sentence.
fn message(a: Anomaly, limits: &Thresholds) -> proto::Anomaly {
    proto::Anomaly {
        kind: a
            .kind
            .map(AnomalyKind::as_str)
            .unwrap_or_default()
            .to_owned(),
        explanation: explain(&a, limits),
        agency_id: a.agency_id,
        district: a.district,
        officer_id: a.officer_id,
        dossier_id: a.dossier_id,
        subject: a.subject,
        procedure_code: a.procedure,
        first_at_ms: a.first_at_ms,
        last_at_ms: a.last_at_ms,
        count: a.count,
        measure: a.measure,
        reference: a.reference,
        score: a.score,
        evidence: a.evidence.into_iter().map(evidence_row).collect(),
    }
}

/// FindAnomalies: the counts, then the findings in chunks of at most
/// [`answers::CHUNK_ROWS`], each handed to `send` until it returns false.
pub fn anomaly_chunks(
    reader: &AuditReader,
    query: &AnomalyQuery,
    send: &mut dyn FnMut(proto::AnomaliesChunk) -> bool,
) -> Result<(), ApiError> {
    let found = find(reader, query).map_err(ApiError::AuditUnavailable)?;
    // In the order of AnomalyKind::ALL, which `counts` follows.
    let [dossier_many_citizens, citizen_many_officers, burst, peer_outlier, day_off, off_hours, no_lookup] =
        found.counts;
    let counts = proto::AnomalyCounts {
        off_hours,
        day_off,
        dossier_many_citizens,
        citizen_many_officers,
        peer_outlier,
        burst,
        no_lookup,
        events: found.events,
    };
    if !send(proto::AnomaliesChunk {
        counts: Some(counts),
        findings: Vec::new(),
    }) {
        return Ok(());
    }
    let mut findings = found.findings.into_iter().peekable();
    while findings.peek().is_some() {
        let chunk: Vec<proto::Anomaly> = findings
            .by_ref()
            .take(answers::CHUNK_ROWS)
            .map(|a| message(a, &query.thresholds))
            .collect();
        if !send(proto::AnomaliesChunk {
            counts: None,
            findings: chunk,
        }) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_default_when_unset_and_bad_ones_name_their_field() {
        let request = proto::AnomaliesRequest {
            from: "2024-01-01".into(),
            to: "2024-01-31".into(),
            ..Default::default()
        };
        let query = anomaly_query(request.clone()).unwrap();
        assert_eq!(query.thresholds, Thresholds::default());
        assert_eq!(query.max_findings, 1_000);
        let named = |request: proto::AnomaliesRequest| match anomaly_query(request) {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            named(proto::AnomaliesRequest {
                peer_z: -1.0,
                ..request.clone()
            }),
            "peer_z"
        );
        assert_eq!(
            named(proto::AnomaliesRequest {
                burst_factor: f64::NAN,
                ..request.clone()
            }),
            "burst_factor"
        );
        assert_eq!(
            named(proto::AnomaliesRequest {
                evidence: 1_000,
                ..request.clone()
            }),
            "evidence"
        );
        assert_eq!(
            named(proto::AnomaliesRequest {
                to: "2023-01-01".into(),
                ..request
            }),
            "to"
        );
    }
}
