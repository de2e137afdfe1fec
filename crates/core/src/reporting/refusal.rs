//! [`Refusal`]: why a reported event is refused, with its reason code and the field concerned.

use crate::reason::Reason;

/// Why a reported event is refused: each has its own reason code (docs/errors.md, the error catalogue) and
/// names the field concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is too long: {len} characters, at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} is not valid: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("district {district:?} is not one this agency receives dossiers for ({served}); the agency directory lists them")]
    DistrictNotServed { district: String, served: String },
    #[error("commune {commune:?} is not valid: {problem}")]
    CommuneUnknown { commune: String, problem: String },
    #[error("commune {commune} is not one this agency receives dossiers at ({served}); the agency directory lists them")]
    CommuneNotServed { commune: String, served: String },
    #[error("districts were abolished on 1 July 2025: a dossier received since names its commune (field commune), and {district:?} is not a former district the directory maps to a current province for this agency")]
    DistrictAbolished { district: String },
    #[error("occurred_at_ms is {} before the report was received; this agency may report at most {} late", span(*.late_ms), span(*.limit_ms))]
    TooLate { late_ms: i64, limit_ms: i64 },
    #[error("occurred_at_ms is {} after the report was received; at most 5 minutes ahead is tolerated (check the clock)", span(*.ahead_ms))]
    InFuture { ahead_ms: i64 },
    #[error("this agency may not mark its traffic load_test: its directory entry does not allow load tests")]
    LoadTestNotAllowed,
}

impl Refusal {
    /// The reason code, as the server's Ingest answer and the error catalogue (docs/errors.md) give it.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Missing { .. } | Refusal::Invalid { .. } => Reason::EventInvalid,
            Refusal::TooLong { .. } => Reason::FieldTooLong,
            Refusal::DistrictNotServed { .. } => Reason::DistrictNotServed,
            Refusal::CommuneUnknown { .. } => Reason::CommuneUnknown,
            Refusal::CommuneNotServed { .. } => Reason::CommuneNotServed,
            Refusal::DistrictAbolished { .. } => Reason::DistrictAbolished,
            Refusal::TooLate { .. } => Reason::ReportTooLate,
            Refusal::InFuture { .. } => Reason::ReportInFuture,
            Refusal::LoadTestNotAllowed => Reason::LoadTestNotAllowed,
        }
    }

    /// Whether the rule is a permission (PERMISSION_DENIED) rather than a bad value
    /// (INVALID_ARGUMENT).
    pub fn is_permission(&self) -> bool {
        matches!(self, Refusal::LoadTestNotAllowed)
    }

    /// The field concerned, as a path inside the event ("verification.rpc", "district").
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::Missing { field }
            | Refusal::TooLong { field, .. }
            | Refusal::Invalid { field, .. } => field,
            Refusal::DistrictNotServed { .. } | Refusal::DistrictAbolished { .. } => "district",
            Refusal::CommuneUnknown { .. } | Refusal::CommuneNotServed { .. } => "commune",
            Refusal::TooLate { .. } | Refusal::InFuture { .. } => "occurred_at_ms",
            Refusal::LoadTestNotAllowed => "load_test",
        }
    }
}

/// A duration in words: "30.0 days", "2.5 h", "40 s".
fn span(ms: i64) -> String {
    const HOUR: f64 = 3_600_000.0;
    let ms = ms.max(0) as f64;
    if ms >= 24.0 * HOUR {
        format!("{:.1} days", ms / (24.0 * HOUR))
    } else if ms >= HOUR {
        format!("{:.1} h", ms / HOUR)
    } else {
        format!("{:.0} s", ms / 1000.0)
    }
}
