//! `vnpop audit unverified`: dossiers received in a period with no lookup the server served
//! (the supervisor's list).

use clap::Args;

use super::{period::PeriodArgs, source::Source};
use crate::{
    cli::output::{report_empty, ListFormat, RecordWriter, Records},
    domain::vietnam::rfc3339,
    proto,
};

/// The arguments of `vnpop audit unverified`.
#[derive(Debug, Args)]
pub struct UnverifiedArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Only this district's dossiers (compared ignoring case, spacing and diacritics).
    #[arg(long)]
    pub district: Option<String>,
    /// Only this officer's dossiers (compared the same way).
    #[arg(long)]
    pub officer: Option<String>,
    /// Stop after this many dossiers.
    #[arg(long)]
    pub limit: Option<usize>,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

const UNVERIFIED_COLUMNS: &[&str] = &[
    "agency",
    "dossier",
    "district",
    "officer",
    "procedure",
    "channel",
    "received_at",
    "commune",
];

/// Prints the unverified dossiers `args` asks for.
pub async fn run(args: UnverifiedArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let period = (args.period.from.as_str(), args.period.to.as_str());
    let district = log
        .resolve_filter("--district", "district", args.district.clone(), period)
        .await?;
    let officer = log
        .resolve_filter("--officer", "officer", args.officer.clone(), period)
        .await?;
    let mut out =
        RecordWriter::start(UNVERIFIED_COLUMNS, args.format, Records::UnverifiedDossiers)?;
    let limit = args.limit.map_or(u64::MAX, |l| l as u64);
    let mut token = String::new();
    let mut written = 0u64;
    'pages: loop {
        let page = log
            .unverified(proto::ListUnverifiedDossiersRequest {
                from: args.period.from.clone(),
                to: args.period.to.clone(),
                agency_id: args.period.agency_id(),
                district: district.clone().unwrap_or_default(),
                officer_id: officer.clone().unwrap_or_default(),
                page_size: 1_000,
                page_token: token,
            })
            .await?;
        for d in page.dossiers {
            if written >= limit {
                break 'pages;
            }
            out.write(&serde_json::json!({
                "agency": d.agency_id, "dossier": d.dossier_id, "district": d.district,
                "officer": d.officer_id, "procedure": d.procedure_code, "channel": d.channel,
                "received_at": rfc3339(d.received_at_ms), "commune": d.commune,
            }))?;
            written += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    out.finish()?;
    report_empty(
        written,
        Records::UnverifiedDossiers,
        &[
            (
                "--agency",
                args.period.agency.as_deref().unwrap_or_default(),
            ),
            ("--district", district.as_deref().unwrap_or_default()),
            ("--officer", officer.as_deref().unwrap_or_default()),
        ],
    );
    Ok(())
}
