//! One local port for both APIs: each connection is served by hyper-util's HTTP/1.1 + h2c
//! builder; gRPC requests (content-type application/grpc) go to the tonic services, the rest to
//! the REST router. Local callers are checked against the API key first, when one is set.
//!
//! Connections are handed to hyper as [`PlainWrites`], for the reason the server's acceptor
//! gives (`security::acceptor`): over a stream that prefers vectored writes, h2 flushes after
//! every answer larger than 256 bytes (a citizen record is), one `writev` each; over plain
//! writes it copies answers of up to 1 KiB into its buffer and writes those ready together.
//!
//! Bounds ([`ConnectionLimits`], the gateway's flags), as the server's acceptor keeps them:
//! - at most `--max-connections` connections at once; one accepted beyond it is closed at once
//!   (never queued: the caller sees a refusal it can retry, not a hang, and the descriptors stay
//!   below the cap);
//! - each connection is watched by its own task ([`watch`]): its first request's headers must
//!   be complete within `--header-read-timeout` of the accept, or it is dropped (silent,
//!   half-sent, one-header-a-second, a stalled h2c preface); with no call in flight for
//!   `--idle-timeout` it is closed gracefully, and so at `--max-connection-age` whatever it does;
//!   a graceful close not finished within `--close-grace` is cut;
//! - HTTP/1.1: hyper's own header-read timer (`TokioTimer`) bounds every later request's headers
//!   too; h2c: at most `--max-concurrent-streams` calls per connection and keepalive PINGs.
//!
//! The API key is compared as an HMAC under a key drawn at start (`ring::hmac::verify`, in
//! constant time, whatever the presented key's length).

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, http::Request, response::Response, Router};
use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use ring::{hmac, rand::SystemRandom};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    task::JoinHandle,
    time::Instant,
};
use tonic::{service::Routes, Status};
use tower_service::Service;

use crate::lang::{layer::serving_in, Language};

use super::{
    config::check_api_key, error::Problem, grpc, health, passthrough, rest, Gateway, GatewayConfig,
    GatewayError, StartError,
};

/// A gateway serving in the background.
pub struct RunningGateway {
    pub local_addr: SocketAddr,
    gateway: Arc<Gateway>,
    task: JoinHandle<()>,
    probe: JoinHandle<()>,
}

impl RunningGateway {
    /// Stops accepting connections. Events not yet delivered stay in the outbox for the next run.
    pub async fn shutdown(self) {
        self.probe.abort();
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

/// Who made a request, as far as the API key tells: handlers that show more to authenticated
/// callers (`/health` and the server's address) read it from the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    /// A valid key was presented, or none is configured (loopback only, see [`start`]).
    pub(crate) authenticated: bool,
}

/// Paths answered without a key (an anonymous caller sees less there).
const OPEN_PATHS: [&str; 2] = ["/health", "/grpc.health.v1.Health/Check"];

/// The configured key, kept as its HMAC under a key drawn at start.
struct Expected {
    key: hmac::Key,
    tag: hmac::Tag,
}

/// The API key check: none configured lets everyone in (loopback only, see [`start`]).
#[derive(Clone)]
struct ApiKey(Option<Arc<Expected>>);

impl ApiKey {
    fn new(configured: Option<&str>) -> Result<Self, StartError> {
        let Some(configured) = configured else {
            return Ok(ApiKey(None));
        };
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| StartError::Randomness)?;
        let tag = hmac::sign(&key, configured.as_bytes());
        Ok(ApiKey(Some(Arc::new(Expected { key, tag }))))
    }

    fn check(&self, request: &Request<hyper::body::Incoming>) -> Result<Caller, GatewayError> {
        let Some(expected) = &self.0 else {
            return Ok(Caller {
                authenticated: true,
            });
        };
        let headers = request.headers();
        let presented = headers.get("x-api-key").map(|v| v.as_bytes()).or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        });
        // In time independent of the presented key and of where it differs: an empty or short
        // key is simply a wrong one.
        let valid = presented
            .map(|presented| hmac::verify(&expected.key, presented, expected.tag.as_ref()).is_ok());
        match valid {
            Some(true) => Ok(Caller {
                authenticated: true,
            }),
            _ if OPEN_PATHS.contains(&request.uri().path()) => Ok(Caller {
                authenticated: false,
            }),
            Some(false) => Err(GatewayError::ApiKeyInvalid),
            None => Err(GatewayError::ApiKeyMissing),
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

/// Serves one request in the language its `Accept-Language` (gRPC: `accept-language`) asks for:
/// the problem's `detail` and the gRPC status's `LocalizedMessage` are in it, and the call goes on
/// to the server asking for it.
async fn dispatch(
    request: Request<hyper::body::Incoming>,
    key: ApiKey,
    gateway: Arc<Gateway>,
    rest: Router,
    grpc: Routes,
) -> Result<Response, Infallible> {
    let language = request
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map_or(Language::English, Language::from_accept_language);
    serving_in(language, answer(request, key, gateway, rest, grpc)).await
}

/// Serves one request (see [`dispatch`]).
async fn answer(
    mut request: Request<hyper::body::Incoming>,
    key: ApiKey,
    gateway: Arc<Gateway>,
    mut rest: Router,
    mut grpc: Routes,
) -> Result<Response, Infallible> {
    let grpc_call = is_grpc(&request);
    match key.check(&request) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
        }
        Err(error) => {
            let status = Status::from(error);
            return Ok(if grpc_call {
                status.into_http()
            } else {
                Problem::from_status(&status).response()
            });
        }
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

/// The gateway's connection bounds, from its flags (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connection_age: Duration,
    pub(crate) close_grace: Duration,
    pub(crate) max_concurrent_streams: u32,
    pub(crate) http2_keepalive_interval: Duration,
    pub(crate) http2_keepalive_timeout: Duration,
}

impl ConnectionLimits {
    /// The limits `config` sets; a zero count or duration is refused, naming its flag.
    fn from_config(config: &GatewayConfig) -> Result<Self, StartError> {
        let durations = [
            ("--header-read-timeout", config.header_read_timeout),
            ("--idle-timeout", config.idle_timeout),
            ("--max-connection-age", config.max_connection_age),
            ("--close-grace", config.close_grace),
            (
                "--http2-keepalive-interval",
                config.http2_keepalive_interval,
            ),
            ("--http2-keepalive-timeout", config.http2_keepalive_timeout),
            ("--health-interval", config.health_interval),
        ];
        if let Some((flag, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(StartError::ZeroLimit(flag));
        }
        if config.max_connections == 0 {
            return Err(StartError::ZeroLimit("--max-connections"));
        }
        if config.max_concurrent_streams == 0 {
            return Err(StartError::ZeroLimit("--max-concurrent-streams"));
        }
        Ok(ConnectionLimits {
            max_connections: config.max_connections,
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            max_connection_age: config.max_connection_age,
            close_grace: config.close_grace,
            max_concurrent_streams: config.max_concurrent_streams,
            http2_keepalive_interval: config.http2_keepalive_interval,
            http2_keepalive_timeout: config.http2_keepalive_timeout,
        })
    }

    /// The HTTP/1.1 + h2c builder with these bounds.
    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // hyper starts this timer whenever it waits for a request's headers, the wait after an
        // answer included: the idle timeout or the header timeout, whichever is longer, so that
        // it is only a backstop to `watch`, which applies each where it belongs.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout.max(self.idle_timeout));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(self.max_concurrent_streams)
            .keep_alive_interval(self.http2_keepalive_interval)
            .keep_alive_timeout(self.http2_keepalive_timeout);
        builder
    }
}

/// What a connection's calls tell its watcher: calls in flight, calls made, the last answer.
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

struct ActivityState {
    in_flight: usize,
    requests: u64,
    last_answer: Instant,
}

impl Activity {
    fn new() -> Self {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                requests: 0,
                last_answer: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut ActivityState)) {
        change(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.notify_one();
    }
}

/// A call in flight on a connection, from its headers to its answer (or its cancellation).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.update(|state| {
            state.in_flight += 1;
            state.requests += 1;
        });
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|state| {
            state.in_flight -= 1;
            state.last_answer = Instant::now();
        });
    }
}

/// Why a connection's watcher acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// No request's headers within the header-read timeout: dropped.
    FirstRequest,
    /// No call in flight for the idle timeout: closed gracefully.
    Idle,
    /// The connection's age limit: closed gracefully.
    Age,
    /// A graceful close that did not finish: dropped.
    Grace,
}

/// The next thing that happens to a connection accepted at `accepted`, unless a call changes it.
fn next_expiry(
    limits: &ConnectionLimits,
    activity: &Activity,
    accepted: Instant,
    closing: Option<Instant>,
) -> (Instant, Expiry) {
    if let Some(since) = closing {
        return (since + limits.close_grace, Expiry::Grace);
    }
    let age = (accepted + limits.max_connection_age, Expiry::Age);
    let state = activity.state.lock().unwrap_or_else(|p| p.into_inner());
    let other = if state.requests == 0 {
        Some((accepted + limits.header_read_timeout, Expiry::FirstRequest))
    } else if state.in_flight == 0 {
        Some((state.last_answer + limits.idle_timeout, Expiry::Idle))
    } else {
        None
    };
    match other {
        Some(other) if other.0 < age.0 => other,
        _ => age,
    }
}

/// Serves one connection within `limits` (see the module documentation), holding its `slot`.
async fn watch<F, Fut>(
    stream: TcpStream,
    peer: SocketAddr,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    handler: F,
    _slot: OwnedSemaphorePermit,
) where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response, Infallible>> + Send + 'static,
{
    let accepted = Instant::now();
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = Arc::clone(&activity);
        service_fn(move |request| {
            let call = InFlight::start(&activity);
            let answer = handler(request);
            async move {
                let answer = answer.await;
                drop(call);
                answer
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(PlainWrites(stream)), service);
    tokio::pin!(connection);
    let mut closing = None;
    // Each turn either ends the connection, or follows a change of its calls, or acts on an
    // expiry that moves the next one later (Idle and Age start the grace, which ends it).
    loop {
        let (deadline, expiry) = next_expiry(&limits, &activity, accepted, closing);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    tracing::debug!(%error, %peer, "gateway: connection ended");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = tokio::time::sleep_until(deadline) => match expiry {
                Expiry::FirstRequest | Expiry::Grace => {
                    tracing::debug!(%peer, ?expiry, "gateway: connection dropped");
                    return;
                }
                Expiry::Idle | Expiry::Age => {
                    tracing::debug!(%peer, ?expiry, "gateway: closing the connection");
                    connection.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
            },
        }
    }
}

pub(super) async fn start(config: &GatewayConfig) -> Result<RunningGateway, StartError> {
    if let Some(key) = &config.api_key {
        check_api_key(key).map_err(StartError::ApiKey)?;
    }
    if config.api_key.is_none() && !config.listen.ip().is_loopback() {
        return Err(StartError::ApiKeyRequired(config.listen));
    }
    let limits = ConnectionLimits::from_config(config)?;
    let key = ApiKey::new(config.api_key.as_deref())?;
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
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let probe = health::spawn_probe(Arc::clone(&gateway), reporter, config.health_interval);
    let rest = rest::router(Arc::clone(&gateway));
    // Reflection lists what the gateway serves, so `grpcurl -plaintext localhost:8080 list`
    // works against it as against the server.
    let (reflection_v1, reflection_v1alpha) = crate::server::reflection(&[
        "vnpop.v1.CitizenRegistry",
        "vnpop.v1.VneidAuthentication",
        "vnpop.v1.ChipVerification",
        "vnpop.v1.AgencyGateway",
    ]);
    let grpc = grpc::routes(Arc::clone(&gateway))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let served = Arc::clone(&gateway);
    let builder = Arc::new(limits.builder());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let task = tokio::spawn(async move {
        // Whether the last connection was refused for the cap: warned once per episode.
        let mut full = false;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "gateway: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                if !full {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "gateway: connection cap reached; new connections are closed at once (--max-connections)"
                    );
                }
                full = true;
                drop(stream);
                continue;
            };
            full = false;
            let _ = stream.set_nodelay(true);
            let (key, gateway, rest, grpc) =
                (key.clone(), Arc::clone(&served), rest.clone(), grpc.clone());
            let handler = move |request| {
                dispatch(
                    request,
                    key.clone(),
                    Arc::clone(&gateway),
                    rest.clone(),
                    grpc.clone(),
                )
            };
            tokio::spawn(watch(
                stream,
                peer,
                Arc::clone(&builder),
                limits,
                handler,
                slot,
            ));
        }
    });
    Ok(RunningGateway {
        local_addr,
        gateway,
        task,
        probe,
    })
}
