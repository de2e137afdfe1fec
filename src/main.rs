//! The `vnpop` command: `serve` runs the mock population database; `certs` regenerates the
//! development PKI; `citizen show` prints a citizen and their VNeID test credentials and `chip
//! read` produces chip reads (both DEVELOPMENT ONLY).

use std::{path::PathBuf, process::ExitCode};

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
        .with_env_filter(
            EnvFilter::try_from_env("VNPOP_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let result = match Cli::parse().command {
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
    let state = ServerState::build(config).map_err(|e| e.to_string())?;
    state
        .store
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
