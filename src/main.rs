//! The `vnpop` binary: parses the command line and runs the command. Every command, with its
//! flags, lives in `vnpop::cli`; this file sets up logging and the exit code.

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
    about = "Mock of Vietnam's national population database (CCCD / VNeID verification)"
)]
struct Cli {
    #[command(subcommand)]
    command: vnpop::cli::Command,
    #[command(flatten)]
    globals: vnpop::cli::Globals,
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
    cli.globals.apply();
    match vnpop::cli::run(cli.command) {
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
