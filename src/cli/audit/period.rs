//! [`PeriodArgs`]: the period and agency an audit question is about (`--from`, `--to`,
//! `--agency`), the same flags in every subcommand that asks one (`ratio`, `unverified`,
//! `reconcile`, `export`, `report`). A subcommand whose flags say more (or less) than the common
//! help adjusts that flag's help in its own arguments with `mut_arg`. [`check_days`] checks a
//! period as every auditor answer does, before anything is asked: a bad one is a usage error
//! (exit status 2) naming the flag, the same in every subcommand.

use chrono::NaiveDate;
use clap::Args;

use crate::{
    audit::answers,
    cli::{
        messages::{audit::period::Period as Says, Message},
        Failure,
    },
};

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
    /// The period checked before anything is asked ([`check_days`]); a subcommand whose period
    /// is optional (`export`, `cleaning`: empty for "from the beginning", "to the end") has each
    /// day it was given checked.
    pub fn check(&self) -> Result<(), Failure> {
        match (self.from.is_empty(), self.to.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => day("from", "--from", &self.from).map(drop),
            (true, false) => day("to", "--to", &self.to).map(drop),
            (false, false) => check_days("--from", &self.from, "--to", &self.to).map(drop),
        }
    }

    /// The agency filter as requests carry it: empty for every agency.
    pub fn agency_id(&self) -> String {
        self.agency.clone().unwrap_or_default()
    }
}

/// One day as typed after `flag`, checked as the answers check `field`.
fn day(field: &'static str, flag: &str, typed: &str) -> Result<NaiveDate, Failure> {
    answers::parse_day(field, typed).map_err(|error| {
        Failure::Usage(
            Says::BadDay {
                flag: flag.into(),
                typed: typed.into(),
                error,
            }
            .text(),
        )
    })
}

/// The days as given after `from_flag` and `to_flag`, checked as every auditor answer checks
/// them: real dates, `to` not before `from`, at most 20 years. A bad one is a usage error
/// naming the flag.
pub(crate) fn check_days(
    from_flag: &str,
    from: &str,
    to_flag: &str,
    to: &str,
) -> Result<(NaiveDate, NaiveDate), Failure> {
    let from_day = day("from", from_flag, from)?;
    let to_day = day("to", to_flag, to)?;
    if to_day < from_day {
        return Err(Failure::Usage(
            Says::EmptyPeriod {
                from_flag: from_flag.into(),
                from: from.into(),
                to_flag: to_flag.into(),
                to: to.into(),
            }
            .text(),
        ));
    }
    // The period's width, as every auditor answer checks it.
    answers::days(from, to).map_err(|error| {
        Failure::Usage(
            Says::TooWide {
                flag: to_flag.into(),
                from: from_day,
                to: to_day,
                error,
            }
            .text(),
        )
    })?;
    Ok((from_day, to_day))
}
