//! `vnpop clean`: a registry file (CSV) verified against the population as one data-cleaning
//! job, through the client library's [`CleaningClient`]; one verdict row per registry row, in
//! input order, in the verdicts file; a summary at the end.
//!
//! The file is read twice: first checked whole — UTF-8 line by line ([`encoding`]), the header's
//! columns ([`csv`]) — so a file that cannot be cleaned is refused before anything is sent; then
//! streamed: each row becomes a record ([`record`]) or, malformed, a verdict of its own; records
//! go in batches (moved, never copied) while the verdicts of earlier batches are written
//! straight to a buffered file ([`output`]) and counted for the summary ([`summary`]), so memory
//! stays flat whatever the file's size: rows are read into buffers reused from row to row, at
//! most a few chunks of rows are between the reader and the writer, and the summary keeps
//! counts and a few examples. The verdicts file is the job's progress record: `--resume`
//! continues after its last complete row, and the server records each record's verification
//! once (its id is the job's and the record's), so a resumed job verifies nothing twice.

pub(crate) mod csv;
pub(crate) mod encoding;
mod output;
mod record;
mod summary;

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufReader, BufWriter, Write},
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use self::{
    csv::{Header, Rows},
    output::{write_local_row, write_server_row},
    record::Entry,
    summary::{Summary, Tally},
};
use crate::{
    cli::{
        messages::{clean::Clean, client_error, Message},
        output::{file_error, print, tls_files_error, FileAction},
    },
    client::{ChannelBuilder, CleaningClient, ClientTls},
    proto,
};

/// `vnpop clean`'s flags.
#[derive(Debug, Clone, Args)]
pub struct CleanArgs {
    /// The registry file: CSV with the header `record_id,number,full_name,date_of_birth,sex`
    /// (and optionally `address`), UTF-8.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// The verdicts file to write (CSV, one row a registry row, in input order).
    #[arg(long = "out", value_name = "FILE")]
    pub output: PathBuf,
    /// Continue the job the verdicts file records, after its last complete row.
    #[arg(long)]
    pub resume: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// The job's id (1 to 60 characters, no `:`): with a record id it names the record's
    /// verification, so a resumed job must keep it. Default: the input file's name.
    #[arg(long, env = "VNPOP_CLEAN_JOB_ID")]
    pub job_id: Option<String>,
    /// Why the registry is cleaned (shown to citizens who ask who looked them up).
    #[arg(long, env = "VNPOP_CLEAN_PURPOSE", default_value = "làm sạch dữ liệu")]
    pub purpose: String,
    /// The officer responsible for the job.
    #[arg(long, env = "VNPOP_CLEAN_OFFICER", default_value = "data-team")]
    pub officer: String,
    /// Records a batch (at most 1,000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// The vnpop server.
    #[arg(long, env = "VNPOP_SERVER", default_value = "https://localhost:50051")]
    pub server: String,
    /// CA certificate the server's certificate chains to.
    #[arg(long, default_value = "certs/ca.pem")]
    pub ca: PathBuf,
    /// The agency's client certificate (its directory entry must allow cleaning).
    #[arg(long, default_value = "certs/hospital-bach-mai.pem")]
    pub cert: PathBuf,
    /// The agency's private key.
    #[arg(long, default_value = "certs/hospital-bach-mai.key")]
    pub key: PathBuf,
    /// No progress bar (it shows only on a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

/// What a finished job did.
#[derive(Debug)]
pub struct CleanReport {
    /// Rows written by this run (a resumed job's earlier rows not counted).
    pub written: u64,
    /// Rows the verdicts file held before (with `--resume`).
    pub resumed_after: u64,
    /// This run's time.
    pub elapsed: Duration,
    summary: Summary,
}

impl CleanReport {
    /// The summary as JSON.
    pub fn summary_json(&self) -> serde_json::Value {
        self.summary.json()
    }
}

/// Runs `vnpop clean`.
pub fn run(args: CleanArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = runtime.block_on(clean(&args))?;
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_string_pretty(&report.summary.json()).expect("JSON");
        std::fs::write(path, text + "\n").map_err(|e| file_error(path, FileAction::Write, e))?;
    }
    let verified = Clean::Verified {
        rows: report.written,
        seconds: report.elapsed.as_secs_f64(),
        before: report.resumed_after,
    };
    eprintln!("{}", verified.text());
    print(&report.summary.text())
}

/// Checks the whole file (UTF-8, header) and counts its rows, before anything is sent.
fn check_file(args: &CleanArgs) -> Result<(Header, u64), String> {
    let file = File::open(&args.input).map_err(|e| file_error(&args.input, FileAction::Read, e))?;
    let mut rows = Rows::new(BufReader::with_capacity(READ_BUFFER, file));
    let fail = |error| refused(&args.input, error);
    let header = rows
        .next_row()
        .map_err(fail)?
        .ok_or_else(|| fail(csv::FileError::Empty))?;
    let header = Header::parse(&header).map_err(fail)?;
    let mut count = 0;
    while rows.next_row().map_err(fail)?.is_some() {
        count += 1;
    }
    Ok((header, count))
}

/// The registry file `path` refused, in the CLI's language.
fn refused(path: &std::path::Path, error: csv::FileError) -> String {
    Clean::Refused {
        path: path.display().to_string(),
        error,
    }
    .text()
}

/// The job's id: the flag, or the input file's name without its extension.
fn job_id(args: &CleanArgs) -> String {
    args.job_id.clone().unwrap_or_else(|| {
        args.input
            .file_stem()
            .map(|s| s.to_string_lossy().replace(':', "-"))
            .unwrap_or_else(|| "clean".into())
    })
}

/// The registry file's read buffer (bytes).
const READ_BUFFER: usize = 1 << 20;

/// What a row of the file became, in a [`Chunk`].
#[derive(Debug)]
enum Slot {
    /// Its record went to the server (in the chunk's batch), whose verdicts come back in the
    /// same order.
    Sent,
    /// It could not be sent: its verdict is written here.
    Local(Entry),
}

/// One chunk of the file in order: each row's line and what it became. A chunk's sent records
/// are one batch, moved to the server without a copy.
type Chunk = Vec<(u64, Slot)>;

/// Runs the job: the file checked, then streamed to the server and the verdicts written.
pub async fn clean(args: &CleanArgs) -> Result<CleanReport, String> {
    let (header, total) = check_file(args)?;
    let (file, progress) = output::open(&args.output, args.resume)?;
    let tls = ClientTls::from_files(&args.ca, &args.cert, &args.key).map_err(tls_files_error)?;
    let channel = ChannelBuilder::new(&args.server, Some(tls))
        .connect()
        .await
        .map_err(|e| client_error(&e))?;
    let client = CleaningClient::from_channel(channel);
    let job = proto::CleaningJob {
        job_id: job_id(args),
        purpose: args.purpose.clone(),
        officer_id: args.officer.clone(),
    };
    let bar = progress_bar(total, progress.done, args.quiet);
    let started = Instant::now();

    // The reader: rows into chunks, each chunk's records as one batch.
    let (batches, batches_rx) = mpsc::channel::<Vec<proto::CleanRecord>>(8);
    let (chunks, mut chunks_rx) = mpsc::channel::<Chunk>(16);
    let input = args.input.clone();
    let batch = usize::from(args.batch);
    let skip_through = progress.last_line;
    let reader = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let file = File::open(&input).map_err(|e| file_error(&input, FileAction::Read, e))?;
        let mut rows = Rows::new(BufReader::with_capacity(READ_BUFFER, file));
        let fail = |error| refused(&input, error);
        rows.next_row().map_err(fail)?; // the header, checked
        let mut chunk = Chunk::new();
        let mut records = Vec::with_capacity(batch);
        let send = |chunk: &mut Chunk, records: &mut Vec<proto::CleanRecord>| {
            let records = std::mem::replace(records, Vec::with_capacity(batch));
            let sent = records.is_empty() || batches.blocking_send(records).is_ok();
            sent && chunks.blocking_send(std::mem::take(chunk)).is_ok()
        };
        while let Some(row) = rows.next_row().map_err(fail)? {
            if row.line <= skip_through {
                continue;
            }
            match record::entry(&header, &row) {
                Entry::Send(record) => {
                    records.push(record);
                    chunk.push((row.line, Slot::Sent));
                }
                malformed => chunk.push((row.line, Slot::Local(malformed))),
            }
            if records.len() >= batch && !send(&mut chunk, &mut records) {
                return Ok(()); // the job ended early: the writer says why
            }
        }
        if !chunk.is_empty() {
            send(&mut chunk, &mut records);
        }
        Ok(())
    });

    let mut verdicts = client
        .clean(job, batches_rx)
        .await
        .map_err(|e| client_error(&e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    // The rows written before (a resumed job), then each row as it is written.
    let mut summary = if progress.done > 0 {
        Summary::of_file(&args.output)?
    } else {
        Summary::default()
    };
    let mut written = 0u64;
    let mut pending = VecDeque::new();
    let write_error = |e| file_error(&args.output, FileAction::Write, e);
    let mut failure = None;
    'chunks: while let Some(chunk) = chunks_rx.recv().await {
        for (line, slot) in chunk {
            match &slot {
                Slot::Local(entry) => {
                    write_local_row(&mut out, line, entry).map_err(write_error)?;
                    if let Entry::Malformed {
                        record_id, field, ..
                    } = entry
                    {
                        summary.add(&Tally::of_local(line, record_id, field));
                    }
                }
                Slot::Sent => {
                    if pending.is_empty() {
                        match verdicts.next_batch().await {
                            Ok(Some(batch)) => pending.extend(batch),
                            Ok(None) => {
                                failure = Some(Clean::EndedEarly.text());
                                break 'chunks;
                            }
                            Err(e) => {
                                failure = Some(client_error(&e));
                                break 'chunks;
                            }
                        }
                    }
                    let Some(verdict) = pending.pop_front() else {
                        failure = Some(Clean::EmptyBatch.text());
                        break 'chunks;
                    };
                    write_server_row(&mut out, line, &verdict).map_err(write_error)?;
                    summary.add(&Tally::of_verdict(line, &verdict));
                }
            }
            written += 1;
        }
        // A whole chunk is in the file: it is progress a resumed job keeps.
        out.flush().map_err(write_error)?;
        bar.set_position(progress.done + written);
    }
    out.flush().map_err(write_error)?;
    bar.finish_and_clear();
    drop(chunks_rx);
    let elapsed = started.elapsed();
    if let Some(failure) = failure {
        return Err(Clean::Stopped {
            rows: progress.done + written,
            failure,
        }
        .text());
    }
    reader.await.map_err(|e| e.to_string())??;
    Ok(CleanReport {
        written,
        resumed_after: progress.done,
        elapsed,
        summary,
    })
}

/// The progress bar on stderr (a terminal only): records, records per second, time left.
fn progress_bar(total: u64, done: u64, quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(&Clean::Bar.text()) {
        bar.set_style(style);
    }
    bar.set_position(done);
    bar
}
