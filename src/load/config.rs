//! Everything `vnpop load` can be told, in one clap struct, and the small parsers behind its
//! options (`--rate 500/s`, `--citizens zipf:1.1`; `--mix` is parsed in [`super::mix`]).

use std::{path::PathBuf, str::FromStr, time::Duration};

use chrono::NaiveDate;

use super::{citizens::CitizenDistribution, mix::Mix};
use crate::{config::parse_duration, population::PopulationSpec};

/// Configuration of `vnpop load`: where to send, as whom, what, to which citizens, at which pace
/// and for how long. `LoadConfig::defaults()` is what the command does with no flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadConfig {
    /// The server: `host:port` (https, or http with --insecure) or a full URL; several,
    /// comma-separated, for a fleet (requests are spread evenly over them).
    // `--target`: the older spelling, hidden.
    #[arg(
        long = "server",
        alias = "target",
        value_name = "SERVER",
        env = "VNPOP_LOAD_TARGET",
        default_value = "127.0.0.1:50051"
    )]
    pub target: String,

    /// CA certificate (PEM) the server's certificate must chain to; default: the embedded
    /// development CA.
    #[arg(long, requires_all = ["cert", "key"])]
    pub ca: Option<PathBuf>,

    /// Client certificate (PEM) of the calling agency, one whose directory entry allows load
    /// tests; default: the embedded development certificate of `simulation`.
    #[arg(long, requires_all = ["ca", "key"])]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert.
    #[arg(long, requires_all = ["ca", "cert"])]
    pub key: Option<PathBuf>,

    /// The name the server certificate must carry.
    #[arg(long, default_value = "localhost")]
    pub tls_domain: String,

    /// Plaintext HTTP/2, for a server started with `serve --insecure`.
    #[arg(long)]
    pub insecure: bool,

    /// TCP connections (HTTP/2 channels) the requests are spread over.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,

    /// Weighted RPC mix: `noop` (WhoAmI), `lookup` (LookupByCccd), `verify`
    /// (VerifyDemographics with the citizen's own data), `qr` (VerifyQr with the citizen's real
    /// QR payload), `auth` (VNeID level-1 login: StartAuthentication + CompleteAuthentication).
    #[arg(long, default_value = "lookup=70,verify=15,qr=10,auth=5")]
    pub mix: Mix,

    /// Which citizens are asked for: `uniform`, `zipf:<s>` (rank k asked with weight 1/k^s) or
    /// `hot:<n>` (only the first n of the sample).
    #[arg(long, default_value = "uniform")]
    pub citizens: CitizenDistribution,

    /// Seed of the server's population (must match `serve --seed`).
    #[arg(long, env = "VNPOP_SEED", default_value_t = 2026)]
    pub seed: u64,

    /// Size of the server's population (must match `serve --population`).
    #[arg(long, env = "VNPOP_POPULATION", default_value_t = 1_000_000)]
    pub population: usize,

    /// Reference date of the server's population (must match `serve --reference-date`).
    #[arg(long, env = "VNPOP_REFERENCE_DATE", default_value_t = PopulationSpec::default_reference_date())]
    pub reference_date: NaiveDate,

    /// Citizens of the population computed before the run, evenly spread over it; the load asks
    /// for these (and VNeID logins cycle through their accounts).
    #[arg(long, default_value_t = 100_000)]
    pub citizen_sample: usize,

    /// Share of requests for well-formed CCCD numbers nobody has (born 1900–1919: older than
    /// anyone generated), answered NOT_FOUND.
    #[arg(long, default_value_t = 0.05)]
    pub unknown_share: f64,

    /// Share of requests for numbers that fail validation (wrong length, a letter, unknown
    /// province, birth year in the future), answered INVALID_ARGUMENT.
    #[arg(long, default_value_t = 0.01)]
    pub invalid_share: f64,

    /// Closed loop: this many requests in flight, each sent as soon as the previous answer came
    /// back (the default, with 64, when --rate is not given).
    #[arg(long, conflicts_with = "rate")]
    pub concurrency: Option<usize>,

    /// Open loop: requests sent at this constant rate (`500` or `500/s`), whatever the answers
    /// do; latency counts from the intended send time, so a stalled server is not flattered
    /// (coordinated omission).
    #[arg(long)]
    pub rate: Option<Rate>,

    /// Open loop: at most this many requests in flight; beyond it sends fall behind schedule (and
    /// the delay shows in the latency).
    #[arg(long, default_value_t = 1_000)]
    pub max_in_flight: usize,

    /// How long the measured part runs (after the warm-up), e.g. 30s (default 30s unless
    /// --requests is given).
    #[arg(long, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,

    /// Stop after this many measured requests instead of after --duration.
    #[arg(long)]
    pub requests: Option<u64>,

    /// Load sent before the measured part and left out of the report.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub warmup: Duration,

    /// A request not answered within this time counts as DEADLINE_EXCEEDED.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// Print the report as one JSON object on stdout (for CI) instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Append the dossier id of every call answered OK (warm-up included) to this file, one a
    /// line, as the answers arrive: what the server promised to have recorded, for checking its
    /// audit log after a crash.
    #[arg(long)]
    pub answered: Option<PathBuf>,
}

/// How the load is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// `concurrency` requests always in flight.
    Closed { concurrency: usize },
    /// Requests sent at `per_second`, at most `max_in_flight` outstanding.
    Open {
        per_second: f64,
        max_in_flight: usize,
    },
}

/// When the measured part ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

/// Closed-loop concurrency when neither --concurrency nor --rate is given.
pub(crate) const DEFAULT_CONCURRENCY: usize = 64;
/// Measured duration when neither --duration nor --requests is given.
pub(crate) const DEFAULT_DURATION: Duration = Duration::from_secs(30);

impl LoadConfig {
    /// The defaults, as `vnpop load` with no flags (and no environment) has them.
    pub fn defaults() -> Self {
        crate::config::defaults_without_env()
    }

    pub fn population_spec(&self) -> PopulationSpec {
        PopulationSpec {
            seed: self.seed,
            size: self.population,
            reference_date: self.reference_date,
        }
    }

    pub(crate) fn pace(&self) -> Pace {
        match self.rate {
            Some(rate) => Pace::Open {
                per_second: rate.0,
                max_in_flight: self.max_in_flight,
            },
            None => Pace::Closed {
                concurrency: self.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            },
        }
    }

    pub fn stop(&self) -> Stop {
        match (self.requests, self.duration) {
            (Some(n), _) => Stop::Requests(n),
            (None, Some(d)) => Stop::After(d),
            (None, None) => Stop::After(DEFAULT_DURATION),
        }
    }

    /// The endpoint URLs for the client library, one a server of --server.
    pub(crate) fn endpoints(&self) -> Vec<String> {
        self.target
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|target| {
                if target.contains("://") {
                    target.to_owned()
                } else if self.insecure {
                    format!("http://{target}")
                } else {
                    format!("https://{target}")
                }
            })
            .collect()
    }

    /// The endpoints as the report names them.
    pub fn endpoint(&self) -> String {
        self.endpoints().join(", ")
    }

    /// Checks what clap cannot: numbers in range and combinations that make sense.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let share = |name: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(format!("--{name} must be between 0 and 1, got {value}"))
            }
        };
        share("unknown-share", self.unknown_share)?;
        share("invalid-share", self.invalid_share)?;
        if self.unknown_share + self.invalid_share > 1.0 {
            return Err("--unknown-share and --invalid-share add up to more than 1".into());
        }
        if self.concurrency == Some(0) {
            return Err("--concurrency must be at least 1".into());
        }
        if self.max_in_flight == 0 {
            return Err("--max-in-flight must be at least 1".into());
        }
        if self.connections == 0 {
            return Err("--connections must be at least 1".into());
        }
        if self.endpoints().is_empty() {
            return Err("--server names no server".into());
        }
        if self.citizen_sample == 0 || self.population == 0 {
            return Err("--population and --citizen-sample must be at least 1".into());
        }
        if self.requests == Some(0) {
            return Err("--requests must be at least 1".into());
        }
        if self.duration == Some(Duration::ZERO) {
            return Err("--duration must be longer than 0".into());
        }
        if self.timeout.is_zero() {
            return Err("--timeout must be longer than 0".into());
        }
        if self.insecure && (self.ca.is_some() || self.target.starts_with("https://")) {
            return Err(
                "--insecure is plaintext: it takes no certificates and no https URL".into(),
            );
        }
        Ok(())
    }
}

/// Requests per second of an open loop: `500` or `500/s`, more than 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let number = text.trim().trim_end_matches("/s");
        match number.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Rate(rate)),
            _ => Err(format!(
                "{text:?} is not a rate such as 500/s (requests per second, more than 0)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_distributions_parse_or_say_why_not() {
        assert_eq!("500/s".parse(), Ok(Rate(500.0)));
        assert_eq!("2.5".parse(), Ok(Rate(2.5)));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
        assert_eq!("uniform".parse(), Ok(CitizenDistribution::Uniform));
        assert_eq!(
            "zipf:1.1".parse(),
            Ok(CitizenDistribution::Zipf { exponent: 1.1 })
        );
        assert_eq!(
            "hot:1000".parse(),
            Ok(CitizenDistribution::Hot { size: 1000 })
        );
        for bad in ["zipf", "zipf:-1", "hot:0", "hot:x", "normal", "uniform:3"] {
            assert!(bad.parse::<CitizenDistribution>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_a_closed_loop_of_64_for_30_seconds() {
        let config = LoadConfig::defaults();
        assert_eq!(config.pace(), Pace::Closed { concurrency: 64 });
        assert_eq!(config.stop(), Stop::After(Duration::from_secs(30)));
        assert_eq!(config.endpoint(), "https://127.0.0.1:50051");
        assert!(config.validate().is_ok());
        let mut bad = config.clone();
        bad.unknown_share = 0.7;
        bad.invalid_share = 0.5;
        assert!(bad.validate().is_err());
    }
}
