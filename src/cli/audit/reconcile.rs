//! `vnpop audit reconcile`: what agencies reported against what the server observed serving.

use clap::Args;

use super::{period::PeriodArgs, source::Source};
use crate::{
    cli::{
        messages::{audit::lists::Lists as Says, Message},
        output::{spinner, ListFormat, RecordWriter, Records},
    },
    domain::vietnam::rfc3339,
    proto,
};

/// The arguments of `vnpop audit reconcile`.
#[derive(Debug, Args)]
#[command(
    mut_arg("from", |a| a.help("First day of receipt of the dossiers compared (YYYY-MM-DD, Vietnam time)")),
    mut_arg("to", |a| a.help("Last day, inclusive")),
)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Compare load-test traffic too.
    #[arg(long)]
    pub include_load_test: bool,
    /// List at most this many findings (the counts cover all of them).
    #[arg(long, default_value_t = 1_000)]
    pub limit: u32,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

/// Prints the counts (stderr) and findings (stdout) of the comparison `args` asks for, each
/// chunk of findings as it arrives.
pub async fn run(args: ReconcileArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let spinner = spinner(Says::Reconciling.text());
    let out = std::cell::RefCell::new(None);
    let request = proto::ReconcileRequest {
        from: args.period.from.clone(),
        to: args.period.to.clone(),
        agency_id: args.period.agency_id(),
        include_load_test: args.include_load_test,
        max_findings: args.limit,
    };
    let summary = |result: proto::ReconcileResponse| {
        spinner.finish_and_clear();
        eprintln!("{}", Says::ReconcileCounts { counts: result }.text());
        *out.borrow_mut() = Some(RecordWriter::start(
            FINDING_COLUMNS,
            args.format,
            Records::Findings,
        )?);
        Ok(())
    };
    let findings = |findings: Vec<proto::ReconcileFinding>| {
        let mut out = out.borrow_mut();
        let out = out
            .as_mut()
            .ok_or_else(|| Says::FindingsBeforeCounts.text())?;
        for f in findings {
            out.write(&serde_json::json!({
                "finding": f.kind, "agency": f.agency_id, "dossier": f.dossier_id,
                "district": f.district, "officer": f.officer_id, "rpc": f.rpc,
                "reported": f.reported, "served": f.served, "first_at": rfc3339(f.first_at_ms),
                "received_at": if f.received_at_ms == 0 { String::new() } else { rfc3339(f.received_at_ms) },
            }))?;
        }
        Ok(())
    };
    let result = log.reconcile(request, summary, findings).await;
    spinner.finish_and_clear();
    result?;
    if let Some(out) = out.into_inner() {
        out.finish()?;
    }
    Ok(())
}

const FINDING_COLUMNS: &[&str] = &[
    "finding",
    "agency",
    "dossier",
    "district",
    "officer",
    "rpc",
    "reported",
    "served",
    "first_at",
    "received_at",
];
