//! The server's configuration: one struct, from flags and environment variables (clap).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use chrono::NaiveDate;

use crate::{population::PopulationSpec, vneid::AuthSettings};

/// A `--population` value: a whole number from 1 to what the CCCD number space holds.
pub(crate) fn parse_population(text: &str) -> Result<usize, String> {
    let size: i128 = text
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of citizens"))?;
    let max = crate::population::max_population();
    if size < 1 || size > i128::from(max) {
        return Err(format!(
            "the population must be 1 to {max} (what the CCCD number space of 63 provinces holds \
             for the age pyramid); {size} is not"
        ));
    }
    usize::try_from(size).map_err(|_| format!("{size} is too large for this machine"))
}

/// A duration such as "500ms", "30s", "15m" or "1h" (a bare number is seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 30s, 15m or 1h"))?;
    let millis = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("unknown unit {unit:?}: use ms, s, m or h")),
    };
    Ok(Duration::from_millis(number.saturating_mul(millis)))
}

/// A size such as "64KiB", "1MiB" or "4096" (bytes).
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 64KiB or 1MiB"))?;
    let unit = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => return Err(format!("unknown unit {unit:?}: use B, KiB or MiB")),
    };
    number
        .checked_mul(unit)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Which synthetic population: the flags `serve`, `citizen show` and `chip read` share, so that
/// the last two compute the very citizens the server serves.
#[derive(Debug, Clone, clap::Args)]
pub struct PopulationArgs {
    /// Number of generated citizens (the fixture citizens come on top): 1 to about 1.3 billion
    /// (what the CCCD number space holds); 100000000 is the whole country.
    #[arg(long = "population", value_name = "POPULATION", env = "VNPOP_POPULATION", default_value_t = 1_000_000, value_parser = parse_population)]
    pub size: usize,

    /// Seed of the synthetic population: same seed, same people.
    #[arg(long, env = "VNPOP_SEED", default_value_t = 2026)]
    pub seed: u64,

    /// The "today" of the generated world (YYYY-MM-DD): nobody is born and no card is issued after
    /// it. Fixed by default so the population never changes.
    #[arg(long, env = "VNPOP_REFERENCE_DATE", default_value_t = PopulationSpec::default_reference_date())]
    pub reference_date: NaiveDate,

    /// The date used for card expiry (YYYY-MM-DD); default: today in Vietnam.
    #[arg(long, env = "VNPOP_TODAY")]
    pub today: Option<NaiveDate>,

    /// JSON file of citizens to add or override (format: see docs/population.md).
    #[arg(long, env = "VNPOP_FIXTURES")]
    pub fixtures: Option<PathBuf>,
}

impl PopulationArgs {
    /// The population these flags describe.
    pub fn spec(&self) -> PopulationSpec {
        PopulationSpec {
            seed: self.seed,
            size: self.size,
            reference_date: self.reference_date,
        }
    }
}

/// Configuration of `vnpop serve`. Every flag has an environment variable (read by the command
/// line only: [`ServeConfig::default`] ignores them); with none set the server listens on 127.0.0.1:50051 with the development certificates and 1,000,000 citizens.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VNPOP_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Which synthetic population is served (`citizen show` and `chip read` take the same).
    #[command(flatten)]
    pub population: PopulationArgs,

    /// Directory of the audit log (SQLite file and its keys); created if missing.
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    pub data_dir: PathBuf,

    /// Fleet mode: the audit trail of every server in one PostgreSQL database
    /// (`postgres://user:password@host:port/database`); this server then keeps a copy of the
    /// log and the query tables in --data-dir. Default: the embedded SQLite file of --data-dir.
    #[arg(long, env = "VNPOP_AUDIT_STORE", value_name = "URL")]
    pub audit_store: Option<String>,

    /// Under load (after a group commit of 8 calls or more), how long the audit log's writer
    /// waits at most this long, in microseconds, for as many calls as the last group had before
    /// it commits a smaller group (the call that completes the group ends the wait): more calls
    /// then share one commit, signature and fsync. A call alone is never delayed.
    /// 0 turns it off; at most 100000.
    #[arg(long, env = "VNPOP_AUDIT_COMMIT_DELAY", value_name = "MICROSECONDS", default_value_t = 400,
        value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub audit_commit_delay: u64,

    /// TOML file of agencies, their certificate identities and field scopes; default: the
    /// embedded development configuration (data/agencies.toml).
    #[arg(long, env = "VNPOP_AGENCIES")]
    pub agencies: Option<PathBuf>,

    /// CA certificate (PEM) that client certificates must chain to; default: the development CA.
    // `--tls-ca`, `--tls-cert`, `--tls-key`: the older spellings, hidden.
    #[arg(long = "ca", alias = "tls-ca", value_name = "CA", env = "VNPOP_TLS_CA", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,

    /// Server certificate (PEM); default: the development localhost certificate.
    #[arg(long = "cert", alias = "tls-cert", value_name = "CERT", env = "VNPOP_TLS_CERT", requires_all = ["tls_ca", "tls_key"])]
    pub tls_cert: Option<PathBuf>,

    /// Server private key (PEM).
    #[arg(long = "key", alias = "tls-key", value_name = "KEY", env = "VNPOP_TLS_KEY", requires_all = ["tls_ca", "tls_cert"])]
    pub tls_key: Option<PathBuf>,

    /// Serve plaintext HTTP/2 without TLS. INSECURE: for debugging only; every caller is then
    /// taken to be the agency given by --insecure-agency.
    #[arg(long, env = "VNPOP_INSECURE")]
    pub insecure: bool,

    /// With --insecure: the agency id every caller is taken to be.
    #[arg(
        long,
        env = "VNPOP_INSECURE_AGENCY",
        default_value = "one-stop-phuong-ba-dinh"
    )]
    pub insecure_agency: String,

    /// How long a VNeID token stays valid (e.g. 10m; whole seconds in the token).
    #[arg(long, env = "VNPOP_TOKEN_LIFETIME", default_value = "10m", value_parser = parse_duration)]
    pub token_lifetime: Duration,

    /// How long a started authentication waits to be completed.
    #[arg(long, env = "VNPOP_CHALLENGE_LIFETIME", default_value = "5m", value_parser = parse_duration)]
    pub challenge_lifetime: Duration,

    /// Pending authentications kept at most (beyond, new ones are refused with
    /// RESOURCE_EXHAUSTED until some complete or expire).
    #[arg(long, env = "VNPOP_MAX_CHALLENGES", default_value_t = 100_000)]
    pub max_challenges: usize,

    /// Failed attempts (wrong passcode, code or chip) by one agency within --lockout-window that
    /// lock a VNeID account for that agency.
    #[arg(long, env = "VNPOP_LOCKOUT_THRESHOLD", default_value_t = 5)]
    pub lockout_threshold: u32,

    /// The window in which failed attempts are counted.
    #[arg(long, env = "VNPOP_LOCKOUT_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub lockout_window: Duration,

    /// Failed attempts by all agencies together within --lockout-window that lock a VNeID
    /// account for every agency (--lockout-threshold locks it for the failing agency only).
    #[arg(long, env = "VNPOP_CITIZEN_LOCKOUT_THRESHOLD", default_value_t = 20)]
    pub citizen_lockout_threshold: u32,

    /// Pending authentications one agency may have at once (RESOURCE_EXHAUSTED beyond).
    #[arg(
        long,
        env = "VNPOP_MAX_CHALLENGES_PER_AGENCY",
        default_value_t = 10_000
    )]
    pub max_challenges_per_agency: usize,

    /// How long a locked account stays locked before it unlocks by itself.
    #[arg(long, env = "VNPOP_LOCKOUT_DURATION", default_value = "15m", value_parser = parse_duration)]
    pub lockout_duration: Duration,

    /// Country signing CA certificate (PEM) that chip document signers must chain to; default:
    /// the development mock CSCA (certs/csca.pem).
    #[arg(long, env = "VNPOP_CSCA")]
    pub csca: Option<PathBuf>,

    /// Fault rules (TOML or JSON; format in docs/qa.md, "Fault injection") in force from startup;
    /// the admin service changes them at runtime. Default: none, the server behaves normally.
    #[arg(long, env = "VNPOP_FAULTS")]
    pub faults: Option<PathBuf>,

    /// Seed of fault decisions: with it, the n-th call draws the same latency and error on every
    /// run. Default: a random seed.
    #[arg(long, env = "VNPOP_FAULT_SEED")]
    pub fault_seed: Option<u64>,

    /// Serve Prometheus metrics over plain HTTP on this address (GET /metrics), e.g.
    /// 127.0.0.1:9464; a bare port means loopback. Default: off. Off loopback only with
    /// --allow-remote-metrics.
    #[arg(long, env = "VNPOP_METRICS_LISTEN", value_parser = crate::metrics::http::parse_listen)]
    pub metrics_listen: Option<SocketAddr>,

    /// Allow --metrics-listen on a non-loopback address (the endpoint is plain HTTP without
    /// authentication). Without it such a server refuses to start; with it, it warns at start.
    #[arg(long, env = "VNPOP_ALLOW_REMOTE_METRICS")]
    pub allow_remote_metrics: bool,

    /// Allow the development keys (CA, server certificate, CSCA and document signer) and the
    /// seed-derived VNeID credentials on a non-loopback address. Without it such a server refuses
    /// to start and names each; with it, it warns at start and in its health status.
    #[arg(long, env = "VNPOP_ALLOW_DEV_PKI")]
    pub allow_dev_pki: bool,

    /// Do not serve VNeID authentication (its test credentials are derived from the seed, so a
    /// server on a network needs this or --allow-dev-pki).
    #[arg(long, env = "VNPOP_DISABLE_VNEID")]
    pub disable_vneid: bool,

    /// Connections served at once; further clients wait in the kernel's accept queue.
    #[arg(long, env = "VNPOP_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Concurrent calls (HTTP/2 streams) per connection.
    #[arg(long, env = "VNPOP_MAX_CONCURRENT_STREAMS", default_value_t = 256)]
    pub max_concurrent_streams: u32,

    /// How long a client has to complete the TLS handshake before it is dropped.
    #[arg(long, env = "VNPOP_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// HTTP/2 keepalive: a PING after this much silence on a connection ...
    #[arg(long, env = "VNPOP_HTTP2_KEEPALIVE_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// ... and the connection is closed if the PING is not answered within this.
    #[arg(long, env = "VNPOP_HTTP2_KEEPALIVE_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// A call not answered within this is cancelled (DEADLINE_EXCEEDED / CANCELLED).
    #[arg(long, env = "VNPOP_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Largest request the registry accepts (lookups, verifications: a few hundred bytes).
    #[arg(long, env = "VNPOP_MAX_REQUEST_REGISTRY", default_value = "64KiB", value_parser = parse_size)]
    pub max_request_registry: usize,

    /// Largest request VNeID authentication accepts (level 2 carries a chip read).
    #[arg(long, env = "VNPOP_MAX_REQUEST_VNEID", default_value = "1280KiB", value_parser = parse_size)]
    pub max_request_vneid: usize,

    /// Largest chip read (16 data groups of at most 64 KiB and the security object).
    #[arg(long, env = "VNPOP_MAX_REQUEST_CHIP", default_value = "1280KiB", value_parser = parse_size)]
    pub max_request_chip: usize,

    /// Largest QA administration request (fault rules, a fixture citizen).
    #[arg(long, env = "VNPOP_MAX_REQUEST_ADMIN", default_value = "256KiB", value_parser = parse_size)]
    pub max_request_admin: usize,

    /// Largest data-cleaning message: a batch of up to 1,000 records.
    #[arg(long, env = "VNPOP_MAX_REQUEST_CLEANING", default_value = "1MiB", value_parser = parse_size)]
    pub max_request_cleaning: usize,

    /// Largest audit request: an Ingest batch of up to 10,000 events.
    #[arg(long, env = "VNPOP_MAX_REQUEST_AUDIT", default_value = "16MiB", value_parser = parse_size)]
    pub max_request_audit: usize,

    /// Metrics endpoint: connections served at once (one request each; more wait in the
    /// kernel's accept queue).
    #[arg(long, env = "VNPOP_METRICS_MAX_CONNECTIONS", default_value_t = 64)]
    pub metrics_max_connections: usize,

    /// Metrics endpoint: a client has this long to send its request's headers.
    #[arg(long, env = "VNPOP_METRICS_HEADER_READ_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub metrics_header_read_timeout: Duration,

    /// Metrics endpoint: a connection is closed after this long, whatever it does.
    #[arg(long, env = "VNPOP_METRICS_CONNECTION_LIFETIME", default_value = "30s", value_parser = parse_duration)]
    pub metrics_connection_lifetime: Duration,
}

impl ServeConfig {
    /// The defaults, as `vnpop serve` with no flags and no environment would have them (the same
    /// as [`Default::default`]).
    pub fn defaults() -> Self {
        Self::default()
    }

    pub(crate) fn auth_settings(&self) -> AuthSettings {
        AuthSettings {
            token_lifetime: self.token_lifetime,
            challenge_lifetime: self.challenge_lifetime,
            max_challenges: self.max_challenges,
            lockout_threshold: self.lockout_threshold,
            lockout_window: self.lockout_window,
            lockout_duration: self.lockout_duration,
            citizen_lockout_threshold: self.citizen_lockout_threshold,
            max_challenges_per_agency: self.max_challenges_per_agency,
        }
    }

    pub fn population_spec(&self) -> PopulationSpec {
        self.population.spec()
    }
}

impl Default for ServeConfig {
    /// `vnpop serve` with no flags, whatever the environment holds: the `VNPOP_*` variables are
    /// read by the command line only, never by a program (or test) that builds its configuration.
    fn default() -> Self {
        defaults_without_env()
    }
}

/// A clap struct's defaults: what its command does with no flags, ignoring the environment
/// variables its flags name.
pub(crate) fn defaults_without_env<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("vnpop")).mut_args(|arg| arg.env(None));
    let matches = command
        .try_get_matches_from(["vnpop"])
        .expect("every flag has a default or is optional");
    T::from_arg_matches(&matches).expect("the matches of its own arguments")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("1GB").is_err());
        let defaults = ServeConfig::defaults().auth_settings();
        assert_eq!(defaults, AuthSettings::default());
    }

    #[test]
    fn defaults_ignore_the_environment() {
        // The variable is unique to this test, so no other test reads it meanwhile.
        std::env::set_var("VNPOP_MAX_CHALLENGES_PER_AGENCY", "7");
        let config = ServeConfig::default();
        std::env::remove_var("VNPOP_MAX_CHALLENGES_PER_AGENCY");
        assert_eq!(config.max_challenges_per_agency, 10_000);
        assert_eq!(config.population.size, 1_000_000);
        assert_eq!(config.listen, "127.0.0.1:50051".parse().unwrap());
    }
}
