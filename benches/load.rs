//! The release binary as a user runs it: `vnpop serve` and `vnpop load` as two processes, the
//! audited lookup against the no-op: `cargo bench --bench load`.
//!
//! One `vnpop serve` (the default 1,000,000 citizens, development mTLS, a fresh data directory,
//! so every lookup is durably audited before its answer) and, in interleaved rounds, `vnpop load
//! --mix noop=1` then `vnpop load --mix lookup=1` against it (closed loop, 64 in flight, a
//! warm-up then a fixed duration each; the report read from `--json`). Each figure is the median
//! of its rounds, and the lookup's throughput is printed against the no-op's of the same run:
//! issue 27's target is 80% or more.
//!
//! Rounds: `VNPOP_BENCH_ROUNDS` (default 3); seconds measured per run: `VNPOP_BENCH_SECONDS`
//! (default 8); population: `VNPOP_BENCH_POPULATION` (default the server's, 1,000,000).

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
};

use common::{env_number, middle};
use vnpop::load::LoadReport;

/// Issue 27's target: the audited lookup's throughput against the no-op's.
const TARGET: f64 = 0.80;

/// A `vnpop serve` process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `vnpop serve` on a free loopback port with its data in `dir`, and waits until it
    /// listens.
    fn start(dir: &Path, population: Option<u64>) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_vnpop"));
        command
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("VNPOP_LOG", "warn")
            .stdout(Stdio::null());
        if let Some(population) = population {
            command.args(["--population", &population.to_string()]);
        }
        let child = command.spawn().expect("vnpop serve starts");
        common::wait_listening(port);
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `vnpop load` run of `mix` against `server`: its report.
fn load(server: &Server, mix: &str, seconds: u64, population: Option<u64>) -> LoadReport {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vnpop"));
    command
        .arg("load")
        .args(["--server", &format!("127.0.0.1:{}", server.port)])
        .args(["--mix", mix])
        .args(["--duration", &format!("{seconds}s"), "--warmup", "2s"])
        .arg("--json")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .stderr(Stdio::null());
    if let Some(population) = population {
        command.args(["--population", &population.to_string()]);
    }
    let output = command.output().expect("vnpop load runs");
    assert!(output.status.success(), "vnpop load {mix} failed");
    serde_json::from_slice(&output.stdout).expect("vnpop load --json")
}

fn main() {
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 3).max(1);
    let seconds = env_number("VNPOP_BENCH_SECONDS", 8).max(1);
    let population = std::env::var("VNPOP_BENCH_POPULATION")
        .is_ok()
        .then(|| env_number("VNPOP_BENCH_POPULATION", 1_000_000));
    let dir = tempfile::tempdir_in(std::env::var("VNPOP_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temporary directory");
    let server = Server::start(dir.path(), population);
    println!(
        "vnpop serve and vnpop load as two processes (release binary), closed loop 64 in flight, {rounds} interleaved rounds of {seconds} s per figure after a 2 s warm-up, medians"
    );
    let mixes = [("(a) no-op", "noop=1"), ("(c) lookup, audited", "lookup=1")];
    let mut each: Vec<Vec<LoadReport>> = vec![Vec::new(); mixes.len()];
    for _ in 0..rounds {
        for (i, (_, mix)) in mixes.iter().enumerate() {
            each[i].push(load(&server, mix, seconds, population));
        }
    }
    let throughput = |reports: &[LoadReport]| {
        middle(
            reports
                .iter()
                .map(|r| r.total.throughput_per_second)
                .collect(),
        )
    };
    let p99 =
        |reports: &[LoadReport]| middle(reports.iter().map(|r| r.total.latency_ms.p99).collect());
    let base = throughput(&each[0]);
    println!();
    println!(
        "| {:<22} | {:>9} | {:>8} | {:>16} | {:>7} |",
        "figure", "req/s", "p99 ms", "throughput vs a", "errors"
    );
    println!(
        "|{:-<24}|{:->11}|{:->10}|{:->18}|{:->9}|",
        "", "", "", "", ""
    );
    for ((label, _), reports) in mixes.iter().zip(&each) {
        let errors: u64 = reports
            .iter()
            .map(|r| r.total.errors.values().sum::<u64>())
            .sum();
        println!(
            "| {:<22} | {:>9.0} | {:>8.3} | {:>15.0}% | {:>7} |",
            label,
            throughput(reports),
            p99(reports),
            100.0 * throughput(reports) / base,
            errors
        );
    }
    let ratio = throughput(&each[1]) / base;
    println!(
        "\nissue 27 target: vnpop load lookup against no-op ≥ {:.0}%: {:.0}% — {}",
        100.0 * TARGET,
        100.0 * ratio,
        if ratio >= TARGET { "met" } else { "NOT met" }
    );
}
