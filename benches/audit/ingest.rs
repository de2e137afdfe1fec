//! Ingest: the baseline (the events only encoded and hashed), then the events appended by eight
//! producers while a sampler follows the durable and queryable positions, and its figures.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use vnpop::audit::{merkle::leaf_hash, AuditLog};

use crate::{
    measure::{gib, status_bytes},
    workload::Workload,
    Target, BATCH, FLATNESS_TARGET, INGEST_TARGET, PRODUCERS, SAMPLE_EVERY,
};

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

/// Encodes and hashes the first million events (all of them, if fewer) and stores nothing: the
/// baseline ingest is compared with, in events a second.
pub(crate) fn baseline(workload: &Workload, total: usize) -> f64 {
    let baseline_n = total.min(1_000_000);
    let started = Instant::now();
    for n in 0..baseline_n {
        std::hint::black_box(leaf_hash(&vnpop::audit::record::leaf_bytes(
            n as u64,
            &workload.event(n),
            1_700_000_000_000,
        )));
    }
    baseline_n as f64 / started.elapsed().as_secs_f64()
}

/// Appends the `total` events of `workload` to `log` on `runtime` and follows the projector
/// until it has applied them all; prints the figures (ratios to `baseline`), adds ingest's
/// targets to `targets`, and returns this process's resident memory at the end of ingest and
/// its peak (VmRSS, VmHWM), in bytes.
pub(crate) fn ingest(
    log: &Arc<AuditLog>,
    workload: &Arc<Workload>,
    total: usize,
    runtime: &tokio::runtime::Runtime,
    baseline: f64,
    targets: &mut Vec<Target>,
) -> (u64, u64) {
    let durable = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let sampler = {
        let (log, durable, sampling) =
            (Arc::clone(log), Arc::clone(&durable), Arc::clone(&sampling));
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
                let (log, durable, workload) =
                    (Arc::clone(log), Arc::clone(&durable), Arc::clone(workload));
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
    (rss, peak)
}
