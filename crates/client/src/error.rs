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
    /// Local: the certificate and the key given do not make one TLS identity.
    #[error("the certificate {cert} and the key {key} cannot be used together: {why}")]
    TlsIdentity {
        /// The certificate file, as given.
        cert: String,
        /// The key file, as given.
        key: String,
        /// What is wrong, in words.
        why: String,
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
        cause: super::ConnectionFailure,
    },
    /// Server: the call's gRPC status as the server answered it (its code and google.rpc
    /// details: see [`ClientError::reason`]). Made from a [`Status`] by `From` only when the
    /// status came from the server; a status tonic made from a failure of its own transport is a
    /// [`ClientError::Transport`].
    #[error("vnpop answered {}: {}", .0.code(), .0.message())]
    Rpc(Status),
    /// Connection: the call failed in transport — it could not be sent, its connection or stream
    /// broke before the answer came back, or no answer came in time — so nothing here is the
    /// server's answer. Told apart from [`ClientError::Rpc`] by the error's type, never its text
    /// (see [`TransportFailure`]). The status is tonic's, its `source()` chain the cause.
    #[error("{failure}: {}", .status.message())]
    Transport {
        /// How the call failed.
        failure: TransportFailure,
        /// tonic's report of it; its `source()` chain holds the transport's own errors.
        status: Status,
    },
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
    /// The server's answer ([`ClientError::Rpc`]), or a [`ClientError::Transport`] when tonic
    /// made the status from a failure of its own transport.
    fn from(status: Status) -> Self {
        match TransportFailure::of(&status) {
            Some(failure) => ClientError::Transport { failure, status },
            None => ClientError::Rpc(status),
        }
    }
}

/// How a call failed in transport: see [`ClientError::Transport`].
///
/// A status the server sent is decoded from its answer's headers or trailers and carries no
/// `source()`; a status tonic makes from a failure of its own — connecting, the HTTP/2 connection
/// or stream breaking, a timeout — carries that failure as its `source()` chain
/// (`tonic::transport::Error`, `h2::Error`, `hyper::Error`, `std::io::Error`,
/// [`tonic::TimeoutExpired`], [`tonic::ConnectError`]). The kind is read from those types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportFailure {
    /// No connection could be made: nothing was sent, so the server did not serve the call.
    Connect,
    /// The connection or the call's stream broke before the answer came back: the server may
    /// have served the call (and recorded it) or not.
    Broken,
    /// No answer came in time: the server may have served the call or not.
    Timeout,
}

impl TransportFailure {
    /// How `status` failed in transport, or `None` if it is an answer the server sent (or a
    /// status made here without a cause).
    pub fn of(status: &Status) -> Option<Self> {
        let mut next = std::error::Error::source(status)?;
        let mut failure = TransportFailure::Broken;
        loop {
            if next.is::<tonic::ConnectError>() {
                return Some(TransportFailure::Connect);
            }
            let timed_out = next.is::<tonic::TimeoutExpired>()
                || next.is::<CallTimedOut>()
                || next.is::<tokio::time::error::Elapsed>()
                || next
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
            if timed_out {
                failure = TransportFailure::Timeout;
            }
            match next.source() {
                Some(source) => next = source,
                None => return Some(failure),
            }
        }
    }

    /// The gRPC code a call that failed this way is reported with: DEADLINE_EXCEEDED for a
    /// timeout, UNAVAILABLE otherwise.
    pub fn code(self) -> Code {
        match self {
            TransportFailure::Timeout => Code::DeadlineExceeded,
            TransportFailure::Connect | TransportFailure::Broken => Code::Unavailable,
        }
    }
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "cannot reach vnpop",
            TransportFailure::Broken => "the connection to vnpop broke before it answered",
            TransportFailure::Timeout => "vnpop did not answer in time",
        })
    }
}

/// The cause of a transport failure the client library detects itself (its own deadline).
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0} ms (connecting included)")]
pub(crate) struct CallTimedOut(pub(crate) u128);

impl ClientError {
    /// A call that failed in transport, from the transport's own error (a channel that was not
    /// ready, the client's own deadline): tonic's status for it, classified.
    pub fn transport(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let status = Status::from_error(error.into());
        let failure = TransportFailure::of(&status).unwrap_or(TransportFailure::Broken);
        ClientError::Transport { failure, status }
    }
}

impl ClientError {
    /// On which side the call failed: by the error's variant, which `From<Status>` chose by
    /// the status's type (see [`TransportFailure`]).
    pub fn origin(&self) -> Origin {
        match self {
            ClientError::ReadTls { .. }
            | ClientError::TlsIdentity { .. }
            | ClientError::InvalidEndpoint { .. }
            | ClientError::Outbox(_)
            | ClientError::FlushTimeout { .. }
            | ClientError::EventRefused(_) => Origin::Local,
            ClientError::Connect(_)
            | ClientError::Unreachable { .. }
            | ClientError::Transport { .. } => Origin::Connection,
            ClientError::Rpc(_) => Origin::Server,
            ClientError::RefusedByServer { .. } => Origin::Server,
        }
    }

    /// Whether the failure is the client's own: nothing was sent ([`Origin::Local`]).
    pub fn is_local(&self) -> bool {
        self.origin() == Origin::Local
    }

    /// The server's gRPC status, for a call it answered ([`ClientError::Rpc`]).
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
            ClientError::Transport { failure, .. } => failure.code(),
            ClientError::EventRefused(refusal) if refusal.is_permission() => Code::PermissionDenied,
            ClientError::EventRefused(_) => Code::InvalidArgument,
            ClientError::RefusedByServer { code, .. } => *code,
            _ => Code::Unavailable,
        }
    }

    /// The reason code from google.rpc.ErrorInfo (see the error catalogue, docs/errors.md), or the
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

    /// The server's `google.rpc.LocalizedMessage`, which it sends when the call asked for a
    /// language other than English ([`crate::LookupContext::in_language`]): its locale
    /// (`vi-VN`) and message. `None` for any other failure, or an answer without one.
    pub fn localized_message(&self) -> Option<tonic_types::LocalizedMessage> {
        match self {
            ClientError::Rpc(status) => status.get_error_details().localized_message().cloned(),
            _ => None,
        }
    }

    /// What went wrong, in `language`: the server's own message in it when it sent one, a server
    /// that could not be reached with the cause in words ([`super::ConnectionFailure`]), else,
    /// for Vietnamese, the catalogue's message of the reason
    /// ([`Reason::vietnamese`]) followed by the English in parentheses; else the English
    /// ([`Display`](std::fmt::Display)).
    pub fn message_in(&self, language: vnpop_core::lang::Language) -> String {
        use vnpop_core::lang::Language;
        match (self, language) {
            (_, Language::English) => self.to_string(),
            (ClientError::Rpc(status), _) => language.status_message(status),
            (ClientError::Unreachable { endpoint, cause }, _) => format!(
                "không kết nối được tới máy chủ vnpop tại {endpoint}: {}",
                cause.in_language(language)
            ),
            _ => match self.reason().as_ref().and_then(Reason::vietnamese) {
                Some(message) => format!("{message} ({self})"),
                None => self.to_string(),
            },
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
            vnpop_core::reason::ERROR_DOMAIN,
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

        // A status the server sent, UNAVAILABLE and without details or not, is its answer.
        let answered = ClientError::from(Status::unavailable("overloaded"));
        assert_eq!(answered.origin(), Origin::Server);
        assert_eq!(answered.code(), Code::Unavailable);
    }

    /// A status as tonic makes it from a failure of its transport.
    fn from_transport(error: impl std::error::Error + Send + Sync + 'static) -> ClientError {
        ClientError::from(Status::from_error(Box::new(error)))
    }

    #[test]
    fn transport_failures_are_told_by_their_type_never_their_text() {
        use std::io::{Error, ErrorKind};
        // What tonic makes of a broken connection: "Unknown: transport error", "h2 protocol
        // error: …" (INTERNAL), a reset stream (CANCELLED): all UNAVAILABLE, none the server's.
        let cases = [
            (
                from_transport(Error::new(ErrorKind::ConnectionReset, "reset")),
                TransportFailure::Broken,
            ),
            (
                from_transport(h2_like("http2 error")),
                TransportFailure::Broken,
            ),
            (
                from_transport(tonic::ConnectError(Box::new(Error::new(
                    ErrorKind::ConnectionRefused,
                    "refused",
                )))),
                TransportFailure::Connect,
            ),
            (
                from_transport(tonic::TimeoutExpired(())),
                TransportFailure::Timeout,
            ),
            (
                from_transport(Error::new(ErrorKind::TimedOut, "timed out")),
                TransportFailure::Timeout,
            ),
            (
                ClientError::transport(CallTimedOut(300)),
                TransportFailure::Timeout,
            ),
        ];
        for (error, failure) in cases {
            let ClientError::Transport { failure: got, .. } = &error else {
                panic!("not a transport failure: {error:?}");
            };
            assert_eq!(*got, failure, "{error}");
            assert_eq!(error.origin(), Origin::Connection, "{error}");
            assert_eq!(error.code(), failure.code(), "{error}");
            assert_eq!(error.reason(), None);
            assert!(error.status().is_none());
        }
        // The same words from the server are its answer: the text decides nothing.
        for status in [
            Status::unknown("transport error"),
            Status::internal("h2 protocol error: http2 error"),
            Status::cancelled("h2 protocol error: stream reset"),
        ] {
            let code = status.code();
            let error = ClientError::from(status);
            assert!(matches!(error, ClientError::Rpc(_)), "{error:?}");
            assert_eq!(error.code(), code);
            assert_eq!(error.origin(), Origin::Server);
        }
    }

    /// An error of a type the client does not name, standing for h2's and hyper's.
    fn h2_like(message: &'static str) -> impl std::error::Error + Send + Sync + 'static {
        #[derive(Debug)]
        struct Opaque(&'static str);
        impl std::fmt::Display for Opaque {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Opaque {}
        Opaque(message)
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
