//! The `vnpop` command: `serve` runs the mock population database; `certs` regenerates the
//! development PKI; `citizen show` prints a citizen and their VNeID test credentials and `chip
//! read` produces chip reads (both DEVELOPMENT ONLY).

use std::{path::PathBuf, process::ExitCode};

/// mimalloc rather than the system allocator: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vnpop::{
    chip::{self, DocumentSigner, Tamper},
    config::ServeConfig,
    domain::{CardKind, CccdNumber, Citizen, VneidLevel},
    security::{certs, AgencyDirectory},
    server::{self, ServerState},
    vneid::TestCredentials,
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
    /// DEVELOPMENT ONLY: citizens of the synthetic population and their test credentials.
    #[command(subcommand)]
    Citizen(CitizenCommand),
    /// DEVELOPMENT ONLY: chip reads of citizens' cards, genuine or tampered, for testing card
    /// reader code.
    #[command(subcommand)]
    Chip(ChipCommand),
    /// Generate the synthetic population and serve the gRPC API over mTLS.
    Serve(ServeConfig),
    /// Drive the client library against a server with a province scenario (default: the bundled
    /// one reproducing the published 21.8% and 0.7% lookup ratios).
    Simulate(SimulateArgs),
    /// Load-test a server: a weighted mix of lookups, verifications and VNeID logins about real
    /// citizens of its population, closed or open loop, with a latency and status-code report.
    Load(vnpop::load::LoadConfig),
    /// The auditor's commands: lookup ratios, log verification.
    #[command(subcommand)]
    Audit(vnpop::cli::audit::AuditCommand),
    /// Regenerate the DEVELOPMENT certificates: a CA, a localhost server certificate, one client
    /// certificate per configured agency, and the mock chip PKI (CSCA and document signer).
    Certs {
        /// Directory to write into.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Agency configuration whose agencies get client certificates; default: the embedded one.
        #[arg(long, env = "VNPOP_AGENCIES")]
        agencies: Option<PathBuf>,
        /// Only the mock chip PKI (csca.* and document-signer.*), leaving the TLS certificates.
        #[arg(long)]
        chip_only: bool,
    },
}

#[derive(Subcommand)]
enum CitizenCommand {
    /// Print a citizen's record and, DEVELOPMENT ONLY, their VNeID test credentials (passcode, TOTP
    /// secret and the current one-time code). Takes the same population flags as `serve`.
    Show {
        /// The 12-digit CCCD number.
        cccd: String,
        #[command(flatten)]
        config: ServeConfig,
    },
}

#[derive(Subcommand)]
enum ChipCommand {
    /// Print what a card reader reads from the citizen's chip, as one line of base64 (the
    /// protobuf encoding of vnpop.v1.ChipRead), signed by the development document signer.
    Read {
        /// The 12-digit CCCD number.
        cccd: String,
        /// Spoil the read in this way (for negative tests).
        #[arg(long, value_enum)]
        tamper: Option<Tamper>,
        #[command(flatten)]
        config: ServeConfig,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_env_filter(
            EnvFilter::try_from_env("VNPOP_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        end_quietly_when_the_reader_goes_away();
    }
    let result = match cli.command {
        Command::Citizen(CitizenCommand::Show { cccd, config }) => show_citizen(&cccd, config),
        Command::Chip(ChipCommand::Read {
            cccd,
            tamper,
            config,
        }) => read_chip(&cccd, tamper, config),
        Command::Serve(config) => serve(config),
        Command::Certs {
            out,
            agencies,
            chip_only,
        } => write_certs(out, agencies, chip_only),
        Command::Simulate(args) => simulate(args),
        Command::Load(config) => load(config),
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

/// Colour in the logs only on a terminal, and never when `NO_COLOR` is set (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A command whose output is piped into `head` ends when `head` does, like any Unix tool, instead
/// of panicking on the failed write: SIGPIPE gets its default action back (Rust ignores it).
/// Sockets are unaffected (Rust writes to them with MSG_NOSIGNAL); `serve` keeps the Rust default.
fn end_quietly_when_the_reader_goes_away() {
    #[cfg(unix)]
    // SAFETY: called before any thread is started; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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

fn load(config: vnpop::load::LoadConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(vnpop::load::run(&config))
        .map_err(|e| e.to_string())?;
    if config.json {
        let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Scenario file (TOML, the format of data/scenario.toml); default: the bundled scenario.
    #[arg(long, env = "VNPOP_SCENARIO")]
    scenario: Option<PathBuf>,
    /// Tells this run from earlier runs of the same scenario and seed. Without it a run has the
    /// same dossiers and event ids every time, so running it again adds nothing to the log.
    #[arg(long)]
    run_label: Option<String>,
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
    /// Directory of the client's durable outbox (simulate-outbox.sqlite), created if missing.
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    data_dir: PathBuf,
    /// The client's durable outbox file; default: DATA_DIR/simulate-outbox.sqlite.
    #[arg(long)]
    outbox: Option<PathBuf>,
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
        simulate::{self, RunIdentity, Scenario},
    };
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        None => Scenario::bundled(),
    };
    let identity = RunIdentity::new(&scenario, args.population_seed, args.run_label.as_deref())
        .map_err(|e| e.to_string())?;
    let tls = ClientTls::from_files(&args.ca, &args.cert, &args.key).map_err(|e| e.to_string())?;
    let outbox = match args.outbox {
        Some(path) => path,
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
            args.data_dir.join("simulate-outbox.sqlite")
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config = AgencyClientConfig::new(args.server, Some(tls), outbox)
            .with_run_id(identity.id.clone());
        let client = AgencyClient::open(config).await.map_err(|e| e.to_string())?;
        let started = std::time::Instant::now();
        let report = simulate::run(
            &client,
            &scenario,
            &identity,
            args.concurrency,
            args.population_seed,
            |done, total| eprintln!("simulated {done} / {total} dossiers"),
        )
        .await
        .map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        println!("run {}", identity.id);
        if report.dossiers == 0 {
            println!(
                "already in the log: all {} dossiers of this run (and their {} lookups) were \
                 acknowledged as duplicates; nothing was looked up again and no figure changed \
                 (give --run-label NAME to simulate a separate run)",
                report.already_logged, report.already_logged_lookups
            );
        } else {
            println!(
                "simulated {} dossiers and {} lookups ({} not answered) in {seconds:.1} s; every event delivered",
                report.dossiers, report.lookups, report.failed_lookups,
            );
            if report.already_logged > 0 {
                println!(
                    "resumed: {} dossiers ({} lookups) were already in the log from an earlier \
                     run of this scenario and were acknowledged as duplicates",
                    report.already_logged, report.already_logged_lookups
                );
            }
        }
        println!("the log now holds this run's totals:");
        for period in &scenario.period {
            println!(
                "  {} .. {}: {} dossiers, {} lookups: vnpop audit ratio --from {} --to {} --by district",
                period.from, period.to, period.dossiers, period.lookups, period.from, period.to
            );
        }
        Ok(())
    })
}

fn write_certs(out: PathBuf, agencies: Option<PathBuf>, chip_only: bool) -> Result<(), String> {
    if chip_only {
        let written = certs::write_chip_pki(&out).map_err(|e| e.to_string())?;
        for name in written {
            println!("wrote {}", out.join(name).display());
        }
        println!("These are DEVELOPMENT certificates: their private keys are not secret.");
        return Ok(());
    }
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

/// The citizen `cccd` of the population `config` describes.
fn find_citizen(cccd: &str, config: &ServeConfig) -> Result<std::sync::Arc<Citizen>, String> {
    let number =
        CccdNumber::parse(cccd).map_err(|e| format!("{cccd:?} is not a valid CCCD number: {e}"))?;
    let store = server::build_store(config).map_err(|e| e.to_string())?;
    store
        .get(number)
        .ok_or_else(|| format!("no citizen has CCCD number {}", number.masked()))
}

fn show_citizen(cccd: &str, config: ServeConfig) -> Result<(), String> {
    let citizen = find_citizen(cccd, &config)?;
    let personal = chip::personal::personal_data(config.seed, &citizen);
    let today = config
        .today
        .unwrap_or_else(|| vnpop::registry::Clock::System.today());
    let origin = &citizen.place_of_origin;
    println!("Citizen (synthetic population, seed {})", config.seed);
    println!("  CCCD number        {}", citizen.cccd);
    println!(
        "  CMND number        {}",
        citizen.cmnd.map_or("-".into(), |n| n.to_string())
    );
    println!("  Full name          {}", citizen.full_name);
    println!("  Date of birth      {}", citizen.date_of_birth);
    println!("  Sex                {}", citizen.sex.vietnamese());
    println!("  Nationality        {}", citizen.nationality);
    println!("  Ethnicity          {}", citizen.ethnicity);
    println!("  Religion           {}", citizen.religion);
    println!(
        "  Place of origin    {}, {}",
        origin.district,
        origin.province.province().name
    );
    println!("  Permanent address  {}", citizen.permanent_address);
    match &citizen.card {
        Some(card) => println!(
            "  Card               {} issued {}, {} ({:?} on {today})",
            match card.kind {
                CardKind::ChipCccd => "chip CCCD",
                CardKind::IdentityCard2024 => "identity card (2024)",
            },
            card.issued,
            card.expires
                .map_or("never expires".into(), |d| format!("expires {d}")),
            citizen.card_state(today).expect("has a card"),
        ),
        None => println!("  Card               none"),
    }
    println!("  Status             {:?}", citizen.status);
    println!(
        "  Chip DG13 extras   father {}; mother {}; spouse {}; features {}",
        personal.father_name,
        personal.mother_name,
        personal.spouse_name.as_deref().unwrap_or("-"),
        personal.identification_features
    );
    println!();
    let level = match citizen.vneid {
        VneidLevel::None => {
            println!("VNeID account      none");
            return Ok(());
        }
        VneidLevel::Level1 => 1,
        VneidLevel::Level2 => 2,
    };
    let credentials = TestCredentials::derive(config.seed, citizen.cccd);
    let now = vnpop::vneid::credentials::unix_now();
    let step = vnpop::vneid::credentials::TOTP_STEP;
    println!("VNeID account      level {level}");
    println!("TEST CREDENTIALS — DEVELOPMENT ONLY (derived from the seed; anyone with the seed has them)");
    println!("  Passcode           {}", credentials.passcode);
    println!(
        "  TOTP secret        {} (base32; SHA-1, 6 digits, 30 s)",
        credentials.totp_secret_base32()
    );
    println!(
        "  Current code       {} (for another {} s)",
        credentials.current_code(),
        step - now % step
    );
    println!(
        "  otpauth URI        otpauth://totp/vnpop:{}?secret={}&issuer=vnpop&algorithm=SHA1&digits=6&period=30",
        citizen.cccd,
        credentials.totp_secret_base32()
    );
    Ok(())
}

fn read_chip(cccd: &str, tamper: Option<Tamper>, config: ServeConfig) -> Result<(), String> {
    let citizen = find_citizen(cccd, &config)?;
    let signer = DocumentSigner::development();
    let read = match tamper {
        None => chip::chip_read(config.seed, &citizen, &signer),
        Some(tamper) => chip::tampered_chip_read(config.seed, &citizen, &signer, tamper),
    }
    .map_err(|e| e.to_string())?;
    println!("{}", chip::encode_chip_read(&read));
    Ok(())
}
