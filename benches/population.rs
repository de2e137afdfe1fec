//! Population benchmark: what a population costs to serve, at the default size and (behind
//! `VNPOP_BENCH_COUNTRY=1`) at the whole country's, 100,000,000 citizens.
//!
//! `cargo bench --bench population` prints two tables:
//!
//! 1. In process: setting up the population and its store (time and heap), generating one citizen,
//!    and `CitizenStore::get` for known and unknown numbers against a plain `HashMap` of the same
//!    records (the baseline), measured in the same run.
//! 2. The `vnpop` binary as a user runs it: `serve` until it is listening (against a one-citizen
//!    population, the fixed cost of TLS and the audit log), its resident memory (VmRSS) after
//!    `vnpop load` has run against it, and `vnpop citizen show` / `vnpop chip read` for one
//!    generated citizen (against `vnpop --version`, the cost of starting the process), each with
//!    the target.
//!
//! Environment: `VNPOP_BENCH_SIZE` (default 1,000,000), `VNPOP_BENCH_COUNTRY=1` (adds the
//! 100,000,000 row, with 60 s of load), `VNPOP_BENCH_LOAD_SECONDS` (load before reading VmRSS,
//! default 10 s for the default size). Times are medians of `VNPOP_BENCH_ROUNDS` (default 5)
//! interleaved runs, since the machine is shared.

mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    collections::HashMap,
    hint::black_box,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicIsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{env_number, middle};
use vnpop::{
    domain::{CccdNumber, Citizen},
    population::{builtin_fixtures, Population, PopulationSpec},
    store::CitizenStore,
};

/// Counts live heap bytes, so memory is measured, not estimated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const VNPOP: &str = env!("CARGO_BIN_EXE_vnpop");
const LOOKUPS: usize = 1_000_000;
const COUNTRY: usize = 100_000_000;

fn spec(size: usize) -> PopulationSpec {
    PopulationSpec {
        seed: 2026,
        size,
        reference_date: PopulationSpec::default_reference_date(),
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() {
    let size = env_number("VNPOP_BENCH_SIZE", 1_000_000) as usize;
    let country = std::env::var("VNPOP_BENCH_COUNTRY").is_ok_and(|v| v == "1");
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 5).max(1) as usize;
    println!(
        "vnpop population benchmark: {size} citizens{}, {} threads, {rounds} rounds (shared, \
         noisy machine: compare the ratios)",
        if country {
            " and the whole country"
        } else {
            ""
        },
        rayon::current_num_threads()
    );
    in_process(size);
    binary(size, country, rounds);
}

/// Table 1: the population and the store, in this process.
fn in_process(size: usize) {
    // Warm the embedded tables and the number plan so their parse is not counted.
    let _ = Population::new(spec(10), &[]).unwrap().citizen(0);
    let fixtures = builtin_fixtures();
    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let store = CitizenStore::new(Population::new(spec(size), &fixtures).unwrap(), fixtures);
    let setup = started.elapsed();
    let bytes = LIVE.load(Ordering::Relaxed) - before;

    // Known numbers: a sample spread over the population; unknown: the next citizens' numbers
    // (same blocks, serials nobody of this size has).
    let population = store.population();
    let sample = 100_000.min(size);
    let stride = (size / sample) as u64;
    let known: Vec<Citizen> = (0..sample as u64)
        .map(|k| population.citizen(k * stride))
        .collect();
    let larger = Population::new(spec(size + sample), &builtin_fixtures()).unwrap();
    let unknown: Vec<CccdNumber> = (size as u64..(size + sample) as u64)
        .map(|i| larger.citizen(i).cccd)
        .collect();
    let keys: Vec<CccdNumber> = (0..LOOKUPS)
        .map(|i| known[(i * 7_919) % sample].cccd)
        .collect();
    let unknown_keys: Vec<CccdNumber> = (0..LOOKUPS)
        .map(|i| unknown[(i * 7_919) % sample])
        .collect();

    let started = Instant::now();
    let generated: Vec<Citizen> = (0..200_000).map(|i| population.citizen(i)).collect();
    let generation = started.elapsed() / generated.len() as u32;
    drop(generated);

    // Baseline: a plain HashMap of the same records (what the store held before), one thread.
    let baseline: HashMap<CccdNumber, Arc<Citizen>> = known
        .iter()
        .map(|c| (c.cccd, Arc::new(c.clone())))
        .collect();
    let time = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };
    let baseline_rate = per_second(
        LOOKUPS,
        time(&|| {
            keys.iter()
                .for_each(|k| drop(black_box(baseline.get(k).map(Arc::clone))))
        }),
    );
    let known_rate = per_second(
        LOOKUPS,
        time(&|| keys.iter().for_each(|k| drop(black_box(store.get(*k))))),
    );
    let unknown_rate = per_second(
        LOOKUPS,
        time(&|| {
            unknown_keys
                .iter()
                .for_each(|k| drop(black_box(store.get(*k))))
        }),
    );
    let parallel_rate = per_second(
        LOOKUPS,
        time(&|| {
            std::thread::scope(|s| {
                for chunk in keys.chunks(LOOKUPS / 2) {
                    let store = &store;
                    s.spawn(move || chunk.iter().for_each(|k| drop(black_box(store.get(*k)))));
                }
            })
        }),
    );
    assert!(unknown_keys[..1000].iter().all(|k| store.get(*k).is_none()));

    println!();
    println!("{:<52} {:>16}", "in process", "value");
    println!(
        "{:<52} {:>13.2} ms",
        "population + store set up",
        setup.as_secs_f64() * 1e3
    );
    println!(
        "{:<52} {:>13} B ({:.3} B per citizen)",
        "store heap",
        bytes,
        bytes as f64 / size as f64
    );
    println!(
        "{:<52} {:>13.2} µs",
        "one citizen generated",
        generation.as_secs_f64() * 1e6
    );
    println!();
    println!("{:<52} {:>16} {:>10}", "lookups", "per second", "ratio");
    for (name, value) in [
        (
            "HashMap::get of stored records, 1 thread (baseline)",
            baseline_rate,
        ),
        ("CitizenStore::get, known, 1 thread", known_rate),
        ("CitizenStore::get, known, 2 threads", parallel_rate),
        (
            "CitizenStore::get, unknown (NOT_FOUND), 1 thread",
            unknown_rate,
        ),
    ] {
        println!("{name:<52} {value:>16.0} {:>10.2}", value / baseline_rate);
    }
}

/// A `vnpop serve` started for the benchmark, killed when dropped.
struct Server {
    child: Child,
    address: String,
    ready: Duration,
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts `vnpop serve --population size` and waits for "vnpop listening".
    fn start(size: usize) -> Server {
        let data = tempfile::tempdir().expect("temporary directory");
        let started = Instant::now();
        let mut child = Command::new(VNPOP)
            .args(["serve", "--listen", "127.0.0.1:0", "--population"])
            .arg(size.to_string())
            .arg("--data-dir")
            .arg(data.path())
            .env("VNPOP_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vnpop serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("vnpop serve exited before listening")
                .expect("readable log");
            if line.contains("vnpop listening") {
                let at = line.find("local_addr=").expect("address in the log") + 11;
                break line[at..].split_whitespace().next().unwrap().to_string();
            }
        };
        let ready = started.elapsed();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            address,
            ready,
            _data: data,
        }
    }

    /// Resident memory of the server process.
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a `vnpop` command takes, start to exit.
fn run(args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(VNPOP)
        .args(args)
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .expect("vnpop runs");
    assert!(status.success(), "vnpop {args:?} failed");
    started.elapsed()
}

/// Runs `vnpop load` against `server` for `seconds`.
fn load(server: &Server, size: usize, seconds: u64) {
    let status = Command::new(VNPOP)
        .args(["load", "--server", &server.address, "--population"])
        .arg(size.to_string())
        .args(["--warmup", "1s", "--duration"])
        .arg(format!("{seconds}s"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .expect("vnpop load runs");
    assert!(status.success(), "vnpop load failed");
}

/// Table 2: the binary, as a user runs it.
fn binary(size: usize, country: bool, rounds: usize) {
    let mut sizes = vec![size];
    if country {
        sizes.push(COUNTRY);
    }
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut rows: Vec<[String; 5]> = Vec::new();

    // Ready times: interleaved rounds of the one-citizen baseline and each size.
    let mut ready: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len() + 1];
    for _ in 0..rounds {
        for (slot, n) in std::iter::once(1).chain(sizes.iter().copied()).enumerate() {
            ready[slot].push(Server::start(n).ready);
        }
    }
    let baseline_ready = middle(ready[0].clone());
    rows.push([
        "serve ready (listening), 1 citizen (baseline)".into(),
        "1".into(),
        format!("{:.0} ms", ms(baseline_ready)),
        "1.00×".into(),
        "-".into(),
    ]);
    for (i, n) in sizes.iter().enumerate() {
        let value = middle(ready[i + 1].clone());
        let target = if *n == COUNTRY { 10_000.0 } else { 500.0 };
        rows.push([
            "serve ready (listening)".into(),
            n.to_string(),
            format!("{:.0} ms", ms(value)),
            format!("{:.2}×", value.as_secs_f64() / baseline_ready.as_secs_f64()),
            verdict(ms(value) < target, &format!("< {target:.0} ms")),
        ]);
    }

    // Memory after load.
    for n in &sizes {
        let seconds = if *n == COUNTRY {
            60
        } else {
            env_number("VNPOP_BENCH_LOAD_SECONDS", 10)
        };
        let server = Server::start(*n);
        let before = server.rss_bytes();
        load(&server, *n, seconds);
        let after = server.rss_bytes();
        rows.push([
            format!("serve VmRSS at ready / after {seconds} s of vnpop load"),
            n.to_string(),
            format!("{:.0} / {:.0} MiB", mib(before), mib(after)),
            "-".into(),
            verdict(after < 4 << 30, "< 4096 MiB"),
        ]);
    }

    // One citizen from the command line: the last card holder of the range (the far end).
    let mut version = Vec::new();
    let mut show: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    let mut chip: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    let numbers: Vec<String> = sizes
        .iter()
        .map(|n| {
            let population = Population::new(spec(*n), &builtin_fixtures()).unwrap();
            (0..*n as u64)
                .rev()
                .map(|i| population.citizen(i))
                .find(|c| c.card.is_some())
                .expect("card holders")
                .cccd
                .to_string()
        })
        .collect();
    for _ in 0..rounds {
        version.push(run(&["--version"]));
        for (i, n) in sizes.iter().enumerate() {
            let n = n.to_string();
            show[i].push(run(&["citizen", "show", &numbers[i], "--population", &n]));
            chip[i].push(run(&["chip", "read", &numbers[i], "--population", &n]));
        }
    }
    let baseline = middle(version);
    rows.push([
        "vnpop --version (baseline: process start)".into(),
        "-".into(),
        format!("{:.1} ms", ms(baseline)),
        "1.00×".into(),
        "-".into(),
    ]);
    for (i, n) in sizes.iter().enumerate() {
        for (name, times) in [
            ("vnpop citizen show", &show[i]),
            ("vnpop chip read", &chip[i]),
        ] {
            let value = middle(times.clone());
            rows.push([
                name.into(),
                n.to_string(),
                format!("{:.1} ms", ms(value)),
                format!("{:.2}×", value.as_secs_f64() / baseline.as_secs_f64()),
                verdict(ms(value) < 100.0, "< 100 ms"),
            ]);
        }
    }

    println!();
    println!(
        "| {:<52} | {:>11} | {:>17} | {:>8} | {:<16} |",
        "figure", "population", "value", "vs base", "target"
    );
    println!(
        "|{:-<54}|{:-<13}|{:-<19}|{:-<10}|{:-<18}|",
        "", "", "", "", ""
    );
    for [figure, population, value, ratio, target] in rows {
        println!("| {figure:<52} | {population:>11} | {value:>17} | {ratio:>8} | {target:<16} |");
    }
}

fn verdict(met: bool, target: &str) -> String {
    format!("{target} {}", if met { "met" } else { "MISSED" })
}
