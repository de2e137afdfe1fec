//! The error catalogue against the reasons, and what errors answer: reasons, codes, messages
//! and field violations.

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{quote, ApiError, AuditError, Reason};
use crate::{domain::CccdError, reporting::Refusal};

/// The error catalogue (docs/errors.md, one table) lists every reason the server and the
/// gateway answer exactly once, in a row of its five columns, and names no reason that is
/// not one.
#[test]
fn the_error_catalogue_lists_every_reason_once() {
    let catalogue = include_str!("../../docs/errors.md");
    let mut rows = std::collections::HashMap::new();
    let mut in_catalogue = false;
    for line in catalogue.lines() {
        if !line.starts_with('|') {
            in_catalogue = false;
            continue;
        }
        // Cells split on unescaped `|`.
        let cells: Vec<&str> = line.split(" | ").collect();
        let first = line.split('|').nth(1).unwrap_or_default().trim();
        if first.eq_ignore_ascii_case("reason") {
            in_catalogue = true;
            continue;
        }
        if !in_catalogue || first.starts_with("---") {
            continue;
        }
        assert_eq!(cells.len(), 5, "a catalogue row has 5 columns: {line}");
        let name = first.trim_matches('`');
        assert!(
            Reason::from(name).is_known(),
            "the catalogue lists {name}, which is no Reason"
        );
        assert!(rows.insert(name, line).is_none(), "{name} is listed twice");
    }
    for reason in Reason::KNOWN {
        assert!(
            rows.contains_key(reason.as_str()),
            "docs/errors.md lacks {reason}"
        );
    }
    // No other page keeps a catalogue of its own.
    let readme = include_str!("../../README.md");
    assert!(
        !readme.contains("| reason |"),
        "README.md keeps a catalogue table: it is docs/errors.md"
    );
}

#[test]
fn every_error_has_a_known_reason() {
    let errors = [
        ApiError::NothingDeclared,
        ApiError::VneidChallengeExpired,
        ApiError::VneidCodeWrong { attempts_left: 1 },
        ApiError::InvalidCccd {
            field: "cccd_number",
            error: CccdError::UnknownProvince(3),
        },
    ];
    for error in errors {
        assert!(error.reason().is_known(), "{error}");
    }
}

#[test]
fn attempts_left_agree_in_number() {
    let one = ApiError::VneidPasscodeWrong { attempts_left: 1 }.to_string();
    assert!(one.contains("(1 attempt left before"), "{one}");
    let two = ApiError::VneidCodeWrong { attempts_left: 2 }.to_string();
    assert!(two.contains("(2 attempts left before"), "{two}");
}

#[test]
fn quotes_are_cut() {
    assert_eq!(quote("abc"), "\"abc\"");
    let long = quote(&"x".repeat(1 << 20));
    assert!(long.len() < 100, "{long}");
    assert!(long.ends_with("(1048576 characters)"), "{long}");
}

#[test]
fn a_refused_event_names_its_field_and_reason() {
    let refused = ApiError::EventRefused {
        index: 3,
        refusal: Refusal::DistrictNotServed {
            district: "Quận Tây Hồ".into(),
            served: "Quận Ba Đình".into(),
        },
    };
    assert_eq!(refused.reason(), "DISTRICT_NOT_SERVED");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(refused.violations()[0].0, "events[3].district");
    let load = ApiError::EventRefused {
        index: 0,
        refusal: Refusal::LoadTestNotAllowed,
    };
    assert_eq!(load.code(), Code::PermissionDenied);
    assert_eq!(load.reason(), "LOAD_TEST_NOT_ALLOWED");
}

#[test]
fn audit_unavailable_tells_the_caller_to_retry_and_never_where_the_database_is() {
    for cause in [
        AuditError::Store(
            "postgres://vnpop:***@db.internal.gov.vn:5432/audit: connection refused".into(),
        ),
        AuditError::Write(
            "audit store: postgres://vnpop:***@db.internal.gov.vn:5432/audit: db error".into(),
        ),
        AuditError::Refused(
            "postgres://vnpop:***@db.internal.gov.vn:5432/audit: invalid byte sequence".into(),
        ),
    ] {
        let status = Status::from(ApiError::AuditUnavailable(cause));
        assert_eq!(status.code(), Code::Unavailable);
        let message = status.message();
        assert!(message.contains("try again"), "{message}");
        for secret in ["db.internal", "postgres://", "5432", "vnpop:"] {
            assert!(!message.contains(secret), "{message}");
        }
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(info.reason, "AUDIT_UNAVAILABLE");
        for value in info.metadata.values() {
            assert!(!value.contains("db.internal"), "{value}");
        }
    }
}

#[test]
fn invalid_arguments_carry_field_violations() {
    let error = ApiError::InvalidCccd {
        field: "cccd_number",
        error: CccdError::UnknownProvince(3),
    };
    let status = Status::from(error);
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let info = details.error_info().unwrap();
    assert_eq!(info.reason, "CCCD_UNKNOWN_PROVINCE");
    assert_eq!(info.metadata["part"], "province");
    let violations = &details.bad_request().unwrap().field_violations;
    assert_eq!(violations[0].field, "cccd_number");
}
