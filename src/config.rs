//! The server's configuration: one struct, from flags and environment variables (clap).

use std::{net::SocketAddr, path::PathBuf};

use chrono::NaiveDate;

use crate::population::PopulationSpec;

/// Configuration of `vnpop serve`. Every flag has an environment variable; with none set the
/// server listens on 127.0.0.1:50051 with the development certificates and 1,000,000 citizens.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VNPOP_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Number of generated citizens (the fixture citizens come on top).
    #[arg(long, env = "VNPOP_POPULATION", default_value_t = 1_000_000)]
    pub population: usize,

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

    /// Directory of the audit log (SQLite file and its keys); created if missing.
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    pub data_dir: PathBuf,

    /// JSON file of citizens to add or override (format: see the README).
    #[arg(long, env = "VNPOP_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// TOML file of agencies, their certificate identities and field scopes; default: the
    /// embedded development configuration (data/agencies.toml).
    #[arg(long, env = "VNPOP_AGENCIES")]
    pub agencies: Option<PathBuf>,

    /// CA certificate (PEM) that client certificates must chain to; default: the development CA.
    #[arg(long, env = "VNPOP_TLS_CA", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,

    /// Server certificate (PEM); default: the development localhost certificate.
    #[arg(long, env = "VNPOP_TLS_CERT", requires_all = ["tls_ca", "tls_key"])]
    pub tls_cert: Option<PathBuf>,

    /// Server private key (PEM).
    #[arg(long, env = "VNPOP_TLS_KEY", requires_all = ["tls_ca", "tls_cert"])]
    pub tls_key: Option<PathBuf>,

    /// Serve plaintext HTTP/2 without TLS. INSECURE: for debugging only; every caller is then
    /// taken to be the agency given by --insecure-agency.
    #[arg(long, env = "VNPOP_INSECURE")]
    pub insecure: bool,

    /// With --insecure: the agency id every caller is taken to be.
    #[arg(
        long,
        env = "VNPOP_INSECURE_AGENCY",
        default_value = "one-stop-ba-dinh"
    )]
    pub insecure_agency: String,
}

impl ServeConfig {
    /// The defaults, as `vnpop serve` with no flags and no environment would have them.
    pub fn defaults() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: ServeConfig,
        }
        Wrapper::parse_from(["vnpop"]).config
    }

    pub fn population_spec(&self) -> PopulationSpec {
        PopulationSpec {
            seed: self.seed,
            size: self.population,
            reference_date: self.reference_date,
        }
    }
}
