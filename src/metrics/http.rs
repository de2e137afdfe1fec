//! The scrape endpoint: a minimal HTTP/1 server (hyper, already in the tree through tonic) that
//! answers `GET /metrics` with the exposition text and 404 to anything else.
//!
//! Bounded like the gRPC side: at most [`Limits::max_connections`] connections at once (the
//! others wait in the kernel's accept queue), request headers read within
//! [`HEADER_READ_TIMEOUT`], and a connection closed after [`CONNECTION_LIFETIME`] whatever it
//! does, so slow or idle clients cannot hold the slots.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};

use super::Metrics;
use crate::{audit::AuditLog, store::CitizenStore};

/// What a scrape reads besides the metrics themselves.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Arc<Metrics>,
    pub store: Arc<CitizenStore>,
    pub audit: Arc<AuditLog>,
}

/// A client has this long to send a request's headers.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this long, busy or idle.
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// The endpoint's connection cap (`--metrics-max-connections`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
}

/// A `--metrics-listen` value: an address, or a bare port, which means loopback
/// (`9464` is `127.0.0.1:9464`).
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.trim().parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is neither a port nor an address such as 127.0.0.1:9464"))
}

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn answer(scrape: &Scrape, request: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"vnpop metrics: GET /metrics\n",
        )));
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return response;
    }
    let text = scrape
        .metrics
        .encode(scrape.store.len(), scrape.audit.events_written());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

/// Serves the metrics on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, scrape: Scrape, limits: Limits) -> JoinHandle<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::spawn(async move {
        loop {
            let slot = Arc::clone(&slots)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // E.g. out of file descriptors: wait rather than spin.
                    tracing::warn!(%error, "metrics endpoint: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let scrape = scrape.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let service = service_fn(move |request| {
                    let response = answer(&scrape, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                    Ok(Err(error)) => {
                        tracing::debug!(%error, %peer, "metrics endpoint: connection ended")
                    }
                    Err(_) => tracing::debug!(%peer, "metrics endpoint: connection lifetime over"),
                    Ok(Ok(())) => {}
                }
            });
        }
    })
}

/// Binds the metrics address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
