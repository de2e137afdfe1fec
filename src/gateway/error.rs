//! The gateway's errors, and the one mapping of any error — the gateway's own or the server's —
//! to a gRPC `Status` (with google.rpc.ErrorInfo and BadRequest, as the server answers) and from
//! that `Status` to an RFC 9457 problem+json document. REST and gRPC callers therefore get the same
//! reason codes.

use std::collections::HashMap;

use axum::{body::Body, http::StatusCode, response::Response};
use serde::Serialize;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    client::ClientError,
    error::ERROR_DOMAIN,
    lang::{layer::caller_language, Language},
};

/// Why the gateway refused or could not complete a call.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the request body is not a vnpop.v1.{message} in the proto3 JSON mapping: {detail}")]
    Json {
        message: &'static str,
        detail: String,
    },
    #[error("{field} is not valid: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("dossier {0:?} was never opened through this gateway: open it first (POST /v1/dossiers or AgencyGateway.OpenDossier)")]
    DossierNotOpened(String),
    #[error("dossier {0:?} was opened before with other details; dossier ids must be unique")]
    DossierConflict(String),
    #[error(
        "this gateway requires an API key: send `Authorization: Bearer KEY` or `x-api-key: KEY`"
    )]
    ApiKeyMissing,
    #[error("the API key is not valid")]
    ApiKeyInvalid,
    #[error("no such route: {0}; the routes are in /openapi.json")]
    NoRoute(String),
    #[error("{0} is not allowed on this route; see /openapi.json")]
    MethodNotAllowed(String),
    #[error("the gateway's dossier index failed: {0}")]
    Index(String),
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl GatewayError {
    fn reason(&self) -> Option<&'static str> {
        Some(match self {
            GatewayError::Json { .. } => "JSON_INVALID",
            GatewayError::InvalidField { .. } => "FIELD_INVALID",
            GatewayError::DossierNotOpened(_) => "DOSSIER_NOT_OPENED",
            GatewayError::DossierConflict(_) => "DOSSIER_CONFLICT",
            GatewayError::ApiKeyMissing => "API_KEY_MISSING",
            GatewayError::ApiKeyInvalid => "API_KEY_INVALID",
            GatewayError::NoRoute(_) => "ROUTE_NOT_FOUND",
            GatewayError::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            GatewayError::Index(_) => "GATEWAY_INDEX_FAILED",
            GatewayError::Client(ClientError::Outbox(_)) => "AUDIT_OUTBOX_FAILED",
            GatewayError::Client(ClientError::Rpc(_)) => return None,
            // The reporting rule's own reason (see `From<GatewayError> for Status`).
            GatewayError::Client(ClientError::EventRefused(_)) => return None,
            GatewayError::Client(ClientError::RefusedByServer { .. }) => return None,
            // Every other failure of the client library is on this side of the server, or in
            // between (a transport failure, by its type): the server could not be reached or
            // went away mid-call. Never a 500.
            GatewayError::Client(_) => "SERVER_UNREACHABLE",
        })
    }

    fn code(&self) -> Code {
        match self {
            GatewayError::Json { .. } | GatewayError::InvalidField { .. } => Code::InvalidArgument,
            GatewayError::DossierNotOpened(_) | GatewayError::NoRoute(_) => Code::NotFound,
            GatewayError::DossierConflict(_) => Code::AlreadyExists,
            GatewayError::ApiKeyMissing | GatewayError::ApiKeyInvalid => Code::Unauthenticated,
            GatewayError::MethodNotAllowed(_) => Code::Unimplemented,
            GatewayError::Index(_) => Code::Internal,
            GatewayError::Client(ClientError::Outbox(_)) => Code::Internal,
            GatewayError::Client(
                error @ (ClientError::EventRefused(_) | ClientError::RefusedByServer { .. }),
            ) => error.code(),
            GatewayError::Client(_) => Code::Unavailable,
        }
    }
}

impl From<GatewayError> for Status {
    fn from(error: GatewayError) -> Status {
        // The server's own answer, details and all. A call that failed in transport is a
        // `ClientError::Transport` (told by its type in the client library), never an answer:
        // it is SERVER_UNREACHABLE below, like every other failure to reach the server.
        // Both in the caller's language (`serve::dispatch`): the server's LocalizedMessage, or
        // the catalogue's when the server sent none.
        let language = caller_language();
        if let GatewayError::Client(ClientError::Rpc(status)) = error {
            return language.localize(status);
        }
        // A report the reporting rules refuse: its own reason, the field named.
        let reason = match &error {
            GatewayError::Client(
                client @ (ClientError::EventRefused(_) | ClientError::RefusedByServer { .. }),
            ) => client.reason().map_or_else(String::new, |r| r.to_string()),
            _ => error.reason().unwrap_or("UNKNOWN").to_owned(),
        };
        let message = match &error {
            GatewayError::Client(client)
                if client.origin() == crate::client::Origin::Connection =>
            {
                format!("the vnpop server is unreachable: {client}")
            }
            _ => error.to_string(),
        };
        let mut details =
            ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
        match &error {
            GatewayError::Client(error @ ClientError::EventRefused(_))
            | GatewayError::Client(error @ ClientError::RefusedByServer { .. }) => {
                for field in error.invalid_fields() {
                    details.add_bad_request_violation(field, error.to_string());
                }
            }
            GatewayError::InvalidField { field, message } => {
                details.add_bad_request_violation(*field, message.clone());
            }
            GatewayError::Json { detail, .. } => {
                details.add_bad_request_violation("body", detail.clone());
            }
            _ => {}
        }
        language.localize(Status::with_error_details(error.code(), message, details))
    }
}

/// The HTTP status of a gRPC code (the mapping of google/rpc/code.proto).
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An RFC 9457 problem document carrying the gRPC status and its details.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Problem {
    /// `urn:vnpop:problem:REASON` (the reason code), or about:blank without one.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The gRPC code's name, e.g. "NOT_FOUND".
    pub grpc_code: &'static str,
    /// The gRPC code's number, e.g. 5.
    pub grpc_status: i32,
    /// google.rpc.ErrorInfo: reason, domain and metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
    /// google.rpc.BadRequest: each invalid field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_params: Vec<InvalidParam>,
    /// google.rpc.RetryInfo, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InvalidParam {
    pub name: String,
    pub reason: String,
}

impl Problem {
    pub(crate) fn from_status(status: &Status) -> Problem {
        let details = status.get_error_details();
        let info = details.error_info();
        let http = http_status(status.code());
        Problem {
            kind: info.map_or_else(
                || "about:blank".to_owned(),
                |i| format!("urn:vnpop:problem:{}", i.reason),
            ),
            title: info.map_or_else(
                || http.canonical_reason().unwrap_or("Error").to_owned(),
                |i| i.reason.replace('_', " ").to_lowercase(),
            ),
            status: http.as_u16(),
            // The caller's language: the status's LocalizedMessage when it asked for Vietnamese.
            detail: caller_language().status_message(status),
            grpc_code: crate::error::code_name(status.code()),
            grpc_status: status.code() as i32,
            reason: info.map(|i| i.reason.clone()),
            domain: info.map(|i| i.domain.clone()),
            metadata: info.map(|i| i.metadata.clone()).unwrap_or_default(),
            invalid_params: details
                .bad_request()
                .map(|b| {
                    b.field_violations
                        .iter()
                        .map(|v| InvalidParam {
                            name: v.field.clone(),
                            reason: v.description.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            retry_after_seconds: details
                .retry_info()
                .and_then(|r| r.retry_delay)
                .map(|d| d.as_secs()),
        }
    }

    /// The problem as an HTTP response (`application/problem+json`).
    pub(crate) fn response(&self) -> Response {
        let body = serde_json::to_vec(self).expect("a problem serialises");
        let mut response = Response::new(Body::from(body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        let language = caller_language();
        if language != Language::English {
            response.headers_mut().insert(
                axum::http::header::CONTENT_LANGUAGE,
                axum::http::HeaderValue::from_static(language.tag()),
            );
        }
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl GatewayError {
    /// The error as a problem+json response.
    pub(crate) fn into_response(self) -> Response {
        let method_not_allowed = matches!(self, GatewayError::MethodNotAllowed(_));
        let mut problem = Problem::from_status(&Status::from(self));
        if method_not_allowed {
            // UNIMPLEMENTED for a gRPC caller; HTTP has the precise status.
            problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
        }
        problem.response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason code the gateway itself answers, which the error catalogue must list.
    const REASONS: &[&str] = &[
        "JSON_INVALID",
        "DOSSIER_NOT_OPENED",
        "DOSSIER_CONFLICT",
        "API_KEY_MISSING",
        "API_KEY_INVALID",
        "ROUTE_NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "GATEWAY_INDEX_FAILED",
        "AUDIT_OUTBOX_FAILED",
        "SERVER_UNREACHABLE",
    ];

    #[test]
    fn the_error_catalogue_lists_every_gateway_reason() {
        let catalogue = include_str!("../../docs/errors.md");
        for reason in REASONS {
            assert!(
                catalogue.contains(&format!("| `{reason}` |")),
                "docs/errors.md lacks {reason}"
            );
        }
    }

    #[test]
    fn a_problem_carries_the_grpc_code_reason_and_fields() {
        let status = Status::from(GatewayError::InvalidField {
            field: "context.dossier_id",
            message: "differs from the path".into(),
        });
        let problem = Problem::from_status(&status);
        assert_eq!(problem.status, 400);
        assert_eq!(problem.grpc_code, "INVALID_ARGUMENT");
        assert_eq!(problem.grpc_status, 3);
        assert_eq!(problem.reason.as_deref(), Some("FIELD_INVALID"));
        assert_eq!(problem.kind, "urn:vnpop:problem:FIELD_INVALID");
        assert_eq!(problem.invalid_params[0].name, "context.dossier_id");
        // Transport failures, as tonic reports them (a refused connection, "Unknown: transport
        // error" after a kill -9, a stream reset mid-call): 503 SERVER_UNREACHABLE, never 500.
        use std::io::{Error, ErrorKind};
        for cause in [
            Error::new(ErrorKind::ConnectionRefused, "tcp connect error"),
            Error::new(ErrorKind::ConnectionReset, "transport error"),
            Error::new(ErrorKind::UnexpectedEof, "stream reset"),
        ] {
            let failed = ClientError::from(Status::from_error(Box::new(cause)));
            let status = Status::from(GatewayError::Client(failed));
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            let problem = Problem::from_status(&status);
            assert_eq!(problem.status, 503);
            assert_eq!(problem.reason.as_deref(), Some("SERVER_UNREACHABLE"));
        }
        // The server's own answer passes through as it is.
        let answered = Status::from(GatewayError::Client(ClientError::Rpc(Status::internal(
            "h2 protocol error: the server's words",
        ))));
        assert_eq!(answered.code(), Code::Internal);
    }
}
