//! What a lookup costs against the cheapest call the server answers, over the same mTLS channel
//! with the same load: `cargo bench --bench baseline`.
//!
//! One process starts the real server (200,000 citizens, development mTLS certificates, a fresh
//! audit log in a temporary directory) and drives it with the `vnpop load` driver, closed loop,
//! 64 in flight, a warm-up and then a fixed duration per figure:
//!
//! - (a) `WhoAmI`, the no-op: TLS, HTTP/2, protobuf and the caller's certificate check only;
//! - (b) `LookupByCccd` with the served-call audit switched off (a benchmark-only switch that no
//!   server flag reaches): the lookup itself, store read and answer through the field scope;
//! - (c) `LookupByCccd` as served in production: each call durably recorded in the audit log
//!   (SQLite, group commit, signed tree head) before the answer, with the server's default
//!   commit delay (`serve --audit-commit-delay`; `VNPOP_BENCH_COMMIT_DELAY_US` sets another);
//! - (e) the same without a commit delay: what the delay changes, in the same rounds;
//! - (f) the floor: `LookupByCccd` answered once a bare group write and `fdatasync` after it is
//!   durable, made by a writer thread as the sequencer makes its commits, with (c)'s commit
//!   delay (`vnpop_audit::testing::DurableFloor`, a benchmark-only switch) and no record, tree,
//!   signature, SQLite or projector: the least any log of record costs a lookup here;
//! - (g) the same floor without a writer thread: the call that finds no write under way writes
//!   and syncs for the others, on its own worker (`block_in_place`), a group commit's leader;
//! - (h) the hand-off alone: as (f), but the writer thread neither writes nor syncs.
//!
//! The machine is noisy (two cores shared with everything else), so the figures are measured in
//! interleaved rounds — a, b, c, e, a, b, c, e, … — and each figure is the median of its rounds: a
//! slow spell hurts one round of every figure rather than all of one figure.
//!
//! Beside them, in the same rounds, (d): `fdatasync` of a 4 KiB append in the audit log's own
//! directory, the price of one durable group commit on this disk.
//!
//! Printed: throughput, p50/p99 and CPU time per call of each, and their ratios to (a). The
//! goals: (b) at 85% or more of (a)'s throughput with a p99 no worse than twice (a)'s; (c) at
//! 85% or more of (a)'s throughput with a p99 no worse than (a)'s plus one fdatasync's p99
//! (issue 9).
//!
//! Then issue 27's targets, in a table with whether each is met: (c) at 75% or more of (a)'s
//! throughput, (c)'s p99 at most twice (a)'s, and recording's CPU per audited lookup at most
//! 7 µs. That last figure is, round by round, (c)'s CPU time per call minus (b)'s — the CPU
//! time of the whole process (`getrusage(RUSAGE_SELF)`: every thread, user and system) over
//! each figure's measured part (not its warm-up) divided by the calls made in it — and its
//! median over the rounds. The load driver runs in the same process as the server, so the
//! process's CPU time is the server's and the client's together; the client does the same work
//! for (b) and (c), so the difference is what recording adds: the record's encoding, the
//! sequencer's group commits, the projector and the checkpoints (whatever part of them runs
//! during the figure: the projector applies at most a batch late, into the next figure's
//! warm-up, which is not measured). Rounds: `VNPOP_BENCH_ROUNDS`
//! (default 5), seconds per figure and round: `VNPOP_BENCH_SECONDS` (default 4), in flight:
//! `VNPOP_BENCH_CONCURRENCY` (default 64); `VNPOP_BENCH_HOLD_PROJECTION=1` keeps the audit
//! projector idle during the figures (diagnosis: its share of (c)); `VNPOP_BENCH_ONLY=ab`
//! measures only those figures
//! (for profiling one of them).

mod common;

use std::{io::Write, path::Path, sync::Arc, time::Instant};

/// The allocator the `vnpop` binary uses, so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use common::{
    bench_config, closed_loop, env_number, interleaved_rounds, lookup_pool, median, middle, Figure,
};
use vnpop::audit::testing::FloorMode;
use vnpop::{
    client::connect_channel,
    load::{self, LoadConfig, RpcKind},
    server::{self, ServerState},
};

/// p50 and p99 (ms) of `count` appends of 4 KiB, each followed by `fdatasync`, to a file in `dir`.
fn fdatasync_ms(dir: &Path, count: usize) -> (f64, f64) {
    let path = dir.join("fdatasync-probe");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("probe file");
    let block = [0x5a_u8; 4096];
    let mut samples: Vec<f64> = (0..count)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&block).expect("write");
            file.sync_data().expect("fdatasync");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    drop(file);
    let _ = std::fs::remove_file(&path);
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    let seconds = env_number("VNPOP_BENCH_SECONDS", 4);
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 5).max(1) as usize;
    let concurrency = env_number("VNPOP_BENCH_CONCURRENCY", 64) as usize;
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let config = bench_config(
        data_dir.path(),
        env_number("VNPOP_BENCH_POPULATION", 200_000) as usize,
    );
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "Lookup against the no-op over one mTLS channel: {cores} cores, population {}, closed loop {concurrency} in flight, {rounds} interleaved rounds of {seconds} s per figure (after a 1 s warm-up each), medians",
        config.population.size
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let state = ServerState::build(&config).expect("server state");
    let (figures, recording_cpu_us) = runtime.block_on(async {
        let running = server::start(config.listen, state).await.expect("server");
        let recorder = Arc::clone(&running.recorder);
        // Diagnosis only: with VNPOP_BENCH_HOLD_PROJECTION=1 the projector applies nothing
        // while the figures run (it catches up at the end), to tell its share of (c).
        let hold = std::env::var("VNPOP_BENCH_HOLD_PROJECTION").is_ok_and(|v| v == "1");
        recorder.log().hold_projection_for_test(hold);
        let mut load_config = LoadConfig::defaults();
        load_config.target = format!("127.0.0.1:{}", running.local_addr.port());
        let tls = load::client_tls(&load_config).expect("development identity");
        let channel = connect_channel(&load_config.endpoint(), tls.as_ref())
            .await
            .expect("connect");
        let pool = lookup_pool(&config);
        let run_id = load::new_run_id();
        let only = std::env::var("VNPOP_BENCH_ONLY").unwrap_or_default();
        // (c) with the server's commit delay (`serve --audit-commit-delay`), (e) without one.
        let delay = std::time::Duration::from_micros(env_number(
            "VNPOP_BENCH_COMMIT_DELAY_US",
            config.audit_commit_delay,
        ));
        let no_delay = std::time::Duration::ZERO;
        let figures: Vec<_> = [
            ("(a) no-op (WhoAmI)", RpcKind::Noop, true, no_delay, None),
            (
                "(b) lookup, audit off",
                RpcKind::Lookup,
                false,
                no_delay,
                None,
            ),
            ("(c) lookup, audited", RpcKind::Lookup, true, delay, None),
            (
                "(e) audited, no delay",
                RpcKind::Lookup,
                true,
                no_delay,
                None,
            ),
            (
                "(f) floor: bare fsync",
                RpcKind::Lookup,
                true,
                delay,
                Some(FloorMode::Writer),
            ),
            (
                "(g) floor, leader",
                RpcKind::Lookup,
                true,
                delay,
                Some(FloorMode::Leader),
            ),
            (
                "(h) hand-off, no disk",
                RpcKind::Lookup,
                true,
                delay,
                Some(FloorMode::HandOff),
            ),
        ]
        .into_iter()
        .filter(|(label, ..)| only.is_empty() || only.contains(&label[1..2]))
        .collect();
        // Each round: (d), then the lookups' figures in order.
        let each_round = interleaved_rounds(rounds, figures.len() + 1, |i| {
            let (pool, run_id, channel, recorder) = (&pool, &run_id, &channel, &recorder);
            let figure = i.checked_sub(1).map(|i| figures[i]);
            let dir = data_dir.path();
            async move {
                let Some((_, kind, audited, delay, floor)) = figure else {
                    let (p50_ms, p99_ms) = fdatasync_ms(dir, 500);
                    return Some(Figure {
                        p50_ms,
                        p99_ms,
                        ..Figure::default()
                    });
                };
                recorder.skip_recording_for_benchmark(!audited);
                recorder
                    .floor_for_benchmark(dir, floor, delay)
                    .expect("the floor's file");
                recorder.log().set_commit_delay(delay);
                let channels = vec![channel.clone()];
                Some(closed_loop(pool, kind, channels, concurrency, seconds, run_id).await)
            }
        })
        .await;
        let medians: Vec<Option<Figure>> = each_round.iter().map(|r| median(r)).collect();
        // Recording's CPU per audited lookup: (c) − (b) within each round, then the median.
        let position = |prefix: &str| {
            figures
                .iter()
                .position(|(label, ..)| label.starts_with(prefix))
                .map(|i| &each_round[i + 1])
        };
        // A figure's CPU per call over (b)'s within each round, then the median: all of it,
        // and the audit- threads' part.
        let over_b = |prefix: &str| match (position("(b)"), position(prefix)) {
            (Some(b), Some(x)) if !b.is_empty() && b.len() == x.len() => {
                let differences = |of: fn(&Figure) -> f64| {
                    middle(b.iter().zip(x).map(|(b, x)| of(x) - of(b)).collect())
                };
                Some((differences(|f| f.cpu_us), differences(|f| f.writers_us)))
            }
            _ => None,
        };
        let recording_cpu_us = (
            over_b("(c)"),
            ["(f)", "(g)", "(h)"].map(|floor| (floor, over_b(floor))),
        );
        let mut figures: Vec<(&str, Figure)> = figures
            .iter()
            .zip(&medians[1..])
            .map(|(&(label, ..), figure)| (label, figure.expect("measured")))
            .collect();
        figures.push(("(d) fdatasync, log dir", medians[0].expect("measured")));
        recorder.skip_recording_for_benchmark(false);
        recorder
            .floor_for_benchmark(data_dir.path(), None, std::time::Duration::ZERO)
            .expect("the floor's file");
        recorder.log().hold_projection_for_test(false);
        running.shutdown().await.expect("shutdown");
        (figures, recording_cpu_us)
    });

    let base = &figures[0].1;
    println!();
    println!(
        "| {:<22} | {:>9} | {:>8} | {:>8} | {:>16} | {:>10} | {:>11} |",
        "figure", "req/s", "p50 ms", "p99 ms", "throughput vs a", "p99 vs a", "CPU µs/call"
    );
    println!(
        "|{:-<24}|{:->11}|{:->10}|{:->10}|{:->18}|{:->12}|{:->13}|",
        "", "", "", "", "", "", ""
    );
    for (label, figure) in &figures {
        // (d) is a latency only.
        let (throughput, ratio, cpu) = if figure.throughput > 0.0 {
            (
                format!("{:.0}", figure.throughput),
                format!("{:.0}%", 100.0 * figure.throughput / base.throughput),
                format!("{:.1}", figure.cpu_us),
            )
        } else {
            ("–".to_owned(), "–".to_owned(), "–".to_owned())
        };
        println!(
            "| {:<22} | {:>9} | {:>8.3} | {:>8.3} | {:>16} | {:>9.2}× | {:>11} |",
            label,
            throughput,
            figure.p50_ms,
            figure.p99_ms,
            ratio,
            figure.p99_ms / base.p99_ms,
            cpu
        );
    }
    let by_label = |prefix: &str| {
        figures
            .iter()
            .find(|(label, _)| label.starts_with(prefix))
            .map(|(_, figure)| figure)
    };
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    if let (Some(base), Some(lookup)) = (by_label("(a)"), by_label("(b)")) {
        let met = lookup.throughput >= 0.85 * base.throughput && lookup.p99_ms <= 2.0 * base.p99_ms;
        println!(
            "\ngoal (b) ≥ 85% of (a)'s throughput with p99 ≤ 2× (a)'s: {}",
            verdict(met)
        );
    }
    if let (Some(base), Some(audited), Some(sync)) =
        (by_label("(a)"), by_label("(c)"), by_label("(d)"))
    {
        println!(
            "goal (c) ≥ 85% of (a)'s throughput: {:.0}% — {}",
            100.0 * audited.throughput / base.throughput,
            verdict(audited.throughput >= 0.85 * base.throughput)
        );
        println!(
            "ceiling of any durable answer at {concurrency} in flight (one group commit per fdatasync): {concurrency} / {:.3} ms = {:.0}/s ({:.0}% of (a))",
            sync.p50_ms,
            concurrency as f64 * 1e3 / sync.p50_ms,
            100.0 * concurrency as f64 * 1e3 / sync.p50_ms / base.throughput
        );
        println!(
            "goal (c) p99 ≤ (a) p99 + one fdatasync p99 = {:.3} + {:.3} = {:.3} ms: {:.3} ms — {}",
            base.p99_ms,
            sync.p99_ms,
            base.p99_ms + sync.p99_ms,
            audited.p99_ms,
            verdict(audited.p99_ms <= base.p99_ms + sync.p99_ms)
        );
    }
    issue_27_targets(by_label("(a)"), by_label("(c)"), recording_cpu_us.0);
    for (floor, over_b) in recording_cpu_us.1 {
        if let Some((cpu, writers)) = over_b {
            println!(
                "floor {floor} − (b): {cpu:.1} µs of CPU per lookup for the wait alone ({writers:.1} µs in the floor's writer thread, {:.1} µs elsewhere)",
                cpu - writers
            );
        }
    }
}

/// Issue 27's targets for the audited lookup, each beside its figure, and whether it is met.
fn issue_27_targets(
    base: Option<&Figure>,
    audited: Option<&Figure>,
    recording_cpu_us: Option<(f64, f64)>,
) {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let met = |ok: bool| if ok { "yes" } else { "NO" }.to_owned();
    if let (Some(base), Some(audited)) = (base, audited) {
        let share = audited.throughput / base.throughput;
        rows.push([
            "(c) throughput / (a) throughput".into(),
            format!("{:.0}%", 100.0 * share),
            "≥ 75%".into(),
            met(share >= 0.75),
        ]);
        let p99 = audited.p99_ms / base.p99_ms;
        rows.push([
            "(c) p99 / (a) p99".into(),
            format!("{p99:.2}×"),
            "≤ 2×".into(),
            met(p99 <= 2.0),
        ]);
    }
    if let Some((cpu, _)) = recording_cpu_us {
        rows.push([
            "recording's CPU per audited lookup, (c) − (b)".into(),
            format!("{cpu:.1} µs"),
            "≤ 7 µs".into(),
            met(cpu <= 7.0),
        ]);
    }
    if rows.is_empty() {
        return;
    }
    println!();
    println!("issue 27 targets (medians; the CPU figure a median of per-round differences):");
    println!(
        "| {:<46} | {:>10} | {:>8} | {:>4} |",
        "figure", "measured", "target", "met?"
    );
    println!("|{:-<48}|{:->12}|{:->10}|{:->6}|", "", "", "", "");
    for [figure, measured, target, met] in rows {
        println!("| {figure:<46} | {measured:>10} | {target:>8} | {met:>4} |");
    }
    if let Some((cpu, writers)) = recording_cpu_us {
        println!(
            "recording's CPU per audited lookup: {writers:.1} µs in the audit- threads (sequencer, projector, checkpointer), {:.1} µs elsewhere (the served call's record, queueing, wake-ups)",
            cpu - writers
        );
    }
}
