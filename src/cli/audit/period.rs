//! [`PeriodArgs`]: the period and agency an audit question is about (`--from`, `--to`,
//! `--agency`), the same flags in every subcommand that asks one (`ratio`, `unverified`,
//! `reconcile`, `export`, `report`). A subcommand whose flags say more (or less) than the common
//! help adjusts that flag's help in its own arguments with `mut_arg`.

use clap::Args;

/// `--from`, `--to` (days, Vietnam time, inclusive) and `--agency`.
#[derive(Debug, Clone, Args)]
pub struct PeriodArgs {
    /// First day of the period (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    pub from: String,
    /// Last day of the period, inclusive.
    #[arg(long)]
    pub to: String,
    /// Only this agency.
    #[arg(long)]
    pub agency: Option<String>,
}

impl PeriodArgs {
    /// The agency filter as requests carry it: empty for every agency.
    pub fn agency_id(&self) -> String {
        self.agency.clone().unwrap_or_default()
    }
}
