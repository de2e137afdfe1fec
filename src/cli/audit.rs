//! `vnpop audit`: the auditor's command line. Reads the server through gRPC (with an auditor
//! certificate) or, given `--db`, the SQLite file directly.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use tonic::transport::Channel;

use crate::{
    audit::{
        answers,
        log::{hex, parse_hex, parse_public_key, PUBLIC_KEY_FILE, SUBJECT_KEY_FILE},
        merkle::{verify_consistency, Hash},
        query::AuditReader,
        recorder::subject_hash,
        verify_file, SignedTreeHead,
    },
    client::{AuditClient, ClientTls},
    proto,
    proto::audit_trail_client::AuditTrailClient,
};

use super::{
    filters::{self, Resolution},
    output::{csv_field, output_error, ListFormat, RecordWriter},
};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Lookups per dossier over a period, optionally broken down.
    Ratio(RatioArgs),
    /// Dossiers received in a period with no lookup the server served (the supervisor's list).
    Unverified(UnverifiedArgs),
    /// Export the log's events matching filters, as CSV or JSON lines.
    Export(ExportArgs),
    /// For one citizen: which agencies looked them up, when, for which dossier and why.
    Citizen(CitizenArgs),
    /// Compare what agencies reported against what the server observed serving, and list the
    /// findings (verifications never reported, reported but never served, or served for a
    /// dossier never reported).
    Reconcile(ReconcileArgs),
    /// Recompute the Merkle tree from the SQLite file, check every signed tree head, and name the
    /// first event that was altered, removed or inserted. With --remote, ask the server to do it
    /// and check its signed head (and, given --previous-head, that the log only grew since).
    Verify(VerifyArgs),
    /// The auditor's report: one self-contained HTML file (headline with comparison, coverage by
    /// district and month and by officer as charts and tables, unverified dossiers, reconcile
    /// findings, the signed tree head it rests on), in Vietnamese or English (--lang en).
    Report(super::report::ReportArgs),
}

/// Where the audit data comes from: the server, or with `--db` the log file itself.
#[derive(Debug, Args)]
pub struct Source {
    /// Read this SQLite file (DATA_DIR/audit.sqlite) directly instead of asking the server; the
    /// citizen command also needs the data directory's audit-subject.key beside it.
    #[arg(long)]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

impl Source {
    pub(super) async fn open(&self) -> Result<Backend, String> {
        let Some(path) = &self.db else {
            return Ok(Backend::Server(
                self.server.connect().await?,
                self.server.peer()?,
            ));
        };
        if !path.is_file() {
            return Err(format!("{}: no such log file", path.display()));
        }
        let reader = AuditReader::open_current(path, std::time::Duration::from_secs(10))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let key = path.with_file_name(SUBJECT_KEY_FILE);
        let subject_key = std::fs::read(&key)
            .ok()
            .and_then(|bytes| bytes.get(..32).and_then(|b| b.try_into().ok()));
        Ok(Backend::File {
            reader,
            subject_key,
        })
    }
}

/// An open source of audit answers. Both kinds answer with the same functions
/// ([`crate::audit::answers`]): over gRPC the server runs them, on a file this process does.
pub(super) enum Backend {
    Server(AuditClient, Peer),
    File {
        reader: AuditReader,
        subject_key: Option<[u8; 32]>,
    },
}

/// The server asked, for error messages.
pub(super) struct Peer {
    endpoint: String,
    tls: ClientTls,
}

impl Peer {
    /// The message of a failed gRPC call; a connection that failed says why.
    fn status_message(&self, status: tonic::Status) -> String {
        match crate::client::connection_failure(&status, Some(&self.tls)) {
            Some(cause) => format!("cannot connect to vnpop at {}: {cause}", self.endpoint),
            None => status.message().to_owned(),
        }
    }
}

impl Backend {
    /// One question, asked of the server with `over_grpc` or answered from the file by `from_file`.
    async fn ask<Q, A, F, E>(
        &self,
        request: Q,
        over_grpc: impl FnOnce(AuditTrailClient<Channel>, Q) -> F,
        from_file: impl FnOnce(&AuditReader, Q) -> Result<A, E>,
    ) -> Result<A, String>
    where
        F: std::future::Future<Output = Result<tonic::Response<A>, tonic::Status>>,
        E: std::fmt::Display,
    {
        match self {
            Backend::Server(client, peer) => over_grpc(client.raw(), request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| peer.status_message(s)),
            Backend::File { reader, .. } => from_file(reader, request).map_err(|e| e.to_string()),
        }
    }

    pub(super) async fn ratio(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<proto::LookupRatioResponse, String> {
        let grpc = |mut c: AuditTrailClient<Channel>, r| async move { c.lookup_ratio(r).await };
        self.ask(request, grpc, answers::lookup_ratio).await
    }

    pub(super) async fn unverified(
        &self,
        request: proto::ListUnverifiedDossiersRequest,
    ) -> Result<proto::ListUnverifiedDossiersResponse, String> {
        let grpc = |mut c: AuditTrailClient<Channel>, r| async move {
            c.list_unverified_dossiers(r).await
        };
        self.ask(request, grpc, answers::unverified_dossiers).await
    }

    pub(super) async fn reconcile(
        &self,
        request: proto::ReconcileRequest,
    ) -> Result<proto::ReconcileResponse, String> {
        let grpc = |mut c: AuditTrailClient<Channel>, r| async move { c.reconcile(r).await };
        self.ask(request, grpc, answers::reconcile).await
    }

    async fn citizen(
        &self,
        request: proto::CitizenAccessLogRequest,
    ) -> Result<proto::CitizenAccessLogResponse, String> {
        let key = match self {
            Backend::File { subject_key, .. } => subject_key.as_ref(),
            Backend::Server(..) => None,
        };
        let grpc =
            |mut c: AuditTrailClient<Channel>, r| async move { c.citizen_access_log(r).await };
        let from_file = |reader: &AuditReader, r| {
            let key = key.ok_or(format!(
                "{SUBJECT_KEY_FILE} is not beside the log file: citizens are recorded under a keyed hash"
            ))?;
            answers::citizen_accesses(reader, r, |cccd| subject_hash(key, cccd))
                .map_err(|e| e.to_string())
        };
        self.ask(request, grpc, from_file).await
    }

    /// The events matching `request`, in log order, each handed to `each` as it arrives.
    async fn events(
        &self,
        request: proto::ListEventsRequest,
        mut each: impl FnMut(proto::LoggedEvent) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Backend::Server(client, peer) => {
                use tokio_stream::StreamExt;
                let mut stream = client
                    .raw()
                    .list_events(request)
                    .await
                    .map_err(|s| peer.status_message(s))?
                    .into_inner();
                while let Some(event) = stream.next().await {
                    each(event.map_err(|s| peer.status_message(s))?)?;
                }
                Ok(())
            }
            Backend::File { reader, .. } => {
                let filter = answers::event_filter(request).map_err(|e| e.to_string())?;
                let mut failed = None;
                reader
                    .events(&filter, |event| match each(answers::logged_event(event)) {
                        Ok(()) => true,
                        Err(error) => {
                            failed = Some(error);
                            false
                        }
                    })
                    .map_err(|e| e.to_string())?;
                failed.map_or(Ok(()), Err)
            }
        }
    }
}

/// The output of `ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, with a TOTAL line when grouped.
    Table,
    /// Comma-separated values with a header line; a grouped report ends with its TOTAL line.
    Csv,
    /// A JSON array of lines; a grouped report ends with its TOTAL line (`"total": true`).
    Json,
}

/// What `ratio --by` accepts.
pub const GROUPS: [&str; 8] = [
    "agency",
    "district",
    "officer",
    "procedure",
    "channel",
    "month",
    "commune",
    "province",
];

#[derive(Debug, Args)]
pub struct RatioArgs {
    /// First day of the period (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    pub from: String,
    /// Last day of the period, inclusive.
    #[arg(long)]
    pub to: String,
    /// Breakdown, comma-separated: agency, district, officer, procedure, channel, month, commune
    /// (since 1 July 2025), province (the current one; old districts mapped into it).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(GROUPS))]
    pub by: Vec<String>,
    /// Only this agency.
    #[arg(long)]
    pub agency: Option<String>,
    /// Count load-test dossiers too.
    #[arg(long)]
    pub include_load_test: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also draw the report as an SVG bar chart (coverage per group) into this file.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub log: Source,
}

/// How to reach the server's AuditTrail as an auditor.
#[derive(Debug, Args)]
pub struct ServerArgs {
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

impl ServerArgs {
    async fn connect(&self) -> Result<AuditClient, String> {
        AuditClient::connect(&self.server, Some(self.peer()?.tls))
            .await
            .map_err(|e| e.to_string())
    }

    fn peer(&self) -> Result<Peer, String> {
        Ok(Peer {
            endpoint: self.server.clone(),
            tls: ClientTls::from_files(&self.ca, &self.cert, &self.key)
                .map_err(super::output::tls_files_error)?,
        })
    }
}

#[derive(Debug, Args)]
pub struct UnverifiedArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub agency: Option<String>,
    #[arg(long)]
    pub district: Option<String>,
    #[arg(long)]
    pub officer: Option<String>,
    /// Stop after this many dossiers.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// First day (YYYY-MM-DD), inclusive; default: the beginning.
    #[arg(long, default_value = "")]
    pub from: String,
    /// Last day, inclusive; default: the end.
    #[arg(long, default_value = "")]
    pub to: String,
    #[arg(long, default_value = "")]
    pub agency: String,
    #[arg(long, default_value = "")]
    pub officer: String,
    #[arg(long, default_value = "")]
    pub dossier: String,
    #[arg(long, default_value = "")]
    pub outcome: String,
    /// "client" or "server".
    #[arg(long, default_value = "")]
    pub source: String,
    /// At most this many events (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: u64,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

#[derive(Debug, Args)]
pub struct CitizenArgs {
    /// The citizen's 12-digit CCCD number.
    pub cccd: String,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// First day of receipt of the dossiers compared (YYYY-MM-DD, Vietnam time).
    #[arg(long)]
    pub from: String,
    /// Last day, inclusive.
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub agency: Option<String>,
    /// Compare load-test traffic too.
    #[arg(long)]
    pub include_load_test: bool,
    /// List at most this many findings (the counts cover all of them).
    #[arg(long, default_value_t = 1_000)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
    #[command(flatten)]
    pub log: Source,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory of the server (holds audit.sqlite and audit-signing.pub).
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    pub data_dir: PathBuf,
    /// The log's public key (hex); default: the data directory's audit-signing.pub, or with
    /// --remote the key the server presents.
    #[arg(long)]
    pub public_key: Option<String>,
    /// Ask the server (VerifyLog) instead of reading the file, then check its signed tree head
    /// here.
    #[arg(long)]
    pub remote: bool,
    /// Verify a fleet's log in its PostgreSQL database instead of the data directory's file
    /// (the public key still comes from --public-key or the data directory).
    #[arg(
        long,
        env = "VNPOP_AUDIT_STORE",
        value_name = "URL",
        conflicts_with = "remote"
    )]
    pub audit_store: Option<String>,
    /// With --remote: a tree head saved by an earlier run (--save-head); the log must extend it
    /// (checked here with a consistency proof).
    #[arg(long, requires = "remote")]
    pub previous_head: Option<PathBuf>,
    /// With --remote: save the verified tree head to this file, for the next run's
    /// --previous-head.
    #[arg(long, requires = "remote")]
    pub save_head: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// One line of a ratio report, as printed. The headline figures (`lookups_per_dossier`,
/// `dossiers_with_lookup`, `coverage`) count served verifications only (proto `RatioRow`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RatioLine {
    pub group: Vec<String>,
    pub dossiers: u64,
    /// Verifications reported, whatever their outcome.
    pub lookups: u64,
    pub lookups_per_dossier: f64,
    pub dossiers_with_lookup: u64,
    pub coverage: f64,
    pub served: u64,
    pub reported_not_served: u64,
    pub reported_failed: u64,
    pub dossiers_with_reported_lookup: u64,
    /// The sum of the report's groups (the last line of a grouped report).
    pub total: bool,
    /// On the line that stands for the whole answer (the TOTAL line, or the period's only line):
    /// the load-test traffic the answer leaves out.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<LeftOut>,
}

/// The load-test traffic a ratio answer leaves out (proto `LookupRatioResponse`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub load_test_dossiers_left_out: u64,
    pub load_test_lookups_left_out: u64,
    pub load_test_served_left_out: u64,
}

impl LeftOut {
    fn of(answer: &proto::LookupRatioResponse) -> Self {
        LeftOut {
            load_test_dossiers_left_out: answer.load_test_dossiers_left_out,
            load_test_lookups_left_out: answer.load_test_lookups_left_out,
            load_test_served_left_out: answer.load_test_served_left_out,
        }
    }

    /// The line under a ratio table.
    pub fn sentence(&self) -> String {
        format!(
            "left out (load test): {} dossiers, {} verifications reported, {} served{}",
            self.load_test_dossiers_left_out,
            self.load_test_lookups_left_out,
            self.load_test_served_left_out,
            if *self == LeftOut::default() {
                ""
            } else {
                " (--include-load-test counts them)"
            }
        )
    }
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
            reported_not_served: r.reported_not_served,
            reported_failed: r.reported_failed,
            dossiers_with_reported_lookup: r.dossiers_with_reported_lookup,
            total: false,
            left_out: None,
        }
    }
}

/// Runs an audit subcommand, printing to stdout.
pub async fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Ratio(args) => {
            let (lines, left_out) = ratio(&args).await?;
            if lines.is_empty() {
                eprintln!("vnpop: no dossier was received in this period");
            }
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            write!(
                stdout,
                "{}",
                render(&lines, left_out, &args.by, args.format)
            )
            .and_then(|()| stdout.flush())
            .map_err(output_error)?;
            if let Some(path) = &args.chart {
                let mut title = format!("Lookups per dossier, {} to {}", args.from, args.to);
                if !args.by.is_empty() {
                    title.push_str(&format!(", by {}", args.by.join(" / ")));
                }
                let svg = super::chart::coverage_svg(&title, &lines, &total_line(&lines));
                std::fs::write(path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!("chart written to {}", path.display());
            }
            Ok(())
        }
        AuditCommand::Verify(args) if args.remote => verify_remote(&args).await,
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::Reconcile(args) => reconcile(args).await,
        AuditCommand::Unverified(args) => unverified(args).await,
        AuditCommand::Export(args) => export(args).await,
        AuditCommand::Citizen(args) => citizen(args).await,
        AuditCommand::Report(args) => super::report::run(args).await,
    }
}

use crate::domain::vietnam::rfc3339;

/// The period used to learn a column's values when a command has none: the widest an auditor's
/// query may cover (20 years), ending with this year — reports are dated at most 5 minutes ahead
/// of the server, and every period before is what simulations and audits go back to.
fn whole_log() -> (String, String) {
    use chrono::Datelike;
    let year = crate::domain::vietnam::today().year();
    let first = year + 1 - crate::audit::answers::MAX_PERIOD_YEARS as i32;
    (format!("{first}-01-01"), format!("{year}-12-31"))
}

impl Backend {
    /// `typed`, the value of filter `flag` on column `group` (`district`, `officer`), as the log
    /// writes it: the same name ignoring case, spacing and diacritics is taken (and said on
    /// stderr); a value the log does not hold is kept, with the values it does hold on stderr.
    async fn resolve_filter(
        &self,
        flag: &str,
        group: &str,
        typed: Option<String>,
        (from, to): (&str, &str),
    ) -> Result<Option<String>, String> {
        let Some(typed) = typed.filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let whole = whole_log();
        let (from, to) = if from.is_empty() || to.is_empty() {
            (whole.0.as_str(), whole.1.as_str())
        } else {
            (from, to)
        };
        let known: Vec<String> = self
            .ratio(proto::LookupRatioRequest {
                from: from.into(),
                to: to.into(),
                group_by: vec![group.into()],
                agency_id: String::new(),
                include_load_test: true,
            })
            .await?
            .rows
            .into_iter()
            .filter_map(|row| row.group.into_iter().next())
            .collect();
        match filters::resolve(&typed, known.iter().map(String::as_str)) {
            Resolution::Exact => Ok(Some(typed)),
            Resolution::Same(name) => {
                eprintln!("vnpop: {flag} {typed:?} taken as {name:?}");
                Ok(Some(name))
            }
            Resolution::Ambiguous(names) => Err(format!(
                "{flag} {typed:?} could be any of {}: give one exactly",
                filters::some_of(&names)
            )),
            Resolution::Unknown => {
                if known.is_empty() {
                    eprintln!("vnpop: {flag} {typed:?}: the log holds no {group} in this period");
                } else {
                    eprintln!(
                        "vnpop: {flag} {typed:?} matches no {group} of this period; the log has {}",
                        filters::some_of(&known)
                    );
                }
                Ok(Some(typed))
            }
        }
    }
}

/// Says on stderr that a list came out empty, naming the filters that were applied.
fn report_empty(written: u64, what: &str, filters: &[(&str, &str)]) {
    if written > 0 {
        return;
    }
    let applied: Vec<String> = filters
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(flag, value)| format!("{flag} {value:?}"))
        .collect();
    if applied.is_empty() {
        eprintln!("vnpop: no {what}");
    } else {
        eprintln!("vnpop: no {what} match {}", applied.join(", "));
    }
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

async fn unverified(args: UnverifiedArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let period = (args.from.as_str(), args.to.as_str());
    let district = log
        .resolve_filter("--district", "district", args.district.clone(), period)
        .await?;
    let officer = log
        .resolve_filter("--officer", "officer", args.officer.clone(), period)
        .await?;
    let mut out = RecordWriter::start(UNVERIFIED_COLUMNS, args.format, "dossiers")?;
    let limit = args.limit.map_or(u64::MAX, |l| l as u64);
    let mut token = String::new();
    let mut written = 0u64;
    'pages: loop {
        let page = log
            .unverified(proto::ListUnverifiedDossiersRequest {
                from: args.from.clone(),
                to: args.to.clone(),
                agency_id: args.agency.clone().unwrap_or_default(),
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
        "unverified dossiers",
        &[
            ("--agency", args.agency.as_deref().unwrap_or_default()),
            ("--district", district.as_deref().unwrap_or_default()),
            ("--officer", officer.as_deref().unwrap_or_default()),
        ],
    );
    Ok(())
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

async fn export(args: ExportArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let period = (args.from.as_str(), args.to.as_str());
    let officer = log
        .resolve_filter("--officer", "officer", Some(args.officer.clone()), period)
        .await?
        .unwrap_or_default();
    let mut out = RecordWriter::start(EVENT_COLUMNS, args.format, "events")?;
    log.events(
        proto::ListEventsRequest {
            from: args.from.clone(),
            to: args.to.clone(),
            agency_id: args.agency.clone(),
            officer_id: officer.clone(),
            dossier_id: args.dossier.clone(),
            outcome: args.outcome.clone(),
            source: args.source.clone(),
            limit: args.limit,
        },
        |e| {
            out.write(&serde_json::json!({
                "seq": e.seq, "event_id": e.event_id, "source": e.source, "kind": e.kind,
                "dossier": e.dossier_id, "agency": e.agency_id, "district": e.district,
                "officer": e.officer_id, "occurred_at": rfc3339(e.occurred_at_ms),
                "load_test": e.load_test, "procedure": e.procedure_code, "channel": e.channel,
                "rpc": e.rpc, "outcome": e.outcome, "purpose": e.purpose, "subject": e.subject,
                "commune_code": e.commune_code, "commune": e.commune, "province_code": e.province_code,
            }))
        },
    )
    .await?;
    let written = out.finish()?;
    report_empty(
        written,
        "events",
        &[
            ("--from", &args.from),
            ("--to", &args.to),
            ("--agency", &args.agency),
            ("--officer", &officer),
            ("--dossier", &args.dossier),
            ("--outcome", &args.outcome),
            ("--source", &args.source),
        ],
    );
    Ok(())
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

async fn citizen(args: CitizenArgs) -> Result<(), String> {
    let accesses = args
        .log
        .open()
        .await?
        .citizen(proto::CitizenAccessLogRequest {
            cccd_number: args.cccd.clone(),
        })
        .await?;
    let mut out = RecordWriter::start(ACCESS_COLUMNS, args.format, "accesses")?;
    for a in &accesses.accesses {
        out.write(&serde_json::json!({
            "at": rfc3339(a.occurred_at_ms), "agency": a.agency_id, "district": a.district,
            "officer": a.officer_id, "dossier": a.dossier_id, "purpose": a.purpose,
            "rpc": a.rpc, "outcome": a.outcome, "reported_by": a.source,
        }))?;
    }
    if out.finish()? == 0 {
        eprintln!("vnpop: no agency has looked this citizen up");
    }
    Ok(())
}

async fn ratio(args: &RatioArgs) -> Result<(Vec<RatioLine>, LeftOut), String> {
    let request = proto::LookupRatioRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        group_by: args.by.clone(),
        agency_id: args.agency.clone().unwrap_or_default(),
        include_load_test: args.include_load_test,
    };
    let answer = args.log.open().await?.ratio(request).await?;
    let left_out = LeftOut::of(&answer);
    Ok((
        answer.rows.into_iter().map(RatioLine::from).collect(),
        left_out,
    ))
}

/// The sum of a report's groups.
pub fn total_line(lines: &[RatioLine]) -> RatioLine {
    let sum = |f: fn(&RatioLine) -> u64| lines.iter().map(f).sum::<u64>();
    let dossiers = sum(|l| l.dossiers);
    let share = |n: u64| {
        if dossiers == 0 {
            0.0
        } else {
            n as f64 / dossiers as f64
        }
    };
    let (served, covered) = (sum(|l| l.served), sum(|l| l.dossiers_with_lookup));
    RatioLine {
        group: vec!["TOTAL".into()],
        dossiers,
        lookups: sum(|l| l.lookups),
        lookups_per_dossier: share(served),
        dossiers_with_lookup: covered,
        coverage: share(covered),
        served,
        reported_not_served: sum(|l| l.reported_not_served),
        reported_failed: sum(|l| l.reported_failed),
        dossiers_with_reported_lookup: sum(|l| l.dossiers_with_reported_lookup),
        total: true,
        left_out: None,
    }
}

/// The report's lines followed, when grouped, by their TOTAL line; the line that stands for the
/// whole answer (TOTAL, or the period's only line) carries what the answer left out.
fn with_total(lines: &[RatioLine], left_out: LeftOut, by: &[String]) -> Vec<RatioLine> {
    let mut all = lines.to_vec();
    if !by.is_empty() && !lines.is_empty() {
        all.push(total_line(lines));
    }
    if let Some(last) = all.last_mut() {
        last.left_out = Some(left_out);
    }
    all
}

/// The figures of a ratio report, in the order CSV and JSON give them.
const RATIO_COLUMNS: [&str; 9] = [
    "dossiers",
    "lookups",
    "lookups_per_dossier",
    "dossiers_with_lookup",
    "coverage",
    "served",
    "reported_not_served",
    "reported_failed",
    "dossiers_with_reported_lookup",
];

/// The load-test columns of a CSV ratio report (filled on the line that stands for the answer).
const LEFT_OUT_COLUMNS: [&str; 3] = [
    "load_test_dossiers_left_out",
    "load_test_lookups_left_out",
    "load_test_served_left_out",
];

/// The report in the chosen format; every format ends with a TOTAL line when grouped (in CSV the
/// first group column says `TOTAL` and the others are empty; in JSON `"total": true`), and says
/// what load-test traffic the answer left out (the table in a line under it; CSV and JSON on the
/// TOTAL line, or the period's only line).
pub fn render(lines: &[RatioLine], left_out: LeftOut, by: &[String], format: Format) -> String {
    let lines = with_total(lines, left_out, by);
    match format {
        Format::Json => serde_json::to_string_pretty(&lines).expect("serializable") + "\n",
        Format::Csv => {
            let mut out = by
                .iter()
                .map(String::as_str)
                .chain(RATIO_COLUMNS)
                .chain(LEFT_OUT_COLUMNS)
                .collect::<Vec<_>>()
                .join(",");
            out.push('\n');
            for l in &lines {
                let group: Vec<String> = if l.total {
                    (0..by.len())
                        .map(|i| {
                            if i == 0 {
                                "TOTAL".into()
                            } else {
                                String::new()
                            }
                        })
                        .collect()
                } else {
                    l.group.iter().map(|g| csv_field(g)).collect()
                };
                let figures = format!(
                    "{},{},{:.6},{},{:.6},{},{},{},{}",
                    l.dossiers,
                    l.lookups,
                    l.lookups_per_dossier,
                    l.dossiers_with_lookup,
                    l.coverage,
                    l.served,
                    l.reported_not_served,
                    l.reported_failed,
                    l.dossiers_with_reported_lookup
                );
                let left_out = l.left_out.map_or_else(
                    || ",,".to_owned(),
                    |o| {
                        format!(
                            "{},{},{}",
                            o.load_test_dossiers_left_out,
                            o.load_test_lookups_left_out,
                            o.load_test_served_left_out
                        )
                    },
                );
                out.push_str(
                    &group
                        .into_iter()
                        .chain([figures, left_out])
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Format::Table => {
            let headers = [
                "dossiers",
                "reported",
                "served",
                "with served",
                "coverage",
                "per dossier",
                "not served",
                "failed",
            ];
            let label = |l: &RatioLine| {
                if l.total {
                    "TOTAL".to_owned()
                } else if l.group.is_empty() {
                    "all".to_owned()
                } else {
                    l.group.join(" / ")
                }
            };
            let title = if by.is_empty() {
                "period".to_owned()
            } else {
                by.join(" / ")
            };
            let width = lines
                .iter()
                .map(|l| label(l).chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(5);
            let mut out = format!("{title:<width$}");
            for h in headers {
                out.push_str(&format!(" {h:>11}"));
            }
            out.push('\n');
            for l in &lines {
                out.push_str(&format!(
                    "{:<width$} {:>11} {:>11} {:>11} {:>11} {:>10.1}% {:>11.3} {:>11} {:>11}\n",
                    label(l),
                    l.dossiers,
                    l.lookups,
                    l.served,
                    l.dossiers_with_lookup,
                    l.coverage * 100.0,
                    l.lookups_per_dossier,
                    l.reported_not_served,
                    l.reported_failed
                ));
            }
            out.push_str(&left_out.sentence());
            out.push('\n');
            out
        }
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
    let spinner = super::output::spinner("recomputing the tree and checking every signed head");
    let report = match &args.audit_store {
        Some(url) => crate::audit::postgres::PgStore::connect(url)
            .and_then(|store| crate::audit::verify::verify_store(&store, &key)),
        None => verify_file(&db, &key),
    };
    spinner.finish_and_clear();
    let report = report.map_err(|e| e.to_string())?;
    match &report.tamper {
        None => super::output::print(&format!(
            "OK: {} events, {} signed tree heads checked, latest head size {} root {}\n",
            report.events,
            report.heads_checked,
            report.latest_head.as_ref().map_or(0, |h| h.tree_size),
            report
                .latest_head
                .as_ref()
                .map_or_else(String::new, |h| crate::audit::log::hex(&h.root)),
        )),
        Some(tamper) => Err(format!(
            "TAMPERED: {tamper} ({} events read before it)",
            report.events
        )),
    }
}

async fn reconcile(args: ReconcileArgs) -> Result<(), String> {
    let log = args.log.open().await?;
    let spinner = super::output::spinner("reconciling (reads every verification once)");
    let result = log
        .reconcile(proto::ReconcileRequest {
            from: args.from.clone(),
            to: args.to.clone(),
            agency_id: args.agency.clone().unwrap_or_default(),
            include_load_test: args.include_load_test,
            max_findings: args.limit,
        })
        .await;
    spinner.finish_and_clear();
    let result = result?;
    eprintln!(
        "{} dossiers: {} verifications reported (and {} that never reached the server), {} served; \
         findings: {} served_not_reported, {} reported_not_served, {} dossier_not_reported, \
         {} reported_failure_unconfirmed, {} reported_late{}",
        result.dossiers,
        result.reported,
        result.not_reaching_server,
        result.served,
        result.served_not_reported,
        result.reported_not_served,
        result.dossier_not_reported,
        result.reported_failure_unconfirmed,
        result.reported_late,
        if result.truncated {
            " (list truncated: raise --limit)"
        } else {
            ""
        }
    );
    let mut out = RecordWriter::start(FINDING_COLUMNS, args.format, "findings")?;
    for f in &result.findings {
        out.write(&serde_json::json!({
            "finding": f.kind, "agency": f.agency_id, "dossier": f.dossier_id,
            "district": f.district, "officer": f.officer_id, "rpc": f.rpc,
            "reported": f.reported, "served": f.served, "first_at": rfc3339(f.first_at_ms),
            "received_at": if f.received_at_ms == 0 { String::new() } else { rfc3339(f.received_at_ms) },
        }))?;
    }
    out.finish()?;
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

/// A signed tree head as saved between runs of `vnpop audit verify --remote`.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(super) struct SavedHead {
    tree_size: u64,
    root_hash: String,
    signed_at_ms: i64,
    signature: String,
    public_key: String,
}

impl SavedHead {
    pub(super) fn from_message(head: &proto::SignedTreeHead) -> Self {
        SavedHead {
            tree_size: head.tree_size,
            root_hash: hex(&head.root_hash),
            signed_at_ms: head.signed_at_ms,
            signature: hex(&head.signature),
            public_key: hex(&head.public_key),
        }
    }

    /// The head, if its signature verifies with `key`.
    fn verified(&self, key: &crate::audit::keys::VerifyingKey) -> Result<SignedTreeHead, String> {
        let head = SignedTreeHead {
            tree_size: self.tree_size,
            root: hex_array("root_hash", &self.root_hash)?,
            signed_at_ms: self.signed_at_ms,
            signature: hex_array("signature", &self.signature)?,
        };
        if !head.verify(key) {
            return Err(format!(
                "the tree head of size {} is not signed by the log's key",
                head.tree_size
            ));
        }
        Ok(head)
    }
}

/// `N` bytes written in hex; the error names the tree head's `field`.
fn hex_array<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
    parse_hex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("the tree head's {field} is not {N} bytes of hex"))
}

/// `vnpop audit verify --remote`: the server recomputes its tree; this side checks the signed
/// head it ends on, and that the log extends the head saved by an earlier run.
async fn verify_remote(args: &VerifyArgs) -> Result<(), String> {
    let client = args.server.connect().await?;
    let peer = args.server.peer()?;
    let report = client
        .raw()
        .verify_log(proto::VerifyLogRequest {})
        .await
        .map_err(|s| peer.status_message(s))?
        .into_inner();
    if !report.intact {
        return Err(format!(
            "TAMPERED (found by the server): {} ({} events read before it)",
            report.problem, report.events
        ));
    }
    let head = report
        .latest_head
        .as_ref()
        .map(SavedHead::from_message)
        .ok_or("the server returned no tree head")?;
    let (key_text, pinned) = match &args.public_key {
        Some(key) => (key.clone(), true),
        None => (head.public_key.clone(), false),
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let current = head.verified(&key)?;
    let mut extends = String::new();
    if let Some(path) = &args.previous_head {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let previous: SavedHead =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if previous.public_key != hex(&key.to_bytes()) {
            return Err(format!(
                "the log's key changed since {}: {} then, {} now",
                path.display(),
                previous.public_key,
                hex(&key.to_bytes())
            ));
        }
        let previous = previous.verified(&key)?;
        if previous.tree_size > current.tree_size {
            return Err(format!(
                "the log shrank: {} events at the previous head, {} now",
                previous.tree_size, current.tree_size
            ));
        }
        let proof = client
            .consistency_proof(previous.tree_size, current.tree_size)
            .await
            .map_err(|e| e.to_string())?;
        let path_hashes: Option<Vec<Hash>> = proof
            .path
            .iter()
            .map(|h| h.as_slice().try_into().ok())
            .collect();
        let consistent = path_hashes.is_some_and(|hashes| {
            verify_consistency(
                previous.tree_size,
                current.tree_size,
                &previous.root,
                &current.root,
                &hashes,
            )
        });
        if !consistent {
            return Err(format!(
                "TAMPERED: the log of {} events does not extend the previous head of {} events \
                 (rewritten or removed history)",
                current.tree_size, previous.tree_size
            ));
        }
        extends = format!(
            ", extends the previous head of {} events",
            previous.tree_size
        );
    }
    if let Some(path) = &args.save_head {
        let text = serde_json::to_string_pretty(&head).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    super::output::print(&format!(
        "OK (server-side recomputation): {} events, {} signed tree heads checked, latest head size {} root {}{extends}\n",
        report.events, report.heads_checked, current.tree_size, head.root_hash
    ))?;
    if !pinned {
        eprintln!(
            "note: the head was checked against the key the server presented ({}); pin it with --public-key",
            head.public_key
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(district: &str, dossiers: u64, lookups: u64) -> RatioLine {
        RatioLine {
            group: vec![district.into()],
            dossiers,
            lookups: lookups + 2,
            served: lookups,
            dossiers_with_lookup: lookups,
            coverage: lookups as f64 / dossiers as f64,
            lookups_per_dossier: lookups as f64 / dossiers as f64,
            reported_not_served: 1,
            reported_failed: 1,
            dossiers_with_reported_lookup: lookups + 1,
            total: false,
            left_out: None,
        }
    }

    #[test]
    fn every_format_ends_a_grouped_report_with_its_marked_total_and_what_it_left_out() {
        let lines = [
            line("Huyện Bình Lục", 10, 1),
            line("Thành phố Phủ Lý", 30, 9),
        ];
        let by = ["district".to_owned()];
        let left_out = LeftOut {
            load_test_dossiers_left_out: 7,
            load_test_lookups_left_out: 5,
            load_test_served_left_out: 4,
        };
        let csv = render(&lines, left_out, &by, Format::Csv);
        assert_eq!(
            csv.lines().next(),
            Some("district,dossiers,lookups,lookups_per_dossier,dossiers_with_lookup,coverage,served,reported_not_served,reported_failed,dossiers_with_reported_lookup,load_test_dossiers_left_out,load_test_lookups_left_out,load_test_served_left_out")
        );
        assert_eq!(
            csv.lines().nth(1),
            Some("Huyện Bình Lục,10,3,0.100000,1,0.100000,1,1,1,2,,,")
        );
        assert_eq!(
            csv.lines().last(),
            Some("TOTAL,40,14,0.250000,10,0.250000,10,2,2,12,7,5,4")
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&lines, left_out, &by, Format::Json)).unwrap();
        assert_eq!(json[2]["total"], true);
        assert_eq!(json[2]["dossiers"], 40);
        assert_eq!(json[2]["load_test_dossiers_left_out"], 7);
        assert_eq!(json[2]["reported_failed"], 2);
        assert_eq!(json[0]["total"], false);
        assert!(json[0].get("load_test_dossiers_left_out").is_none());
        let table = render(&lines, left_out, &by, Format::Table);
        let last: Vec<&str> = table.lines().rev().take(2).collect();
        assert!(last[1].starts_with("TOTAL "), "{table}");
        assert_eq!(
            last[0],
            "left out (load test): 7 dossiers, 5 verifications reported, 4 served (--include-load-test counts them)"
        );
        // Ungrouped: one line, no total; it carries what was left out.
        let one = render(&lines[..1], LeftOut::default(), &[], Format::Csv);
        assert_eq!(one.lines().count(), 2, "{one}");
        assert!(one.ends_with(",0,0,0\n"), "{one}");
    }
}
