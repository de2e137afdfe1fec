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

mod common;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use chrono::{Datelike, Days, Months, NaiveDate};
use vnpop::{
    audit::{
        answers,
        lock::DataDirLock,
        log::{CITIZEN_FILE, QUERY_FILE, STORED_IDS_DIR},
        merkle::{self, leaf_hash, Subtrees},
        query::AuditReader,
        recorder::subject_hash,
        AuditEvent, AuditLog, EventKind, EventSource,
    },
    proto,
    vocabulary::{Channel, Outcome, Rpc, Subject},
};

/// The allocator the `vnpop` binary uses, so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 1_000;
const PRODUCERS: usize = 8;
const DISTRICTS: [&str; 6] = [
    "Thành phố Phủ Lý",
    "Thị xã Duy Tiên",
    "Huyện Kim Bảng",
    "Huyện Thanh Liêm",
    "Huyện Bình Lục",
    "Huyện Lý Nhân",
];
/// 2023-01-01T00:00:00+07:00.
const START_MS: i64 = 1_672_506_000_000;
const DAY_MS: i64 = 86_400_000;
/// Milliseconds between two dossiers.
const DOSSIER_EVERY_MS: i64 = 3_000;
/// One dossier in this many has no served lookup.
const UNVERIFIED_EVERY: usize = 20;
/// Events per citizen looked up (three in four of them lookups).
const EVENTS_PER_CITIZEN: usize = 16;
/// The key subjects are hashed with (the data directory's `audit-subject.key` in a server).
const SUBJECT_KEY: [u8; 32] = [0x27; 32];
/// The citizen whose history is asked for.
const CITIZEN_CCCD: &str = "001090012345";
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

/// A 64-bit mix (SplitMix64's finaliser): the benchmark's randomness, the same every run.
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The events of one run (see the module documentation).
struct Workload {
    citizens: u64,
    /// The citizen whose history is asked for, and its subject (the keyed hash of its number).
    chosen: u64,
    chosen_subject: Subject,
}

impl Workload {
    fn new(total: usize) -> Self {
        let citizens = (total / EVENTS_PER_CITIZEN).max(1) as u64;
        // A lookup (odd) in the middle of the log.
        let chosen = mix(((total / 2) | 1) as u64) % citizens;
        Workload {
            citizens,
            chosen,
            chosen_subject: subject_hash(&SUBJECT_KEY, CITIZEN_CCCD),
        }
    }

    /// The keyed subject of the citizen event `n` looks up.
    fn subject(&self, n: usize) -> Subject {
        let citizen = mix(n as u64) % self.citizens;
        if citizen == self.chosen {
            self.chosen_subject
        } else {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&mix(citizen ^ 0x5eed).to_be_bytes());
            Subject(bytes)
        }
    }

    /// Event `n`.
    fn event(&self, n: usize) -> AuditEvent {
        let dossier = n / 4;
        let district = DISTRICTS[dossier % DISTRICTS.len()];
        // Picked at random, so that every district and officer has some.
        let unverified = mix(dossier as u64 ^ 0xd055_1e25).is_multiple_of(UNVERIFIED_EVERY as u64);
        let served = n % 4 == 2 && !unverified;
        let kind = if n.is_multiple_of(4) {
            EventKind::Dossier {
                procedure: format!("1.00{}", dossier % 7),
                channel: if dossier.is_multiple_of(3) {
                    Channel::Online
                } else {
                    Channel::Desk
                },
            }
        } else {
            let outcome = if unverified {
                if n % 4 == 2 {
                    "deadline_exceeded"
                } else {
                    "unavailable"
                }
            } else if n % 4 == 3 && !dossier.is_multiple_of(50) {
                "unavailable"
            } else {
                "found"
            };
            EventKind::Verification {
                rpc: Rpc::LookupByCccd,
                outcome: Outcome::parse(outcome),
                purpose: "kiểm tra thông tin công dân".into(),
                subject: Some(self.subject(n)),
            }
        };
        AuditEvent {
            event_id: format!("bench-{n}"),
            source: if served {
                EventSource::Server
            } else {
                EventSource::Client
            },
            dossier_id: format!("H35-{dossier:09}"),
            agency_id: "one-stop-phuong-ba-dinh".into(),
            district: district.into(),
            officer_id: format!("cb{:02}", dossier % 40),
            occurred_at_ms: START_MS + (dossier as i64) * DOSSIER_EVERY_MS,
            load_test: false,
            commune: None,
            province: None,
            call_id: None,
            kind,
        }
    }
}

/// The positions at one moment of ingest.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    /// Seconds since ingest began.
    at: f64,
    /// Events whose append was acknowledged (durable).
    durable: u64,
    /// Events the projector has applied (queryable).
    applied: u64,
}

/// When `position` first reached `target` (seconds since ingest began), interpolated between
/// the samples either side.
fn reached(samples: &[Sample], target: u64, position: fn(&Sample) -> u64) -> f64 {
    let mut before = Sample::default();
    for sample in samples {
        let (from, to) = (position(&before), position(sample));
        if to >= target {
            if to == from {
                return sample.at;
            }
            let share = (target - from) as f64 / (to - from) as f64;
            return before.at + share * (sample.at - before.at);
        }
        before = *sample;
    }
    f64::NAN
}

/// Rates (events/s) of `position` over the whole run, the first tenth and the last tenth.
fn rates(samples: &[Sample], total: u64, position: fn(&Sample) -> u64) -> (f64, f64, f64) {
    let tenth = (total / 10).max(1);
    let end = reached(samples, total, position);
    let first = reached(samples, tenth, position);
    let last_began = reached(samples, total - tenth, position);
    (
        total as f64 / end,
        tenth as f64 / first,
        tenth as f64 / (end - last_began),
    )
}

/// The Vietnam day `ms` falls in, as the auditor's requests write it.
fn day(ms: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).expect("date")
        + Days::new(((ms - START_MS) / DAY_MS) as u64)
}

/// A figure of issue 27's table.
struct Target {
    figure: String,
    measured: String,
    target: &'static str,
    met: bool,
}

/// One auditor's question: a name and how to ask it of the log; the answer's rows.
type Question<'a> = (&'static str, Box<dyn Fn(&AuditLog) -> u64 + 'a>);

/// Asks as the AuditTrail service does: waits until the query tables hold everything
/// acknowledged, opens a reader on the log, and hands it to `answer`.
fn ask<T>(log: &AuditLog, answer: impl FnOnce(&AuditReader) -> T) -> T {
    let reader = log.caught_up_reader_blocking().expect("reader");
    answer(&reader)
}

/// This process's `field` (`VmRSS`, `VmHWM`) from `/proc/self/status`, bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status
                .lines()
                .find(|l| l.split(':').next() == Some(field))?
                .to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .unwrap_or(0)
        * 1024
}

/// Every file under `dir`, with its size, by name.
fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("data directory")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let metadata = entry.metadata().ok()?;
            let size = if metadata.is_dir() {
                files(&entry.path()).iter().map(|(_, size)| size).sum()
            } else {
                metadata.len()
            };
            Some((entry.file_name().to_string_lossy().into_owned(), size))
        })
        .collect();
    files.sort();
    files
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 30)
}

fn main() {
    let total: usize = common::env_number("VNPOP_BENCH_EVENTS", 10_000_000) as usize;
    let runs = common::env_number("VNPOP_BENCH_QUERY_RUNS", 5).max(1) as usize;
    println!("vnpop audit benchmark: {total} events, batches of {BATCH}, {PRODUCERS} producers");
    let workload = Arc::new(Workload::new(total));
    let mut targets = Vec::new();

    // Baseline: encode and hash the same events, no storage.
    let baseline_n = total.min(1_000_000);
    let started = Instant::now();
    for n in 0..baseline_n {
        std::hint::black_box(leaf_hash(&vnpop::audit::record::leaf_bytes(
            n as u64,
            &workload.event(n),
            1_700_000_000_000,
        )));
    }
    let baseline = baseline_n as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir_in(std::env::var("VNPOP_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temporary directory");
    let log =
        Arc::new(AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).expect("audit log"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let durable = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let sampler = {
        let (log, durable, sampling) = (
            Arc::clone(&log),
            Arc::clone(&durable),
            Arc::clone(&sampling),
        );
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                // The applied position first: it never runs ahead of the durable one.
                let applied = log.applied();
                samples.push(Sample {
                    at: started.elapsed().as_secs_f64(),
                    durable: durable.load(Ordering::Relaxed),
                    applied,
                });
                std::thread::sleep(SAMPLE_EVERY);
            }
            samples
        })
    };
    runtime.block_on(async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (log, durable, workload) = (
                    Arc::clone(&log),
                    Arc::clone(&durable),
                    Arc::clone(&workload),
                );
                tokio::spawn(async move {
                    let mut next = p * BATCH;
                    while next < total {
                        let end = (next + BATCH).min(total);
                        let receipt = log
                            .append((next..end).map(|n| workload.event(n)).collect())
                            .await
                            .expect("append");
                        durable.fetch_add(
                            (receipt.appended + receipt.duplicates) as u64,
                            Ordering::Relaxed,
                        );
                        next += PRODUCERS * BATCH;
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
    });
    let ingest_time = started.elapsed();
    let behind = total as u64 - log.applied();
    let ingest = total as f64 / ingest_time.as_secs_f64();
    // The projector may take longer than a query's patience to follow ten million events:
    // follow its position rather than wait as a query does (which would hurry it).
    let mut said = Instant::now();
    while log.applied() < total as u64 {
        if said.elapsed() >= Duration::from_secs(30) {
            eprintln!("still projecting: {} of {total} applied", log.applied());
            said = Instant::now();
        }
        std::thread::sleep(SAMPLE_EVERY / 5);
    }
    let projected_time = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let mut samples = sampler.join().expect("sampler");
    samples.push(Sample {
        at: projected_time.as_secs_f64(),
        durable: total as u64,
        applied: total as u64,
    });
    let (rss, peak) = (status_bytes("VmRSS"), status_bytes("VmHWM"));
    let memory = log.memory();

    println!();
    println!("{:<58} {:>14} {:>8}", "ingest", "events/s", "ratio");
    println!(
        "{:<58} {:>14.0} {:>8.2}",
        "encode + leaf hash only (baseline)", baseline, 1.0
    );
    println!(
        "{:<58} {:>14.0} {:>8.2}",
        "durable append (SQLite WAL, fsync per group, signed head)",
        ingest,
        ingest / baseline
    );
    let queryable = total as f64 / projected_time.as_secs_f64();
    println!(
        "{:<58} {:>14.0} {:>8.2}",
        "… and applied to the query tables (projector caught up)",
        queryable,
        queryable / baseline
    );
    let (_, durable_first, durable_last) = rates(&samples, total as u64, |s| s.durable);
    let (_, queryable_first, queryable_last) = rates(&samples, total as u64, |s| s.applied);
    for (name, rate) in [
        ("durable, first tenth of the events", durable_first),
        ("durable, last tenth of the events", durable_last),
        (
            "queryable (applied), first tenth of the events",
            queryable_first,
        ),
        (
            "queryable (applied), last tenth of the events",
            queryable_last,
        ),
    ] {
        println!("{name:<58} {rate:>14.0} {:>8.2}", rate / baseline);
    }
    let flatness = queryable_last / queryable_first;
    println!(
        "{:<58} {:>14.2}",
        "flatness: queryable last tenth / first tenth", flatness
    );
    println!(
        "{:<58} {:>14.2}",
        "flatness: durable last tenth / first tenth",
        durable_last / durable_first
    );
    println!(
        "{:<58} {:>14}",
        "projector behind at the last acknowledgement (events)", behind
    );
    println!(
        "{:<58} {:>14.3}",
        "… caught up after (seconds)",
        (projected_time - ingest_time).as_secs_f64()
    );
    println!(
        "{:<58} {:>14.3}",
        "resident memory at the end of ingest, VmRSS (GiB)",
        gib(rss)
    );
    println!(
        "{:<58} {:>14.3}",
        "… its peak so far, VmHWM (GiB)",
        gib(peak)
    );
    for (part, bytes) in [
        ("… the log's structures, estimated (GiB)", memory.total()),
        ("    stored ids (dedup map)", memory.stored_ids),
        ("    every dossier's counts", memory.state.dossiers),
        ("    unverified dossiers", memory.state.unverified),
        ("    rollups and texts", memory.state.rollups),
    ] {
        println!("{part:<58} {:>14.3}", gib(bytes));
    }
    targets.push(Target {
        figure: "ingest, durable + queryable, whole run".into(),
        measured: format!("{queryable:.0} ev/s"),
        target: "≥ 300,000 ev/s",
        met: queryable >= INGEST_TARGET,
    });
    targets.push(Target {
        figure: "flatness, queryable last tenth / first".into(),
        measured: format!("{flatness:.2}"),
        target: "≥ 0.8",
        met: flatness >= FLATNESS_TARGET,
    });

    // At rest: the projector truncates the query file's write-ahead log once nothing has come
    // for a second (it grew to a batch's pages while catching up).
    std::thread::sleep(Duration::from_secs(2));
    let bytes: u64 = files(dir.path()).iter().map(|(_, size)| size).sum();
    println!(
        "{:<58} {:>14.1}",
        "disk per event, every file of the data directory (bytes)",
        bytes as f64 / total as f64
    );

    // The auditor's questions, over the whole log.
    let last_dossier_ms = START_MS + (total.saturating_sub(1) / 4) as i64 * DOSSIER_EVERY_MS;
    let (first_day, last_day) = (day(START_MS).to_string(), day(last_dossier_ms).to_string());
    let month = day((START_MS + last_dossier_ms) / 2)
        .with_day(1)
        .expect("first of the month");
    let month_end = month + Months::new(1) - Days::new(1);
    let ratio = |group_by: &[&str]| {
        let request = proto::LookupRatioRequest {
            from: first_day.clone(),
            to: last_day.clone(),
            group_by: group_by.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        move |log: &AuditLog| {
            let query = answers::ratio_query(request.clone()).expect("ratio query");
            ask(log, |reader| {
                let mut rows = 0;
                answers::lookup_ratio_chunks(reader, &query, &mut |chunk| {
                    rows += chunk.rows.len() as u64;
                    true
                })
                .expect("ratio");
                rows
            })
        }
    };
    let reconciled = std::cell::Cell::new(0u64);
    let questions: Vec<Question> = vec![
        (
            "open a reader (what every query below pays first)",
            Box::new(|log: &AuditLog| ask(log, |_| 0)),
        ),
        ("ratio, total", Box::new(ratio(&[]))),
        ("ratio by district", Box::new(ratio(&["district"]))),
        (
            "ratio by district × month",
            Box::new(ratio(&["district", "month"])),
        ),
        ("ratio by officer", Box::new(ratio(&["officer"]))),
        (
            "one citizen's history (CitizenAccessLog)",
            Box::new(|log: &AuditLog| {
                let request = proto::CitizenAccessLogRequest {
                    cccd_number: CITIZEN_CCCD.into(),
                };
                ask(log, |reader| {
                    answers::citizen_accesses(reader, request, |cccd| {
                        subject_hash(&SUBJECT_KEY, cccd)
                    })
                    .expect("citizen")
                    .accesses
                    .len() as u64
                })
            }),
        ),
        (
            "unverified dossiers, one district-month, every page",
            Box::new(|log: &AuditLog| {
                let mut request = proto::ListUnverifiedDossiersRequest {
                    from: month.to_string(),
                    to: month_end.to_string(),
                    district: DISTRICTS[1].into(),
                    page_size: 1_000,
                    ..Default::default()
                };
                let mut rows = 0;
                loop {
                    let page = ask(log, |reader| {
                        answers::unverified_dossiers(reader, request.clone()).expect("unverified")
                    });
                    rows += page.dossiers.len() as u64;
                    if page.next_page_token.is_empty() {
                        return rows;
                    }
                    request.page_token = page.next_page_token;
                }
            }),
        ),
        (
            "reconcile the whole log (StreamReconcile)",
            Box::new(|log: &AuditLog| {
                let query = answers::reconcile_query(proto::ReconcileRequest {
                    from: first_day.clone(),
                    to: last_day.clone(),
                    ..Default::default()
                })
                .expect("reconcile query");
                ask(log, |reader| {
                    let mut findings = 0;
                    answers::reconcile_chunks(reader, &query, &mut |chunk| {
                        if let Some(summary) = chunk.summary {
                            reconciled.set(summary.dossiers);
                            findings = summary.served_not_reported
                                + summary.reported_not_served
                                + summary.dossier_not_reported
                                + summary.reported_failure_unconfirmed
                                + summary.reported_late;
                        }
                        true
                    })
                    .expect("reconcile");
                    findings
                })
            }),
        ),
    ];
    let mut times = vec![Vec::new(); questions.len()];
    let mut rows = vec![0; questions.len()];
    for _ in 0..runs {
        for (i, (_, question)) in questions.iter().enumerate() {
            let started = Instant::now();
            rows[i] = question(&log);
            times[i].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let times: Vec<f64> = times.into_iter().map(common::middle).collect();
    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        format!("auditor queries over the whole log (median of {runs})"),
        "ms",
        "rows"
    );
    for (((name, _), took), rows) in questions.iter().zip(&times).zip(&rows) {
        println!("{name:<58} {took:>14.3} {rows:>8}");
    }
    println!(
        "{:<58} {:>14} {:>8}",
        format!("(unverified: {month} to {month_end}, {})", DISTRICTS[1]),
        "",
        ""
    );
    println!(
        "{:<58} {:>14}",
        "(reconcile: rows are findings, every one counted; dossiers)",
        reconciled.get()
    );
    let reconcile_rate = reconciled.get() as f64 / (times[7] / 1e3);
    println!(
        "{:<58} {:>14.0}",
        "reconcile, dossiers a second", reconcile_rate
    );
    for (i, name) in [
        (1, "ratio, total"),
        (3, "ratio by district × month"),
        (4, "ratio by officer"),
    ] {
        targets.push(Target {
            figure: name.into(),
            measured: format!("{:.1} ms", times[i]),
            target: "< 50 ms",
            met: times[i] < RATIO_TARGET_MS,
        });
    }
    targets.push(Target {
        figure: format!("one citizen's history ({} accesses)", rows[5]),
        measured: format!("{:.1} ms", times[5]),
        target: "< 10 ms",
        met: times[5] < CITIZEN_TARGET_MS,
    });
    targets.push(Target {
        figure: format!("unverified, one district-month ({} rows)", rows[6]),
        measured: format!("{:.1} ms", times[6]),
        target: "< 100 ms",
        met: times[6] < UNVERIFIED_TARGET_MS,
    });
    targets.push(Target {
        figure: "reconcile".into(),
        measured: format!("{reconcile_rate:.0} dossiers/s"),
        target: "≥ 500,000 dossiers/s",
        met: reconcile_rate >= RECONCILE_TARGET,
    });
    let ratio_before = ask(&log, |reader| {
        answers::lookup_ratio(
            reader,
            proto::LookupRatioRequest {
                from: first_day.clone(),
                to: last_day.clone(),
                ..Default::default()
            },
        )
        .expect("ratio")
    });

    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "proofs over the whole log", "seconds", "result"
    );
    let reader = AuditReader::open(log.path()).expect("reader");
    let size = total as u64;
    let index = size / 3;
    let started = Instant::now();
    let leaves = reader.leaf_hashes(size).expect("leaves");
    let proof = merkle::inclusion_proof(&leaves, index as usize).expect("in range");
    let root = merkle::root(&leaves);
    println!(
        "{:<58} {:>14.3} {:>8}",
        "inclusion proof from every leaf hash (baseline)",
        started.elapsed().as_secs_f64(),
        proof.len()
    );
    drop(leaves);
    let started = Instant::now();
    let tree = reader.tree(size);
    let stored = merkle::inclusion_proof_in(&tree, index)
        .expect("proof")
        .expect("in range");
    let stored_root = tree.range_root(0, size).expect("root");
    println!(
        "{:<58} {:>14.3} {:>8}",
        "inclusion proof from stored block roots (GetInclusionProof)",
        started.elapsed().as_secs_f64(),
        stored.len()
    );
    assert_eq!((stored, stored_root), (proof, root));
    let started = Instant::now();
    let proof = merkle::consistency_proof_in(&tree, size / 2)
        .expect("proof")
        .expect("in range");
    println!(
        "{:<58} {:>14.3} {:>8}",
        "consistency proof from stored block roots (GetConsistencyProof)",
        started.elapsed().as_secs_f64(),
        proof.len()
    );
    drop(tree);
    drop(reader);
    drop(questions);
    // Closed: every connection gone, so both files are checkpointed and their write-ahead logs
    // removed.
    drop(Arc::into_inner(log).expect("the only handle left"));

    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "disk, the log closed (checkpointed)", "bytes/event", "MiB"
    );
    let at_rest = files(dir.path());
    let bytes: u64 = at_rest.iter().map(|(_, size)| size).sum();
    for (name, size) in &at_rest {
        println!(
            "{name:<58} {:>14.1} {:>8.1}",
            *size as f64 / total as f64,
            *size as f64 / f64::from(1 << 20)
        );
    }
    let disk = bytes as f64 / total as f64;
    println!(
        "{:<58} {disk:>14.1} {:>8.1}",
        "every file of the data directory",
        bytes as f64 / f64::from(1 << 20)
    );
    targets.push(Target {
        figure: "disk per event (log closed, every file)".into(),
        measured: format!("{disk:.1} B"),
        target: "≤ 128 B",
        met: disk <= DISK_TARGET,
    });
    for (name, bytes) in [
        ("RSS at the end of ingest, VmRSS", rss),
        ("RSS peak by the end of ingest, VmHWM", peak),
    ] {
        targets.push(Target {
            figure: name.into(),
            measured: format!("{:.2} GiB", gib(bytes)),
            target: "≤ 3 GiB",
            met: bytes <= RSS_TARGET,
        });
    }

    // A restart: the query side in memory derived again from the log (the query file and the
    // citizen index kept); then a rebuild of the query side, its files deleted first; then,
    // beside the targets, a rebuild of everything derived: the sequencer's stored ids too.
    let ratio_request = proto::LookupRatioRequest {
        from: first_day.clone(),
        to: last_day.clone(),
        ..Default::default()
    };
    let reopen = |what: &str| {
        let started = Instant::now();
        let log = AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).expect("audit log");
        let opened = started.elapsed();
        while log.applied() < total as u64 {
            std::thread::sleep(SAMPLE_EVERY / 5);
        }
        let ratio_after = ask(&log, |reader| {
            answers::lookup_ratio(reader, ratio_request.clone()).expect("ratio")
        });
        let answered = started.elapsed();
        assert_eq!(ratio_after, ratio_before, "{what}: the same ratio");
        drop(log);
        let rate = total as f64 / answered.as_secs_f64();
        println!();
        println!("{what:<58} {:>14} {:>8}", "events/s", "seconds");
        println!(
            "{:<58} {rate:>14.0} {:>8.3}",
            "until a ratio is answered",
            answered.as_secs_f64()
        );
        println!(
            "{:<58} {:>14} {:>8.3}",
            "… of which opening the log (check, read once)",
            "",
            opened.as_secs_f64()
        );
        println!(
            "{:<58} {:>14.0} {:>8.3}",
            "… the projector alone",
            total as f64 / (answered - opened).as_secs_f64(),
            (answered - opened).as_secs_f64()
        );
        rate
    };
    let restart = reopen("restart (query side derived again in memory)");
    for (name, _) in &at_rest {
        if name.starts_with(QUERY_FILE) || name.starts_with(CITIZEN_FILE) {
            std::fs::remove_file(dir.path().join(name)).expect("query file removed");
        }
    }
    let rebuild = reopen("rebuild (query file and citizen index deleted first)");
    for (name, _) in &at_rest {
        if name.starts_with(QUERY_FILE) || name.starts_with(CITIZEN_FILE) {
            std::fs::remove_file(dir.path().join(name)).expect("query file removed");
        }
    }
    std::fs::remove_dir_all(dir.path().join(STORED_IDS_DIR)).expect("stored ids removed");
    reopen("rebuild of everything derived (the stored ids' runs too)");
    for (figure, rate) in [
        ("restart, until a ratio is answered", restart),
        ("rebuild of the query side, until answered", rebuild),
    ] {
        targets.push(Target {
            figure: figure.into(),
            measured: format!("{rate:.0} ev/s"),
            target: "≥ 1,000,000 ev/s",
            met: rate >= REBUILD_TARGET,
        });
    }

    export_through_the_server(dir.path(), &runtime);

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

/// Serves the log in `data_dir` and exports its first events through ListEvents (see the
/// module documentation), printing the time and the growth of resident memory.
fn export_through_the_server(data_dir: &std::path::Path, runtime: &tokio::runtime::Runtime) {
    let wanted = common::env_number("VNPOP_BENCH_EXPORTED", 1_000_000);
    let config = common::bench_config(data_dir, 1_000);
    let state = vnpop::server::ServerState::build(&config).expect("server state");
    // A server opened on a long log derives its query side first (auditor answers wait for it;
    // at 100M events, more than a client's patience): measured above, not here.
    while let Err(error) = state.recorder.log().caught_up_blocking() {
        eprintln!("export: the server's query side is not derived yet ({error}); waiting");
    }
    runtime.block_on(async {
        let running = vnpop::server::start(config.listen, state)
            .await
            .expect("server");
        let auditor = vnpop::client::AuditClient::connect(
            &format!("https://localhost:{}", running.local_addr.port()),
            Some(common::development_tls("auditor-thanh-tra")),
        )
        .await
        .expect("auditor connects");
        let request = |limit| vnpop::proto::ListEventsRequest {
            limit,
            ..Default::default()
        };
        // A short export first, so what every call sets up once is in place.
        let mut warm = auditor.events(request(1_000)).await.expect("export");
        while warm.next().await.expect("event").is_some() {}

        let before = status_bytes("VmRSS");
        let (peak, done) = (
            Arc::new(AtomicU64::new(before)),
            Arc::new(AtomicBool::new(false)),
        );
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(status_bytes("VmRSS"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let started = Instant::now();
        let mut stream = auditor.events(request(wanted)).await.expect("export");
        let (mut events, mut bytes) = (0u64, 0usize);
        while let Some(event) = stream.next().await.expect("event") {
            bytes += prost::Message::encoded_len(&event);
            events += 1;
        }
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        sampler.join().expect("sampler");
        let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
        println!();
        println!(
            "{:<58} {:>14} {:>8}",
            "export through the server (ListEvents, mTLS)", "seconds", "MiB"
        );
        println!(
            "{:<58} {:>14.3} {:>8.1}",
            format!(
                "{events} events, {} MB: time, resident memory growth",
                bytes / 1_000_000
            ),
            took.as_secs_f64(),
            growth as f64 / f64::from(1 << 20)
        );
        running.shutdown().await.expect("server stops");
    });
}
