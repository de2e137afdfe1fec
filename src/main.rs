//! The `vnpop` binary: parses the command line and runs the command. Every command, with its
//! flags, lives in `vnpop::cli`; this file sets up logging (warnings only for the commands that
//! need no server, unless `VNPOP_LOG` says otherwise) and the exit code ([`vnpop::cli::Failure`]).

use std::process::ExitCode;

/// mimalloc rather than the system allocator: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "vnpop",
    version,
    about = "Mock of Vietnam's national population database (CCCD / VNeID verification)",
    after_help = "Exit status: 0 on success, 1 when the command fails, 2 for a usage error (an \
                  unknown flag, or a value refused before anything is done: a date that is not \
                  YYYY-MM-DD, a malformed CCCD number). Documentation: README.md and docs/."
)]
struct Cli {
    #[command(subcommand)]
    command: vnpop::cli::Command,
    #[command(flatten)]
    globals: vnpop::cli::Globals,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = Cli::try_parse_from(&args)
        .unwrap_or_else(|error| vnpop::cli::with_hint(error, &args).exit());
    // Commands that need no server log only warnings unless VNPOP_LOG asks for more.
    let default_level = match vnpop::cli::is_offline(&cli.command) {
        true => "warn",
        false => "info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_env_filter(
            EnvFilter::try_from_env("VNPOP_LOG").unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .init();
    cli.globals.apply();
    match vnpop::cli::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("vnpop: {}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Colour in the logs only on a terminal, and never when `NO_COLOR` is set (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
