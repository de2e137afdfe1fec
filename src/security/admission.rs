//! What the server refuses before a service sees a request, answered like every other error
//! (with an ErrorInfo reason), where tonic's own answers carried none:
//!
//! - a method the server does not serve (an unknown path, or AgencyGateway, which only `vnpop
//!   gateway` serves): UNIMPLEMENTED, reason `METHOD_NOT_FOUND` (tonic: UNIMPLEMENTED, no message);
//! - a request message larger than its service accepts: RESOURCE_EXHAUSTED, reason
//!   `MESSAGE_TOO_LARGE`, metadata `limit` and `size` (bytes), before any of it is decoded
//!   (tonic: OUT_OF_RANGE while decoding). The layer reads the 5-byte gRPC frame header of the
//!   request's first message (compressed flag, then the length, big-endian) as it arrives and
//!   otherwise hands the service the body unchanged.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use prost::bytes::{Buf, Bytes};
use tonic::Status;
use tower_layer::Layer;
use tower_service::Service;

use crate::{error::ApiError, methods};

/// The largest request message tonic accepts by default, for the services that set no limit of
/// their own (health, reflection).
const TONIC_DEFAULT_LIMIT: usize = 4 * 1024 * 1024;

/// The gRPC frame header: a compressed flag and a 4-byte length.
const HEADER: usize = 5;

/// Refuses unknown methods (`METHOD_NOT_FOUND`) and oversize request messages
/// (`MESSAGE_TOO_LARGE`, by service).
#[derive(Debug, Clone)]
pub(crate) struct AdmissionLayer {
    /// (path prefix, e.g. "/vnpop.v1.CitizenRegistry/", limit in bytes).
    limits: std::sync::Arc<[(&'static str, usize)]>,
}

impl AdmissionLayer {
    /// `limits`: each vnpop service this process serves, as its path prefix, and the largest
    /// request message it accepts (the same limits its tonic server decodes with). A vnpop
    /// service not listed is not served here (VNeID when it is off).
    pub(crate) fn new(limits: Vec<(&'static str, usize)>) -> Self {
        AdmissionLayer {
            limits: limits.into(),
        }
    }

    /// The largest request message `path` accepts, or `None` if this process does not serve it.
    fn limit(&self, path: &str) -> Option<usize> {
        methods::index_of_path(path)?;
        match self
            .limits
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
        {
            Some((_, limit)) => Some(*limit),
            None if path.starts_with("/vnpop.") => None,
            None => Some(TONIC_DEFAULT_LIMIT),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AdmissionLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub(crate) struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> Service<http::Request<tonic::body::Body>> for Admission<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // The clone is the one made ready; the standard tower pattern.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        let Some(limit) = self.layer.limit(path) else {
            // A path is ASCII (HTTP/2 :path); at most 200 bytes of it are kept.
            let error = ApiError::MethodNotFound {
                path: path.chars().take(200).collect(),
            };
            return Box::pin(std::future::ready(Ok(Status::from(error).into_http())));
        };
        Box::pin(async move {
            let (parts, mut body) = request.into_parts();
            // The frames read until the header is known, handed on as they came.
            let mut read = VecDeque::new();
            let mut header = Vec::with_capacity(HEADER);
            while header.len() < HEADER {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            let take = data.len().min(HEADER - header.len());
                            header.extend_from_slice(&data[..take]);
                        }
                        let trailers = frame.is_trailers();
                        read.push_back(Ok(frame));
                        if trailers {
                            break;
                        }
                    }
                    Some(Err(error)) => {
                        read.push_back(Err(error));
                        break;
                    }
                    None => break,
                }
            }
            if header.len() == HEADER {
                let size = (&header[1..]).get_u32() as usize;
                if size > limit {
                    let error = ApiError::MessageTooLarge { limit, size };
                    return Ok(Status::from(error).into_http());
                }
            }
            let replay = Replay { read, rest: body };
            inner
                .call(http::Request::from_parts(
                    parts,
                    tonic::body::Body::new(replay),
                ))
                .await
        })
    }
}

/// A request body whose first frames were already read: those, then the rest.
struct Replay {
    read: VecDeque<Result<Frame<Bytes>, Status>>,
    rest: tonic::body::Body,
}

impl Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.read.pop_front() {
            return Poll::Ready(Some(frame));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.rest.size_hint()
    }
}
