//! One local port for both APIs: each connection is served by hyper-util's HTTP/1.1 + h2c
//! builder; gRPC requests (content-type application/grpc) go to the tonic services, the rest to
//! the REST router. Local callers are checked against the API key first, when one is set.
//!
//! Connections are handed to hyper as [`PlainWrites`], for the reason the server's acceptor
//! gives (`security::acceptor`): over a stream that prefers vectored writes, h2 flushes after
//! every answer larger than 256 bytes (a citizen record is), one `writev` each; over plain
//! writes it copies answers of up to 1 KiB into its buffer and writes those ready together.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{body::Body, http::Request, response::Response, Router};
use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tonic::{service::Routes, Status};
use tower_service::Service;

use super::{
    error::Problem, grpc, passthrough, rest, Gateway, GatewayConfig, GatewayError, StartError,
};

/// A gateway serving in the background.
pub struct RunningGateway {
    pub local_addr: SocketAddr,
    gateway: Arc<Gateway>,
    task: JoinHandle<()>,
}

impl RunningGateway {
    /// Stops accepting connections. Events not yet delivered stay in the outbox for the next run.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Events recorded but not yet delivered to the server.
    pub async fn pending(&self) -> Result<u64, crate::client::ClientError> {
        self.gateway.client().pending().await
    }

    /// Waits until every recorded event is delivered (or `timeout` passes).
    pub async fn flush(
        &self,
        timeout: std::time::Duration,
    ) -> Result<(), crate::client::ClientError> {
        self.gateway.client().flush(timeout).await
    }
}

/// The API key check: none configured lets everyone in (loopback only, see [`start`]).
#[derive(Clone)]
struct ApiKey(Option<Arc<[u8]>>);

impl ApiKey {
    fn check(&self, request: &Request<hyper::body::Incoming>) -> Result<(), GatewayError> {
        let Some(expected) = &self.0 else {
            return Ok(());
        };
        if request.uri().path() == "/health" {
            return Ok(());
        }
        let headers = request.headers();
        let presented = headers
            .get("x-api-key")
            .map(|v| v.as_bytes())
            .or_else(|| {
                headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            })
            .ok_or(GatewayError::ApiKeyMissing)?;
        // Compared in time independent of where the first difference is.
        let same = presented.len() == expected.len()
            && presented
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(GatewayError::ApiKeyInvalid)
        }
    }
}

/// A local connection that asks for plain writes (see the module documentation).
struct PlainWrites(TcpStream);

impl AsyncRead for PlainWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for PlainWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

fn is_grpc(request: &Request<hyper::body::Incoming>) -> bool {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

async fn dispatch(
    request: Request<hyper::body::Incoming>,
    key: ApiKey,
    gateway: Arc<Gateway>,
    mut rest: Router,
    mut grpc: Routes,
) -> Result<Response, Infallible> {
    let grpc_call = is_grpc(&request);
    if let Err(error) = key.check(&request) {
        let status = Status::from(error);
        return Ok(if grpc_call {
            status.into_http()
        } else {
            Problem::from_status(&status).response()
        });
    }
    if grpc_call && request.uri().path() == passthrough::LOOKUP_BY_CCCD {
        let response = passthrough::serve_lookup_by_cccd(gateway, request).await;
        Ok(response.map(Body::new))
    } else if grpc_call {
        let response = grpc
            .call(request)
            .await
            .unwrap_or_else(|never| match never {});
        Ok(response.map(Body::new))
    } else {
        rest.call(request).await
    }
}

pub(super) async fn start(config: &GatewayConfig) -> Result<RunningGateway, StartError> {
    if config.api_key.is_none() && !config.listen.ip().is_loopback() {
        return Err(StartError::ApiKeyRequired(config.listen));
    }
    let key = ApiKey(config.api_key.as_ref().map(|k| Arc::from(k.as_bytes())));
    let gateway = Arc::new(Gateway::open(config).await?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let rest = rest::router(Arc::clone(&gateway));
    let grpc = grpc::routes(Arc::clone(&gateway));
    let served = Arc::clone(&gateway);
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "gateway: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let (key, gateway, rest, grpc) =
                (key.clone(), Arc::clone(&served), rest.clone(), grpc.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    dispatch(
                        request,
                        key.clone(),
                        Arc::clone(&gateway),
                        rest.clone(),
                        grpc.clone(),
                    )
                });
                if let Err(error) = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(PlainWrites(stream)), service)
                    .await
                {
                    tracing::debug!(%error, %peer, "gateway: connection ended");
                }
            });
        }
    });
    Ok(RunningGateway {
        local_addr,
        gateway,
        task,
    })
}
