//! The log at rest: its files per event, open and closed; then opened again — a restart, a
//! rebuild of the query side, a rebuild of everything derived — each timed until a ratio is
//! answered.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use vnpop::{
    audit::{
        answers,
        lock::DataDirLock,
        log::{CITIZEN_FILE, QUERY_FILE, STORED_IDS_DIR},
        AuditLog,
    },
    proto,
};

use crate::{
    measure::{files, gib},
    queries::{ask, Period},
    Target, DISK_TARGET, REBUILD_TARGET, RSS_TARGET, SAMPLE_EVERY,
};

/// Prints the disk the data directory `dir` takes per event of `total` with the log open, once
/// it is at rest.
pub(crate) fn disk_open(dir: &Path, total: usize) {
    // At rest: the projector truncates the query file's write-ahead log once nothing has come
    // for a second (it grew to a batch's pages while catching up).
    std::thread::sleep(Duration::from_secs(2));
    let bytes: u64 = files(dir).iter().map(|(_, size)| size).sum();
    println!(
        "{:<58} {:>14.1}",
        "disk per event, every file of the data directory (bytes)",
        bytes as f64 / total as f64
    );
}

/// Prints the disk the data directory `dir` takes per event of `total`, file by file, with the
/// log closed; adds the disk's target and the memory's (`rss`, `peak`: VmRSS and VmHWM at the
/// end of ingest) to `targets`; returns the files.
pub(crate) fn disk_closed(
    dir: &Path,
    total: usize,
    (rss, peak): (u64, u64),
    targets: &mut Vec<Target>,
) -> Vec<(String, u64)> {
    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "disk, the log closed (checkpointed)", "bytes/event", "MiB"
    );
    let at_rest = files(dir);
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
    at_rest
}

/// Opens the log in `dir` (of `total` events, closed, its files `at_rest`) three times, as the
/// module documentation says, each checked against `ratio_before`, the ratio of `period` asked
/// before; adds the restart's and the rebuild's targets to `targets`.
pub(crate) fn reopen_all(
    dir: &Path,
    total: usize,
    period: &Period,
    ratio_before: &proto::LookupRatioResponse,
    at_rest: &[(String, u64)],
    targets: &mut Vec<Target>,
) {
    let Period {
        first_day,
        last_day,
        ..
    } = period;
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
        let log = AuditLog::open(DataDirLock::acquire(dir).unwrap()).expect("audit log");
        let opened = started.elapsed();
        while log.applied() < total as u64 {
            std::thread::sleep(SAMPLE_EVERY / 5);
        }
        let ratio_after = ask(&log, |reader| {
            answers::lookup_ratio(reader, ratio_request.clone()).expect("ratio")
        });
        let answered = started.elapsed();
        assert_eq!(&ratio_after, ratio_before, "{what}: the same ratio");
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
    for (name, _) in at_rest {
        if name.starts_with(QUERY_FILE) || name.starts_with(CITIZEN_FILE) {
            std::fs::remove_file(dir.join(name)).expect("query file removed");
        }
    }
    let rebuild = reopen("rebuild (query file and citizen index deleted first)");
    for (name, _) in at_rest {
        if name.starts_with(QUERY_FILE) || name.starts_with(CITIZEN_FILE) {
            std::fs::remove_file(dir.join(name)).expect("query file removed");
        }
    }
    std::fs::remove_dir_all(dir.join(STORED_IDS_DIR)).expect("stored ids removed");
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
}
