//! [`ClientError`]: why a call through the client library failed, and on which side.
//!
//! A failure is either the client's own ([`Origin::Local`]: a certificate file it could not read,
//! an endpoint it could not parse, its outbox on disk, input it refused before sending), the
//! connection's ([`Origin::Connection`]: nothing reached the server, or the answer never came
//! back), or the server's answer ([`Origin::Server`]: a gRPC status with its code and its typed
//! [`Reason`]).

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::outbox::OutboxError;
use crate::{
    reason::{code_from_name, Reason},
    reporting::Refusal,
};

/// Why a call through the client failed. [`ClientError::origin`] says on which side; the
/// server's refusals carry a gRPC [`code`](ClientError::code) and a typed
/// [`reason`](ClientError::reason).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Local: a certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadTls {
        /// The file, as given.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// Local: the endpoint is not a URI the client can connect to, or the TLS configuration
    /// cannot be used with it.
    #[error("cannot use endpoint {endpoint:?}: {source}")]
    InvalidEndpoint {
        /// The endpoint, as given.
        endpoint: String,
        /// What tonic said.
        source: tonic::transport::Error,
    },
    /// Connection: connecting failed in a way [`super::connection_failure`] has no words for.
    #[error("cannot connect to vnpop: {0}")]
    Connect(tonic::transport::Error),
    /// Connection: the connection to the server failed; `cause` says why in words a user can
    /// act on (nothing listening, a certificate refused, no answer in time).
    #[error("cannot connect to vnpop at {endpoint}: {cause}")]
    Unreachable {
        /// The endpoint connected to.
        endpoint: String,
        /// Why it failed.
        cause: String,
    },
    /// The call's gRPC status: the server's answer (its code and google.rpc details: see
    /// [`ClientError::reason`]), or, without an ErrorInfo, a transport failure tonic reports as a
    /// status (see [`ClientError::origin`]). Made from a [`Status`] by `From`, a connection that
    /// broke mid-call is UNAVAILABLE whatever HTTP/2 code tonic gave it.
    #[error("vnpop answered {}: {}", .0.code(), .0.message())]
    Rpc(Status),
    /// Local: the audit outbox (the agency's own disk) could not keep or read an event.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Local: [`super::AgencyClient::flush`] ran out of time; the events stay in the outbox.
    #[error("{pending} audit event(s) are still waiting for delivery (kept in the outbox)")]
    FlushTimeout {
        /// Events still waiting.
        pending: u64,
    },
    /// Local: the event breaks a reporting rule (checked before it is queued): nothing was
    /// recorded and, for a lookup, nothing was called.
    #[error("the audit event would be refused: {0}")]
    EventRefused(#[from] Refusal),
    /// Server: the server refused the event (`IngestResponse.refused`).
    #[error("vnpop refused the audit event ({reason}, {field}): {message}")]
    RefusedByServer {
        /// The gRPC code the event alone had.
        code: Code,
        /// Its reason code.
        reason: Reason,
        /// The field concerned, e.g. `events[0].district`.
        field: String,
        /// What is wrong, in words.
        message: String,
    },
}

/// On which side a call failed: see [`ClientError::origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The client's own: nothing was sent (a certificate file, an endpoint, the outbox, input
    /// refused before sending). Retrying the same call gives the same failure.
    Local,
    /// The connection: the server could not be reached, or the answer did not come back.
    /// Retrying later may succeed.
    Connection,
    /// The server answered with an error: [`ClientError::code`] and [`ClientError::reason`].
    Server,
}

impl From<tokio::task::JoinError> for ClientError {
    fn from(error: tokio::task::JoinError) -> Self {
        ClientError::Outbox(OutboxError::Task(error.to_string()))
    }
}

impl From<Status> for ClientError {
    fn from(status: Status) -> Self {
        ClientError::Rpc(broken_connection_as_unavailable(status))
    }
}

/// What tonic puts before the message of a call whose HTTP/2 stream or connection failed.
const H2_FAILURE: &str = "h2 protocol error:";

/// `status`, or UNAVAILABLE when it is tonic's report of an HTTP/2 connection or stream that
/// failed before the server answered: tonic names those by the HTTP/2 error's code, so the server
/// going away mid-call (GOAWAY, its connection closed) is INTERNAL and a reset stream CANCELLED,
/// though no gRPC status came back. The server's own answers carry google.rpc details and never
/// that message, and are kept as they are.
fn broken_connection_as_unavailable(status: Status) -> Status {
    let transport = matches!(
        status.code(),
        Code::Internal | Code::Unknown | Code::Cancelled
    ) && status.details().is_empty()
        && status.message().starts_with(H2_FAILURE);
    if transport {
        Status::unavailable(status.message())
    } else {
        status
    }
}

impl ClientError {
    /// On which side the call failed. A status without a google.rpc.ErrorInfo and with code
    /// UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED or UNKNOWN is tonic's report of a transport
    /// failure ([`Origin::Connection`]); every other status is the server's answer.
    pub fn origin(&self) -> Origin {
        match self {
            ClientError::ReadTls { .. }
            | ClientError::InvalidEndpoint { .. }
            | ClientError::Outbox(_)
            | ClientError::FlushTimeout { .. }
            | ClientError::EventRefused(_) => Origin::Local,
            ClientError::Connect(_) | ClientError::Unreachable { .. } => Origin::Connection,
            ClientError::Rpc(status) => {
                let transport = matches!(
                    status.code(),
                    Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Unknown
                );
                if transport && status.get_error_details().error_info().is_none() {
                    Origin::Connection
                } else {
                    Origin::Server
                }
            }
            ClientError::RefusedByServer { .. } => Origin::Server,
        }
    }

    /// Whether the failure is the client's own: nothing was sent ([`Origin::Local`]).
    pub fn is_local(&self) -> bool {
        self.origin() == Origin::Local
    }

    /// The server's gRPC status, for a call that reached it ([`ClientError::Rpc`]).
    pub fn status(&self) -> Option<&Status> {
        match self {
            ClientError::Rpc(status) => Some(status),
            _ => None,
        }
    }

    /// The gRPC status code: the server's, or for a failure on this side the code the server
    /// gives the same failure (INVALID_ARGUMENT or PERMISSION_DENIED for an event the reporting
    /// rules refuse), else UNAVAILABLE (nothing reached the server). [`ClientError::origin`] tells
    /// them apart.
    pub fn code(&self) -> Code {
        match self {
            ClientError::Rpc(status) => status.code(),
            ClientError::EventRefused(refusal) if refusal.is_permission() => Code::PermissionDenied,
            ClientError::EventRefused(_) => Code::InvalidArgument,
            ClientError::RefusedByServer { code, .. } => *code,
            _ => Code::Unavailable,
        }
    }

    /// The reason code from google.rpc.ErrorInfo (see the README's error catalogue), or the
    /// reporting rule an event broke; `None` for a failure that has none (a connection, the
    /// outbox). A reason this version does not know is [`Reason::Other`].
    pub fn reason(&self) -> Option<Reason> {
        match self {
            ClientError::Rpc(status) => status
                .get_error_details()
                .error_info()
                .map(|info| Reason::from(info.reason.as_str())),
            ClientError::EventRefused(refusal) => Some(refusal.reason()),
            ClientError::RefusedByServer { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }

    /// The fields named by google.rpc.BadRequest, for INVALID_ARGUMENT.
    pub fn invalid_fields(&self) -> Vec<String> {
        match self {
            ClientError::Rpc(status) => status
                .get_error_details()
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                .unwrap_or_default(),
            ClientError::EventRefused(refusal) => vec![refusal.field().to_owned()],
            ClientError::RefusedByServer { field, .. } => vec![field.clone()],
            _ => Vec::new(),
        }
    }

    /// The error of an event the server's Ingest answer refused.
    pub(crate) fn refused_by_server(refusal: crate::proto::EventRefusal) -> Self {
        ClientError::RefusedByServer {
            code: code_from_name(&refusal.code),
            reason: Reason::from(refusal.reason),
            field: refusal.field,
            message: refusal.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn local_failures_are_told_from_the_servers_answers() {
        let refused = ClientError::EventRefused(Refusal::LoadTestNotAllowed);
        assert_eq!(refused.origin(), Origin::Local);
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert_eq!(refused.reason(), Some(Reason::LoadTestNotAllowed));

        let outbox = ClientError::Outbox(OutboxError::Corrupt(3));
        assert!(outbox.is_local());
        assert_eq!(outbox.reason(), None);

        let details = ErrorDetails::with_error_info(
            "CITIZEN_NOT_FOUND",
            crate::reason::ERROR_DOMAIN,
            std::collections::HashMap::<String, String>::new(),
        );
        let answer = ClientError::Rpc(Status::with_error_details(
            Code::NotFound,
            "no citizen",
            details,
        ));
        assert_eq!(answer.origin(), Origin::Server);
        assert_eq!(answer.reason(), Some(Reason::CitizenNotFound));
        assert!(answer.status().is_some());

        let dropped = ClientError::Rpc(Status::unavailable("connection reset"));
        assert_eq!(dropped.origin(), Origin::Connection);
        assert_eq!(dropped.reason(), None);
    }

    #[test]
    fn a_connection_broken_mid_call_is_unavailable() {
        // How tonic reports the server going away mid-call, and a reset stream.
        for status in [
            Status::internal("h2 protocol error: http2 error"),
            Status::cancelled("h2 protocol error: stream reset"),
        ] {
            let error = ClientError::from(status);
            assert_eq!(error.code(), Code::Unavailable, "{error}");
            assert_eq!(error.origin(), Origin::Connection);
            assert!(error.to_string().contains("h2 protocol error"), "{error}");
        }
        // The server's own answers keep their code, details or not.
        let details = ErrorDetails::with_error_info(
            "INTERNAL",
            crate::reason::ERROR_DOMAIN,
            std::collections::HashMap::<String, String>::new(),
        );
        let answer = ClientError::from(Status::with_error_details(
            Code::Internal,
            "h2 protocol error: a message the server chose",
            details,
        ));
        assert_eq!(answer.code(), Code::Internal);
        assert_eq!(
            ClientError::from(Status::internal("store failed")).code(),
            Code::Internal
        );
        assert_eq!(
            ClientError::from(Status::cancelled("Timeout expired")).code(),
            Code::Cancelled
        );
    }

    #[test]
    fn a_newer_servers_reason_is_kept() {
        let refused = ClientError::refused_by_server(crate::proto::EventRefusal {
            index: 0,
            event_id: "e".into(),
            code: "FAILED_PRECONDITION".into(),
            reason: "A_NEWER_RULE".into(),
            field: "events[0].x".into(),
            message: "newer".into(),
        });
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(refused.reason(), Some(Reason::Other("A_NEWER_RULE".into())));
        assert_eq!(refused.origin(), Origin::Server);
    }
}
