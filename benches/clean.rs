//! Data cleaning end to end against the no-op over the same mTLS server: `cargo bench --bench
//! clean`.
//!
//! One process starts the real server (the default population, development mTLS certificates, a
//! fresh audit log in a temporary directory), writes a registry of `VNPOP_BENCH_RECORDS` records
//! (default 200,000) from its generated citizens — one in ten with a misspelt name, one in fifty
//! with its pre-2025 address, one in a hundred a CMND number — and measures, in interleaved
//! rounds (`VNPOP_BENCH_ROUNDS`, default 3), medians:
//!
//! - (a) the no-op (`WhoAmI`), closed loop, 64 in flight, 4 s: TLS, HTTP/2, protobuf and the
//!   caller's check, the server's ceiling for calls;
//! - (b) `vnpop clean` end to end (the command's own pipeline: file checked, read, batches of 500
//!   streamed, verdicts written in order, the summary read back) with the served-call audit
//!   switched off (a benchmark-only switch no server flag reaches);
//! - (c) the same with every record durably recorded, as served.
//!
//! Printed: records (calls) a second over the whole command (the file's check, the job, the
//! summary read back) and over its streamed part alone, CPU time per record (client and server
//! together), and (c) against issue 31's target,
//! 50,000 records a second at 1,000,000 records with audit on (`VNPOP_BENCH_RECORDS=1000000`).
//! Client and server share this process and the machine's cores, as a data team's job against
//! a local server would.

mod common;

use std::{io::Write, path::Path, sync::Arc, time::Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use common::{bench_config, closed_loop, env_number, interleaved, lookup_pool, Figure};
use vnpop::{
    cli::clean::{clean, CleanArgs},
    client::connect_channel,
    domain::Sex,
    load::{self, LoadConfig, RpcKind},
    population::{builtin_fixtures, Population},
    server::{self, ServerState},
};

/// Issue 31's target for (c), records a second.
const TARGET: f64 = 50_000.0;

/// Writes a registry of `records` records from `population` to `path`.
fn write_registry(population: &Population, records: u64, path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("registry"));
    writeln!(out, "record_id,number,full_name,date_of_birth,sex,address").unwrap();
    let size = population.len();
    for i in 0..records {
        let c = population.citizen(i % size);
        let number = match (i % 100, c.cmnd) {
            (0, Some(cmnd)) => cmnd.to_string(),
            _ => c.cccd.to_string(),
        };
        let name = if i % 10 == 3 {
            format!("{}h", c.full_name)
        } else {
            c.full_name.clone()
        };
        let address = match (i % 50, &c.pre_reform_address) {
            (7, Some(old)) => old.line(&c.permanent_address.street),
            _ => c.permanent_address.to_string(),
        };
        let sex = match c.sex {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        };
        writeln!(
            out,
            "B{i},{number},{name},{},{sex},\"{address}\"",
            c.date_of_birth.format("%d/%m/%Y")
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn main() {
    let records = env_number("VNPOP_BENCH_RECORDS", 200_000);
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 3) as usize;
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let config = bench_config(&data_dir.path().join("data"), 1_000_000);
    let population =
        Population::new(config.population_spec(), &builtin_fixtures()).expect("population");
    let registry = data_dir.path().join("registry.csv");
    let started = Instant::now();
    write_registry(&population, records, &registry);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "Data cleaning end to end against the no-op: {cores} cores, population {}, {records} records ({} MB, written in {:.1} s), {rounds} interleaved rounds, medians",
        config.population.size,
        std::fs::metadata(&registry).map_or(0, |m| m.len()) / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let state = ServerState::build(&config).expect("server state");
    let figures = runtime.block_on(async {
        let running = server::start(config.listen, state).await.expect("server");
        let recorder = Arc::clone(&running.recorder);
        let port = running.local_addr.port();
        let mut load_config = LoadConfig::defaults();
        load_config.target = format!("127.0.0.1:{port}");
        let tls = load::client_tls(&load_config).expect("development identity");
        let channel = connect_channel(&load_config.endpoint(), tls.as_ref())
            .await
            .expect("connect");
        let pool = lookup_pool(&config);
        let run_id = load::new_run_id();
        let certs = common::certs();
        let mut job = 0;
        let figures = interleaved(rounds, 3, |i| {
            let (pool, run_id, channel, recorder) = (&pool, &run_id, &channel, &recorder);
            job += 1;
            let args = CleanArgs {
                input: registry.clone(),
                output: data_dir.path().join(format!("verdicts-{job}.csv")),
                resume: false,
                summary_json: None,
                job_id: Some(format!("bench-{job}")),
                purpose: "benchmark".into(),
                officer: "bench".into(),
                batch: 500,
                server: format!("https://localhost:{port}"),
                ca: certs.join("ca.pem"),
                cert: certs.join("simulation.pem"),
                key: certs.join("simulation.key"),
                quiet: true,
            };
            async move {
                if i == 0 {
                    recorder.skip_recording_for_benchmark(false);
                    let channels = vec![channel.clone()];
                    return Some(closed_loop(pool, RpcKind::Noop, channels, 64, 4, run_id).await);
                }
                recorder.skip_recording_for_benchmark(i == 1);
                // The whole command: the file checked first, the job, the summary read back.
                let (cpu, started) = (common::cpu_time(), Instant::now());
                let report = clean(&args).await.expect("the job runs");
                let (cpu, elapsed) = (common::cpu_time() - cpu, started.elapsed());
                assert_eq!(report.written, records);
                let _ = std::fs::remove_file(&args.output);
                Some(Figure {
                    throughput: records as f64 / elapsed.as_secs_f64(),
                    cpu_us: cpu.as_secs_f64() * 1e6 / records as f64,
                    // The streamed job alone, records a second (kept in an unused slot).
                    commits: records as f64 / report.elapsed.as_secs_f64(),
                    ..Figure::default()
                })
            }
        })
        .await;
        recorder.skip_recording_for_benchmark(false);
        running.shutdown().await.expect("shutdown");
        figures
    });

    let labels = [
        "(a) no-op (WhoAmI)",
        "(b) clean, audit off",
        "(c) clean, audited",
    ];
    let base = figures[0].expect("measured").throughput;
    println!();
    println!(
        "| {:<22} | {:>12} | {:>9} | {:>12} | {:>16} |",
        "figure", "records/s", "vs (a)", "CPU µs/each", "streamed part/s"
    );
    println!(
        "|{:-<24}|{:->14}|{:->11}|{:->14}|{:->18}|",
        "", "", "", "", ""
    );
    for (label, figure) in labels.iter().zip(&figures) {
        let figure = figure.expect("measured");
        let streamed = if figure.commits > 0.0 {
            format!("{:.0}", figure.commits)
        } else {
            "–".into()
        };
        println!(
            "| {:<22} | {:>12.0} | {:>8.0}% | {:>12.1} | {:>16} |",
            label,
            figure.throughput,
            100.0 * figure.throughput / base,
            figure.cpu_us,
            streamed
        );
    }
    let audited = figures[2].expect("measured").throughput;
    println!();
    println!(
        "issue 31: `vnpop clean` with audit on, {records} records: {audited:.0} records/s (target ≥ {TARGET:.0} at 1,000,000): {}",
        if audited >= TARGET { "met" } else { "NOT met" }
    );
}
