//! `vnpop audit report`: the auditor's report as one self-contained HTML file (inline SVG charts,
//! no scripts or fetches, opens offline), in Vietnamese or English.
//!
//! The figures are the auditor answers themselves (the `LookupRatio`, `ListUnverifiedDossiers`
//! and `Reconcile` protobuf messages), asked of the server over gRPC or of the log file with
//! `--db`, like every `vnpop audit` command: the report has no query of its own, so it reads
//! whatever the answers say. [`gather::gather`] asks the questions (`place`, `findings` and
//! `head` gather the answers that take more than one step), [`html::render`] writes the page.

mod findings;
mod gather;
mod head;
mod html;
mod place;
mod words;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;

pub use words::Lang;

use super::{
    cleaning::CleaningJob,
    period::{check_days, PeriodArgs},
    source::Source,
};
use crate::{
    cli::{
        messages::{audit::report::Report as Says, Message},
        output::{file_error, FileAction},
        Failure,
    },
    proto,
};

/// Dossiers without a lookup listed by name; the rest are counted.
const UNVERIFIED_LISTED: u32 = 100;
/// Reconcile findings listed (the counts by kind cover all of them).
const FINDINGS_LISTED: u32 = 100;
/// With `--district`, or when the period was reported after the fact (every dossier a late
/// report), findings are filtered here from at most this many (the answer's maximum), streamed:
/// only the first [`FINDINGS_LISTED`] kept are held.
const FINDINGS_SCANNED: u32 = 100_000;
/// Anomalies listed (the counts by kind cover all of them).
const ANOMALIES_LISTED: u32 = 100;
/// The share of the period's dossiers reported late beyond which the period was reported after
/// the fact (a backfill, as `vnpop simulate` makes): the late reports are then said once, not
/// listed as findings to act on.
const BACKFILLED_SHARE: f64 = 0.9;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// First day of the period to compare with (e.g. the previous year).
    #[arg(long, requires = "compare_to")]
    pub compare_from: Option<String>,
    /// Last day of the comparison period, inclusive.
    #[arg(long, requires = "compare_from")]
    pub compare_to: Option<String>,
    /// Only this district (as the dossiers name it, e.g. "Huyện Mai Châu").
    #[arg(long)]
    pub district: Option<String>,
    /// The HTML file to write; its directory must exist.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub log: Source,
}

/// Why a report was not written.
#[derive(Debug)]
pub(crate) enum ReportError {
    /// A bad argument: one line, exit code 2 (as clap's own usage errors).
    Usage(String),
    /// Anything else (server unreachable, unreadable log, …).
    Failed(String),
}

impl From<String> for ReportError {
    fn from(message: String) -> Self {
        ReportError::Failed(message)
    }
}

/// One period, checked.
#[derive(Debug, Clone)]
pub(crate) struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The days as given, checked as every auditor answer checks them (real dates, `to` not
    /// before `from`, at most 20 years); a bad one is a usage error naming the flag.
    fn parse(from_flag: &str, from: &str, to_flag: &str, to: &str) -> Result<Self, ReportError> {
        let (from, to) = check_days(from_flag, from, to_flag, to)
            .map_err(|failure| ReportError::Usage(failure.message().to_owned()))?;
        Ok(Period { from, to })
    }

    /// Its length in days, both ends included (2024-01-01 to 2024-02-21: 52).
    pub fn days(&self) -> u64 {
        (self.to - self.from).num_days().unsigned_abs() + 1
    }

    fn text(&self) -> (String, String) {
        (self.from.to_string(), self.to.to_string())
    }
}

/// Everything a report shows, as the auditor answers gave it.
pub(crate) struct ReportData {
    pub lang: Lang,
    pub period: Period,
    pub compare: Option<Period>,
    pub agency: Option<String>,
    pub district: Option<String>,
    /// Where the period's dossiers were received: the provinces as they stood then and today.
    pub place: Place,
    /// The agencies that reported the period's dossiers, in Vietnamese order.
    pub agencies: Vec<String>,
    pub total: proto::RatioRow,
    /// The load-test dossiers, lookups reported and served the period's figures leave out
    /// (the agency's, all districts).
    pub load_test_left_out: [u64; 3],
    pub compare_total: Option<proto::RatioRow>,
    /// Grouped by district (one group value).
    pub by_district: Vec<proto::RatioRow>,
    /// Grouped by district and month.
    pub by_district_month: Vec<proto::RatioRow>,
    /// Grouped by current province and commune: dossiers received since 1 July 2025 (empty
    /// before, and with `--district`).
    pub by_commune: Vec<proto::RatioRow>,
    /// Grouped by district and officer, lowest coverage first.
    pub by_officer: Vec<proto::RatioRow>,
    pub unverified: Vec<proto::UnverifiedDossier>,
    /// Dossiers without a lookup beyond those listed.
    pub unverified_rest: u64,
    pub reconcile: proto::ReconcileResponse,
    /// The period was reported after the fact (at least [`BACKFILLED_SHARE`] of its dossiers
    /// reported late): said once; late reports are not listed as findings.
    pub backfilled: bool,
    /// The findings an inspector acts on (FindAnomalies): the counts, the first ones listed.
    pub anomalies: proto::AnomalyCounts,
    pub anomaly_list: Vec<proto::Anomaly>,
    /// The period's data-cleaning jobs (the agency's), listed apart from dossiers.
    pub cleaning: Vec<CleaningJob>,
    pub head: proto::SignedTreeHead,
    /// The same head as a signed C2SP checkpoint, when the server gave one (not from a file:
    /// signing needs the log's key) and it is of the head above.
    pub checkpoint: Option<proto::Checkpoint>,
    /// False when the log grew while the report was computed.
    pub head_stable: bool,
    /// The command line that produced the report.
    pub command: String,
    pub generated_at_ms: i64,
}

/// The provinces of a report's dossiers: as they stood when received (Hòa Bình in 2023) and as
/// they are today (Phú Thọ), full names, in Vietnamese order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    pub then: Vec<String>,
    pub now: Vec<String>,
}

/// `vnpop audit report`: a usage error (exit status 2) or a failure (1), as every command's.
pub async fn run(args: ReportArgs) -> Result<(), Failure> {
    match write(&args).await {
        Ok(()) => Ok(()),
        Err(ReportError::Failed(message)) => Err(Failure::Failed(message)),
        Err(ReportError::Usage(message)) => Err(Failure::Usage(message)),
    }
}

async fn write(args: &ReportArgs) -> Result<(), ReportError> {
    check_out(&args.out)?;
    let data = gather::gather(args).await?;
    let page = html::render(&data);
    std::fs::write(&args.out, page)
        .map_err(|e| ReportError::Failed(file_error(&args.out, FileAction::Write, e)))?;
    let written = Says::ReportWritten {
        path: args.out.display().to_string(),
        dossiers: data.total.dossiers,
        coverage: data.total.coverage,
    };
    eprintln!("{}", written.text());
    Ok(())
}

/// `--out` must name a file in an existing directory.
fn check_out(out: &Path) -> Result<(), ReportError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(ReportError::Usage(
            Says::NoOutDirectory {
                out: out.display().to_string(),
                parent: parent.display().to_string(),
            }
            .text(),
        ));
    }
    if out.is_dir() {
        return Err(ReportError::Usage(
            Says::OutIsDirectory {
                out: out.display().to_string(),
            }
            .text(),
        ));
    }
    Ok(())
}

pub(crate) use head::saved_head_json;
