//! The rules a reported audit event keeps, in one place. The server's Ingest checks every event of
//! a batch against them and refuses that event alone; the client library checks an event before
//! it queues it, so agency software hears of a bad event at once rather than from the outbox's
//! quarantine.
//!
//! Some rules hold for everyone (required fields, bounded lengths, a time at most
//! [`MAX_AHEAD`] in the future); the others come from the reporting agency's entry in the server's
//! agency directory, as a [`ReportPolicy`]: the districts it receives dossiers for, how late it may
//! report, and whether it may mark traffic `load_test`. The client learns its own policy from
//! `WhoAmI`.

use std::time::Duration;

use crate::proto::{self, reported_event::Kind};

/// Longest `event_id`, `dossier_id` and `officer_id` (characters).
pub const MAX_ID_CHARS: usize = 128;
/// Longest procedure code, channel, RPC name and outcome label (characters).
pub const MAX_CODE_CHARS: usize = 64;
/// Longest purpose (characters), the same bound as a request context's.
pub const MAX_PURPOSE_CHARS: usize = 256;
/// Longest district name (characters).
pub const MAX_DISTRICT_CHARS: usize = 128;
/// Longest CCCD number input (characters; a number is 12 digits).
pub const MAX_CCCD_CHARS: usize = 32;
/// How far after the server's receive time an event may be dated (clock skew).
pub const MAX_AHEAD: Duration = Duration::from_secs(5 * 60);
/// How long after it happened an event may still be reported, unless the directory says.
pub const DEFAULT_BACKDATE_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The districts an agency receives dossiers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Districts {
    /// Any district: simulation and QA agencies only.
    Any,
    /// These, as the directory spells them.
    Only(Vec<String>),
}

/// What the agency directory lets one agency report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPolicy {
    /// A report naming another district is refused.
    pub districts: Districts,
    /// How long after it happened an event may still be reported; `None`: no limit.
    pub backdate_limit: Option<Duration>,
    /// Whether it may mark its calls and reports `load_test`.
    pub load_test: bool,
}

impl Default for ReportPolicy {
    /// An agency with no district: it may report no dossier.
    fn default() -> Self {
        ReportPolicy {
            districts: Districts::Only(Vec::new()),
            backdate_limit: Some(DEFAULT_BACKDATE_LIMIT),
            load_test: false,
        }
    }
}

/// Why a reported event is refused: each has its own reason code (README's error catalogue) and
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
    #[error("occurred_at_ms is {} before the report was received; this agency may report at most {} late", span(*.late_ms), span(*.limit_ms))]
    TooLate { late_ms: i64, limit_ms: i64 },
    #[error("occurred_at_ms is {} after the report was received; at most 5 minutes ahead is tolerated (check the clock)", span(*.ahead_ms))]
    InFuture { ahead_ms: i64 },
    #[error("this agency may not mark its traffic load_test: its directory entry does not allow load tests")]
    LoadTestNotAllowed,
}

impl Refusal {
    /// The reason code, as the server's Ingest answer and the README's error catalogue give it.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing { .. } | Refusal::Invalid { .. } => "EVENT_INVALID",
            Refusal::TooLong { .. } => "FIELD_TOO_LONG",
            Refusal::DistrictNotServed { .. } => "DISTRICT_NOT_SERVED",
            Refusal::TooLate { .. } => "REPORT_TOO_LATE",
            Refusal::InFuture { .. } => "REPORT_IN_FUTURE",
            Refusal::LoadTestNotAllowed => "LOAD_TEST_NOT_ALLOWED",
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
            Refusal::DistrictNotServed { .. } => "district",
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

/// `value` trimmed, if present and at most `max` characters.
fn required<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, Refusal> {
    let value = optional(field, value, max)?;
    if value.is_empty() {
        Err(Refusal::Missing { field })
    } else {
        Ok(value)
    }
}

/// `value` trimmed, if at most `max` characters (possibly empty).
fn optional<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, Refusal> {
    let value = value.trim();
    // Bytes bound characters from above: count only when it could matter.
    if value.len() > max {
        let len = value.chars().count();
        if len > max {
            return Err(Refusal::TooLong { field, len, max });
        }
    }
    Ok(value)
}

/// The rules every event keeps whoever reports it: required fields present, every string
/// bounded, a known channel, a kind.
pub fn check_fields(event: &proto::ReportedEvent) -> Result<(), Refusal> {
    required("event_id", &event.event_id, MAX_ID_CHARS)?;
    required("dossier_id", &event.dossier_id, MAX_ID_CHARS)?;
    required("officer_id", &event.officer_id, MAX_ID_CHARS)?;
    optional("district", &event.district, MAX_DISTRICT_CHARS)?;
    match &event.kind {
        None => {
            return Err(Refusal::Invalid {
                field: "kind",
                message: "set dossier or verification".into(),
            })
        }
        Some(Kind::Dossier(d)) => {
            required("dossier.procedure_code", &d.procedure_code, MAX_CODE_CHARS)?;
            if !matches!(d.channel.as_str(), "online" | "desk") {
                return Err(Refusal::Invalid {
                    field: "dossier.channel",
                    message: "must be \"online\" or \"desk\"".into(),
                });
            }
        }
        Some(Kind::Verification(v)) => {
            required("verification.rpc", &v.rpc, MAX_CODE_CHARS)?;
            required("verification.outcome", &v.outcome, MAX_CODE_CHARS)?;
            optional("verification.purpose", &v.purpose, MAX_PURPOSE_CHARS)?;
            optional("verification.cccd_number", &v.cccd_number, MAX_CCCD_CHARS)?;
        }
    }
    Ok(())
}

impl ReportPolicy {
    /// Checks `event` as received at `received_at_ms` (Unix ms) against every rule, and returns
    /// its district as the directory spells it (the one the log records). An empty district is
    /// the agency's own when it has exactly one.
    pub fn check(
        &self,
        event: &proto::ReportedEvent,
        received_at_ms: i64,
    ) -> Result<String, Refusal> {
        check_fields(event)?;
        if event.load_test && !self.load_test {
            return Err(Refusal::LoadTestNotAllowed);
        }
        self.check_time(event.occurred_at_ms, received_at_ms)?;
        self.district(event.district.trim()).map(str::to_owned)
    }

    fn check_time(&self, occurred_at_ms: i64, received_at_ms: i64) -> Result<(), Refusal> {
        let ahead_ms = occurred_at_ms.saturating_sub(received_at_ms);
        if ahead_ms > MAX_AHEAD.as_millis() as i64 {
            return Err(Refusal::InFuture { ahead_ms });
        }
        if let Some(limit) = self.backdate_limit {
            let late_ms = received_at_ms.saturating_sub(occurred_at_ms);
            let limit_ms = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
            if late_ms > limit_ms {
                return Err(Refusal::TooLate { late_ms, limit_ms });
            }
        }
        Ok(())
    }

    /// `reported` as the directory spells it, compared ignoring case, spacing and diacritics.
    fn district<'a>(&'a self, reported: &'a str) -> Result<&'a str, Refusal> {
        let listed = match &self.districts {
            Districts::Any => return Ok(reported),
            Districts::Only(listed) => listed,
        };
        if reported.is_empty() {
            return match listed.as_slice() {
                [only] => Ok(only),
                _ => Err(Refusal::Missing { field: "district" }),
            };
        }
        let folded = crate::domain::matching::fold(reported);
        listed
            .iter()
            .find(|d| *d == reported || crate::domain::matching::fold(d) == folded)
            .map(String::as_str)
            .ok_or_else(|| Refusal::DistrictNotServed {
                district: reported.chars().take(MAX_DISTRICT_CHARS).collect(),
                served: if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                },
            })
    }

    /// The policy the server's directory holds for the caller, as `WhoAmI` tells it.
    pub fn from_who_am_i(me: &proto::WhoAmIResponse) -> Self {
        ReportPolicy {
            districts: if me.any_district {
                Districts::Any
            } else {
                Districts::Only(me.report_districts.clone())
            },
            backdate_limit: me.backdate_limit_seconds.map(Duration::from_secs),
            load_test: me.load_test_allowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn dossier(district: &str, at: i64) -> proto::ReportedEvent {
        proto::ReportedEvent {
            event_id: "e-1".into(),
            dossier_id: "D1".into(),
            district: district.into(),
            officer_id: "cb01".into(),
            occurred_at_ms: at,
            load_test: false,
            kind: Some(Kind::Dossier(proto::DossierReceived {
                procedure_code: "1.004227".into(),
                channel: "desk".into(),
            })),
        }
    }

    fn desk() -> ReportPolicy {
        ReportPolicy {
            districts: Districts::Only(vec!["Quận Ba Đình".into()]),
            ..ReportPolicy::default()
        }
    }

    #[test]
    fn districts_come_from_the_directory() {
        let policy = desk();
        assert_eq!(
            policy.check(&dossier("Quận Ba Đình", NOW), NOW).unwrap(),
            "Quận Ba Đình"
        );
        assert_eq!(
            policy.check(&dossier("quan ba  dinh", NOW), NOW).unwrap(),
            "Quận Ba Đình"
        );
        assert_eq!(
            policy.check(&dossier("", NOW), NOW).unwrap(),
            "Quận Ba Đình"
        );
        let refused = policy.check(&dossier("Quận Tây Hồ", NOW), NOW).unwrap_err();
        assert!(
            matches!(refused, Refusal::DistrictNotServed { .. }),
            "{refused}"
        );
        assert_eq!(refused.field(), "district");
        let any = ReportPolicy {
            districts: Districts::Any,
            ..desk()
        };
        assert_eq!(
            any.check(&dossier("Quận Tây Hồ", NOW), NOW).unwrap(),
            "Quận Tây Hồ"
        );
    }

    #[test]
    fn late_and_future_reports_are_refused() {
        let policy = desk();
        assert!(policy.check(&dossier("", NOW - 7 * DAY), NOW).is_ok());
        let late = policy.check(&dossier("", NOW - 30 * DAY), NOW).unwrap_err();
        assert_eq!(
            late,
            Refusal::TooLate {
                late_ms: 30 * DAY,
                limit_ms: 7 * DAY
            }
        );
        assert!(late.to_string().contains("30.0 days"), "{late}");
        assert!(policy.check(&dossier("", NOW + 60_000), NOW).is_ok());
        let ahead = policy
            .check(&dossier("", NOW + 6 * 60_000), NOW)
            .unwrap_err();
        assert!(matches!(ahead, Refusal::InFuture { .. }), "{ahead}");
        let unlimited = ReportPolicy {
            backdate_limit: None,
            ..desk()
        };
        assert!(unlimited.check(&dossier("", i64::MIN), NOW).is_ok());
        assert!(policy.check(&dossier("", i64::MAX), NOW).is_err());
        assert!(policy.check(&dossier("", i64::MIN), NOW).is_err());
    }

    #[test]
    fn load_tests_are_a_permission() {
        let mut event = dossier("", NOW);
        event.load_test = true;
        assert_eq!(desk().check(&event, NOW), Err(Refusal::LoadTestNotAllowed));
        let allowed = ReportPolicy {
            load_test: true,
            ..desk()
        };
        assert!(allowed.check(&event, NOW).is_ok());
    }

    #[test]
    fn every_string_is_bounded_and_named() {
        let mut event = dossier("", NOW);
        event.officer_id = "o".repeat(MAX_ID_CHARS + 1);
        let refused = check_fields(&event).unwrap_err();
        assert_eq!(refused.field(), "officer_id");
        assert!(matches!(
            refused,
            Refusal::TooLong {
                len: 129,
                max: 128,
                ..
            }
        ));
        // Characters, not bytes: 128 Vietnamese letters pass.
        event.officer_id = "Đ".repeat(MAX_ID_CHARS);
        assert!(check_fields(&event).is_ok());
        event.kind = Some(Kind::Verification(proto::VerificationMade {
            rpc: "LookupByCccd".into(),
            outcome: "found".into(),
            purpose: "p".repeat(MAX_PURPOSE_CHARS + 1),
            cccd_number: String::new(),
        }));
        assert_eq!(
            check_fields(&event).unwrap_err().field(),
            "verification.purpose"
        );
        event.kind = None;
        assert_eq!(check_fields(&event).unwrap_err().field(), "kind");
    }
}
