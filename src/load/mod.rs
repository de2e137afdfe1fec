//! `vnpop load`: a load generator that knows this API and the server's population (like ghz, but
//! it can ask for real citizens, send their real QR codes and log in to their VNeID accounts).
//!
//! - [`config`]: every option, in one clap struct ([`LoadConfig`]);
//! - [`citizens`]: the citizens asked for, computed before the run from the population's seed
//!   and size ([`CitizenPool`]), plus numbers nobody has and numbers that fail validation;
//! - [`mix`]: the weighted RPC mix and how each operation is sent;
//! - [`driver`]: closed-loop and open-loop workers ([`Driver`]);
//! - [`report`]: counts by RPC and status code, HDR latency percentiles, table and JSON.
//!
//! Every request carries a synthetic request context: dossier `LOAD-<run>-<n>`, purpose
//! "load test", officer `load-generator`, `load_test = true`, so auditors can leave it out.
//!
//! ```no_run
//! # async fn example() -> Result<(), vnpop::load::LoadError> {
//! let mut config = vnpop::load::LoadConfig::defaults();
//! config.requests = Some(10_000);
//! let report = vnpop::load::run(&config, Default::default()).await?;
//! println!("{}", report.table());
//! # Ok(()) }
//! ```

pub mod citizens;
pub mod config;
pub mod driver;
pub mod mix;
pub mod report;

use std::sync::Arc;

pub use citizens::{CitizenDistribution, CitizenPool, PoolSpec};
pub use config::{LoadConfig, Pace, Stop};
pub use driver::{AnsweredLog, Driver};
pub use mix::{Mix, RpcKind};
pub use report::{LoadReport, RunSettings, Tally};

use crate::{
    client::{connect_channel, ClientError, ClientTls},
    security::tls::TlsMaterial,
};

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Config(String),
    #[error("cannot read the TLS identity: {0}")]
    Tls(ClientError),
    /// Connecting failed: the client's error, which names the server itself when it failed to
    /// reach it (`cannot connect to vnpop at …`), else this endpoint before it.
    #[error("{}", connect_text(.endpoint, .source))]
    Connect {
        endpoint: String,
        source: ClientError,
    },
    #[error("preparing the citizens failed: {0}")]
    Prepare(String),
    #[error("cannot write the answered calls to {path}: {source}")]
    Answered {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// "cannot connect to ENDPOINT: why", said once: a client error that already says it is not
/// prefixed again.
fn connect_text(endpoint: &str, source: &ClientError) -> String {
    match source {
        ClientError::Unreachable { .. } | ClientError::Connect(_) => source.to_string(),
        _ => format!("cannot connect to {endpoint}: {source}"),
    }
}

/// The client identity `config` asks for: its files, or the embedded development agency
/// `simulation` (allowed load tests); `None` with --insecure.
pub fn client_tls(config: &LoadConfig) -> Result<Option<ClientTls>, LoadError> {
    if config.insecure {
        return Ok(None);
    }
    let tls = match (&config.ca, &config.cert, &config.key) {
        (Some(ca), Some(cert), Some(key)) => {
            ClientTls::from_files(ca, cert, key).map_err(LoadError::Tls)?
        }
        _ => {
            let dev = TlsMaterial::development_simulation_client();
            ClientTls::from_pem(dev.ca_pem, dev.cert_pem, dev.key_pem)
        }
    };
    Ok(Some(tls.with_domain(config.tls_domain.clone())))
}

/// A fresh run id: 8 hex digits, random.
pub fn new_run_id() -> String {
    crate::ids::run_id::<4>().unwrap_or_else(|_| {
        // No randomness: the clock distinguishes runs well enough for dossier ids.
        crate::ids::hex(&(crate::ids::now_ms() as u32).to_be_bytes())
    })
}

/// Prepares the citizens the mix needs (CPU-bound, in parallel).
pub(crate) async fn prepare_pool(config: &LoadConfig) -> Result<Arc<CitizenPool>, LoadError> {
    let spec = PoolSpec {
        population: config.population_spec(),
        sample: config.citizen_sample,
        distribution: config.citizens,
        unknown_share: config.unknown_share,
        invalid_share: config.invalid_share,
        details: config.mix.weight(RpcKind::Verify) > 0 || config.mix.weight(RpcKind::Qr) > 0,
        accounts: config.mix.weight(RpcKind::Auth) > 0,
    };
    tokio::task::spawn_blocking(move || Arc::new(CitizenPool::prepare(spec)))
        .await
        .map_err(|e| LoadError::Prepare(e.to_string()))
}

/// What the report says about how the run was set up.
pub fn settings(config: &LoadConfig, run_id: &str) -> RunSettings {
    let pace = config.pace();
    RunSettings {
        run_id: run_id.to_owned(),
        target: config.endpoint(),
        mode: match pace {
            Pace::Closed { .. } => "closed",
            Pace::Open { .. } => "open",
        }
        .to_owned(),
        concurrency: match pace {
            Pace::Closed { concurrency } => Some(concurrency),
            Pace::Open { .. } => None,
        },
        rate_per_second: match pace {
            Pace::Open { per_second, .. } => Some(per_second),
            Pace::Closed { .. } => None,
        },
        max_in_flight: match pace {
            Pace::Open { max_in_flight, .. } => Some(max_in_flight),
            Pace::Closed { .. } => None,
        },
        mix: config.mix.to_string(),
        citizens: config.citizens.to_string(),
        warmup_seconds: config.warmup.as_secs_f64(),
    }
}

/// Runs the load `config` describes: connects, prepares the citizens, warms up, measures, and
/// reports. The progress bar shows on stderr when it is a terminal. Setting `interrupt` ends the
/// run early (Ctrl-C): the report is of the part that ran, and says so.
pub async fn run(
    config: &LoadConfig,
    interrupt: Arc<std::sync::atomic::AtomicBool>,
) -> Result<LoadReport, LoadError> {
    config.validate().map_err(LoadError::Config)?;
    let tls = client_tls(config)?;
    let endpoints = config.endpoints();
    let mut channels = Vec::with_capacity(config.connections * endpoints.len());
    // Interleaved (a, b, a, b, …) so that requests spread over the servers evenly.
    for _ in 0..config.connections {
        for endpoint in &endpoints {
            let channel = connect_channel(endpoint, tls.as_ref())
                .await
                .map_err(|source| LoadError::Connect {
                    endpoint: endpoint.clone(),
                    source,
                })?;
            channels.push(channel);
        }
    }
    let pool = prepare_pool(config).await?;
    let run_id = new_run_id();
    let mut driver = Driver::new(
        pool,
        config.mix.clone(),
        channels,
        config.timeout,
        run_id.clone(),
    )
    .with_interrupt(interrupt);
    if let Some(path) = &config.answered {
        let answered = AnsweredLog::create(path).map_err(|source| LoadError::Answered {
            path: path.clone(),
            source,
        })?;
        driver = driver.with_answered(answered);
    }
    let driver = Arc::new(driver);
    let (tally, elapsed) = driver
        .run(config.pace(), config.stop(), config.warmup, true)
        .await;
    driver.finish().map_err(|source| LoadError::Answered {
        path: config.answered.clone().unwrap_or_default(),
        source,
    })?;
    let mut report = LoadReport::new(settings(config, &run_id), &tally, elapsed);
    report.interrupted = driver.interrupted();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ConnectionFailure;

    #[test]
    fn a_failed_connection_says_cannot_connect_once() {
        let error = LoadError::Connect {
            endpoint: "https://127.0.0.1:1".into(),
            source: ClientError::Unreachable {
                endpoint: "https://127.0.0.1:1".into(),
                cause: ConnectionFailure::Refused,
            },
        };
        let text = error.to_string();
        assert_eq!(text.matches("cannot connect").count(), 1, "{text}");
        assert!(text.contains("https://127.0.0.1:1"), "{text}");
    }
}
