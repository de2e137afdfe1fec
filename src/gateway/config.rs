//! `vnpop gateway`'s flags (clap, each with an environment variable).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::config::parse_duration;

/// Configuration of `vnpop gateway`. With none set it listens on 127.0.0.1:8080 and forwards to
/// https://localhost:50051 as the development agency one-stop-phuong-ba-dinh.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// Address of the REST and gRPC API for the agency's software. Off loopback, --api-key is
    /// required.
    #[arg(long, env = "VNPOP_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The vnpop server.
    #[arg(long, env = "VNPOP_SERVER", default_value = "https://localhost:50051")]
    pub server: String,
    /// CA certificate the server's certificate must chain to.
    #[arg(long, env = "VNPOP_GATEWAY_CA", default_value = "certs/ca.pem")]
    pub ca: PathBuf,
    /// The agency's client certificate (its identity towards the server).
    #[arg(
        long,
        env = "VNPOP_GATEWAY_CERT",
        default_value = "certs/one-stop-phuong-ba-dinh.pem"
    )]
    pub cert: PathBuf,
    /// The private key of the agency's client certificate (`--cert`), PEM.
    #[arg(
        long,
        env = "VNPOP_GATEWAY_KEY",
        default_value = "certs/one-stop-phuong-ba-dinh.key"
    )]
    pub key: PathBuf,
    /// Name the server certificate must carry.
    #[arg(long, env = "VNPOP_GATEWAY_SERVER_NAME", default_value = "localhost")]
    pub server_name: String,
    /// Directory of the durable outbox and the dossier index; created if missing.
    #[arg(
        long,
        env = "VNPOP_GATEWAY_DATA_DIR",
        default_value = "vnpop-gateway-data"
    )]
    pub data_dir: PathBuf,
    /// Key local callers must present (`Authorization: Bearer KEY` or `x-api-key: KEY`, also as
    /// gRPC metadata). Optional on loopback; required on any other address. 16 to 256
    /// printable ASCII characters, no spaces (e.g. `openssl rand -hex 32`); anything else is
    /// refused at start.
    #[arg(long, env = "VNPOP_GATEWAY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Connections served at once. A connection beyond it is closed at once (never queued), so
    /// a caller sees a refusal it can retry instead of a hang; silent and idle connections give
    /// their slots back within --header-read-timeout and --idle-timeout.
    #[arg(long, env = "VNPOP_GATEWAY_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// A new connection must have sent its first request's headers within this; otherwise it is
    /// closed (silent, half-sent and one-header-a-second connections alike).
    #[arg(long, env = "VNPOP_GATEWAY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// A kept-alive connection with no call in flight for this long is closed (HTTP/1.1: after
    /// the last answer, the next request's headers must be complete within it; HTTP/2: GOAWAY).
    #[arg(long, env = "VNPOP_GATEWAY_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// A connection this old is closed gracefully, busy or not (HTTP/1.1: after the answer in
    /// progress; HTTP/2: GOAWAY, the calls in flight finish): the keep-alive limit.
    #[arg(long, env = "VNPOP_GATEWAY_MAX_CONNECTION_AGE", default_value = "10m", value_parser = parse_duration)]
    pub max_connection_age: Duration,

    /// How long a connection being closed gracefully (idle, too old) has to finish its calls
    /// before it is dropped.
    #[arg(long, env = "VNPOP_GATEWAY_CLOSE_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub close_grace: Duration,

    /// Concurrent calls (HTTP/2 streams) per h2c connection.
    #[arg(
        long,
        env = "VNPOP_GATEWAY_MAX_CONCURRENT_STREAMS",
        default_value_t = 256
    )]
    pub max_concurrent_streams: u32,

    /// HTTP/2 keepalive: a PING after this much silence on an h2c connection ...
    #[arg(long, env = "VNPOP_GATEWAY_HTTP2_KEEPALIVE_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// ... and the connection is closed if the PING is not answered within this.
    #[arg(long, env = "VNPOP_GATEWAY_HTTP2_KEEPALIVE_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// How often the gateway asks the server who it is (WhoAmI, unrecorded) for /health and
    /// gRPC health; a probe not answered within the same time counts as unreachable.
    #[arg(long, env = "VNPOP_GATEWAY_HEALTH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub health_interval: Duration,
}

/// The shortest API key the gateway accepts.
pub const API_KEY_MIN_LEN: usize = 16;
/// The longest API key the gateway accepts (a header is bounded anyway; this keeps it sane).
pub const API_KEY_MAX_LEN: usize = 256;

/// Why an API key is refused at start; the message states the rule, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyRule {
    #[error(
        "the API key is {0} characters: it must be {API_KEY_MIN_LEN} to {API_KEY_MAX_LEN} \
         printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)"
    )]
    Length(usize),
    #[error(
        "the API key has a space, a control or a non-ASCII character at position {0}: it must \
         be {API_KEY_MIN_LEN} to {API_KEY_MAX_LEN} printable ASCII characters without spaces"
    )]
    Character(usize),
}

/// Checks `key` against the rule: [`API_KEY_MIN_LEN`] to [`API_KEY_MAX_LEN`] characters, each
/// printable ASCII other than space (`!` to `~`).
pub fn check_api_key(key: &str) -> Result<(), ApiKeyRule> {
    if let Some(at) = key.chars().position(|c| !c.is_ascii_graphic()) {
        return Err(ApiKeyRule::Character(at + 1));
    }
    if !(API_KEY_MIN_LEN..=API_KEY_MAX_LEN).contains(&key.len()) {
        return Err(ApiKeyRule::Length(key.len()));
    }
    Ok(())
}

impl GatewayConfig {
    /// The defaults, as with no flag and no environment variable.
    pub fn defaults() -> Self {
        crate::config::defaults_without_env()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_checked_against_the_rule() {
        assert_eq!(check_api_key(""), Err(ApiKeyRule::Length(0)));
        assert_eq!(check_api_key(" "), Err(ApiKeyRule::Character(1)));
        assert_eq!(check_api_key("s3cret-key"), Err(ApiKeyRule::Length(10)));
        assert_eq!(
            check_api_key("0123456789abcdef 0"),
            Err(ApiKeyRule::Character(17))
        );
        assert_eq!(
            check_api_key("0123456789abcdéf0"),
            Err(ApiKeyRule::Character(15))
        );
        assert_eq!(
            check_api_key(&"k".repeat(API_KEY_MAX_LEN + 1)),
            Err(ApiKeyRule::Length(API_KEY_MAX_LEN + 1))
        );
        assert_eq!(check_api_key("0123456789abcdef"), Ok(()));
        // The message names the limits the check applies.
        let limits = format!("{API_KEY_MIN_LEN} to {API_KEY_MAX_LEN}");
        assert!(ApiKeyRule::Length(3).to_string().contains(&limits));
    }
}
