//! [`InjectedError`]: the status codes a QA fault rule can inject, with their names.

use tonic::Code;

/// The status codes a QA fault rule can inject (re-exported as `faults::InjectedError`; here,
/// below `faults`, for the same reason as [`AuditError`](super::AuditError)).
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
