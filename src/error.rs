//! Every error the gRPC API returns, and its one mapping to `tonic::Status`.
//!
//! Each error has a stable reason code (google.rpc.ErrorInfo `reason`, domain [`ERROR_DOMAIN`]),
//! listed in the README's error catalogue; invalid arguments also carry a google.rpc.BadRequest
//! naming each offending field. Messages are written for the officer at the desk: they say what is
//! wrong and what to do. They never contain a full CCCD number or name.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    domain::{CccdError, CmndError, QrError},
    security::CallerError,
};

/// google.rpc.ErrorInfo domain of every vnpop error.
pub const ERROR_DOMAIN: &str = "vnpop.v1";

/// An error answered to a gRPC caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request context is incomplete: {} required (every lookup must name its dossier, purpose and officer)", .missing.join(", "))]
    ContextIncomplete { missing: Vec<&'static str> },
    #[error("{field} is too long: at most {max} characters")]
    ContextTooLong { field: &'static str, max: usize },
    #[error("{field} is not a valid CCCD number: {error}")]
    InvalidCccd {
        field: &'static str,
        error: CccdError,
    },
    #[error("{field} is not a valid CMND number: {error}")]
    InvalidCmnd {
        field: &'static str,
        error: CmndError,
    },
    #[error("qr_payload is not a card QR code: {0}")]
    InvalidQr(QrError),
    #[error(
        "declared has no field set: declare at least one of full_name, date_of_birth, sex, address"
    )]
    NothingDeclared,
    #[error("{field} is not valid: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("events[{index}].{field} is not valid: {message}")]
    InvalidEvent {
        index: usize,
        field: &'static str,
        message: String,
    },
    #[error("a batch holds at most {max} events, this one {count}; split it")]
    BatchTooLarge { count: usize, max: usize },
    #[error("no citizen has CCCD number {masked}; check the number with the applicant")]
    CitizenNotFound { masked: String },
    #[error(
        "no citizen is linked to CMND number {masked}; ask the applicant for their CCCD number"
    )]
    CmndNotFound { masked: String },
    #[error("{0}")]
    Caller(#[from] CallerError),
    #[error("the audit log cannot record this call, so it is not served; try again shortly: {0}")]
    AuditUnavailable(crate::audit::AuditError),
    #[error("agency {agency} (role {role}) may not call {rpc}")]
    RoleNotAllowed {
        agency: String,
        role: String,
        rpc: &'static str,
    },
}

impl ApiError {
    /// The stable reason code (see the README's error catalogue).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::ContextIncomplete { .. } => "REQUEST_CONTEXT_INCOMPLETE",
            ApiError::ContextTooLong { .. } => "REQUEST_CONTEXT_TOO_LONG",
            ApiError::InvalidCccd { error, .. } => match error {
                CccdError::Length(_) | CccdError::NotADigit { .. } => "CCCD_MALFORMED",
                CccdError::UnknownProvince(_) => "CCCD_UNKNOWN_PROVINCE",
                CccdError::CenturyInFuture { .. } => "CCCD_CENTURY_IN_FUTURE",
                CccdError::BirthYearInFuture { .. } => "CCCD_BIRTH_YEAR_IN_FUTURE",
            },
            ApiError::InvalidCmnd { .. } => "CMND_MALFORMED",
            ApiError::InvalidQr(QrError::Inconsistent(_)) => "QR_INCONSISTENT",
            ApiError::InvalidQr(_) => "QR_MALFORMED",
            ApiError::NothingDeclared => "DECLARED_EMPTY",
            ApiError::InvalidField { .. } => "FIELD_INVALID",
            ApiError::InvalidEvent { .. } => "EVENT_INVALID",
            ApiError::BatchTooLarge { .. } => "BATCH_TOO_LARGE",
            ApiError::CitizenNotFound { .. } => "CITIZEN_NOT_FOUND",
            ApiError::CmndNotFound { .. } => "CMND_NOT_FOUND",
            ApiError::Caller(CallerError::NoCertificate) => "CLIENT_CERTIFICATE_MISSING",
            ApiError::Caller(CallerError::BadCertificate(_)) => "CLIENT_CERTIFICATE_INVALID",
            ApiError::Caller(CallerError::UnknownAgency { .. }) => "AGENCY_UNKNOWN",
            ApiError::RoleNotAllowed { .. } => "ROLE_NOT_ALLOWED",
            ApiError::AuditUnavailable(_) => "AUDIT_UNAVAILABLE",
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::ContextIncomplete { .. }
            | ApiError::ContextTooLong { .. }
            | ApiError::InvalidCccd { .. }
            | ApiError::InvalidCmnd { .. }
            | ApiError::InvalidQr(_)
            | ApiError::NothingDeclared
            | ApiError::InvalidField { .. }
            | ApiError::InvalidEvent { .. }
            | ApiError::BatchTooLarge { .. } => Code::InvalidArgument,
            ApiError::CitizenNotFound { .. } | ApiError::CmndNotFound { .. } => Code::NotFound,
            ApiError::Caller(CallerError::NoCertificate | CallerError::BadCertificate(_)) => {
                Code::Unauthenticated
            }
            ApiError::Caller(CallerError::UnknownAgency { .. })
            | ApiError::RoleNotAllowed { .. } => Code::PermissionDenied,
            ApiError::AuditUnavailable(_) => Code::Unavailable,
        }
    }

    /// google.rpc.BadRequest field violations: (field path, description).
    fn violations(&self) -> Vec<(String, String)> {
        match self {
            ApiError::ContextIncomplete { missing } => missing
                .iter()
                .map(|f| (f.to_string(), "required".to_owned()))
                .collect(),
            ApiError::ContextTooLong { field, .. } | ApiError::InvalidField { field, .. } => {
                vec![(field.to_string(), self.to_string())]
            }
            ApiError::InvalidCccd { field, error } => vec![(field.to_string(), error.to_string())],
            ApiError::InvalidCmnd { field, error } => vec![(field.to_string(), error.to_string())],
            ApiError::InvalidQr(error) => {
                vec![(format!("qr_payload.{}", error.part()), error.to_string())]
            }
            ApiError::NothingDeclared => vec![("declared".into(), self.to_string())],
            ApiError::InvalidEvent {
                index,
                field,
                message,
            } => {
                vec![(format!("events[{index}].{field}"), message.clone())]
            }
            ApiError::BatchTooLarge { .. } => vec![("events".into(), self.to_string())],
            _ => Vec::new(),
        }
    }

    /// google.rpc.ErrorInfo metadata.
    fn metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::new();
        match self {
            ApiError::InvalidCccd { error, .. } => {
                let part = error.part().map_or("length", |p| p.name());
                metadata.insert("part".into(), part.into());
            }
            ApiError::InvalidQr(error) => {
                metadata.insert("part".into(), error.part().into());
            }
            ApiError::RoleNotAllowed { agency, role, .. } => {
                metadata.insert("agency".into(), agency.clone());
                metadata.insert("role".into(), role.clone());
            }
            _ => {}
        }
        metadata
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let mut details =
            ErrorDetails::with_error_info(error.reason(), ERROR_DOMAIN, error.metadata());
        for (field, description) in error.violations() {
            details.add_bad_request_violation(field, description);
        }
        Status::with_error_details(error.code(), error.to_string(), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason code the server can return, which the README's catalogue must list.
    const REASONS: &[&str] = &[
        "REQUEST_CONTEXT_INCOMPLETE",
        "REQUEST_CONTEXT_TOO_LONG",
        "CCCD_MALFORMED",
        "CCCD_UNKNOWN_PROVINCE",
        "CCCD_CENTURY_IN_FUTURE",
        "CCCD_BIRTH_YEAR_IN_FUTURE",
        "CMND_MALFORMED",
        "QR_MALFORMED",
        "QR_INCONSISTENT",
        "DECLARED_EMPTY",
        "FIELD_INVALID",
        "CITIZEN_NOT_FOUND",
        "CMND_NOT_FOUND",
        "CLIENT_CERTIFICATE_MISSING",
        "CLIENT_CERTIFICATE_INVALID",
        "AGENCY_UNKNOWN",
        "ROLE_NOT_ALLOWED",
        "AUDIT_UNAVAILABLE",
        "EVENT_INVALID",
        "BATCH_TOO_LARGE",
    ];

    #[test]
    fn the_readme_catalogue_lists_every_reason() {
        let readme = include_str!("../README.md");
        for reason in REASONS {
            assert!(
                readme.contains(&format!("`{reason}`")),
                "README lacks {reason}"
            );
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
}
