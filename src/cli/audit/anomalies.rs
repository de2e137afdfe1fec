//! `vnpop audit anomalies`: the findings an inspector acts on (FindAnomalies), each in one
//! Vietnamese sentence with its evidence rows, as CSV or JSON lines; the counts by kind on
//! stderr. Every threshold is a flag whose default is the documented one
//! ([`crate::audit::anomalies::Thresholds`]).

use clap::Args;

use super::{
    period::PeriodArgs,
    source::{each_message, until_failed, Backend, Source},
};
use crate::{
    audit::answers,
    cli::{
        messages::{audit::lists::Lists as Says, Message, Shown},
        output::{spinner, ListFormat, RecordWriter, Records},
    },
    domain::vietnam::rfc3339,
    proto,
};

/// The thresholds, each a flag (unset: the default in its help).
#[derive(Debug, Clone, Default, Args)]
pub struct ThresholdArgs {
    /// Minutes after a session's end (11:30, 17:00) still counted as working hours [default: 15].
    #[arg(long)]
    pub grace_minutes: Option<u32>,
    /// Different citizens looked up for one dossier that make a finding [default: 5].
    #[arg(long)]
    pub dossier_citizens: Option<u32>,
    /// Different officers looking one citizen up within --citizen-window-minutes [default: 3].
    #[arg(long)]
    pub citizen_officers: Option<u32>,
    /// The window of --citizen-officers, in minutes [default: 1440].
    #[arg(long)]
    pub citizen_window_minutes: Option<u32>,
    /// Robust z-score of an officer's lookups per dossier among peers of the same procedure
    /// beyond which it is a finding [default: 3.5].
    #[arg(long)]
    pub peer_z: Option<f64>,
    /// Distance from the peers' median (lookups per dossier) an officer must also reach
    /// [default: 0.25].
    #[arg(long)]
    pub peer_min_difference: Option<f64>,
    /// Dossiers of a procedure an officer must have to be compared [default: 20].
    #[arg(long)]
    pub peer_min_dossiers: Option<u32>,
    /// Officers a procedure must have for a comparison [default: 5].
    #[arg(long)]
    pub peer_min_officers: Option<u32>,
    /// Lookups in one minute below which nothing is a burst [default: 10].
    #[arg(long)]
    pub burst_per_minute: Option<u32>,
    /// How many times the officer's usual lookups per active minute a burst is [default: 5].
    #[arg(long)]
    pub burst_factor: Option<f64>,
    /// Hours after receipt by which a dossier's lookup is expected [default: 72].
    #[arg(long)]
    pub dossier_window_hours: Option<u32>,
    /// Evidence rows per finding [default: 10].
    #[arg(long)]
    pub evidence: Option<u32>,
}

impl ThresholdArgs {
    /// The request for `period` with these thresholds (unset ones 0: the server's default).
    pub(crate) fn request(
        &self,
        period: &PeriodArgs,
        max_findings: u32,
    ) -> proto::AnomaliesRequest {
        proto::AnomaliesRequest {
            from: period.from.clone(),
            to: period.to.clone(),
            agency_id: period.agency_id(),
            max_findings,
            grace_minutes: self.grace_minutes.unwrap_or(0),
            dossier_citizens: self.dossier_citizens.unwrap_or(0),
            citizen_officers: self.citizen_officers.unwrap_or(0),
            citizen_window_minutes: self.citizen_window_minutes.unwrap_or(0),
            peer_z: self.peer_z.unwrap_or(0.0),
            peer_min_difference: self.peer_min_difference.unwrap_or(0.0),
            peer_min_dossiers: self.peer_min_dossiers.unwrap_or(0),
            peer_min_officers: self.peer_min_officers.unwrap_or(0),
            burst_per_minute: self.burst_per_minute.unwrap_or(0),
            burst_factor: self.burst_factor.unwrap_or(0.0),
            dossier_window_hours: self.dossier_window_hours.unwrap_or(0),
            evidence: self.evidence.unwrap_or(0),
        }
    }
}

/// The arguments of `vnpop audit anomalies`.
#[derive(Debug, Args)]
#[command(
    mut_arg("from", |a| a.help("First day of the reported events looked at (YYYY-MM-DD, Vietnam time)")),
    mut_arg("to", |a| a.help("Last day, inclusive")),
)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// List at most this many findings (the counts cover all of them).
    #[arg(long, default_value_t = 1_000)]
    pub limit: u32,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

/// FindAnomalies' answer as it comes: `counts` once, then each chunk of findings to `each`.
pub(crate) async fn find(
    backend: &Backend,
    request: proto::AnomaliesRequest,
    each: impl FnMut(proto::AnomaliesChunk) -> Result<(), String>,
) -> Result<(), String> {
    match backend {
        Backend::Server(client, peer) => {
            each_message(client.raw().find_anomalies(request).await, peer, each).await
        }
        Backend::File { reader, .. } => {
            let query = answers::anomaly_query(request).map_err(|e| e.shown())?;
            until_failed(
                |send| answers::anomaly_chunks(reader, &query, send),
                |e| e.shown(),
                each,
            )
        }
    }
}

/// Prints the counts (stderr) and the findings (stdout) `args` asks for.
pub async fn run(args: AnomaliesArgs) -> Result<(), String> {
    let backend = args.log.open().await?;
    let spinner = spinner(Says::LookingForAnomalies.text());
    let request = args.thresholds.request(&args.period, args.limit);
    let mut out: Option<RecordWriter> = None;
    let format = args.format;
    let result = find(&backend, request, |chunk| {
        if let Some(counts) = chunk.counts {
            spinner.finish_and_clear();
            eprintln!("{}", Says::AnomalyCounts { counts }.text());
            out = Some(RecordWriter::start(COLUMNS, format, Records::Findings)?);
        }
        let out = out
            .as_mut()
            .ok_or_else(|| Says::FindingsBeforeCounts.text())?;
        for finding in chunk.findings {
            out.write(&record(finding, format))?;
        }
        Ok(())
    })
    .await;
    spinner.finish_and_clear();
    result?;
    if let Some(out) = out {
        out.finish()?;
    }
    Ok(())
}

/// One finding as a record: in CSV its evidence as the log positions of its rows (which
/// `vnpop audit export` lists), in JSON the rows themselves.
fn record(f: proto::Anomaly, format: ListFormat) -> serde_json::Value {
    let at = |ms: i64| if ms == 0 { String::new() } else { rfc3339(ms) };
    let evidence = match format {
        ListFormat::Csv => serde_json::Value::String(
            f.evidence
                .iter()
                .map(|e| e.seq.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ListFormat::Json => f
            .evidence
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq, "at": at(e.occurred_at_ms), "agency": e.agency_id,
                    "district": e.district, "officer": e.officer_id, "dossier": e.dossier_id,
                    "rpc": e.rpc, "subject": e.subject, "procedure": e.procedure_code,
                    "lookups": e.lookups,
                })
            })
            .collect(),
    };
    serde_json::json!({
        "finding": f.kind, "agency": f.agency_id, "district": f.district,
        "officer": f.officer_id, "dossier": f.dossier_id, "subject": f.subject,
        "procedure": f.procedure_code, "first_at": at(f.first_at_ms), "last_at": at(f.last_at_ms),
        "count": f.count, "measure": f.measure, "reference": f.reference, "score": f.score,
        "explanation": f.explanation, "evidence": evidence,
    })
}

const COLUMNS: &[&str] = &[
    "finding",
    "agency",
    "district",
    "officer",
    "dossier",
    "subject",
    "procedure",
    "first_at",
    "last_at",
    "count",
    "measure",
    "reference",
    "score",
    "explanation",
    "evidence",
];

/// The defaults, as documented in the flags' help (checked against the library's).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::anomalies::Thresholds;

    #[test]
    fn the_flags_say_the_library_s_defaults() {
        let d = Thresholds::default();
        let help = [
            ("grace_minutes", d.grace_minutes.to_string()),
            ("dossier_citizens", d.dossier_citizens.to_string()),
            ("citizen_officers", d.citizen_officers.to_string()),
            (
                "citizen_window_minutes",
                d.citizen_window_minutes.to_string(),
            ),
            ("peer_z", d.peer_z.to_string()),
            ("peer_min_difference", d.peer_min_difference.to_string()),
            ("peer_min_dossiers", d.peer_min_dossiers.to_string()),
            ("peer_min_officers", d.peer_min_officers.to_string()),
            ("burst_per_minute", d.burst_per_minute.to_string()),
            ("burst_factor", d.burst_factor.to_string()),
            ("dossier_window_hours", d.dossier_window_hours.to_string()),
            ("evidence", d.evidence.to_string()),
        ];
        let command = <ThresholdArgs as clap::Args>::augment_args(clap::Command::new("t"));
        for (id, default) in help {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            let text = arg.get_help().unwrap().to_string();
            assert!(
                text.ends_with(&format!("[default: {default}]")),
                "{id}: {text}"
            );
        }
    }
}
