//! What an [`ApiError`] answers: its reason code, its status code, its field violations and
//! ErrorInfo metadata, and the one conversion to `tonic::Status`.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{ApiError, Reason, ERROR_DOMAIN};
use crate::{
    domain::{CccdError, QrError},
    lang::{Language, VIETNAMESE_LOCALE},
    reporting::Refusal,
    security::CallerError,
};

impl ApiError {
    /// The stable reason code (see the error catalogue, docs/errors.md).
    pub fn reason(&self) -> Reason {
        match self {
            ApiError::ContextIncomplete { .. } => Reason::RequestContextIncomplete,
            ApiError::ContextTooLong { .. } => Reason::RequestContextTooLong,
            ApiError::InvalidCccd { error, .. } => match error {
                CccdError::Length(_) | CccdError::Grouped | CccdError::NotADigit { .. } => {
                    Reason::CccdMalformed
                }
                CccdError::UnknownProvince(_) => Reason::CccdUnknownProvince,
                CccdError::CenturyInFuture { .. } => Reason::CccdCenturyInFuture,
                CccdError::BirthYearInFuture { .. } => Reason::CccdBirthYearInFuture,
            },
            ApiError::InvalidCmnd { .. } => Reason::CmndMalformed,
            ApiError::InvalidQr(QrError::Inconsistent(_)) => Reason::QrInconsistent,
            ApiError::InvalidQr(_) => Reason::QrMalformed,
            ApiError::NothingDeclared => Reason::DeclaredEmpty,
            ApiError::InvalidField { .. } => Reason::FieldInvalid,
            ApiError::FieldTooLong { .. } => Reason::FieldTooLong,
            // The client library names local refusals with the same codes: one table, there.
            ApiError::EventRefused { refusal, .. } => refusal.reason(),
            ApiError::LoadTestNotAllowed { .. } => Reason::LoadTestNotAllowed,
            ApiError::IngestQuotaExceeded { .. } => Reason::IngestQuotaExceeded,
            ApiError::BatchTooLarge { .. } => Reason::BatchTooLarge,
            ApiError::CleaningJobInvalid { .. } => Reason::CleaningJobInvalid,
            ApiError::CleaningBatchTooLarge { .. } => Reason::CleaningBatchTooLarge,
            ApiError::CleaningNotAllowed { .. } => Reason::CleaningNotAllowed,
            ApiError::CitizenNotFound { .. } => Reason::CitizenNotFound,
            ApiError::CmndNotFound { .. } => Reason::CmndNotFound,
            ApiError::Caller(CallerError::NoCertificate) => Reason::ClientCertificateMissing,
            ApiError::Caller(CallerError::BadCertificate(_)) => Reason::ClientCertificateInvalid,
            ApiError::Caller(CallerError::UnknownAgency { .. }) => Reason::AgencyUnknown,
            ApiError::RoleNotAllowed { .. } => Reason::RoleNotAllowed,
            ApiError::AuditUnavailable(_) => Reason::AuditUnavailable,
            ApiError::FieldOutOfScope { .. } => Reason::FieldOutOfScope,
            ApiError::ChipReadMalformed { .. } => Reason::ChipReadMalformed,
            ApiError::VneidNoAccount { .. } => Reason::VneidNoAccount,
            ApiError::VneidLevelTooLow { .. } => Reason::VneidLevelTooLow,
            ApiError::VneidCitizenDeceased { .. } => Reason::VneidCitizenDeceased,
            ApiError::VneidCardRevoked { .. } => Reason::VneidCardRevoked,
            ApiError::VneidRefused { .. } => Reason::VneidRefused,
            ApiError::MessageTooLarge { .. } => Reason::MessageTooLarge,
            ApiError::MethodNotFound { .. } => Reason::MethodNotFound,
            ApiError::VneidAccountLocked { .. } => Reason::VneidAccountLocked,
            ApiError::VneidCapacity { .. } => Reason::VneidCapacity,
            ApiError::VneidChallengeQuota { .. } => Reason::VneidChallengeQuota,
            ApiError::VneidChallengeNotFound => Reason::VneidChallengeNotFound,
            ApiError::VneidChallengeExpired => Reason::VneidChallengeExpired,
            ApiError::VneidPasscodeWrong { .. } => Reason::VneidPasscodeWrong,
            ApiError::VneidCodeWrong { .. } => Reason::VneidCodeWrong,
            ApiError::VneidCodeReused => Reason::VneidCodeReused,
            ApiError::VneidChipRequired => Reason::VneidChipRequired,
            ApiError::VneidChipRejected { .. } => Reason::VneidChipRejected,
            ApiError::FaultInjected { .. } => Reason::FaultInjected,
            ApiError::Overloaded { .. } => Reason::Overloaded,
            ApiError::FaultRuleInvalid { .. } => Reason::FaultRuleInvalid,
            ApiError::FixtureInvalid { .. } => Reason::FixtureInvalid,
            ApiError::CitizenHasNoCard { .. } => Reason::CitizenHasNoCard,
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
            | ApiError::FieldTooLong { .. }
            | ApiError::BatchTooLarge { .. }
            | ApiError::CleaningJobInvalid { .. }
            | ApiError::CleaningBatchTooLarge { .. } => Code::InvalidArgument,
            ApiError::CleaningNotAllowed { .. } => Code::PermissionDenied,
            ApiError::EventRefused {
                refusal: Refusal::LoadTestNotAllowed,
                ..
            }
            | ApiError::LoadTestNotAllowed { .. } => Code::PermissionDenied,
            ApiError::EventRefused { .. } => Code::InvalidArgument,
            ApiError::IngestQuotaExceeded { .. } => Code::ResourceExhausted,
            ApiError::MethodNotFound { .. } => Code::Unimplemented,
            ApiError::ChipReadMalformed { .. } | ApiError::VneidChipRequired => {
                Code::InvalidArgument
            }
            ApiError::VneidNoAccount { .. }
            | ApiError::VneidLevelTooLow { .. }
            | ApiError::VneidCitizenDeceased { .. }
            | ApiError::VneidCardRevoked { .. }
            | ApiError::VneidRefused { .. }
            | ApiError::VneidChallengeExpired => Code::FailedPrecondition,
            ApiError::VneidAccountLocked { .. }
            | ApiError::MessageTooLarge { .. }
            | ApiError::VneidCapacity { .. }
            | ApiError::VneidChallengeQuota { .. } => Code::ResourceExhausted,
            ApiError::VneidChallengeNotFound => Code::NotFound,
            ApiError::VneidPasscodeWrong { .. }
            | ApiError::VneidCodeWrong { .. }
            | ApiError::VneidCodeReused
            | ApiError::VneidChipRejected { .. } => Code::Unauthenticated,
            ApiError::CitizenNotFound { .. } | ApiError::CmndNotFound { .. } => Code::NotFound,
            ApiError::Caller(CallerError::NoCertificate | CallerError::BadCertificate(_)) => {
                Code::Unauthenticated
            }
            ApiError::Caller(CallerError::UnknownAgency { .. })
            | ApiError::RoleNotAllowed { .. }
            | ApiError::FieldOutOfScope { .. } => Code::PermissionDenied,
            ApiError::AuditUnavailable(_) => Code::Unavailable,
            ApiError::FaultInjected { kind, .. } => kind.code(),
            ApiError::Overloaded { .. } => Code::ResourceExhausted,
            ApiError::FaultRuleInvalid { .. } | ApiError::FixtureInvalid { .. } => {
                Code::InvalidArgument
            }
            ApiError::CitizenHasNoCard { .. } => Code::FailedPrecondition,
        }
    }

    /// google.rpc.BadRequest field violations: (field path, description).
    pub(crate) fn violations(&self) -> Vec<(String, String)> {
        match self {
            ApiError::ContextIncomplete { missing } => missing
                .iter()
                .map(|f| (f.to_string(), "required".to_owned()))
                .collect(),
            ApiError::ContextTooLong { field, .. }
            | ApiError::InvalidField { field, .. }
            | ApiError::FieldTooLong { field, .. } => {
                vec![(field.to_string(), self.to_string())]
            }
            ApiError::InvalidCccd { field, error } => vec![(field.to_string(), error.to_string())],
            ApiError::InvalidCmnd { field, error } => vec![(field.to_string(), error.to_string())],
            ApiError::InvalidQr(error) => {
                vec![(format!("qr_payload.{}", error.part()), error.to_string())]
            }
            ApiError::NothingDeclared => vec![("declared".into(), self.to_string())],
            ApiError::EventRefused { index, refusal } => {
                vec![(
                    format!("events[{index}].{}", refusal.field()),
                    refusal.to_string(),
                )]
            }
            ApiError::LoadTestNotAllowed { .. } => {
                vec![("context.load_test".into(), self.to_string())]
            }
            ApiError::BatchTooLarge { .. } => vec![("events".into(), self.to_string())],
            ApiError::CleaningJobInvalid { field, message } => {
                vec![(field.to_string(), message.clone())]
            }
            ApiError::CleaningBatchTooLarge { .. } => vec![("records".into(), self.to_string())],
            ApiError::ChipReadMalformed { field, message } => {
                vec![(field.clone(), message.clone())]
            }
            ApiError::FieldOutOfScope { input, .. } => vec![(input.to_string(), self.to_string())],
            ApiError::VneidChipRequired => {
                vec![("chip_read".into(), "required for level 2".into())]
            }
            ApiError::FaultRuleInvalid { field, message }
            | ApiError::FixtureInvalid { field, message } => {
                vec![(field.clone(), message.clone())]
            }
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
            ApiError::LoadTestNotAllowed { agency } | ApiError::CleaningNotAllowed { agency } => {
                metadata.insert("agency".into(), agency.clone());
            }
            ApiError::IngestQuotaExceeded {
                agency, per_minute, ..
            } => {
                metadata.insert("agency".into(), agency.clone());
                metadata.insert("per_minute".into(), per_minute.to_string());
            }
            ApiError::RoleNotAllowed { agency, role, .. } => {
                metadata.insert("agency".into(), agency.clone());
                metadata.insert("role".into(), role.clone());
            }
            ApiError::FieldOutOfScope { agency, field, .. } => {
                metadata.insert("agency".into(), agency.clone());
                metadata.insert("field".into(), (*field).into());
            }
            ApiError::VneidLevelTooLow {
                account, requested, ..
            } => {
                metadata.insert("account_level".into(), account.to_string());
                metadata.insert("requested_level".into(), requested.to_string());
            }
            ApiError::VneidAccountLocked { unlocks_in, .. } => {
                metadata.insert(
                    "unlocks_in_seconds".into(),
                    unlocks_in.as_secs().max(1).to_string(),
                );
            }
            ApiError::VneidPasscodeWrong { attempts_left }
            | ApiError::VneidCodeWrong { attempts_left } => {
                metadata.insert("attempts_left".into(), attempts_left.to_string());
            }
            ApiError::MethodNotFound { path } => {
                metadata.insert("path".into(), path.clone());
            }
            ApiError::MessageTooLarge { limit, size } => {
                metadata.insert("limit".into(), limit.to_string());
                metadata.insert("size".into(), size.to_string());
            }
            ApiError::VneidChipRejected { verdict, .. } => {
                metadata.insert("verdict".into(), (*verdict).into());
            }
            ApiError::FaultInjected { rule, rpc, kind } => {
                metadata.insert("rule".into(), rule.clone());
                metadata.insert("rpc".into(), (*rpc).into());
                metadata.insert("kind".into(), kind.name().into());
                metadata.insert("injected".into(), "true".into());
            }
            ApiError::Overloaded {
                rule,
                rpc,
                capacity,
                ..
            } => {
                metadata.insert("rule".into(), rule.clone());
                metadata.insert("rpc".into(), (*rpc).into());
                metadata.insert("capacity".into(), capacity.to_string());
                metadata.insert("injected".into(), "true".into());
            }
            _ => {}
        }
        metadata
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        if let ApiError::AuditUnavailable(cause) = &error {
            // The cause stays here: it may name the database (its password masked).
            tracing::warn!(error = %cause, "a call is refused AUDIT_UNAVAILABLE");
        }
        let mut details =
            ErrorDetails::with_error_info(error.reason().as_str(), ERROR_DOMAIN, error.metadata());
        for (field, description) in error.violations() {
            details.add_bad_request_violation(field, description);
        }
        match &error {
            ApiError::VneidAccountLocked { unlocks_in, .. } => {
                details.set_retry_info(Some(*unlocks_in));
            }
            ApiError::IngestQuotaExceeded { retry_after, .. } => {
                details.set_retry_info(Some(*retry_after));
            }
            _ => {}
        }
        // The caller asked for Vietnamese (`accept-language`, read by `lang::layer`): the
        // English message stays the status's, the Vietnamese one is a LocalizedMessage.
        if crate::lang::layer::caller_language() == Language::Vietnamese {
            details.set_localized_message(
                VIETNAMESE_LOCALE,
                crate::lang::messages::vietnamese(&error),
            );
        }
        Status::with_error_details(error.code(), error.to_string(), details)
    }
}
