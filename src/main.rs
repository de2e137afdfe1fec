//! The `vnpop` command: `serve` runs the mock population database; `certs` regenerates the
//! development PKI; `citizen show` prints a citizen and their VNeID test credentials and `chip
//! read` produces chip reads (both DEVELOPMENT ONLY).

use std::{path::PathBuf, process::ExitCode};

/// mimalloc rather than the system allocator: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use vnpop::cli::{chip::ChipFormat, output::print};

/// `println!` into a `String`, printed at the end with [`print`] (which ends quietly when the
/// reader of stdout went away).
macro_rules! outln {
    ($out:ident) => {
        $out.push('\n')
    };
    ($out:ident, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}
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
    /// Run beside agency software in any language: a local REST/JSON and gRPC API that records
    /// every dossier and verification in a durable outbox and forwards over mTLS.
    Gateway(vnpop::gateway::GatewayConfig),
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
    /// Print what a card reader reads from the citizen's chip, signed by the development document
    /// signer: one line of base64 (the protobuf encoding of vnpop.v1.ChipRead), or with --format
    /// json the ChipRead message in the protobuf JSON mapping, ready for grpcurl.
    Read {
        /// The 12-digit CCCD number.
        cccd: String,
        /// Spoil the read in this way (for negative tests).
        #[arg(long, value_enum)]
        tamper: Option<Tamper>,
        #[arg(long, value_enum, default_value = "base64")]
        format: ChipFormat,
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
    let result = match Cli::parse().command {
        Command::Citizen(CitizenCommand::Show { cccd, config }) => show_citizen(&cccd, config),
        Command::Chip(ChipCommand::Read {
            cccd,
            tamper,
            format,
            config,
        }) => read_chip(&cccd, tamper, format, config),
        Command::Serve(config) => serve(config),
        Command::Certs {
            out,
            agencies,
            chip_only,
        } => write_certs(out, agencies, chip_only),
        Command::Simulate(args) => simulate(args),
        Command::Load(config) => load(config),
        Command::Gateway(config) => vnpop::gateway::run(config),
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
        print(&(json + "\n"))
    } else {
        print(&report.table())
    }
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
    /// The agency certificate the simulated units use: an agency whose directory entry lists the
    /// scenario's districts and allows reports dated that far back (`simulation` in development).
    #[arg(long, default_value = "certs/simulation.pem")]
    cert: PathBuf,
    #[arg(long, default_value = "certs/simulation.key")]
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
    let tls = ClientTls::from_files(&args.ca, &args.cert, &args.key)
        .map_err(vnpop::cli::output::tls_files_error)?;
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
        check_server(&args.server, &tls).await?;
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
        let mut out = String::new();
        outln!(out, "run {}", identity.id);
        if report.dossiers == 0 {
            outln!(out,
                "already in the log: all {} dossiers of this run (and their {} lookups) were \
                 acknowledged as duplicates; nothing was looked up again and no figure changed \
                 (give --run-label NAME to simulate a separate run)",
                report.already_logged, report.already_logged_lookups
            );
        } else {
            outln!(out,
                "simulated {} dossiers and {} lookups ({} not answered) in {seconds:.1} s; every event delivered",
                report.dossiers, report.lookups, report.failed_lookups,
            );
            if report.already_logged > 0 {
                outln!(out,
                    "resumed: {} dossiers ({} lookups) were already in the log from an earlier \
                     run of this scenario and were acknowledged as duplicates",
                    report.already_logged, report.already_logged_lookups
                );
            }
        }
        if let Some((then, now)) = scenario.province() {
            outln!(out,
                "the scenario's units are {then}'s districts as they stood before 1 July 2025; \
                 {then} is now part of {now} (`--by province` counts them there, beside {now}'s \
                 communes since the reform)"
            );
        }
        outln!(out, "the log now holds this run's totals:");
        for period in &scenario.period {
            outln!(out,
                "  {} .. {}: {} dossiers, {} lookups: vnpop audit ratio --from {} --to {} --by district",
                period.from, period.to, period.dossiers, period.lookups, period.from, period.to
            );
        }
        print(&out)
    })
}

/// Fails with a message naming the address and the cause unless the server at `endpoint` accepts
/// the agency certificate in `tls` (one WhoAmI call, which reads no citizen and is not audited).
async fn check_server(endpoint: &str, tls: &vnpop::client::ClientTls) -> Result<(), String> {
    use vnpop::client::{connection_failure, ClientError, RegistryClient};
    let failed = |error: ClientError| match &error {
        ClientError::Rpc(status) => match connection_failure(status, Some(tls)) {
            Some(cause) => format!("cannot connect to vnpop at {endpoint}: {cause}"),
            None => error.to_string(),
        },
        _ => error.to_string(),
    };
    let client = RegistryClient::connect(endpoint, Some(tls.clone()))
        .await
        .map_err(failed)?;
    client.who_am_i().await.map_err(failed)?;
    Ok(())
}

fn write_certs(out: PathBuf, agencies: Option<PathBuf>, chip_only: bool) -> Result<(), String> {
    let mut text = String::new();
    if chip_only {
        let written = certs::write_chip_pki(&out).map_err(|e| e.to_string())?;
        for name in written {
            outln!(text, "wrote {}", out.join(name).display());
        }
        outln!(
            text,
            "These are DEVELOPMENT certificates: their private keys are not secret."
        );
        return print(&text);
    }
    let directory = match agencies {
        Some(path) => AgencyDirectory::load(&path).map_err(|e| e.to_string())?,
        None => AgencyDirectory::development(),
    };
    let written = certs::write_development_pki(&out, &directory).map_err(|e| e.to_string())?;
    for name in written {
        outln!(text, "wrote {}", out.join(name).display());
    }
    outln!(
        text,
        "These are DEVELOPMENT certificates: their private keys are not secret."
    );
    print(&text)
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
    let mut out = String::new();
    outln!(out, "Citizen (synthetic population, seed {})", config.seed);
    outln!(out, "  CCCD number        {}", citizen.cccd);
    outln!(
        out,
        "  CMND number        {}",
        citizen.cmnd.map_or("-".into(), |n| n.to_string())
    );
    outln!(out, "  Full name          {}", citizen.full_name);
    outln!(out, "  Date of birth      {}", citizen.date_of_birth);
    outln!(out, "  Sex                {}", citizen.sex.vietnamese());
    outln!(out, "  Nationality        {}", citizen.nationality);
    outln!(out, "  Ethnicity          {}", citizen.ethnicity);
    outln!(out, "  Religion           {}", citizen.religion);
    outln!(
        out,
        "  Place of origin    {}, {}",
        origin.district,
        origin.province.province().name
    );
    outln!(out, "  Permanent address  {}", citizen.permanent_address);
    if let Some(old) = &citizen.pre_reform_address {
        outln!(
            out,
            "  Before 1 July 2025 {} (printed on the card)",
            old.line(&citizen.permanent_address.street)
        );
    }
    match &citizen.card {
        Some(card) => outln!(
            out,
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
        None => outln!(out, "  Card               none"),
    }
    outln!(out, "  Status             {:?}", citizen.status);
    outln!(
        out,
        "  Chip DG13 extras   father {}; mother {}; spouse {}; features {}",
        personal.father_name,
        personal.mother_name,
        personal.spouse_name.as_deref().unwrap_or("-"),
        personal.identification_features
    );
    outln!(out);
    let level = match citizen.vneid {
        VneidLevel::None => {
            outln!(out, "VNeID account      none");
            return print(&out);
        }
        VneidLevel::Level1 => 1,
        VneidLevel::Level2 => 2,
    };
    let credentials = TestCredentials::derive(config.seed, citizen.cccd);
    let now = vnpop::vneid::credentials::unix_now();
    let step = vnpop::vneid::credentials::TOTP_STEP;
    outln!(out, "VNeID account      level {level}");
    outln!(out, "TEST CREDENTIALS — DEVELOPMENT ONLY (derived from the seed; anyone with the seed has them)");
    outln!(out, "  Passcode           {}", credentials.passcode);
    outln!(
        out,
        "  TOTP secret        {} (base32; SHA-1, 6 digits, 30 s)",
        credentials.totp_secret_base32()
    );
    outln!(
        out,
        "  Current code       {} (for another {} s)",
        credentials.current_code(),
        step - now % step
    );
    outln!(out,
        "  otpauth URI        otpauth://totp/vnpop:{}?secret={}&issuer=vnpop&algorithm=SHA1&digits=6&period=30",
        citizen.cccd,
        credentials.totp_secret_base32()
    );
    print(&out)
}

fn read_chip(
    cccd: &str,
    tamper: Option<Tamper>,
    format: ChipFormat,
    config: ServeConfig,
) -> Result<(), String> {
    let citizen = find_citizen(cccd, &config)?;
    let signer = DocumentSigner::development();
    let read = match tamper {
        None => chip::chip_read(config.seed, &citizen, &signer),
        Some(tamper) => chip::tampered_chip_read(config.seed, &citizen, &signer, tamper),
    }
    .map_err(|e| e.to_string())?;
    let line = match format {
        ChipFormat::Base64 => chip::encode_chip_read(&read),
        ChipFormat::Json => vnpop::cli::chip::chip_read_json(&read).to_string(),
    };
    print(&(line + "\n"))
}
