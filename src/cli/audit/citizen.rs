//! `vnpop audit citizen`: for one citizen, which agencies looked them up, when, for which
//! dossier and why.

use clap::Args;

use super::source::Source;
use crate::{
    cli::{
        messages::{audit::lists::Lists as Says, Message},
        output::{ListFormat, RecordWriter, Records},
    },
    domain::vietnam::rfc3339,
    proto,
};

/// The arguments of `vnpop audit citizen`.
#[derive(Debug, Args)]
pub struct CitizenArgs {
    /// The citizen's 12-digit CCCD number.
    pub cccd: String,
    /// CSV with its header line, or JSON lines.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

const ACCESS_COLUMNS: &[&str] = &[
    "at",
    "agency",
    "district",
    "officer",
    "dossier",
    "purpose",
    "rpc",
    "outcome",
    "reported_by",
];

/// Prints the accesses to the citizen `args` names.
pub async fn run(args: CitizenArgs) -> Result<(), String> {
    let accesses = args
        .log
        .open()
        .await?
        .citizen(proto::CitizenAccessLogRequest {
            cccd_number: crate::cli::citizen::typed_cccd(&args.cccd),
        })
        .await?;
    let mut out = RecordWriter::start(ACCESS_COLUMNS, args.format, Records::Accesses)?;
    for a in &accesses.accesses {
        out.write(&serde_json::json!({
            "at": rfc3339(a.occurred_at_ms), "agency": a.agency_id, "district": a.district,
            "officer": a.officer_id, "dossier": a.dossier_id, "purpose": a.purpose,
            "rpc": a.rpc, "outcome": a.outcome, "reported_by": a.source,
        }))?;
    }
    if out.finish()? == 0 {
        eprintln!("{}", Says::NoAccess.text());
    }
    Ok(())
}
