//! `vnpop audit export`: the log's events matching filters, as CSV or JSON lines.

use clap::Args;

use super::{period::PeriodArgs, source::Source};
use crate::{
    cli::output::{report_empty, ListFormat, RecordWriter, Records},
    domain::vietnam::rfc3339,
    proto,
};

/// The arguments of `vnpop audit export`.
#[derive(Debug, Args)]
#[command(
    mut_arg("from", |a| a.required(false).default_value("").help("First day (YYYY-MM-DD), inclusive; default: the beginning")),
    mut_arg("to", |a| a.required(false).default_value("").help("Last day, inclusive; default: the end")),
    mut_arg("agency", |a| a.default_value("")),
)]
pub struct ExportArgs {
    // The period is optional here: every event by default.
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Only this officer's events.
    #[arg(long, default_value = "")]
    pub officer: String,
    /// Only this dossier's events.
    #[arg(long, default_value = "")]
    pub dossier: String,
    /// Only events with this outcome (e.g. `found`, `not_found`, `unavailable`).
    #[arg(long, default_value = "")]
    pub outcome: String,
    /// "client" or "server".
    #[arg(long, default_value = "")]
    pub source: String,
    /// Only verifications of this RPC, e.g. `CleanRecord` (data-cleaning verifications).
    #[arg(long, default_value = "")]
    pub rpc: String,
    /// At most this many events (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: u64,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

const EVENT_COLUMNS: &[&str] = &[
    "seq",
    "event_id",
    "source",
    "kind",
    "dossier",
    "agency",
    "district",
    "officer",
    "occurred_at",
    "load_test",
    "procedure",
    "channel",
    "rpc",
    "outcome",
    "purpose",
    "subject",
    "commune_code",
    "commune",
    "province_code",
];

/// Prints the events `args` asks for.
pub async fn run(args: ExportArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let period = (args.period.from.as_str(), args.period.to.as_str());
    let officer = log
        .resolve_filter("--officer", "officer", Some(args.officer.clone()), period)
        .await?
        .unwrap_or_default();
    let mut out = RecordWriter::start(EVENT_COLUMNS, args.format, Records::Events)?;
    log.events(
        proto::ListEventsRequest {
            from: args.period.from.clone(),
            to: args.period.to.clone(),
            agency_id: args.period.agency_id(),
            officer_id: officer.clone(),
            dossier_id: args.dossier.clone(),
            outcome: args.outcome.clone(),
            source: args.source.clone(),
            limit: args.limit,
            rpc: args.rpc.clone(),
        },
        |e| {
            out.write(&serde_json::json!({
                "seq": e.seq, "event_id": e.event_id, "source": e.source, "kind": e.kind,
                "dossier": e.dossier_id, "agency": e.agency_id, "district": e.district,
                "officer": e.officer_id, "occurred_at": rfc3339(e.occurred_at_ms),
                "load_test": e.load_test, "procedure": e.procedure_code, "channel": e.channel,
                "rpc": e.rpc, "outcome": e.outcome, "purpose": e.purpose, "subject": e.subject,
                "commune_code": e.commune_code, "commune": e.commune, "province_code": e.province_code,
                "call_id": e.call_id,
            }))
        },
    )
    .await?;
    let written = out.finish()?;
    report_empty(
        written,
        Records::Events,
        &[
            ("--from", &args.period.from),
            ("--to", &args.period.to),
            ("--agency", &args.period.agency_id()),
            ("--officer", &officer),
            ("--dossier", &args.dossier),
            ("--outcome", &args.outcome),
            ("--source", &args.source),
            ("--rpc", &args.rpc),
        ],
    );
    Ok(())
}
