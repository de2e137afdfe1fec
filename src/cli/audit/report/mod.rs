//! `vnpop audit report`: the auditor's report as one self-contained HTML file (inline SVG charts,
//! no scripts or fetches, opens offline), in Vietnamese or English.
//!
//! The figures are the auditor answers themselves (the `LookupRatio`, `ListUnverifiedDossiers`
//! and `Reconcile` protobuf messages), asked of the server over gRPC or of the log file with
//! `--db`, like every `vnpop audit` command: the report has no query of its own, so it reads
//! whatever the answers say. [`gather`] asks the questions, [`html::render`] writes the page.

mod html;
mod words;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;

pub use words::Lang;

use super::{
    anomalies::find as find_anomalies,
    cleaning::{cleaning_jobs, CleaningJob},
    period::{check_days, PeriodArgs},
    regroup::{Regroup, PROVINCE_THEN},
    source::{Backend, Source},
    verify::SavedHead,
};
use crate::{
    audit::{
        log::{parse_public_key, PUBLIC_KEY_FILE},
        merkle,
    },
    cli::{
        messages::{audit::report::Report as Says, Message},
        output::{file_error, FileAction},
        Failure,
    },
    domain::{collation, geography::current_province},
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

/// "Tỉnh Hòa Bình", "Thành phố Hà Nội": a province before 1 July 2025 with its type.
fn old_full_name(name: &str) -> String {
    const CITIES: [&str; 5] = ["Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ"];
    if CITIES.contains(&name) {
        format!("Thành phố {name}")
    } else {
        format!("Tỉnh {name}")
    }
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
    let data = gather(args).await?;
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

/// Asks every question of the report, between two readings of the tree head.
async fn gather(args: &ReportArgs) -> Result<ReportData, ReportError> {
    let period = Period::parse("--from", &args.period.from, "--to", &args.period.to)?;
    let compare = match (&args.compare_from, &args.compare_to) {
        (Some(from), Some(to)) => Some(Period::parse("--compare-from", from, "--compare-to", to)?),
        _ => None,
    };
    let backend = args.log.open().await?;
    let head = tree_head(&backend, args.log.db.as_deref()).await?;
    let agency = args.period.agency_id();
    let ratio = |p: &Period, by: &[&str]| {
        let (from, to) = p.text();
        backend.ratio(proto::LookupRatioRequest {
            from,
            to,
            group_by: by.iter().map(|g| (*g).to_owned()).collect(),
            agency_id: agency.clone(),
            include_load_test: false,
        })
    };
    let mut by_district = ratio(&period, &["district"]).await?.rows;
    collation::sort_by_name(&mut by_district, |r| &r.group[0]);
    let district = args.district.as_deref();
    if let Some(name) = district {
        if !by_district.iter().any(|r| r.group[0] == name) {
            let known = by_district.iter().map(|r| r.group[0].clone()).collect();
            return Err(ReportError::Usage(
                Says::NoSuchDistrict {
                    name: name.into(),
                    from: period.from,
                    to: period.to,
                    known,
                }
                .text(),
            ));
        }
    }
    let in_district = |row: &proto::RatioRow| district.is_none_or(|d| row.group[0] == d);
    // The headline: the whole period, or the district's own row.
    let total_of = |rows: &[proto::RatioRow], all: Vec<proto::RatioRow>| match district {
        Some(d) => rows
            .iter()
            .find(|r| r.group[0] == d)
            .cloned()
            .unwrap_or_default(),
        None => all.into_iter().next().unwrap_or_default(),
    };
    let whole = ratio(&period, &[]).await?;
    let load_test_left_out = [
        whole.load_test_dossiers_left_out,
        whole.load_test_lookups_left_out,
        whole.load_test_served_left_out,
    ];
    let total = total_of(&by_district, whole.rows);
    if total.dossiers == 0 {
        return Err(ReportError::Usage(
            Says::NoDossiers {
                from: period.from,
                to: period.to,
                agency: args.period.agency.clone(),
            }
            .text(),
        ));
    }
    let compare_total = match &compare {
        Some(p) => {
            let rows = ratio(p, &["district"]).await?.rows;
            Some(total_of(&rows, ratio(p, &[]).await?.rows))
        }
        None => None,
    };
    let mut by_district_month: Vec<_> = ratio(&period, &["district", "month"])
        .await?
        .rows
        .into_iter()
        .filter(in_district)
        .collect();
    by_district_month.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
    let by_commune = match district {
        Some(_) => Vec::new(),
        None => ratio(&period, &["province", "commune"])
            .await?
            .rows
            .into_iter()
            .filter(|r| !r.group[1].is_empty())
            .collect(),
    };
    let mut by_commune = by_commune;
    by_commune.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
    let place = place(&backend, &period, &agency, district).await?;
    let mut agencies: Vec<String> = ratio(&period, &["agency"])
        .await?
        .rows
        .into_iter()
        .map(|r| r.group[0].clone())
        .collect();
    collation::sort_by_name(&mut agencies, |a| a);
    let mut by_officer: Vec<_> = ratio(&period, &["district", "officer"])
        .await?
        .rows
        .into_iter()
        .filter(in_district)
        .collect();
    by_officer.sort_by(|a, b| {
        a.coverage
            .total_cmp(&b.coverage)
            .then(b.dossiers.cmp(&a.dossiers))
            .then_with(|| collation::compare_all(&a.group, &b.group))
    });
    let (from, to) = period.text();
    let unverified = backend
        .unverified(proto::ListUnverifiedDossiersRequest {
            from: from.clone(),
            to: to.clone(),
            agency_id: agency.clone(),
            district: args.district.clone().unwrap_or_default(),
            page_size: UNVERIFIED_LISTED,
            ..Default::default()
        })
        .await?
        .dossiers;
    let unverified_rest = (total.dossiers - total.dossiers_with_lookup.min(total.dossiers))
        .saturating_sub(unverified.len() as u64);
    let mut counts = proto::ReconcileResponse::default();
    let backfilled = std::cell::Cell::new(false);
    let mut listed = Listed::new(district, &backfilled);
    backend
        .reconcile(
            proto::ReconcileRequest {
                from,
                to,
                agency_id: agency.clone(),
                include_load_test: false,
                max_findings: FINDINGS_SCANNED,
            },
            |summary| {
                backfilled.set(
                    summary.dossiers > 0
                        && summary.reported_late as f64
                            >= BACKFILLED_SHARE * summary.dossiers as f64,
                );
                counts = summary;
                Ok(())
            },
            |findings| {
                findings.into_iter().for_each(|f| listed.push(f));
                Ok(())
            },
        )
        .await?;
    let reconcile = listed.into_answer(counts);
    let backfilled = backfilled.get();
    let (anomalies, anomaly_list) = anomalies(&backend, &args.period, district).await?;
    let (from, to) = period.text();
    let cleaning = cleaning_jobs(&backend, &from, &to, &agency).await?;
    let after = tree_head(&backend, args.log.db.as_deref()).await?;
    let checkpoint = match &backend {
        Backend::Server(client, _) => client
            .checkpoint()
            .await
            .ok()
            .filter(|c| c.tree_size == head.tree_size && c.root_hash == head.root_hash),
        Backend::File { .. } => None,
    };
    Ok(ReportData {
        // The global --lang (VNPOP_LANG): Vietnamese unless English is asked.
        lang: match crate::cli::language::asked() {
            Some(crate::lang::Language::English) => Lang::En,
            _ => Lang::Vi,
        },
        period,
        compare,
        agency: args.period.agency.clone(),
        district: args.district.clone(),
        place,
        agencies,
        total,
        load_test_left_out,
        compare_total,
        by_district: by_district.into_iter().filter(in_district).collect(),
        by_district_month,
        by_commune,
        by_officer,
        unverified,
        unverified_rest,
        reconcile,
        backfilled,
        anomalies,
        anomaly_list,
        cleaning,
        head_stable: after.tree_size == head.tree_size && after.root_hash == head.root_hash,
        head,
        checkpoint,
        command: command_line(),
        generated_at_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// The findings a report lists, taken as they arrive: with `--district`, only that district's,
/// counted by kind (among the findings returned) and the first [`FINDINGS_LISTED`] kept, so
/// however many arrive only those are held.
struct Listed<'a> {
    district: Option<&'a str>,
    /// Late reports are counted, not kept (the period was reported after the fact): set by the
    /// counts, which come before the findings.
    backfilled: &'a std::cell::Cell<bool>,
    kept: Vec<proto::ReconcileFinding>,
    /// The district's findings by kind, in [`KINDS`] order.
    counts: [u64; 5],
}

/// The kinds of finding, in the order of [`Listed::counts`].
const KINDS: [&str; 5] = [
    "served_not_reported",
    "reported_not_served",
    "dossier_not_reported",
    "reported_failure_unconfirmed",
    "reported_late",
];

impl<'a> Listed<'a> {
    fn new(district: Option<&'a str>, backfilled: &'a std::cell::Cell<bool>) -> Self {
        Listed {
            district,
            backfilled,
            kept: Vec::new(),
            counts: [0; 5],
        }
    }

    fn push(&mut self, finding: proto::ReconcileFinding) {
        if self.district.is_some_and(|d| finding.district != d) {
            return;
        }
        if let Some(i) = KINDS.iter().position(|k| *k == finding.kind) {
            self.counts[i] += 1;
        }
        let late = finding.kind == "reported_late";
        if self.kept.len() < FINDINGS_LISTED as usize && !(late && self.backfilled.get()) {
            self.kept.push(finding);
        }
    }

    /// The answer the report shows: `counts` (the whole period's) with the findings listed, and
    /// with `--district` that district's counts.
    fn into_answer(self, counts: proto::ReconcileResponse) -> proto::ReconcileResponse {
        let mut answer = proto::ReconcileResponse {
            findings: self.kept,
            ..counts
        };
        if self.district.is_some() {
            let [a, b, c, d, e] = self.counts;
            answer.served_not_reported = a;
            answer.reported_not_served = b;
            answer.dossier_not_reported = c;
            answer.reported_failure_unconfirmed = d;
            answer.reported_late = e;
        }
        answer
    }
}

/// The provinces the period's dossiers were received in, then and now: the current province of
/// each (`province`) and the province of the day (`province-then`, made from the districts).
async fn place(
    backend: &Backend,
    period: &Period,
    agency: &str,
    district: Option<&str>,
) -> Result<Place, ReportError> {
    let asked = [
        PROVINCE_THEN.to_owned(),
        "province".to_owned(),
        "district".to_owned(),
    ];
    let regroup = Regroup::new(&asked);
    let (from, to) = period.text();
    let answer = backend
        .ratio(proto::LookupRatioRequest {
            from,
            to,
            group_by: regroup.sent().to_vec(),
            agency_id: agency.to_owned(),
            include_load_test: false,
        })
        .await?;
    let mut place = Place::default();
    for row in regroup.apply(answer.rows, |d| d.to_owned()) {
        if district.is_some_and(|d| row.group[2] != d) {
            continue;
        }
        let (then, now) = (&row.group[0], &row.group[1]);
        let now = current_province(now).map(|p| p.full_name.to_owned());
        let then = match (&now, then.is_empty()) {
            (_, true) => None,
            (Some(full), false) if full.ends_with(then.as_str()) => Some(full.clone()),
            (_, false) => Some(old_full_name(then)),
        };
        for (list, name) in [(&mut place.then, then), (&mut place.now, now)] {
            if let Some(name) = name {
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
    }
    collation::sort_by_name(&mut place.then, |p| p);
    collation::sort_by_name(&mut place.now, |p| p);
    Ok(place)
}

/// The period's anomalies with the default thresholds (with `--district`, that district's):
/// the counts and the first [`ANOMALIES_LISTED`].
async fn anomalies(
    backend: &Backend,
    period: &PeriodArgs,
    district: Option<&str>,
) -> Result<(proto::AnomalyCounts, Vec<proto::Anomaly>), ReportError> {
    let thresholds = super::anomalies::ThresholdArgs::default();
    let request = thresholds.request(
        period,
        if district.is_some() {
            100_000
        } else {
            ANOMALIES_LISTED
        },
    );
    let mut counts = proto::AnomalyCounts::default();
    let mut listed = Vec::new();
    let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
    find_anomalies(backend, request, |chunk| {
        if let Some(c) = chunk.counts {
            counts = c;
        }
        for finding in chunk.findings {
            if district.is_some_and(|d| finding.district != d) {
                continue;
            }
            *by_kind.entry(finding.kind.clone()).or_default() += 1;
            if listed.len() < ANOMALIES_LISTED as usize {
                listed.push(finding);
            }
        }
        Ok(())
    })
    .await?;
    if district.is_some() {
        let n = |k: &str| by_kind.get(k).copied().unwrap_or(0);
        counts = proto::AnomalyCounts {
            off_hours: n("off_hours"),
            day_off: n("day_off"),
            dossier_many_citizens: n("dossier_many_citizens"),
            citizen_many_officers: n("citizen_many_officers"),
            peer_outlier: n("peer_outlier"),
            burst: n("burst"),
            no_lookup: n("no_lookup"),
            events: counts.events,
        };
    }
    Ok((counts, listed))
}

/// The newest signed tree head, from the server or from the file (with the public key beside it).
async fn tree_head(
    backend: &Backend,
    db: Option<&Path>,
) -> Result<proto::SignedTreeHead, ReportError> {
    match backend {
        Backend::Server(client, _) => client.tree_head().await.map_err(|e| e.to_string().into()),
        Backend::File { reader, .. } => {
            let head = reader.latest_head().map_err(|e| e.to_string())?;
            let key = db
                .map(|db| db.with_file_name(PUBLIC_KEY_FILE))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .and_then(|text| parse_public_key(&text).ok())
                .map(|key| key.to_bytes().to_vec())
                .unwrap_or_default();
            Ok(match head {
                Some(h) => proto::SignedTreeHead {
                    tree_size: h.tree_size,
                    root_hash: h.root.to_vec(),
                    signed_at_ms: h.signed_at_ms,
                    signature: h.signature.to_vec(),
                    public_key: key,
                },
                None => proto::SignedTreeHead {
                    root_hash: merkle::empty_root().to_vec(),
                    public_key: key,
                    ..Default::default()
                },
            })
        }
    }
}

/// The head as `vnpop audit verify --remote --previous-head` reads it.
pub(crate) fn saved_head_json(head: &proto::SignedTreeHead) -> String {
    serde_json::to_string_pretty(&SavedHead::from_message(head)).expect("serializable")
}

/// This process's command line, quoted for a POSIX shell where needed.
fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            let arg = if i == 0 { "vnpop".to_owned() } else { arg };
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_./=:,@".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
