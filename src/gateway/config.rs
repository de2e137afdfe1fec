//! `vnpop gateway`'s flags (clap, each with an environment variable).

use std::{net::SocketAddr, path::PathBuf};

/// Configuration of `vnpop gateway`. With none set it listens on 127.0.0.1:8080 and forwards to
/// https://localhost:50051 as the development agency one-stop-ba-dinh.
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
        default_value = "certs/one-stop-ba-dinh.pem"
    )]
    pub cert: PathBuf,
    #[arg(
        long,
        env = "VNPOP_GATEWAY_KEY",
        default_value = "certs/one-stop-ba-dinh.key"
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
    /// gRPC metadata). Optional on loopback; required on any other address.
    #[arg(long, env = "VNPOP_GATEWAY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl GatewayConfig {
    /// The defaults, as with no flag and no environment variable.
    pub fn defaults() -> Self {
        crate::config::defaults_without_env()
    }
}
