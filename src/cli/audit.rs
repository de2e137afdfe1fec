//! `vnpop audit`: the auditor's command line. Reads the server through gRPC (with an auditor
//! certificate) or, given `--db`, the SQLite file directly.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::{
    audit::{
        log::{parse_public_key, PUBLIC_KEY_FILE},
        query::{AuditReader, GroupBy, RatioQuery},
        verify_file,
    },
    client::{AuditClient, ClientTls},
    proto,
};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Lookups per dossier over a period, optionally broken down.
    Ratio(RatioArgs),
    /// Recompute the Merkle tree from the SQLite file, check every signed tree head, and name the
    /// first event that was altered, removed or inserted.
    Verify(VerifyArgs),
}

/// Where the audit data comes from.
#[derive(Debug, Args)]
pub struct Source {
    /// Read this SQLite file directly instead of asking the server.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The server to ask.
    #[arg(long, env = "VNPOP_SERVER", default_value = "https://localhost:50051")]
    pub server: String,
    /// CA certificate the server's certificate chains to.
    #[arg(long, default_value = "certs/ca.pem")]
    pub ca: PathBuf,
    /// The auditor's client certificate.
    #[arg(long, default_value = "certs/auditor-thanh-tra.pem")]
    pub cert: PathBuf,
    /// The auditor's private key.
    #[arg(long, default_value = "certs/auditor-thanh-tra.key")]
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct RatioArgs {
    /// First day of the period (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    pub from: String,
    /// Last day of the period, inclusive.
    #[arg(long)]
    pub to: String,
    /// Breakdown, comma-separated: agency, district, officer, procedure, channel, month.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Only this agency.
    #[arg(long)]
    pub agency: Option<String>,
    /// Count load-test dossiers too.
    #[arg(long)]
    pub include_load_test: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub source: Source,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory of the server (holds audit.sqlite and audit-signing.pub).
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    pub data_dir: PathBuf,
    /// The log's public key (hex); default: the data directory's audit-signing.pub.
    #[arg(long)]
    pub public_key: Option<String>,
}

/// One line of a ratio report, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct RatioLine {
    pub group: Vec<String>,
    pub dossiers: u64,
    pub lookups: u64,
    pub lookups_per_dossier: f64,
    pub dossiers_with_lookup: u64,
    pub coverage: f64,
    pub served: u64,
}

impl From<proto::RatioRow> for RatioLine {
    fn from(r: proto::RatioRow) -> Self {
        RatioLine {
            group: r.group,
            dossiers: r.dossiers,
            lookups: r.lookups,
            lookups_per_dossier: r.lookups_per_dossier,
            dossiers_with_lookup: r.dossiers_with_lookup,
            coverage: r.coverage,
            served: r.served,
        }
    }
}

/// Runs an audit subcommand, printing to stdout.
pub async fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Ratio(args) => {
            let lines = ratio(&args).await?;
            print!("{}", render(&lines, &args.by, args.format));
            Ok(())
        }
        AuditCommand::Verify(args) => verify(&args),
    }
}

async fn ratio(args: &RatioArgs) -> Result<Vec<RatioLine>, String> {
    let request = proto::LookupRatioRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        group_by: args.by.clone(),
        agency_id: args.agency.clone().unwrap_or_default(),
        include_load_test: args.include_load_test,
    };
    match &args.source.db {
        Some(db) => {
            let group_by = args
                .by
                .iter()
                .map(|g| GroupBy::parse(g).ok_or(format!("--by: unknown breakdown {g:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            let day = |field: &str, text: &str| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| format!("--{field}: {text:?} is not YYYY-MM-DD"))
            };
            let query = RatioQuery {
                from_ms: crate::audit::service::vietnam_midnight_ms(day("from", &args.from)?),
                to_ms: crate::audit::service::vietnam_midnight_ms(
                    day("to", &args.to)? + chrono::Days::new(1),
                ),
                agency_id: args.agency.clone(),
                group_by,
                include_load_test: args.include_load_test,
            };
            let reader = AuditReader::open(db).map_err(|e| e.to_string())?;
            let rows = reader.ratio(&query).map_err(|e| e.to_string())?;
            Ok(rows
                .into_iter()
                .map(|r| RatioLine {
                    lookups_per_dossier: r.ratio(),
                    coverage: r.coverage(),
                    group: r.group,
                    dossiers: r.dossiers,
                    lookups: r.lookups,
                    dossiers_with_lookup: r.covered,
                    served: r.served,
                })
                .collect())
        }
        None => {
            let tls = ClientTls::from_files(&args.source.ca, &args.source.cert, &args.source.key)
                .map_err(|e| e.to_string())?;
            let client = AuditClient::connect(&args.source.server, Some(tls))
                .await
                .map_err(|e| e.to_string())?;
            let rows = client
                .lookup_ratio(request)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows.into_iter().map(RatioLine::from).collect())
        }
    }
}

/// The report in the chosen format; a table ends with a total line when grouped.
pub fn render(lines: &[RatioLine], by: &[String], format: Format) -> String {
    let headers = [
        "dossiers",
        "lookups",
        "per dossier",
        "with lookup",
        "coverage",
        "served",
    ];
    match format {
        Format::Json => serde_json::to_string_pretty(lines).expect("serializable") + "\n",
        Format::Csv => {
            let mut out = by
                .iter()
                .map(String::as_str)
                .chain([
                    "dossiers",
                    "lookups",
                    "lookups_per_dossier",
                    "dossiers_with_lookup",
                    "coverage",
                    "served",
                ])
                .collect::<Vec<_>>()
                .join(",");
            out.push('\n');
            for l in lines {
                let group: Vec<String> = l.group.iter().map(|g| csv_field(g)).collect();
                let figures = format!(
                    "{},{},{:.6},{},{:.6},{}",
                    l.dossiers,
                    l.lookups,
                    l.lookups_per_dossier,
                    l.dossiers_with_lookup,
                    l.coverage,
                    l.served
                );
                out.push_str(
                    &group
                        .into_iter()
                        .chain([figures])
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Format::Table => {
            let label = |l: &RatioLine| {
                if l.group.is_empty() {
                    "all".to_owned()
                } else {
                    l.group.join(" / ")
                }
            };
            let mut rows: Vec<(String, &RatioLine)> = lines.iter().map(|l| (label(l), l)).collect();
            let total = (!by.is_empty() && lines.len() > 1).then(|| {
                let sum = |f: fn(&RatioLine) -> u64| lines.iter().map(f).sum::<u64>();
                let (dossiers, lookups, covered) = (
                    sum(|l| l.dossiers),
                    sum(|l| l.lookups),
                    sum(|l| l.dossiers_with_lookup),
                );
                RatioLine {
                    group: vec!["TOTAL".into()],
                    dossiers,
                    lookups,
                    lookups_per_dossier: if dossiers == 0 {
                        0.0
                    } else {
                        lookups as f64 / dossiers as f64
                    },
                    dossiers_with_lookup: covered,
                    coverage: if dossiers == 0 {
                        0.0
                    } else {
                        covered as f64 / dossiers as f64
                    },
                    served: sum(|l| l.served),
                }
            });
            if let Some(total) = &total {
                rows.push(("TOTAL".into(), total));
            }
            let title = if by.is_empty() {
                "period".to_owned()
            } else {
                by.join(" / ")
            };
            let width = rows
                .iter()
                .map(|(l, _)| l.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(5);
            let mut out = format!("{title:<width$}");
            for h in headers {
                out.push_str(&format!(" {h:>12}"));
            }
            out.push('\n');
            for (label, l) in rows {
                out.push_str(&format!(
                    "{label:<width$} {:>12} {:>12} {:>12.3} {:>12} {:>11.1}% {:>12}\n",
                    l.dossiers,
                    l.lookups,
                    l.lookups_per_dossier,
                    l.dossiers_with_lookup,
                    l.coverage * 100.0,
                    l.served
                ));
            }
            out
        }
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn verify(args: &VerifyArgs) -> Result<(), String> {
    let key_text = match &args.public_key {
        Some(hex) => hex.clone(),
        None => std::fs::read_to_string(args.data_dir.join(PUBLIC_KEY_FILE)).map_err(|e| {
            format!(
                "{}: {e} (give --public-key)",
                args.data_dir.join(PUBLIC_KEY_FILE).display()
            )
        })?,
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let db = args.data_dir.join(crate::audit::log::DATABASE_FILE);
    let report = verify_file(&db, &key).map_err(|e| e.to_string())?;
    match &report.tamper {
        None => {
            println!(
                "OK: {} events, {} signed tree heads checked, latest head size {} root {}",
                report.events,
                report.heads_checked,
                report.latest_head.as_ref().map_or(0, |h| h.tree_size),
                report
                    .latest_head
                    .as_ref()
                    .map_or_else(String::new, |h| crate::audit::log::hex(&h.root)),
            );
            Ok(())
        }
        Some(tamper) => Err(format!(
            "TAMPERED: {tamper} ({} events read before it)",
            report.events
        )),
    }
}
