//! The gateway under a hostile or careless local caller: silent, half-sent and slow connections
//! are closed within the header-read timeout, idle ones within the idle timeout; beyond the
//! connection cap a new connection is closed at once, and `/health` answers again as soon as
//! idle ones are shed. API keys that are empty, blank or short stop the binary naming the rule;
//! `/health` tells the server's state and shows its address only to key holders.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use super::*;

/// A key that keeps the rule (16 to 256 printable ASCII characters, no spaces).
const KEY: &str = "test-key-0123456789abcdef";

/// How long a connection the gateway should close is given beyond its timeout.
const SLACK: Duration = Duration::from_millis(1500);

/// Waits (at most `limit`) until the gateway closes `stream`; how long that took, or None if it
/// was still open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    // Each read either ends it (EOF, reset) or consumes an answer; bounded by `limit` overall.
    while started.elapsed() < limit {
        match tokio::time::timeout(limit - started.elapsed(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
    None
}

fn limited_config(server_port: u16, header: Duration, idle: Duration) -> GatewayConfig {
    let mut config = gateway_config(server_port, &common::data_dir());
    config.header_read_timeout = header;
    config.idle_timeout = idle;
    config
}

#[tokio::test]
async fn silent_half_sent_and_one_header_a_second_connections_are_closed_within_the_timeout() {
    let server = TestServer::start().await;
    let header = Duration::from_millis(800);
    let config = limited_config(server.local_addr.port(), header, Duration::from_secs(30));
    let gateway = gateway::start(&config).await.unwrap();
    let addr = gateway.local_addr;

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n")
        .await
        .unwrap();
    let mut preface = TcpStream::connect(addr).await.unwrap();
    preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    // One header every 200 ms, for as long as the gateway takes them (at most 50).
    let mut slow_closed = None;
    for n in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if slow
            .write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            slow_closed = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
        {
            slow_closed = Some(started.elapsed());
            break;
        }
    }
    let slow_closed = slow_closed.expect("the one-header-a-second connection is closed");
    assert!(slow_closed < header + SLACK, "{slow_closed:?}");
    for (name, stream) in [
        ("silent", &mut silent),
        ("half-sent", &mut half),
        ("h2c preface", &mut preface),
    ] {
        let closed = closed_within(stream, header + SLACK).await;
        assert!(closed.is_some(), "the {name} connection is still open");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start().await;
    let idle = Duration::from_millis(700);
    let config = limited_config(server.local_addr.port(), Duration::from_secs(5), idle);
    let gateway = gateway::start(&config).await.unwrap();
    let mut stream = TcpStream::connect(gateway.local_addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    let closed = closed_within(&mut stream, idle + SLACK)
        .await
        .expect("the idle connection is closed");
    assert!(closed > idle / 2, "closed too early: {closed:?}");
    gateway.shutdown().await;
}

/// The cap's behaviour, as documented: a connection beyond it is closed at once (not queued),
/// and a new one is served as soon as the silent ones are shed.
#[tokio::test]
async fn beyond_the_cap_a_new_connection_is_closed_at_once_and_health_answers_once_idle_ones_are_shed(
) {
    let server = TestServer::start().await;
    let header = Duration::from_millis(800);
    let mut config = limited_config(server.local_addr.port(), header, Duration::from_secs(30));
    config.max_connections = 4;
    let gateway = gateway::start(&config).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(gateway.local_addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut beyond = TcpStream::connect(gateway.local_addr).await.unwrap();
    let closed = closed_within(&mut beyond, Duration::from_millis(500)).await;
    assert!(
        closed.is_some(),
        "a connection beyond the cap is left hanging"
    );

    // Once the silent ones are shed (the header timeout), /health on a new connection answers.
    let started = Instant::now();
    let mut answered = None;
    for _ in 0..40 {
        if let Ok(answer) = Rest::new(gateway.local_addr).get("/health").await {
            answered = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = answered.expect("/health answers once the silent connections are shed");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        started.elapsed() < header + SLACK,
        "{:?}",
        started.elapsed()
    );
    for mut stream in held {
        assert!(closed_within(&mut stream, SLACK).await.is_some());
    }
    gateway.shutdown().await;
}

async fn health_check(addr: std::net::SocketAddr, service: &str) -> i32 {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

/// Polls `/health` (at most 10 s) until its status is `wanted`; the last answer.
async fn health_until(rest: &mut Rest, wanted: &str) -> rest::Answer {
    let mut last = None;
    for _ in 0..100 {
        let answer = rest.get("/health").await.unwrap();
        if answer.json["status"] == wanted {
            return answer;
        }
        last = Some(answer);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/health never {wanted}: {last:?}")
}

#[tokio::test]
async fn health_tells_the_server_is_down_and_shows_its_address_only_with_the_key() {
    let server = TestServer::start().await;
    let mut config = gateway_config(server.local_addr.port(), &common::data_dir());
    config.api_key = Some(KEY.into());
    config.health_interval = Duration::from_millis(200);
    let gateway = gateway::start(&config).await.unwrap();
    let mut anonymous = Rest::new(gateway.local_addr);
    let mut keyed = Rest::new(gateway.local_addr).with_api_key(KEY);

    let answer = health_until(&mut anonymous, "SERVING").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["upstream"], "REACHABLE", "{answer:?}");
    assert!(answer.json.get("server").is_none(), "{answer:?}");
    assert!(!answer.json.to_string().contains("localhost"), "{answer:?}");
    let answer = keyed.get("/health").await.unwrap();
    assert_eq!(answer.json["server"], config.server, "{answer:?}");
    // A wrong key on /health is anonymous, not refused.
    let mut wrong = Rest::new(gateway.local_addr).with_api_key("wrong-key-0123456789abc");
    let answer = wrong.get("/health").await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.json.get("server").is_none(), "{answer:?}");
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    assert_eq!(health_check(gateway.local_addr, "").await, serving);

    server.stop().await;
    let answer = health_until(&mut anonymous, "DEGRADED").await;
    assert_eq!(answer.status, 200, "the outbox still takes events");
    assert_eq!(answer.json["upstream"], "UNREACHABLE", "{answer:?}");
    assert!(answer.json.get("server").is_none(), "{answer:?}");
    assert_eq!(health_check(gateway.local_addr, "").await, not_serving);
    assert_eq!(
        health_check(gateway.local_addr, "vnpop.v1.CitizenRegistry").await,
        not_serving
    );
    assert_eq!(
        health_check(gateway.local_addr, "vnpop.v1.AgencyGateway").await,
        serving
    );
    gateway.shutdown().await;
}

/// `vnpop gateway` with each key, on loopback, against no server: how it ended.
async fn gateway_binary_with_key(key: &str) -> (std::process::Output, bool) {
    let data = common::data_dir();
    common::run_vnpop_binary_within(
        vec![
            "gateway".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--server".into(),
            format!("https://localhost:{}", free_port()),
            "--data-dir".into(),
            data.display().to_string(),
            "--api-key".into(),
            key.into(),
        ],
        Duration::from_secs(10),
    )
    .await
}

#[tokio::test]
async fn an_empty_blank_or_short_api_key_stops_the_gateway_naming_the_rule() {
    for key in ["", " ", "s3cret-key", "sixteen but spaced"] {
        let (output, ended) = gateway_binary_with_key(key).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(ended, "the gateway started with the key {key:?}: {stderr}");
        assert!(!output.status.success(), "{key:?}: {stderr}");
        assert!(
            stderr.contains("16 to 256 printable ASCII characters without spaces"),
            "{key:?}: {stderr}"
        );
        if !key.trim().is_empty() {
            assert!(!stderr.contains(key), "the key is echoed: {stderr}");
        }
    }
}
