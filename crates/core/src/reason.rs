//! The words of an error, shared by the server and the client library: the reason codes of
//! google.rpc.ErrorInfo ([`Reason`], the error catalogue in docs/errors.md) and the names of gRPC status
//! codes ([`code_name`], [`code_from_name`]).
//!
//! The server builds every error's `ErrorInfo.reason` from a [`Reason`] (the `vnpop` package's `src/error/`, the
//! reporting rules' [`crate::reporting::Refusal`]); the client library reads it back as one
//! (`vnpop_client::ClientError::reason`). On the wire a reason is its string
//! ([`Reason::as_str`]), so software in any language reads the same codes; a code this version
//! does not know (from a newer server) is kept as [`Reason::Other`].

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

use std::{convert::Infallible, fmt, str::FromStr};

use tonic::Code;

/// google.rpc.ErrorInfo domain of every vnpop error.
pub const ERROR_DOMAIN: &str = "vnpop.v1";

/// Declares [`Reason`]: each variant with its documentation and its wire string, once.
macro_rules! reasons {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )*) => {
        /// Why vnpop refused a call: the stable reason code of google.rpc.ErrorInfo (domain
        /// [`ERROR_DOMAIN`]). The error catalogue (docs/errors.md) says when each is answered and what the
        /// officer does about it. New reasons may be added: match with a wildcard arm.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $( $(#[doc = $doc])* $variant, )*
            /// A reason this version of the library does not know (a newer server's), as sent.
            Other(String),
        }

        impl Reason {
    /// Whether this is a VNeID refusal: made by the VNeID service after the call was served,
    /// and recorded by it under this reason (a client reports the call the same way).
    pub fn is_vneid_refusal(&self) -> bool {
        matches!(
            self,
            Reason::VneidNoAccount
                | Reason::VneidLevelTooLow
                | Reason::VneidCitizenDeceased
                | Reason::VneidCardRevoked
                | Reason::VneidRefused
                | Reason::VneidAccountLocked
                | Reason::VneidCapacity
                | Reason::VneidChallengeQuota
                | Reason::VneidChallengeNotFound
                | Reason::VneidChallengeExpired
                | Reason::VneidPasscodeWrong
                | Reason::VneidCodeWrong
                | Reason::VneidCodeReused
                | Reason::VneidChipRequired
                | Reason::VneidChipRejected
        )
    }

            /// Every reason this version knows, in catalogue order.
            pub const KNOWN: &'static [Reason] = &[$(Reason::$variant),*];

            /// The wire string, e.g. `"CITIZEN_NOT_FOUND"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Reason::$variant => $name, )*
                    Reason::Other(name) => name,
                }
            }

            /// The known reason spelled `name`, if any.
            fn known(name: &str) -> Option<Reason> {
                match name {
                    $( $name => Some(Reason::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// A request context lacks its dossier id, purpose or officer id (each named).
    RequestContextIncomplete = "REQUEST_CONTEXT_INCOMPLETE",
    /// A request context's id or purpose is too long.
    RequestContextTooLong = "REQUEST_CONTEXT_TOO_LONG",
    /// A CCCD number is not 12 digits (metadata `part` says where).
    CccdMalformed = "CCCD_MALFORMED",
    /// A CCCD number's first three digits are not one of the 63 province codes.
    CccdUnknownProvince = "CCCD_UNKNOWN_PROVINCE",
    /// A CCCD number's digit 4 means a birth in 2100 or later.
    CccdCenturyInFuture = "CCCD_CENTURY_IN_FUTURE",
    /// A CCCD number's digits 4–6 mean a birth year after this year.
    CccdBirthYearInFuture = "CCCD_BIRTH_YEAR_IN_FUTURE",
    /// A CMND number is not 9 digits.
    CmndMalformed = "CMND_MALFORMED",
    /// A QR payload part is missing or unreadable.
    QrMalformed = "QR_MALFORMED",
    /// A QR payload's number contradicts its own birth date or sex.
    QrInconsistent = "QR_INCONSISTENT",
    /// VerifyDemographics with nothing declared.
    DeclaredEmpty = "DECLARED_EMPTY",
    /// A field is set but not valid (BadRequest names it).
    FieldInvalid = "FIELD_INVALID",
    /// A string input is over its bound.
    FieldTooLong = "FIELD_TOO_LONG",
    /// A reported audit event lacks a required field or has an unknown value.
    EventInvalid = "EVENT_INVALID",
    /// A reported event names a district its agency does not receive dossiers for.
    DistrictNotServed = "DISTRICT_NOT_SERVED",
    /// A reported event dated since 1 July 2025 is placed only by a district that cannot be mapped.
    DistrictAbolished = "DISTRICT_ABOLISHED",
    /// A reported event's commune is not a unit in force.
    CommuneUnknown = "COMMUNE_UNKNOWN",
    /// A reported event's commune is not one its agency receives dossiers at.
    CommuneNotServed = "COMMUNE_NOT_SERVED",
    /// A reported event is older than the agency may report.
    ReportTooLate = "REPORT_TOO_LATE",
    /// A reported event is dated more than 5 minutes ahead of the server's clock.
    ReportInFuture = "REPORT_IN_FUTURE",
    /// `load_test` set by an agency whose directory entry does not allow load tests.
    LoadTestNotAllowed = "LOAD_TEST_NOT_ALLOWED",
    /// An Ingest call beyond the agency's quota; RetryInfo says when to send it again.
    IngestQuotaExceeded = "INGEST_QUOTA_EXCEEDED",
    /// More events in one Ingest call than the server takes.
    BatchTooLarge = "BATCH_TOO_LARGE",
    /// A data-cleaning stream without its job, or with a job field missing or not valid.
    CleaningJobInvalid = "CLEANING_JOB_INVALID",
    /// More records in one data-cleaning batch than the server takes.
    CleaningBatchTooLarge = "CLEANING_BATCH_TOO_LARGE",
    /// A data-cleaning job by an agency whose directory entry does not allow cleaning.
    CleaningNotAllowed = "CLEANING_NOT_ALLOWED",
    /// No citizen has that CCCD number.
    CitizenNotFound = "CITIZEN_NOT_FOUND",
    /// No citizen is linked to that CMND number.
    CmndNotFound = "CMND_NOT_FOUND",
    /// No client certificate reached the service.
    ClientCertificateMissing = "CLIENT_CERTIFICATE_MISSING",
    /// The client certificate cannot be parsed.
    ClientCertificateInvalid = "CLIENT_CERTIFICATE_INVALID",
    /// A trusted certificate whose subject no agency is configured for.
    AgencyUnknown = "AGENCY_UNKNOWN",
    /// The agency's role may not call this RPC.
    RoleNotAllowed = "ROLE_NOT_ALLOWED",
    /// The server could not record the call in its audit log, so it did not answer.
    AuditUnavailable = "AUDIT_UNAVAILABLE",
    /// QA fault injection answered the call on purpose.
    FaultInjected = "FAULT_INJECTED",
    /// A QA overload rule is at capacity.
    Overloaded = "OVERLOADED",
    /// SetFaults with an invalid rule.
    FaultRuleInvalid = "FAULT_RULE_INVALID",
    /// An admin fixture change with an invalid field.
    FixtureInvalid = "FIXTURE_INVALID",
    /// RevokeCard for a citizen without a card.
    CitizenHasNoCard = "CITIZEN_HAS_NO_CARD",
    /// A gRPC method this process does not serve (metadata `path`).
    MethodNotFound = "METHOD_NOT_FOUND",
    /// A request message larger than the service accepts (metadata `limit`, `size`, bytes).
    MessageTooLarge = "MESSAGE_TOO_LARGE",
    /// An input outside the agency's field scope (metadata `field`).
    FieldOutOfScope = "FIELD_OUT_OF_SCOPE",
    /// A chip read cannot be examined.
    ChipReadMalformed = "CHIP_READ_MALFORMED",
    /// The citizen has no VNeID account.
    VneidNoAccount = "VNEID_NO_ACCOUNT",
    /// Level 2 requested of a level-1 VNeID account.
    VneidLevelTooLow = "VNEID_LEVEL_TOO_LOW",
    /// The citizen is recorded as deceased.
    VneidCitizenDeceased = "VNEID_CITIZEN_DECEASED",
    /// The citizen's card was revoked: the VNeID account is suspended.
    VneidCardRevoked = "VNEID_CARD_REVOKED",
    /// The citizen cannot authenticate with VNeID for a reason the caller's field scope does not
    /// let it be told (no account, the account's level, a revoked or expired card, a death).
    VneidRefused = "VNEID_REFUSED",
    /// The VNeID account is locked after repeated failures (RetryInfo says until when).
    VneidAccountLocked = "VNEID_ACCOUNT_LOCKED",
    /// The server holds as many pending authentications as it may.
    VneidCapacity = "VNEID_CAPACITY",
    /// The agency has as many authentications pending as its quota.
    VneidChallengeQuota = "VNEID_CHALLENGE_QUOTA",
    /// No such authentication challenge for this agency.
    VneidChallengeNotFound = "VNEID_CHALLENGE_NOT_FOUND",
    /// The authentication challenge has expired.
    VneidChallengeExpired = "VNEID_CHALLENGE_EXPIRED",
    /// The passcode is wrong (metadata `attempts_left`).
    VneidPasscodeWrong = "VNEID_PASSCODE_WRONG",
    /// The one-time code is wrong or stale (metadata `attempts_left`).
    VneidCodeWrong = "VNEID_CODE_WRONG",
    /// The one-time code was already used.
    VneidCodeReused = "VNEID_CODE_REUSED",
    /// A level-2 authentication without a chip read.
    VneidChipRequired = "VNEID_CHIP_REQUIRED",
    /// The chip read failed verification, or is another citizen's card (metadata `verdict`).
    VneidChipRejected = "VNEID_CHIP_REJECTED",
    /// `vnpop gateway`: the body is not the route's message in the proto3 JSON mapping.
    JsonInvalid = "JSON_INVALID",
    /// `vnpop gateway`: the dossier was never opened through this gateway.
    DossierNotOpened = "DOSSIER_NOT_OPENED",
    /// `vnpop gateway`: the dossier id was opened before with other details.
    DossierConflict = "DOSSIER_CONFLICT",
    /// `vnpop gateway`: the call did not present the gateway's API key.
    ApiKeyMissing = "API_KEY_MISSING",
    /// `vnpop gateway`: the call presented a wrong API key.
    ApiKeyInvalid = "API_KEY_INVALID",
    /// `vnpop gateway`: no such route.
    RouteNotFound = "ROUTE_NOT_FOUND",
    /// `vnpop gateway`: the route exists, not with this HTTP method.
    MethodNotAllowed = "METHOD_NOT_ALLOWED",
    /// `vnpop gateway`: the vnpop server cannot be reached.
    ServerUnreachable = "SERVER_UNREACHABLE",
    /// `vnpop gateway`: the event could not be committed to its outbox.
    AuditOutboxFailed = "AUDIT_OUTBOX_FAILED",
    /// `vnpop gateway`: the dossier could not be stored in its index.
    GatewayIndexFailed = "GATEWAY_INDEX_FAILED",
}

impl Reason {
    /// Whether this version of the library knows the reason (it is not [`Reason::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Reason::Other(_))
    }
}

impl FromStr for Reason {
    type Err = Infallible;

    /// Never fails: a code this version does not know is [`Reason::Other`].
    fn from_str(name: &str) -> Result<Self, Infallible> {
        Ok(Reason::known(name).unwrap_or_else(|| Reason::Other(name.to_owned())))
    }
}

impl From<&str> for Reason {
    fn from(name: &str) -> Self {
        Reason::known(name).unwrap_or_else(|| Reason::Other(name.to_owned()))
    }
}

impl From<String> for Reason {
    fn from(name: String) -> Self {
        Reason::known(&name).unwrap_or(Reason::Other(name))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Reason {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Reason {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Reason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The canonical name of a gRPC status code, as google/rpc/code.proto spells it ("NOT_FOUND" for
/// `Code::NotFound`): the gateway's problem+json, the load report's tallies and the Ingest
/// answer's refusals print it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The outcome label the audit trail records for a call that ended with `code` (its
/// [`code_name`] in lower case: "not_found", "invalid_argument", "unavailable"), on the server's
/// side and in the client library's reports alike.
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The code [`code_name`] spells `name`; `Code::Unknown` for anything else.
pub fn code_from_name(name: &str) -> Code {
    (0..=16)
        .map(Code::from_i32)
        .find(|&code| code_name(code) == name)
        .unwrap_or(Code::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_reason_reads_back_as_itself() {
        for reason in Reason::KNOWN {
            assert_eq!(reason.as_str().parse::<Reason>().unwrap(), *reason);
            assert!(reason.is_known());
        }
        let names: std::collections::HashSet<_> =
            Reason::KNOWN.iter().map(Reason::as_str).collect();
        assert_eq!(
            names.len(),
            Reason::KNOWN.len(),
            "a reason string is used twice"
        );
    }

    #[test]
    fn an_unknown_reason_is_kept_as_sent() {
        let newer: Reason = "SOMETHING_NEW".parse().unwrap();
        assert_eq!(newer, Reason::Other("SOMETHING_NEW".into()));
        assert_eq!(newer.as_str(), "SOMETHING_NEW");
        assert!(!newer.is_known());
        assert_eq!(Reason::from("CITIZEN_NOT_FOUND"), Reason::CitizenNotFound);
        assert_eq!(Reason::CitizenNotFound, "CITIZEN_NOT_FOUND");
    }

    #[test]
    fn code_names_read_back() {
        for value in 0..=16 {
            let code = Code::from_i32(value);
            assert_eq!(code_label(code), code_name(code).to_lowercase());
            assert_eq!(code_from_name(code_name(code)), code);
        }
        assert_eq!(code_from_name("NOT_A_CODE"), Code::Unknown);
    }
}
