//! Every error the gRPC API returns, and its one mapping to `tonic::Status`.
//!
//! Each error has a stable reason code (google.rpc.ErrorInfo `reason`, domain [`ERROR_DOMAIN`]),
//! listed in the error catalogue (docs/errors.md); invalid arguments also carry a google.rpc.BadRequest
//! naming each offending field. Messages are written for the officer at the desk: they say what is
//! wrong and what to do. They never contain a full CCCD number or name.
//!
//! Here: [`ApiError`] itself; `status` gives its reason, code, details and `tonic::Status`;
//! `injected` holds an error it carries from below, as the `vnpop-audit` crate holds
//! [`AuditError`].

mod injected;
mod status;
#[cfg(test)]
mod tests;

use crate::{
    domain::{CccdError, CmndError, QrError},
    reporting::Refusal,
    security::CallerError,
};

pub use crate::reason::{code_name, Reason, ERROR_DOMAIN};
pub use injected::InjectedError;
pub use vnpop_audit::AuditError;

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

/// "1 attempt left", "3 attempts left".
fn attempts(left: u32) -> String {
    format!("{left} attempt{} left", if left == 1 { "" } else { "s" })
}
