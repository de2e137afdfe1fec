//! Where the audit data comes from ([`Source`]: `--db FILE`, or the server with an auditor
//! certificate, [`ServerArgs`]) and the open [`Backend`] every subcommand asks.

use std::path::PathBuf;

use clap::Args;
use tonic::transport::Channel;

use super::filters::{self, Resolution};
use crate::cli::messages::{
    audit::source::Source as Says, client_error, common::Common, Message, Shown,
};
use crate::{
    audit::{answers, log::SUBJECT_KEY_FILE, query::AuditReader, recorder::subject_hash},
    client::{AuditClient, ClientTls},
    proto,
    proto::audit_trail_client::AuditTrailClient,
};

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
    pub(crate) async fn open(&self) -> Result<Backend, String> {
        let Some(path) = &self.db else {
            return Ok(Backend::Server(
                self.server.connect().await?,
                self.server.peer()?,
            ));
        };
        if !path.is_file() {
            let path = path.display().to_string();
            return Err(Says::NoLogFile { path }.text());
        }
        let reader =
            AuditReader::open_current(path, std::time::Duration::from_secs(10)).map_err(|e| {
                Says::LogFile {
                    path: path.display().to_string(),
                    error: e.to_string(),
                }
                .text()
            })?;
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
pub(crate) enum Backend {
    Server(AuditClient, Peer),
    File {
        reader: AuditReader,
        subject_key: Option<[u8; 32]>,
    },
}

/// The server asked, for error messages.
pub(crate) struct Peer {
    endpoint: String,
    tls: ClientTls,
}

impl Peer {
    /// The message of a failed gRPC call; a connection that failed says why.
    pub(crate) fn status_message(&self, status: tonic::Status) -> String {
        let language = crate::cli::language::language();
        match crate::client::ConnectionFailure::of(&status, Some(&self.tls)) {
            Some(cause) => Common::CannotConnect {
                endpoint: self.endpoint.clone(),
                cause: cause.in_language(language),
            }
            .text(),
            None => language.status_message(&status),
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
        E: Shown,
    {
        match self {
            Backend::Server(client, peer) => over_grpc(client.raw(), request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| peer.status_message(s)),
            Backend::File { reader, .. } => from_file(reader, request).map_err(|e| e.shown()),
        }
    }

    /// LookupRatio's answer, asked over the streamed answer (StreamLookupRatio) or made from the
    /// file's chunks: the rows are what the commands show, no message holds them all.
    pub(crate) async fn ratio(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<proto::LookupRatioResponse, String> {
        let mut answer = proto::LookupRatioResponse::default();
        match self {
            Backend::Server(client, peer) => {
                let chunks = client.raw().stream_lookup_ratio(request).await;
                each_message(chunks, peer, |chunk| {
                    if let Some(summary) = chunk.summary {
                        answer = summary;
                    }
                    answer.rows.extend(chunk.rows);
                    Ok(())
                })
                .await?;
            }
            Backend::File { reader, .. } => {
                let query = answers::ratio_query(request).map_err(|e| e.shown())?;
                answers::lookup_ratio_chunks(reader, &query, &mut |chunk| {
                    if let Some(summary) = chunk.summary {
                        answer = summary;
                    }
                    answer.rows.extend(chunk.rows);
                    true
                })
                .map_err(|e| e.shown())?;
            }
        }
        Ok(answer)
    }

    pub(crate) async fn unverified(
        &self,
        request: proto::ListUnverifiedDossiersRequest,
    ) -> Result<proto::ListUnverifiedDossiersResponse, String> {
        let grpc = |mut c: AuditTrailClient<Channel>, r| async move {
            c.list_unverified_dossiers(r).await
        };
        self.ask(request, grpc, answers::unverified_dossiers).await
    }

    /// Reconcile's answer as it comes: `summary` with the counts (its findings empty) once the
    /// comparison is done, then `findings` with each chunk of findings, oldest first — over the
    /// streamed answer (StreamReconcile) or from the file's chunks.
    pub(crate) async fn reconcile(
        &self,
        request: proto::ReconcileRequest,
        summary: impl FnOnce(proto::ReconcileResponse) -> Result<(), String>,
        mut findings: impl FnMut(Vec<proto::ReconcileFinding>) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Backend::Server(client, peer) => {
                let chunks = client.raw().stream_reconcile(request).await;
                let mut summary = Some(summary);
                each_message(chunks, peer, |chunk| {
                    match (chunk.summary, summary.take()) {
                        (Some(counts), Some(summary)) => summary(counts),
                        (None, None) => findings(chunk.findings),
                        _ => Err(Says::OutOfOrder.text()),
                    }
                })
                .await?;
                match summary {
                    None => Ok(()),
                    Some(_) => Err(Says::EndedBeforeCounts.text()),
                }
            }
            Backend::File { reader, .. } => {
                let query = answers::reconcile_query(request).map_err(|e| e.shown())?;
                let mut summary = Some(summary);
                until_failed(
                    |send| answers::reconcile_chunks(reader, &query, send),
                    |e| e.shown(),
                    |chunk| match chunk.summary {
                        Some(counts) => summary.take().map_or(Ok(()), |s| s(counts)),
                        None => findings(chunk.findings),
                    },
                )
            }
        }
    }

    pub(crate) async fn citizen(
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
            let key = key.ok_or_else(|| {
                Says::NoSubjectKey {
                    file: SUBJECT_KEY_FILE.into(),
                }
                .text()
            })?;
            answers::citizen_accesses(reader, r, |cccd| subject_hash(key, cccd))
                .map_err(|e| e.shown())
        };
        self.ask(request, grpc, from_file).await
    }

    /// The events matching `request`, in log order, each handed to `each` as it arrives.
    pub(crate) async fn events(
        &self,
        request: proto::ListEventsRequest,
        mut each: impl FnMut(proto::LoggedEvent) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Backend::Server(client, peer) => {
                each_message(client.raw().list_events(request).await, peer, each).await
            }
            Backend::File { reader, .. } => {
                let filter = answers::event_filter(request).map_err(|e| e.shown())?;
                until_failed(
                    |send| reader.events(&filter, send),
                    |e| e.to_string(),
                    |event| each(answers::logged_event(event)),
                )
            }
        }
    }
}

/// Hands each message of a streamed answer to `each`, a refusal in `peer`'s words; the first
/// error `each` returns ends it.
pub(crate) async fn each_message<T>(
    answer: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
    peer: &Peer,
    mut each: impl FnMut(T) -> Result<(), String>,
) -> Result<(), String> {
    let mut stream = answer.map_err(|s| peer.status_message(s))?.into_inner();
    while let Some(message) = stream.message().await.map_err(|s| peer.status_message(s))? {
        each(message)?;
    }
    Ok(())
}

/// Runs a walk over the log file that stops when its callback answers false, with `each` as
/// the callback: the first error `each` returns stops the walk and is the result; the walk's
/// own error is put in words by `shown`.
pub(crate) fn until_failed<T, E>(
    walk: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), E>,
    shown: impl FnOnce(E) -> String,
    mut each: impl FnMut(T) -> Result<(), String>,
) -> Result<(), String> {
    let mut failed = None;
    walk(&mut |item| match each(item) {
        Ok(()) => true,
        Err(error) => {
            failed = Some(error);
            false
        }
    })
    .map_err(shown)?;
    failed.map_or(Ok(()), Err)
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
    pub(crate) async fn connect(&self) -> Result<AuditClient, String> {
        AuditClient::connect(&self.server, Some(self.peer()?.tls))
            .await
            .map_err(|e| client_error(&e))
    }

    pub(crate) fn peer(&self) -> Result<Peer, String> {
        Ok(Peer {
            endpoint: self.server.clone(),
            tls: ClientTls::from_files(&self.ca, &self.cert, &self.key)
                .map_err(crate::cli::output::tls_files_error)?,
        })
    }
}

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
    pub(crate) async fn resolve_filter(
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
        let (flag, group) = (flag.to_owned(), group.to_owned());
        match filters::resolve(&typed, known.iter().map(String::as_str)) {
            Resolution::Exact => Ok(Some(typed)),
            Resolution::Same(name) => {
                let said = Says::TakenAs {
                    flag,
                    typed,
                    name: name.clone(),
                };
                eprintln!("{}", said.text());
                Ok(Some(name))
            }
            Resolution::Ambiguous(names) => Err(Says::Ambiguous { flag, typed, names }.text()),
            Resolution::Unknown => {
                let said = if known.is_empty() {
                    Says::NoneInPeriod {
                        flag,
                        typed: typed.clone(),
                        group,
                    }
                } else {
                    Says::NoMatch {
                        flag,
                        typed: typed.clone(),
                        group,
                        known,
                    }
                };
                eprintln!("{}", said.text());
                Ok(Some(typed))
            }
        }
    }
}
