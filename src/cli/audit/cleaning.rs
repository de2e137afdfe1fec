//! `vnpop audit cleaning`: the data-cleaning jobs of a period, apart from dossiers — each job's
//! agency, purpose, officer, first and last record, records and verdict counts — made from the
//! log's server events (a small query over ListEvents, or the file with `--db`), since every
//! dossier figure leaves cleaning out.

use std::collections::BTreeMap;

use clap::Args;

use super::{
    period::PeriodArgs,
    source::{Backend, Source},
};
use crate::{
    cli::output::{report_empty, ListFormat, RecordWriter, Records},
    domain::vietnam::rfc3339,
    proto,
    vocabulary::Rpc,
};

/// The arguments of `vnpop audit cleaning`.
#[derive(Debug, Args)]
#[command(
    mut_arg("from", |a| a.required(false).default_value("").help("First day (YYYY-MM-DD), inclusive; default: the beginning")),
    mut_arg("to", |a| a.required(false).default_value("").help("Last day, inclusive; default: the end")),
)]
pub struct CleaningArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

/// The verdicts counted, as the columns name them.
pub(crate) const VERDICTS: [&str; 6] = [
    "match",
    "mismatch",
    "unknown_number",
    "malformed",
    "deceased",
    "card_revoked",
];

const COLUMNS: &[&str] = &[
    "agency",
    "job",
    "purpose",
    "officer",
    "first",
    "last",
    "records",
    "match",
    "mismatch",
    "unknown_number",
    "malformed",
    "deceased",
    "card_revoked",
];

/// The verdict column a recorded cleaning outcome counts in.
fn verdict_of(outcome: &str) -> usize {
    match outcome {
        "match" => 0,
        "mismatch" => 1,
        "unknown_number" => 2,
        "citizen_deceased" => 4,
        "card_revoked" => 5,
        _ => 3,
    }
}

/// One cleaning job's tally.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CleaningJob {
    /// The agency that ran it.
    pub(crate) agency: String,
    /// Its id.
    pub(crate) job: String,
    /// Its purpose (its first record's).
    pub(crate) purpose: String,
    /// Its officer (its first record's).
    pub(crate) officer: String,
    /// When its first and last records were verified (Unix ms).
    pub(crate) first_ms: i64,
    pub(crate) last_ms: i64,
    /// Records verified (each once, whatever the tries).
    pub(crate) records: u64,
    /// Records per verdict, in [`VERDICTS`] order.
    pub(crate) verdicts: [u64; 6],
}

/// The cleaning jobs of `period` (and agency), by agency and job id: the server's
/// `CleanRecord` events, read through ListEvents (or the file).
pub(crate) async fn cleaning_jobs(
    log: &Backend,
    from: &str,
    to: &str,
    agency_id: &str,
) -> Result<Vec<CleaningJob>, String> {
    let mut jobs: BTreeMap<(String, String), CleaningJob> = BTreeMap::new();
    log.events(
        proto::ListEventsRequest {
            from: from.into(),
            to: to.into(),
            agency_id: agency_id.into(),
            source: "server".into(),
            rpc: Rpc::CleanRecord.as_str().into(),
            ..Default::default()
        },
        |e| {
            let key = (e.agency_id.clone(), e.dossier_id.clone());
            let job = jobs.entry(key).or_insert_with(|| CleaningJob {
                agency: e.agency_id,
                job: e.dossier_id,
                purpose: e.purpose,
                officer: e.officer_id,
                first_ms: e.occurred_at_ms,
                ..CleaningJob::default()
            });
            job.last_ms = e.occurred_at_ms;
            job.records += 1;
            job.verdicts[verdict_of(&e.outcome)] += 1;
            Ok(())
        },
    )
    .await?;
    Ok(jobs.into_values().collect())
}

/// Prints the cleaning jobs `args` asks for, by agency and job id.
pub async fn run(args: CleaningArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let jobs = cleaning_jobs(
        &log,
        &args.period.from,
        &args.period.to,
        &args.period.agency_id(),
    )
    .await?;
    let mut out = RecordWriter::start(COLUMNS, args.format, Records::CleaningJobs)?;
    for job in &jobs {
        let mut record = serde_json::json!({
            "agency": job.agency, "job": job.job, "purpose": job.purpose, "officer": job.officer,
            "first": rfc3339(job.first_ms), "last": rfc3339(job.last_ms), "records": job.records,
        });
        for (name, count) in VERDICTS.iter().zip(job.verdicts) {
            record[*name] = count.into();
        }
        out.write(&record)?;
    }
    let written = out.finish()?;
    report_empty(
        written,
        Records::CleaningJobs,
        &[
            ("--from", &args.period.from),
            ("--to", &args.period.to),
            ("--agency", &args.period.agency_id()),
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::{Answer, Outcome};

    #[test]
    fn recorded_outcomes_count_in_their_verdict() {
        let column = |o: Outcome| VERDICTS[verdict_of(o.as_str())];
        assert_eq!(column(Answer::Match.into()), "match");
        assert_eq!(column(Answer::Mismatch.into()), "mismatch");
        assert_eq!(column(Answer::UnknownNumber.into()), "unknown_number");
        assert_eq!(column(Answer::CitizenDeceased.into()), "deceased");
        assert_eq!(column(Answer::CardRevoked.into()), "card_revoked");
        assert_eq!(
            column(Outcome::Failed(tonic::Code::InvalidArgument)),
            "malformed"
        );
    }
}
