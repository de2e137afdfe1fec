//! Audit log benchmark: durable ingest throughput (group commit, fsync per group) against a
//! baseline of the same events only encoded and hashed in the same run, then the time of the
//! auditors' queries, reconciliation and Merkle proofs over the whole log: the measuring
//! instruments of issue 27 ("national-scale audit"), whose targets it prints beside its figures.
//!
//! Ingest: eight producers append batches of a thousand events through `AuditLog::append`
//! while a sampler follows, every 5 ms, both the durable position (events whose append was
//! acknowledged) and the queryable one (`AuditLog::applied`: the projector's, what an auditor's
//! query sees). Printed: durable ingest over the whole run; durable and queryable ingest over
//! the whole run (until the projector has applied the last event), over the first tenth of the
//! events and over the last tenth, and their ratio (the flatness: a log that slows as it grows
//! has a last tenth slower than its first); how far behind the projector was when the last
//! append was acknowledged; this process's resident memory at the end of ingest (VmRSS, and its
//! peak VmHWM, from `/proc/self/status`: the log's threads and the producers, which hold only
//! the batches in flight), and what the log's own structures hold of it ([`AuditLog::memory`]:
//! the dedup map, every dossier's counts, the unverified list, the rollups).
//!
//! Disk: every file of the data directory per event, with the log open and at rest, then with
//! the log closed (both SQLite files checkpointed, their write-ahead logs gone), file by file.
//!
//! Queries, each timed as the AuditTrail service answers it (minus gRPC and the role check):
//! `AuditLog::caught_up` (read-your-writes), a new `AuditReader` on the log, then the
//! `audit::answers` function from the protobuf request to the protobuf answer (streamed answers
//! consumed chunk by chunk) — so a redesign of what is behind those public functions is measured
//! by this benchmark unchanged. `VNPOP_BENCH_QUERY_RUNS` (default 5) interleaved rounds, each
//! query once a round; each figure the median of its rounds. The queries: lookup ratio over the
//! whole log in total, by district, by district × month and by officer (StreamLookupRatio);
//! one citizen's history (CitizenAccessLog, the `audit citizen` command: the citizen's subject
//! is the keyed hash of a CCCD number, as the server records it); the unverified dossiers of one
//! district in one month, every page of 1,000 (ListUnverifiedDossiers, each page a query of its
//! own as the `audit unverified` command asks them); reconciliation of the whole log
//! (StreamReconcile, keeping the service's default 1,000 findings, every finding counted;
//! printed as dossiers reconciled a second). Then, once each, inclusion and consistency proofs.
//!
//! Rebuild: with the log closed, the query tables' files are deleted and the log opened again;
//! timed until the projector has applied every event (events a second; the open's part, which
//! checks the log and reads it once, printed beside), and the ratio total checked against the
//! one before.
//!
//! Last, the log is served (an in-process server with mTLS on a loopback port) and the first
//! million events (`VNPOP_BENCH_EXPORTED`, default 1,000,000) exported through ListEvents by the
//! client library, read as they arrive: the time, and how much the process's resident memory
//! (VmRSS: the server's and the client's) grew over what it was before the export.
//!
//! The events: every fourth is a dossier (one every 3 s, six districts, forty officers), the
//! others lookups for it — one reported by the client and served by the server, and a third
//! call that failed before reaching the server (for every 50th dossier, a reported lookup the
//! server never served: a finding for reconciliation). One dossier in twenty has no served
//! lookup, only reported failures (an unverified dossier). Each lookup is of one of
//! `events / 16` citizens, picked at random, so a citizen's history holds about twelve
//! accesses spread over the whole log.
//!
//! A final table gives each of issue 27's targets: figure, measured, target, met.
//!
//! `cargo bench --bench audit` (events: `VNPOP_BENCH_EVENTS`, default 10,000,000; the data
//! directory is made under `VNPOP_BENCH_DIR`, default `.`, and removed at the end unless
//! `VNPOP_BENCH_KEEP` is set).
//!
//! Its parts, in `benches/audit/`: `workload` (the events), `ingest`, `queries` (and the
//! proofs), `rest` (disk, restarts and rebuilds), `export`, and `measure` (memory and files).

mod common;
#[path = "audit/export.rs"]
mod export;
#[path = "audit/ingest.rs"]
mod ingest;
#[path = "audit/measure.rs"]
mod measure;
#[path = "audit/queries.rs"]
mod queries;
#[path = "audit/rest.rs"]
mod rest;
#[path = "audit/workload.rs"]
mod workload;

use std::{sync::Arc, time::Duration};

use vnpop::audit::{lock::DataDirLock, AuditLog};

use workload::Workload;

/// The allocator the `vnpop` binary uses, so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 1_000;
const PRODUCERS: usize = 8;
/// How often the sampler reads the durable and queryable positions.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Issue 27's targets.
const INGEST_TARGET: f64 = 300_000.0;
const FLATNESS_TARGET: f64 = 0.8;
const RATIO_TARGET_MS: f64 = 50.0;
const CITIZEN_TARGET_MS: f64 = 10.0;
const UNVERIFIED_TARGET_MS: f64 = 100.0;
const RECONCILE_TARGET: f64 = 500_000.0;
const REBUILD_TARGET: f64 = 1_000_000.0;
const DISK_TARGET: f64 = 128.0;
const RSS_TARGET: u64 = 3 << 30;

/// A figure of issue 27's table.
struct Target {
    figure: String,
    measured: String,
    target: &'static str,
    met: bool,
}

fn main() {
    let total: usize = common::env_number("VNPOP_BENCH_EVENTS", 10_000_000) as usize;
    let runs = common::env_number("VNPOP_BENCH_QUERY_RUNS", 5).max(1) as usize;
    println!("vnpop audit benchmark: {total} events, batches of {BATCH}, {PRODUCERS} producers");
    let workload = Arc::new(Workload::new(total));
    let mut targets = Vec::new();

    // Baseline: encode and hash the same events, no storage.
    let baseline = ingest::baseline(&workload, total);

    let dir = tempfile::tempdir_in(std::env::var("VNPOP_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temporary directory");
    let log =
        Arc::new(AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).expect("audit log"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (rss, peak) = ingest::ingest(&log, &workload, total, &runtime, baseline, &mut targets);

    rest::disk_open(dir.path(), total);

    // The auditor's questions, over the whole log.
    let period = queries::Period::of(total);
    let ratio_before = queries::queries(&log, &period, runs, &mut targets);
    queries::proofs(&log, total);
    // Closed: every connection gone, so both files are checkpointed and their write-ahead logs
    // removed.
    drop(Arc::into_inner(log).expect("the only handle left"));

    let at_rest = rest::disk_closed(dir.path(), total, (rss, peak), &mut targets);
    rest::reopen_all(
        dir.path(),
        total,
        &period,
        &ratio_before,
        &at_rest,
        &mut targets,
    );

    export::export_through_the_server(dir.path(), &runtime);

    println!();
    println!("issue 27 targets, {total} events (queries: medians of {runs} runs):");
    println!(
        "| {:<46} | {:>20} | {:>20} | {:>4} |",
        "figure", "measured", "target", "met?"
    );
    println!("|{:-<48}|{:->22}|{:->22}|{:->6}|", "", "", "", "");
    for t in &targets {
        println!(
            "| {:<46} | {:>20} | {:>20} | {:>4} |",
            t.figure,
            t.measured,
            t.target,
            if t.met { "yes" } else { "NO" }
        );
    }
    if std::env::var_os("VNPOP_BENCH_KEEP").is_some() {
        println!("data directory kept: {}", dir.keep().display());
    }
}
