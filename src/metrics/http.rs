//! The scrape endpoint: a minimal HTTP/1 server (hyper, already in the tree through tonic) that
//! answers `GET /metrics` with the exposition text and 404 to anything else.
//!
//! Bounded like the gRPC side: at most [`Limits::max_connections`] connections at once (the
//! others wait in the kernel's accept queue), request headers read within
//! [`Limits::header_read_timeout`], and a connection closed after [`Limits::connection_lifetime`]
//! whatever it does. One request per connection (no keep-alive: the answer says
//! `Connection: close` and the connection is closed once it is written): a scraper asks every
//! few seconds at most, and a kept-alive client — even one asking every second — would hold its
//! slot between requests, so 64 of them kept a new scrape waiting for 19 s. Now a slot is held
//! only while a request is read and answered (or, by a silent client, for the header timeout).
//!
//! Plain HTTP, so loopback by default: a bare port means `127.0.0.1:PORT`, and a non-loopback
//! address is refused at start unless `--allow-remote-metrics` is given (see
//! [`check_listen`]).

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};

use super::{AuditFigures, Metrics};
use crate::{audit::AuditLog, store::CitizenStore};

/// What a scrape reads besides the metrics themselves.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Arc<Metrics>,
    pub store: Arc<CitizenStore>,
    pub audit: Arc<AuditLog>,
}

/// The endpoint's bounds (`--metrics-max-connections`, `--metrics-header-read-timeout`,
/// `--metrics-connection-lifetime`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// A client has this long to send its request's headers.
    pub header_read_timeout: Duration,
    /// A connection is closed after this long, whatever it does.
    pub connection_lifetime: Duration,
}

/// Why a metrics address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to serve metrics on {0}: the endpoint is plain HTTP without authentication; \
     serve it on loopback (a bare --metrics-listen PORT means 127.0.0.1:PORT), or pass \
     --allow-remote-metrics (VNPOP_ALLOW_REMOTE_METRICS) to expose it on this address"
)]
pub struct RemoteMetricsRefused(pub SocketAddr);

/// A metrics address off loopback needs `allow_remote` (`--allow-remote-metrics`).
pub fn check_listen(addr: SocketAddr, allow_remote: bool) -> Result<(), RemoteMetricsRefused> {
    if addr.ip().is_loopback() || allow_remote {
        Ok(())
    } else {
        Err(RemoteMetricsRefused(addr))
    }
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
        .encode(scrape.store.len(), audit_figures(&scrape.audit));
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
                    .header_read_timeout(limits.header_read_timeout)
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(limits.connection_lifetime, connection).await {
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

/// What a scrape reports of `audit`.
fn audit_figures(audit: &AuditLog) -> AuditFigures {
    AuditFigures {
        events_written: audit.events_written(),
        memory: audit.memory(),
        projection_behind: audit.projection_behind(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_is_loopback_and_other_addresses_need_the_flag() {
        let bare = parse_listen("9464").unwrap();
        assert_eq!(bare, "127.0.0.1:9464".parse().unwrap());
        assert_eq!(check_listen(bare, false), Ok(()));
        assert_eq!(check_listen("[::1]:9464".parse().unwrap(), false), Ok(()));
        let any: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        let refused = check_listen(any, false).unwrap_err().to_string();
        assert!(refused.contains("--allow-remote-metrics"), "{refused}");
        assert_eq!(check_listen(any, true), Ok(()));
    }
}
