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
//!
//! And (d), first: the same job as a data team runs it, two processes — `vnpop serve` (the same
//! population, a fresh audit log, audit on) and `vnpop clean` — once, printing records a second,
//! each process's CPU time per record, and each one's resident memory from `/proc/<pid>/status`:
//! its peak (VmHWM; the client's read every 0.1 s until it ends) and its VmRSS a quarter of the
//! way through and at the end, so memory that grows with the records shows. Issue 31's memory
//! figure is (d) at 10,000,000 records (`VNPOP_BENCH_RECORDS=10000000`), each process ≤ 200 MiB;
//! `VNPOP_BENCH_ONLY=processes` runs (d) alone.

mod common;

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

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
/// Issue 31's memory target for each of (d)'s processes, bytes.
const MEMORY_TARGET: u64 = 200 << 20;
/// How often (d) reads its processes' resident memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Field `field` (`VmRSS`, `VmHWM`) of process `pid`'s `/proc/<pid>/status`, bytes (0: gone).
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.split(':').next() == Some(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// CPU time (user and system) process `pid` has used, from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |t| t.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    // SAFETY: sysconf reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// (d)'s measures.
struct Processes {
    elapsed: Duration,
    client_cpu: Duration,
    server_cpu: Duration,
    /// Peak resident memory (VmHWM) of the client (its last reading, every
    /// [`SAMPLE_EVERY`]) and of the server.
    client_peak: u64,
    server_peak: u64,
    /// VmRSS a quarter of the way through and at the end (the client's last reading).
    client_quarter: u64,
    client_end: u64,
    server_ready: u64,
    server_quarter: u64,
    server_end: u64,
}

/// (d): `vnpop serve` and `vnpop clean` as two processes, the job run once.
fn separate_processes(records: u64, registry: &Path, dir: &Path, population: usize) -> Processes {
    let vnpop = env!("CARGO_BIN_EXE_vnpop");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new(vnpop)
        .args(["serve", "--population", &population.to_string()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.join("processes-data"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("vnpop serve starts");
    common::wait_listening(port);
    let server_pid = server.id();
    let server_ready = status_bytes(server_pid, "VmRSS");
    let server_cpu_before = process_cpu(server_pid);
    let started = Instant::now();
    // Reaped by the wait4 below, which also gives its CPU time.
    #[allow(clippy::zombie_processes)]
    let client = Command::new(vnpop)
        .args(["clean", "--in"])
        .arg(registry)
        .arg("--out")
        .arg(dir.join("verdicts-processes.csv"))
        .args(["--job-id", "bench-processes", "--purpose", "benchmark"])
        .args(["--server", &format!("https://localhost:{port}")])
        .args([
            "--cert",
            "certs/simulation.pem",
            "--key",
            "certs/simulation.key",
        ])
        .arg("--quiet")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("clean-stderr.txt")).expect("stderr file"))
        .spawn()
        .expect("vnpop clean starts");
    let client_pid = client.id();
    // (seconds since the start, client VmRSS, server VmRSS), until the client ends, and the
    // client's peak: its VmHWM, which starts again at the exec (wait4's ru_maxrss would count
    // the memory the child shared with this process before the exec).
    let mut samples = Vec::new();
    let mut client_peak = 0;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: wait4 writes the status and the usage it is given.
        let (ended, usage) = unsafe {
            let mut usage = std::mem::zeroed::<libc::rusage>();
            let ended = libc::wait4(client_pid as i32, &mut status, libc::WNOHANG, &mut usage);
            (ended, usage)
        };
        if ended == client_pid as i32 {
            break (status, usage);
        }
        assert!(ended == 0, "wait4: {}", std::io::Error::last_os_error());
        samples.push((
            started.elapsed().as_secs_f64(),
            status_bytes(client_pid, "VmRSS"),
            status_bytes(server_pid, "VmRSS"),
        ));
        client_peak = client_peak.max(status_bytes(client_pid, "VmHWM"));
        std::thread::sleep(SAMPLE_EVERY);
    };
    let elapsed = started.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "vnpop clean failed (status {status}): {}",
        std::fs::read_to_string(dir.join("clean-stderr.txt")).unwrap_or_default()
    );
    let server_cpu = process_cpu(server_pid) - server_cpu_before;
    let server_peak = status_bytes(server_pid, "VmHWM");
    let server_end = status_bytes(server_pid, "VmRSS");
    // SAFETY: kill sends a signal to the server this bench started.
    unsafe { libc::kill(server_pid as i32, libc::SIGTERM) };
    let _ = server.wait();
    let quarter = elapsed.as_secs_f64() / 4.0;
    let at_quarter = samples
        .iter()
        .find(|(t, ..)| *t >= quarter)
        .or(samples.last())
        .copied()
        .unwrap_or_default();
    let last = samples.last().copied().unwrap_or_default();

    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    let lines = count_lines(&dir.join("verdicts-processes.csv"));
    assert_eq!(
        lines,
        records + 1,
        "one verdict row a record, and the header"
    );
    let _ = std::fs::remove_file(dir.join("verdicts-processes.csv"));
    Processes {
        elapsed,
        client_cpu: time(usage.ru_utime) + time(usage.ru_stime),
        server_cpu,
        client_peak,
        server_peak,
        client_quarter: at_quarter.1,
        client_end: last.1,
        server_ready,
        server_quarter: at_quarter.2,
        server_end,
    }
}

/// Lines in the file at `path`.
fn count_lines(path: &Path) -> u64 {
    use std::io::BufRead;
    let mut reader =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).expect("verdicts"));
    let mut lines = 0;
    loop {
        let buffer = reader.fill_buf().expect("read");
        if buffer.is_empty() {
            return lines;
        }
        lines += buffer.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buffer.len();
        reader.consume(n);
    }
}

/// Mebibytes, for printing.
fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

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
    let only_processes = std::env::var("VNPOP_BENCH_ONLY").is_ok_and(|v| v == "processes");
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
    if !only_processes {
        let (figures, verdicts) = in_process(&config, &registry, records, rounds, data_dir.path());
        print_in_process(&figures, records);
        println!("(c)'s verdicts: {verdicts}");
    }
    let processes = separate_processes(records, &registry, data_dir.path(), config.population.size);
    print_processes(&processes, records);
}

/// (a), (b) and (c) in interleaved rounds, client and server in this process: each figure's
/// medians, and the verdict counts of the last (c) job.
fn in_process(
    config: &vnpop::config::ServeConfig,
    registry: &Path,
    records: u64,
    rounds: usize,
    dir: &Path,
) -> (Vec<Option<Figure>>, String) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let state = ServerState::build(config).expect("server state");
    let verdicts = Arc::new(std::sync::Mutex::new(String::new()));
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
        let pool = lookup_pool(config);
        let run_id = load::new_run_id();
        let certs = common::certs();
        let mut job = 0;
        let figures = interleaved(rounds, 3, |i| {
            let (pool, run_id, channel, recorder) = (&pool, &run_id, &channel, &recorder);
            let verdicts = Arc::clone(&verdicts);
            job += 1;
            let args = CleanArgs {
                input: registry.to_owned(),
                output: dir.join(format!("verdicts-{job}.csv")),
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
                if i == 2 {
                    let json = report.summary_json();
                    *verdicts.lock().expect("verdicts") = json["verdicts"].to_string();
                }
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
    let verdicts = verdicts.lock().expect("verdicts").clone();
    (figures, verdicts)
}

/// Prints (a), (b) and (c) against (a), and (c) against issue 31's target.
fn print_in_process(figures: &[Option<Figure>], records: u64) {
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
    for (label, figure) in labels.iter().zip(figures) {
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

/// Prints (d): throughput, CPU per record and each process's memory against issue 31's target.
fn print_processes(d: &Processes, records: u64) {
    let per_record = |cpu: Duration| cpu.as_secs_f64() * 1e6 / records as f64;
    println!();
    println!(
        "(d) `vnpop serve` and `vnpop clean` as two processes, audited, {records} records: {:.0} records/s in {:.1} s; CPU µs/record: client {:.1}, server {:.1}",
        records as f64 / d.elapsed.as_secs_f64(),
        d.elapsed.as_secs_f64(),
        per_record(d.client_cpu),
        per_record(d.server_cpu)
    );
    println!(
        "| {:<8} | {:>14} | {:>18} | {:>14} | {:>14} |",
        "process", "VmRSS at start", "VmRSS at a quarter", "VmRSS at end", "peak"
    );
    println!(
        "|{:-<10}|{:->16}|{:->20}|{:->16}|{:->16}|",
        "", "", "", "", ""
    );
    println!(
        "| {:<8} | {:>14} | {:>14.1} MiB | {:>10.1} MiB | {:>10.1} MiB |",
        "client",
        "–",
        mib(d.client_quarter),
        mib(d.client_end),
        mib(d.client_peak)
    );
    println!(
        "| {:<8} | {:>10.1} MiB | {:>14.1} MiB | {:>10.1} MiB | {:>10.1} MiB |",
        "server",
        mib(d.server_ready),
        mib(d.server_quarter),
        mib(d.server_end),
        mib(d.server_peak)
    );
    let met = d.client_peak <= MEMORY_TARGET && d.server_peak <= MEMORY_TARGET;
    println!(
        "issue 31: client and server memory during a {records}-record job, each ≤ {:.0} MiB (at 10,000,000): {}",
        mib(MEMORY_TARGET),
        if met { "met" } else { "NOT met" }
    );
}
