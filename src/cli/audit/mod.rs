//! `vnpop audit`: the auditor's command line. Reads the server through gRPC (with an auditor
//! certificate) or, given `--db`, the SQLite file directly.
//!
//! One module per subcommand, each owning its arguments: [`ratio`], [`unverified`], [`export`],
//! [`citizen`], [`cleaning`], [`reconcile`], [`verify`], [`report`], [`anomalies`]. Shared by them: [`period`] (`--from`, `--to`, `--agency`), [`source`] (`--db` or the
//! server, and the [`source::Backend`] that answers either way), [`render`] (a ratio answer as
//! table, CSV or JSON), [`chart`] (SVG), `filters` (district and officer names as typed) and [`regroup`] (the
//! province of the day and pre-reform commune labels, made from the answers' own breakdowns).

pub mod anomalies;
pub mod chart;
pub mod checkpoint;
pub mod citizen;
pub mod cleaning;
pub mod export;
mod filters;
pub mod period;
pub mod ratio;
pub mod reconcile;
pub(crate) mod regroup;
pub mod render;
pub mod report;
pub mod source;
pub mod unverified;
pub mod verify;

use clap::Subcommand;

use crate::cli::Failure;

pub use ratio::groups;

/// `vnpop audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Lookups per dossier over a period, optionally broken down.
    Ratio(ratio::RatioArgs),
    /// Dossiers received in a period with no lookup the server served (the supervisor's list).
    Unverified(unverified::UnverifiedArgs),
    /// Export the log's events matching filters, as CSV or JSON lines.
    Export(export::ExportArgs),
    /// Data-cleaning jobs, apart from dossiers: per agency and job, the purpose, officer, first
    /// and last record, records and verdict counts.
    Cleaning(cleaning::CleaningArgs),
    /// For one citizen: which agencies looked them up, when, for which dossier and why.
    Citizen(citizen::CitizenArgs),
    /// Compare what agencies reported against what the server observed serving, and list the
    /// findings (verifications never reported, reported but never served, or served for a
    /// dossier never reported).
    Reconcile(reconcile::ReconcileArgs),
    /// Recompute the Merkle tree from the SQLite file, check every signed tree head, and name the
    /// first event that was altered, removed or inserted. With --remote, ask the server to do it
    /// and check its signed head (and, given --previous-head, that the log only grew since).
    Verify(verify::VerifyArgs),
    /// The auditor's report: one self-contained HTML file (headline with comparison, coverage by
    /// district and month and by officer as charts and tables, unverified dossiers, reconcile
    /// findings, the signed tree head it rests on), in Vietnamese or English (--lang en).
    Report(report::ReportArgs),
    /// Findings an inspector acts on, computed from the reported events: lookups outside
    /// working hours or on days off, a dossier used to look up many citizens, a citizen looked
    /// up by many officers, officers far from their peers, bursts, dossiers without the lookup
    /// their procedure calls for; each in one Vietnamese sentence with its evidence.
    Anomalies(anomalies::AnomaliesArgs),
    /// The log's newest tree head as a C2SP tlog-checkpoint (a signed note that standard
    /// transparency tooling verifies without vnpop), or with --verifier-key the log's key as a
    /// note verifier takes it.
    Checkpoint(checkpoint::CheckpointArgs),
}

impl AuditCommand {
    /// The period the subcommand asks about, if it takes one.
    fn period(&self) -> Option<&period::PeriodArgs> {
        match self {
            AuditCommand::Ratio(args) => Some(&args.period),
            AuditCommand::Unverified(args) => Some(&args.period),
            AuditCommand::Export(args) => Some(&args.period),
            AuditCommand::Cleaning(args) => Some(&args.period),
            AuditCommand::Reconcile(args) => Some(&args.period),
            AuditCommand::Report(args) => Some(&args.period),
            AuditCommand::Anomalies(args) => Some(&args.period),
            AuditCommand::Citizen(_) | AuditCommand::Verify(_) | AuditCommand::Checkpoint(_) => {
                None
            }
        }
    }
}

/// Runs an audit subcommand, printing to stdout. Its period is checked first, the same way in
/// every subcommand: a bad one is a usage error (exit status 2), before anything is asked.
pub async fn run(command: AuditCommand) -> Result<(), Failure> {
    if let Some(period) = command.period() {
        period.check()?;
    }
    Ok(match command {
        AuditCommand::Ratio(args) => ratio::run(&args).await,
        AuditCommand::Verify(args) if args.remote => verify::run_remote(&args).await,
        AuditCommand::Verify(args) => verify::run(&args),
        AuditCommand::Reconcile(args) => reconcile::run(args).await,
        AuditCommand::Unverified(args) => unverified::run(args).await,
        AuditCommand::Export(args) => export::run(args).await,
        AuditCommand::Citizen(args) => citizen::run(args).await,
        AuditCommand::Cleaning(args) => cleaning::run(args).await,
        AuditCommand::Checkpoint(args) => checkpoint::run(&args).await,
        AuditCommand::Report(args) => return report::run(args).await,
        AuditCommand::Anomalies(args) => anomalies::run(args).await,
    }?)
}
