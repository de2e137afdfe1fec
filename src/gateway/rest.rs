//! The REST/JSON API: the router built from the table of routes ([`ROUTES`]), from which the
//! OpenAPI document is built too. A verifying call's body is the gRPC request message in the proto3
//! JSON mapping, the dossier named by the path (`context.dossierId` may be left out); its answer
//! is the gRPC response message.

use std::{future::Future, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{
        rejection::{BytesRejection, PathRejection},
        DefaultBodyLimit, Path,
    },
    http::{header, HeaderValue, Method, StatusCode},
    response::Response,
    routing::{get, post, MethodRouter},
    Router,
};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    json, openapi,
    routes::{Answer, Route, ROUTES},
    Gateway, GatewayError,
};
use crate::{client::ClientError, proto};
use tonic::Status;

/// The largest request body read, in bytes: a verifying call's body is a few hundred bytes, a
/// chip read a few kilobytes.
const MAX_BODY: usize = 1 << 20;

/// The request body, or why it could not be read, as a problem naming `body`.
fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, GatewayError> {
    body.map_err(|rejection| GatewayError::InvalidField {
        field: "body",
        message: match rejection {
            BytesRejection::FailedToBufferBody(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                format!("larger than the {MAX_BODY} bytes the gateway reads")
            }
            other => other.body_text(),
        },
    })
}

/// The dossier id the path names (percent-decoded), or why it is not one, as a problem naming
/// `dossier_id`.
fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, GatewayError> {
    id.map(|Path(id)| id)
        .map_err(|rejection| GatewayError::InvalidField {
            field: "dossier_id",
            message: rejection.body_text(),
        })
}

fn json_response(status: u16, body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Whether `T` is the message `vnpop.v1.{name}`: the route table (and so the OpenAPI document)
/// names each route's messages, the handlers' types must be those.
fn is_message<T: prost::Name>(name: &str) -> bool {
    T::PACKAGE == "vnpop.v1" && T::NAME == name
}

fn reply<T: Serialize + prost::Name>(
    route: &'static Route,
    status: u16,
    result: Result<T, GatewayError>,
) -> Response {
    debug_assert!(
        matches!(route.answer, Answer::Message(name) if is_message::<T>(name)),
        "route {} answers {:?}, not {}",
        route.operation_id,
        route.answer,
        std::any::type_name::<T>()
    );
    match result {
        Ok(answer) => json_response(status, json::encode(&answer), "application/json"),
        Err(error) => error.into_response(),
    }
}

/// A POST route whose body is `Req` and whose answer comes from `call`.
fn call_route<Req, Resp, F, Fut>(
    gateway: &Arc<Gateway>,
    route: &'static Route,
    call: F,
) -> MethodRouter
where
    Req: DeserializeOwned + prost::Name + Send + 'static,
    Resp: Serialize + prost::Name + Send + 'static,
    F: Fn(Arc<Gateway>, Option<String>, Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, GatewayError>> + Send + 'static,
{
    let gateway = Arc::clone(gateway);
    let name = route.request.expect("a POST route has a body");
    debug_assert!(
        is_message::<Req>(name),
        "route {} reads {name}",
        route.operation_id
    );
    let handler = move |id: Result<Path<String>, PathRejection>,
                        bytes: Result<Bytes, BytesRejection>| {
        let (gateway, call) = (Arc::clone(&gateway), call.clone());
        async move {
            let request =
                path_id(id).and_then(|id| Ok((id, json::decode::<Req>(name, &body(bytes)?)?)));
            let result = match request {
                Ok((id, request)) => call(gateway, Some(id), request).await,
                Err(error) => Err(error),
            };
            reply(route, route.success, result)
        }
    };
    post(handler)
}

/// The handler of each route in [`ROUTES`].
fn handler(gateway: &Arc<Gateway>, route: &'static Route) -> MethodRouter {
    match route.operation_id {
        "health" => {
            let gateway = Arc::clone(gateway);
            get(move |parts: axum::http::request::Parts| async move {
                // Set by `serve` from the API key; absent (a router used alone) is anonymous.
                let authenticated = parts
                    .extensions
                    .get::<super::serve::Caller>()
                    .is_some_and(|caller| caller.authenticated);
                let (code, health) = gateway.health(authenticated).await;
                json_response(
                    code,
                    serde_json::to_vec(&health).expect("health serialises"),
                    "application/json",
                )
            })
        }
        "openApi" => get(|| async {
            json_response(
                200,
                serde_json::to_vec_pretty(&openapi::document()).expect("the document serialises"),
                "application/json",
            )
        }),
        "openDossier" => {
            let gateway = Arc::clone(gateway);
            post(move |bytes: Result<Bytes, BytesRejection>| async move {
                let request = body(bytes).and_then(|b| json::decode("OpenDossierRequest", &b));
                let result = match request {
                    Ok(request) => gateway.open_dossier(request).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok((dossier, new)) => reply(route, if new { 201 } else { 200 }, Ok(dossier)),
                    Err(error) => error.into_response(),
                }
            })
        }
        "getDossier" => {
            let gateway = Arc::clone(gateway);
            get(move |id: Result<Path<String>, PathRejection>| async move {
                reply(
                    route,
                    200,
                    path_id(id).and_then(|id| gateway.get_dossier(&id)),
                )
            })
        }
        "lookupByCccd" => {
            // The hot route: JSON written from the server's bytes (`passthrough`).
            let gateway = Arc::clone(gateway);
            post(
                move |id: Result<Path<String>, PathRejection>,
                      bytes: Result<Bytes, BytesRejection>| async move {
                    let request = path_id(id).and_then(|id| {
                        let body = body(bytes)?;
                        let request = json::decode::<proto::LookupByCccdRequest>(
                            "LookupByCccdRequest",
                            &body,
                        )?;
                        Ok((id, request))
                    });
                    let result = match request {
                        Ok((id, request)) => gateway.lookup_by_cccd_bytes(Some(&id), request).await,
                        Err(error) => Err(error),
                    };
                    match result.and_then(|answer| {
                        json::encode_bytes::<proto::LookupResponse>(&answer).map_err(|e| {
                            GatewayError::Client(ClientError::Rpc(Status::internal(format!(
                                "the server's answer is not a vnpop.v1.LookupResponse: {e}"
                            ))))
                        })
                    }) {
                        Ok(answer) => json_response(route.success, answer, "application/json"),
                        Err(error) => error.into_response(),
                    }
                },
            )
        }
        "lookupByCmnd" => call_route(gateway, route, |g, id, r| async move {
            g.lookup_by_cmnd(id.as_deref(), r).await
        }),
        "verifyDemographics" => call_route(gateway, route, |g, id, r| async move {
            g.verify_demographics(id.as_deref(), r).await
        }),
        "verifyQr" => call_route(gateway, route, |g, id, r| async move {
            g.verify_qr(id.as_deref(), r).await
        }),
        "startVneid" => call_route(gateway, route, |g, id, r| async move {
            g.start_vneid(id.as_deref(), r).await
        }),
        "completeVneid" => call_route(gateway, route, |g, id, r| async move {
            g.complete_vneid(id.as_deref(), r).await
        }),
        "verifyChip" => call_route(gateway, route, |g, id, r| async move {
            g.verify_chip(id.as_deref(), r).await
        }),
        other => unreachable!("route {other} has no handler"),
    }
}

/// The REST router: every route of [`ROUTES`]; anything else is a problem+json 404 or 405.
pub(crate) fn router(gateway: Arc<Gateway>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, handler(&gateway, route));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .fallback(|uri: axum::http::Uri| async move {
            GatewayError::NoRoute(uri.path().to_owned()).into_response()
        })
        .method_not_allowed_fallback(|method: Method| async move {
            GatewayError::MethodNotAllowed(method.to_string()).into_response()
        })
}
