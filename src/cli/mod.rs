//! The `vnpop` command: one module per command, each owning its flags (clap derive structs), and
//! [`run`], which `main.rs` calls with the parsed [`Command`]; [`output`] is how every command
//! prints. The auditor's `audit` commands, with their charts, filters and HTML report, are in
//! [`audit`].

/// `println!` into a `String`, printed at the end with [`output::print`] (which ends quietly when
/// the reader of stdout went away).
macro_rules! outln {
    ($out:ident) => {
        $out.push('\n')
    };
    ($out:ident, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

pub mod audit;
pub mod certs;
pub mod chip;
pub mod citizen;
pub mod clean;
pub mod failure;
pub mod language;
pub mod load;
pub(crate) mod messages;
pub mod output;
pub mod sample;
pub mod serve;
pub mod simulate;

use clap::Subcommand;

pub use failure::Failure;
pub use language::Globals;

/// The commands of `vnpop`.
// One value, parsed once at start: the size of `serve`'s many flags costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// DEVELOPMENT ONLY: citizens of the synthetic population and their test credentials.
    #[command(subcommand)]
    Citizen(citizen::CitizenCommand),
    /// DEVELOPMENT ONLY: chip reads of citizens' cards, genuine or tampered, for testing card
    /// reader code.
    #[command(subcommand)]
    Chip(chip::ChipCommand),
    /// Generate the synthetic population and serve the gRPC API over mTLS.
    Serve(crate::config::ServeConfig),
    /// Drive the client library against a server with a province scenario (default: the bundled
    /// one reproducing the published 21.8% and 0.7% lookup ratios).
    Simulate(simulate::SimulateArgs),
    /// Load-test a server: a weighted mix of lookups, verifications and VNeID logins about real
    /// citizens of its population, closed or open loop, with a latency and status-code report.
    Load(crate::load::LoadConfig),
    /// Run beside agency software in any language: a local REST/JSON and gRPC API that records
    /// every dossier and verification in a durable outbox and forwards over mTLS.
    Gateway(crate::gateway::GatewayConfig),
    /// Clean an agency's registry (CSV) against the population as one audited, resumable
    /// data-cleaning job: one verdict row per record, in order, and a summary.
    Clean(clean::CleanArgs),
    /// The auditor's commands: lookup ratios, log verification.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Regenerate the DEVELOPMENT certificates: a CA, a localhost server certificate, one client
    /// certificate per configured agency, and the mock chip PKI (CSCA and document signer).
    Certs(certs::CertsArgs),
}

/// Runs `command`; the error is the message `vnpop` prints, and its exit status ([`Failure`]).
pub fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Citizen(command) => citizen::run(command),
        Command::Chip(command) => chip::run(command),
        Command::Serve(config) => Ok(serve::run(config)?),
        Command::Simulate(args) => Ok(simulate::run(args)?),
        Command::Load(config) => Ok(load::run(config)?),
        Command::Gateway(config) => Ok(crate::gateway::run(config)?),
        Command::Clean(args) => Ok(clean::run(args)?),
        Command::Audit(command) => match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime.block_on(audit::run(command)),
            Err(error) => Err(Failure::Failed(error.to_string())),
        },
        Command::Certs(args) => Ok(certs::run(args)?),
    }
}

/// `error`, clap's, with a tip where a newcomer's slip is recognised: `vnpop citizen
/// 001090012345` (or `vnpop chip 001090012345`) means `citizen show` (`chip read`). `args` is
/// the command line, program name first.
pub fn with_hint(mut error: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidSubcommand {
        return error;
    }
    let Some(ContextValue::String(typed)) = error.get(ContextKind::InvalidSubcommand) else {
        return error;
    };
    let typed = typed.clone();
    let looks_like_a_number = typed.len() >= 3 && typed.bytes().all(|b| b.is_ascii_digit());
    let after = args
        .iter()
        .position(|a| *a == typed)
        .and_then(|at| at.checked_sub(1))
        .map(|at| args[at].as_str());
    let command = match after {
        Some("citizen") => "citizen show",
        Some("chip") => "chip read",
        _ => return error,
    };
    if !looks_like_a_number {
        return error;
    }
    let rest = args[args.iter().position(|a| *a == typed).unwrap_or(0)..].join(" ");
    use messages::Message;
    let tip = messages::citizen::Citizen::UseSubcommand {
        command: format!("vnpop {command} {rest}"),
    }
    .text();
    let mut tips = match error.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    tips.push(tip.into());
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    error
}

/// Whether `vnpop` runs `command` without a server: an offline command logs only warnings to the
/// terminal unless `VNPOP_LOG` asks for more (the population it computes is not a server starting).
pub fn is_offline(command: &Command) -> bool {
    matches!(
        command,
        Command::Citizen(_) | Command::Chip(_) | Command::Certs(_)
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `vnpop` as `main.rs` parses it.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("vnpop").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn a_number_after_citizen_or_chip_suggests_show_or_read() {
        for (words, tip) in [
            (
                ["citizen", "001090012345"],
                "vnpop citizen show 001090012345",
            ),
            (["chip", "001090012345"], "vnpop chip read 001090012345"),
        ] {
            let args: Vec<String> = std::iter::once("vnpop")
                .chain(words)
                .map(str::to_owned)
                .collect();
            let error = parse(&words).expect_err("not a subcommand");
            let text = with_hint(error, &args).render().to_string();
            assert!(text.contains(tip), "{text}");
        }
        // Another slip keeps clap's own message.
        let args: Vec<String> = ["vnpop", "citizen", "shwo"].map(str::to_owned).into();
        let error = parse(&["citizen", "shwo"]).expect_err("a typo");
        assert!(!with_hint(error, &args)
            .render()
            .to_string()
            .contains("vnpop citizen show shwo"));
    }

    #[test]
    fn one_name_per_flag_and_the_old_spellings_still_work() {
        for flag in ["--server", "--target"] {
            let Ok(Command::Load(config)) = parse(&["load", flag, "10.0.0.1:1"]) else {
                panic!("load {flag}");
            };
            assert_eq!(config.target, "10.0.0.1:1");
        }
        for flag in ["--seed", "--population-seed"] {
            assert!(
                matches!(parse(&["simulate", flag, "7"]), Ok(Command::Simulate(_))),
                "simulate {flag}"
            );
        }
        for [ca, cert, key] in [
            ["--ca", "--cert", "--key"],
            ["--tls-ca", "--tls-cert", "--tls-key"],
        ] {
            let Ok(Command::Serve(config)) = parse(&["serve", ca, "a", cert, "b", key, "c"]) else {
                panic!("serve {ca}");
            };
            assert_eq!(config.tls_ca, Some("a".into()));
            assert_eq!(config.tls_key, Some("c".into()));
        }
        // The old spellings are hidden: --help shows one name per flag.
        let help = format!(
            "{}",
            parse(&["serve", "--help"]).expect_err("help").render()
        );
        assert!(
            help.contains("--ca <CA>") && !help.contains("tls-ca"),
            "{help}"
        );
    }

    /// Every flag of every command says what it is in `--help` (`vnpop gateway --key` did not).
    #[test]
    fn every_flag_has_help() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !arg.is_hide_set() && !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "vnpop", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }

    #[test]
    fn citizen_show_and_chip_read_take_the_population_flags_only() {
        let Ok(Command::Citizen(citizen::CitizenCommand::Show { population, .. })) = parse(&[
            "citizen",
            "show",
            "001090012345",
            "--seed",
            "7",
            "--population",
            "5000",
        ]) else {
            panic!("citizen show");
        };
        assert_eq!((population.seed, population.size), (7, 5000));
        for serve_only in [
            "--faults",
            "--ca",
            "--metrics-listen",
            "--lockout-threshold",
        ] {
            for command in [["citizen", "show"], ["chip", "read"]] {
                let args = [command[0], command[1], "001090012345", serve_only, "x"];
                assert!(parse(&args).is_err(), "{args:?} is accepted");
            }
        }
    }
}
