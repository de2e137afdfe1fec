//! The `vnpop` command: `serve` runs the mock population database; `certs` regenerates the
//! development PKI.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vnpop::{
    config::ServeConfig,
    security::{certs, AgencyDirectory},
    server::{self, ServerState},
};

#[derive(Parser)]
#[command(
    name = "vnpop",
    version,
    about = "Mock of Vietnam's national population database (CCCD / VNeID verification)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the synthetic population and serve the gRPC API over mTLS.
    Serve(ServeConfig),
    /// Drive the client library against a server with a province scenario (default: the bundled
    /// one reproducing the published 21.8% and 0.7% lookup ratios).
    Simulate(SimulateArgs),
    /// The auditor's commands: lookup ratios, log verification.
    #[command(subcommand)]
    Audit(vnpop::cli::audit::AuditCommand),
    /// Regenerate the DEVELOPMENT certificates: a CA, a localhost server certificate and one
    /// client certificate per configured agency.
    Certs {
        /// Directory to write into.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Agency configuration whose agencies get client certificates; default: the embedded one.
        #[arg(long, env = "VNPOP_AGENCIES")]
        agencies: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("VNPOP_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve(config) => serve(config),
        Command::Certs { out, agencies } => write_certs(out, agencies),
        Command::Simulate(args) => simulate(args),
        Command::Audit(command) => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|runtime| runtime.block_on(vnpop::cli::audit::run(command))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vnpop: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: ServeConfig) -> Result<(), String> {
    if config.insecure {
        eprintln!("WARNING: --insecure serves plaintext without TLS; every caller is treated as agency {:?}. Never use it outside local debugging.", config.insecure_agency);
    }
    let state = ServerState::build(&config).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = server::start(config.listen, state)
            .await
            .map_err(|e| e.to_string())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                result.map_err(|e| e.to_string())?;
                tracing::info!("shutting down");
                running.shutdown().await.map_err(|e| e.to_string())
            }
        }
    })
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Scenario file (TOML, the format of data/scenario.toml); default: the bundled scenario.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The server.
    #[arg(long, env = "VNPOP_SERVER", default_value = "https://localhost:50051")]
    server: String,
    #[arg(long, default_value = "certs/ca.pem")]
    ca: PathBuf,
    /// The agency certificate the simulated unit uses.
    #[arg(long, default_value = "certs/one-stop-ba-dinh.pem")]
    cert: PathBuf,
    #[arg(long, default_value = "certs/one-stop-ba-dinh.key")]
    key: PathBuf,
    /// The client's durable outbox file.
    #[arg(long, default_value = "vnpop-simulate-outbox.sqlite")]
    outbox: PathBuf,
    /// Dossiers processed at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the server's population (lookups ask for its citizens).
    #[arg(long, env = "VNPOP_SEED", default_value_t = 2026)]
    population_seed: u64,
}

fn simulate(args: SimulateArgs) -> Result<(), String> {
    use vnpop::{
        client::{AgencyClient, AgencyClientConfig, ClientTls},
        simulate::{self, Scenario},
    };
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        None => Scenario::bundled(),
    };
    let tls = ClientTls::from_files(&args.ca, &args.cert, &args.key).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = AgencyClient::open(AgencyClientConfig::new(args.server, Some(tls), args.outbox))
            .await
            .map_err(|e| e.to_string())?;
        let started = std::time::Instant::now();
        let report = simulate::run(&client, &scenario, args.concurrency, args.population_seed, |done, total| {
            eprintln!("simulated {done} / {total} dossiers");
        })
        .await
        .map_err(|e| e.to_string())?;
        println!(
            "simulated {} dossiers and {} lookups ({} not answered) in {:.1} s; every event delivered",
            report.dossiers,
            report.lookups,
            report.failed_lookups,
            started.elapsed().as_secs_f64()
        );
        for period in &scenario.period {
            println!(
                "  period {} .. {}: {} dossiers, {} lookups: vnpop audit ratio --from {} --to {} --by district",
                period.from, period.to, period.dossiers, period.lookups, period.from, period.to
            );
        }
        Ok(())
    })
}

fn write_certs(out: PathBuf, agencies: Option<PathBuf>) -> Result<(), String> {
    let directory = match agencies {
        Some(path) => AgencyDirectory::load(&path).map_err(|e| e.to_string())?,
        None => AgencyDirectory::development(),
    };
    let written = certs::write_development_pki(&out, &directory).map_err(|e| e.to_string())?;
    for name in written {
        println!("wrote {}", out.join(name).display());
    }
    println!("These are DEVELOPMENT certificates: their private keys are not secret.");
    Ok(())
}
