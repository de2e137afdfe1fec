//! Audit log benchmark: durable ingest throughput (group commit, fsync per group) against a
//! baseline of the same events only encoded and hashed in the same run, then the time of lookup
//! ratio queries, reconciliation and Merkle proofs over the whole log.
//!
//! Also printed: how long the projector (the query tables) took to catch up after the last
//! acknowledgement, and the disk the data directory takes per event (every file in it).
//!
//! Last, the log is served (an in-process server with mTLS on a loopback port) and the first
//! million events (`VNPOP_BENCH_EXPORTED`, default 1,000,000) exported through ListEvents by the
//! client library, read as they arrive: the time, and how much the process's resident memory
//! (VmRSS: the server's and the client's) grew over what it was before the export.
//!
//! `cargo bench --bench audit` (events: `VNPOP_BENCH_EVENTS`, default 10,000,000; the data
//! directory is made under `VNPOP_BENCH_DIR`, default `.`, and removed at the end unless
//! `VNPOP_BENCH_KEEP` is set).

mod common;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use vnpop::audit::{
    merkle::{self, leaf_hash, Subtrees},
    query::{AuditReader, GroupBy, RatioQuery},
    reconcile::ReconcileQuery,
    AuditEvent, AuditLog, EventKind, EventSource,
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

/// Event `n`: every fourth is a dossier, the others lookups for it: one reported by the client
/// and served by the server, and a third call that failed before reaching the server (except for
/// every 50th dossier, where it is a reported lookup the server never served: a finding for
/// reconciliation).
fn event(n: usize) -> AuditEvent {
    let dossier = n / 4;
    let district = DISTRICTS[dossier % DISTRICTS.len()];
    let kind = if n.is_multiple_of(4) {
        EventKind::Dossier {
            procedure: format!("1.00{}", dossier % 7),
            channel: if dossier.is_multiple_of(3) {
                "online"
            } else {
                "desk"
            }
            .into(),
        }
    } else {
        EventKind::Verification {
            rpc: "LookupByCccd".into(),
            outcome: if n % 4 == 3 && !dossier.is_multiple_of(50) {
                "unavailable"
            } else {
                "found"
            }
            .into(),
            purpose: "kiểm tra thông tin công dân".into(),
            subject: format!("{:064x}", n * 7919),
        }
    };
    AuditEvent {
        event_id: format!("bench-{n}"),
        source: if n % 4 == 2 {
            EventSource::Server
        } else {
            EventSource::Client
        },
        dossier_id: format!("H35-{dossier:09}"),
        agency_id: "one-stop-ba-dinh".into(),
        district: district.into(),
        officer_id: format!("cb{:02}", dossier % 40),
        occurred_at_ms: START_MS + (dossier as i64) * 3_000,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind,
    }
}

fn main() {
    let total: usize = std::env::var("VNPOP_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    println!("vnpop audit benchmark: {total} events, batches of {BATCH}, {PRODUCERS} producers");

    // Baseline: encode and hash the same events, no storage.
    let baseline_n = total.min(1_000_000);
    let started = Instant::now();
    for n in 0..baseline_n {
        std::hint::black_box(leaf_hash(&vnpop::audit::record::leaf_bytes(
            n as u64,
            &event(n),
            1_700_000_000_000,
        )));
    }
    let baseline = baseline_n as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir_in(std::env::var("VNPOP_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temporary directory");
    let log = Arc::new(
        AuditLog::open(vnpop::audit::lock::DataDirLock::acquire(dir.path()).unwrap())
            .expect("audit log"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut next = p * BATCH;
                    while next < total {
                        let end = (next + BATCH).min(total);
                        log.append((next..end).map(event).collect())
                            .await
                            .expect("append");
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
    let ingest = total as f64 / ingest_time.as_secs_f64();
    // The projector may take longer than a query's patience to follow ten million events.
    while let Err(error) = log.caught_up_blocking() {
        eprintln!("still projecting: {error}");
    }
    let projected_time = started.elapsed();
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
    println!(
        "{:<58} {:>14.0} {:>8.2}",
        "… and applied to the query tables (projector caught up)",
        total as f64 / projected_time.as_secs_f64(),
        total as f64 / projected_time.as_secs_f64() / baseline
    );
    // At rest: the projector truncates the query file's write-ahead log once nothing has come
    // for a second (it grew to a batch's pages while catching up).
    std::thread::sleep(Duration::from_secs(2));
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("data directory")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    println!(
        "{:<58} {:>14.1}",
        "disk per event, every file of the data directory (bytes)",
        bytes as f64 / total as f64
    );

    let reader = AuditReader::open(&dir.path().join("audit.sqlite")).expect("reader");
    let year = RatioQuery {
        from_ms: START_MS,
        to_ms: START_MS + 400 * 86_400_000,
        ..Default::default()
    };
    let queries: [(&str, Vec<GroupBy>); 4] = [
        ("total", vec![]),
        ("by district", vec![GroupBy::District]),
        (
            "by district, month",
            vec![GroupBy::District, GroupBy::Month],
        ),
        ("by officer", vec![GroupBy::Officer]),
    ];
    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "ratio query over the whole log", "seconds", "rows"
    );
    for (name, group_by) in queries {
        let query = RatioQuery {
            group_by,
            ..year.clone()
        };
        let started = Instant::now();
        let rows = reader.ratio(&query).expect("ratio");
        let took: Duration = started.elapsed();
        println!("{name:<58} {:>14.3} {:>8}", took.as_secs_f64(), rows.len());
    }

    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "reconciliation and proofs over the whole log", "seconds", "result"
    );
    let started = Instant::now();
    let reconciled = reader
        .reconcile(&ReconcileQuery {
            from_ms: year.from_ms,
            to_ms: year.to_ms,
            // What the service keeps by default; every finding is counted.
            max_findings: 1_000,
            ..Default::default()
        })
        .expect("reconcile");
    println!(
        "{:<58} {:>14.3} {:>8}",
        format!("reconcile ({} dossiers)", reconciled.dossiers),
        started.elapsed().as_secs_f64(),
        reconciled.total()
    );
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
    drop(log);
    export_through_the_server(dir.path(), &runtime);
    if std::env::var_os("VNPOP_BENCH_KEEP").is_some() {
        println!("data directory kept: {}", dir.keep().display());
    }
}

/// This process's resident memory (VmRSS), bytes.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .unwrap_or(0)
        * 1024
}

/// Serves the log in `data_dir` and exports its first events through ListEvents (see the
/// module documentation), printing the time and the growth of resident memory.
fn export_through_the_server(data_dir: &std::path::Path, runtime: &tokio::runtime::Runtime) {
    let wanted = common::env_number("VNPOP_BENCH_EXPORTED", 1_000_000);
    let config = common::bench_config(data_dir, 1_000);
    let state = vnpop::server::ServerState::build(&config).expect("server state");
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

        let before = resident_bytes();
        let (peak, done) = (
            Arc::new(AtomicU64::new(before)),
            Arc::new(AtomicBool::new(false)),
        );
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(resident_bytes(), Ordering::Relaxed);
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
