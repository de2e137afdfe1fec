//! Every error the gRPC API returns, and its one mapping to `tonic::Status`.
//!
//! Each error has a stable reason code (google.rpc.ErrorInfo `reason`, domain [`ERROR_DOMAIN`]),
//! listed in the error catalogue (docs/errors.md); invalid arguments also carry a google.rpc.BadRequest
//! naming each offending field. Messages are written for the officer at the desk: they say what is
//! wrong and what to do. They never contain a full CCCD number or name.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    domain::{CccdError, CmndError, QrError},
    lang::{Language, VIETNAMESE_LOCALE},
    reporting::Refusal,
    security::CallerError,
};

pub use crate::reason::{code_name, Reason, ERROR_DOMAIN};

/// At most this many characters of an input are quoted in an error message.
pub(crate) const QUOTE_MAX_CHARS: usize = 64;

/// `input` as an error message quotes it: debug-escaped, cut to [`QUOTE_MAX_CHARS`] characters
/// with the full length said, so an error never echoes a whole hostile field.
pub(crate) fn quote(input: &str) -> String {
    let count = input.chars().count();
    if count <= QUOTE_MAX_CHARS {
        format!("{input:?}")
    } else {
        let head: String = input.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{head:?}… ({count} characters)")
    }
}

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
    #[error("{field} is too long: {len} bytes, at most {max}")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} is not valid: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// One event of an Ingest batch broke a reporting rule (the rest of the batch is stored).
    #[error("events[{index}]: {refusal}")]
    EventRefused { index: usize, refusal: Refusal },
    #[error("agency {agency} may not mark its calls load_test: its directory entry does not allow load tests")]
    LoadTestNotAllowed { agency: String },
    #[error("agency {agency} has used its ingest quota ({per_minute} events a minute); nothing of this batch was stored: send it again in {} s", .retry_after.as_secs().max(1))]
    IngestQuotaExceeded {
        agency: String,
        per_minute: u64,
        retry_after: std::time::Duration,
    },
    #[error("a batch holds at most {max} events, this one {count}; split it")]
    BatchTooLarge { count: usize, max: usize },
    /// A cleaning stream's job is missing or one of its fields is not valid (the field named).
    #[error("{field}: {message}")]
    CleaningJobInvalid {
        field: &'static str,
        message: String,
    },
    #[error(
        "a cleaning batch holds at most {max} records, this one {count}; send smaller batches"
    )]
    CleaningBatchTooLarge { count: usize, max: usize },
    #[error("agency {agency} may not run data-cleaning jobs: its directory entry has no cleaning_per_second")]
    CleaningNotAllowed { agency: String },
    #[error("no citizen has CCCD number {masked}; check the number with the applicant")]
    CitizenNotFound { masked: String },
    #[error(
        "no citizen is linked to CMND number {masked}; ask the applicant for their CCCD number"
    )]
    CmndNotFound { masked: String },
    #[error("{0}")]
    Caller(#[from] CallerError),
    /// The audit log could not record (or read) what the call needed. The caller is told to
    /// retry, never why: the cause may name the fleet's database, and goes to the server's log
    /// (see `From<ApiError> for Status`).
    #[error("the audit log cannot record this call, so it is not served; try again shortly (the server's log says why)")]
    AuditUnavailable(AuditError),
    #[error("agency {agency} (role {role}) may not call {rpc}")]
    RoleNotAllowed {
        agency: String,
        role: String,
        rpc: &'static str,
    },
    #[error("agency {agency} may not use {input}: its field scope lacks {field}")]
    FieldOutOfScope {
        agency: String,
        field: &'static str,
        input: &'static str,
    },
    #[error("the chip read cannot be examined: {field}: {message}")]
    ChipReadMalformed { field: String, message: String },
    #[error("citizen {masked} has no VNeID account; they must register in the VNeID app first")]
    VneidNoAccount { masked: String },
    #[error("citizen {masked} has a level-{account} VNeID account; level {requested} was requested (level 2 is activated at the police with the chip card)")]
    VneidLevelTooLow {
        masked: String,
        account: u8,
        requested: u8,
    },
    #[error("citizen {masked} is recorded as deceased; their VNeID account cannot be used")]
    VneidCitizenDeceased { masked: String },
    #[error("the identity card of citizen {masked} was revoked; their VNeID account is suspended")]
    VneidCardRevoked { masked: String },
    #[error("citizen {masked} cannot authenticate with VNeID at the level asked; this agency's field scope does not say why")]
    VneidRefused { masked: String },
    #[error("this server does not serve {path:?}; its reflection service lists what it serves")]
    MethodNotFound { path: String },
    #[error("the request message is {size} bytes; this service accepts at most {limit}")]
    MessageTooLarge { limit: usize, size: usize },
    #[error("the VNeID account of citizen {masked} is locked after repeated failures; try again in {} s", .unlocks_in.as_secs().max(1))]
    VneidAccountLocked {
        masked: String,
        unlocks_in: std::time::Duration,
    },
    #[error("the server holds as many {what} as it may; try again shortly")]
    VneidCapacity { what: &'static str },
    #[error(
        "agency {agency} has {max} authentications pending, its quota; complete or let some expire"
    )]
    VneidChallengeQuota { agency: String, max: usize },
    #[error("no authentication challenge has this id for this agency; start a new authentication")]
    VneidChallengeNotFound,
    #[error("the authentication challenge has expired; start a new authentication")]
    VneidChallengeExpired,
    #[error("the passcode is wrong ({} before the account is locked)", attempts(*.attempts_left))]
    VneidPasscodeWrong { attempts_left: u32 },
    #[error("the one-time code is wrong ({} before the account is locked)", attempts(*.attempts_left))]
    VneidCodeWrong { attempts_left: u32 },
    #[error("this one-time code was already used; wait for the next code")]
    VneidCodeReused,
    #[error("a level-2 authentication needs chip_read: read the citizen's chip card")]
    VneidChipRequired,
    #[error("the chip read was rejected ({verdict}): {detail}")]
    VneidChipRejected {
        verdict: &'static str,
        detail: String,
    },
    #[error("INJECTED FAULT, not a real failure: QA fault rule {rule:?} answered {rpc} with {} on purpose", .kind.name().to_uppercase())]
    FaultInjected {
        rule: String,
        rpc: &'static str,
        kind: InjectedError,
    },
    #[error("the population database is overloaded ({capacity} calls in service) and {why}; retry later with backoff (INJECTED by QA fault rule {rule:?} on {rpc})")]
    Overloaded {
        rule: String,
        rpc: &'static str,
        capacity: u32,
        why: &'static str,
    },
    #[error("{field} is not valid: {message}")]
    FaultRuleInvalid { field: String, message: String },
    #[error("{field} is not valid: {message}")]
    FixtureInvalid { field: String, message: String },
    #[error("citizen {masked} has no identity card to revoke")]
    CitizenHasNoCard { masked: String },
}

/// Why the audit log could not do what was asked (the audit domain's error, re-exported as
/// `audit::AuditError`). It lives here, below both, so that `audit`'s service layer can answer
/// [`ApiError`] while [`ApiError::AuditUnavailable`] carries it, without an import cycle.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("audit log write failed, nothing of the batch was stored: {0}")]
    Write(String),
    #[error("audit signing key: {0}")]
    Key(String),
    /// Another process holds the data directory's lock (`audit::lock`): one server writes a
    /// data directory's audit log.
    #[error("the data directory {dir} is in use by another vnpop server (PID {pid}): one server writes a data directory's audit log; stop that one or give this one its own --data-dir")]
    DataDirLocked {
        /// The data directory.
        dir: String,
        /// The PID the lock file names ("unknown" if it names none yet).
        pid: String,
    },
    /// The data directory (or its lock file) cannot be made or opened.
    #[error("data directory {dir}: {message}")]
    DataDir {
        /// The data directory.
        dir: String,
        /// What failed.
        message: String,
    },
    #[error("the audit log is corrupt: {0}")]
    Corrupt(String),
    /// The citizen index's file (derived from the log: see `audit::projector`) cannot be read
    /// or written.
    #[error("audit citizen index {file}: {message}")]
    CitizenIndex {
        /// The index's file.
        file: String,
        /// What failed.
        message: String,
    },
    /// A run of the sequencer's stored ids (derived from the log: see `audit::dedup`) cannot be
    /// read or written.
    #[error("audit stored ids {file}: {message}")]
    StoredIds {
        /// The run's file.
        file: String,
        /// What failed.
        message: String,
    },
    #[error("the audit log is closed")]
    Closed,
    /// An auditor's query waited its patience for the query tables to reach what was
    /// acknowledged when it began (read-your-writes), and they are still behind: the projector
    /// is slow or failing (the server's log says which). Nothing is lost; ask again.
    #[error(
        "the query tables are behind the log (applied {applied} of {target} events); try again"
    )]
    Behind {
        /// Events the query tables held when the wait gave up.
        applied: u64,
        /// Events acknowledged when the query began.
        target: u64,
    },
    /// The fleet's shared database (PostgreSQL) failed or refused.
    #[error("audit store: {0}")]
    Store(String),
    /// The fleet's shared database refused the values of a group (SQLSTATE class 22, a data
    /// exception): the same rows would be refused again, unlike a lost connection. The
    /// sequencer commits the rest of the group without the job that carried them.
    #[error("audit store refused the data: {0}")]
    Refused(String),
}

/// The status codes a QA fault rule can inject (re-exported as `faults::InjectedError`; here,
/// below `faults`, for the same reason as [`AuditError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectedError {
    Unavailable,
    DeadlineExceeded,
    ResourceExhausted,
    Internal,
}

impl InjectedError {
    /// The status code a call answered with this fault gets.
    pub fn code(self) -> Code {
        match self {
            InjectedError::Unavailable => Code::Unavailable,
            InjectedError::DeadlineExceeded => Code::DeadlineExceeded,
            InjectedError::ResourceExhausted => Code::ResourceExhausted,
            InjectedError::Internal => Code::Internal,
        }
    }

    /// The name used in logs, metrics and error metadata.
    pub fn name(self) -> &'static str {
        match self {
            InjectedError::Unavailable => "unavailable",
            InjectedError::DeadlineExceeded => "deadline_exceeded",
            InjectedError::ResourceExhausted => "resource_exhausted",
            InjectedError::Internal => "internal",
        }
    }
}

/// `text` if it is at most `max` bytes long, else [`ApiError::FieldTooLong`] naming `field`:
/// every string input is bounded before it is parsed.
pub fn bounded<'a>(field: &'static str, text: &'a str, max: usize) -> Result<&'a str, ApiError> {
    if text.len() <= max {
        Ok(text)
    } else {
        Err(ApiError::FieldTooLong {
            field,
            len: text.len(),
            max,
        })
    }
}

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

/// "1 attempt left", "3 attempts left".
fn attempts(left: u32) -> String {
    format!("{left} attempt{} left", if left == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error catalogue (docs/errors.md, one table) lists every reason the server and the
    /// gateway answer exactly once, in a row of its five columns, and names no reason that is
    /// not one.
    #[test]
    fn the_error_catalogue_lists_every_reason_once() {
        let catalogue = include_str!("../docs/errors.md");
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
        let readme = include_str!("../README.md");
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
}
