//! What the benchmarks share: their settings from the environment, a server configuration for
//! one in-process run, the development client identity, the process's CPU time, the figure of a
//! round and its median over interleaved rounds, and one closed-loop round of lookups through
//! the real load driver.
//!
//! The machine the benchmarks run on is shared and noisy: every comparison runs its figures in
//! interleaved rounds ([`interleaved`]) and reports each measure's median ([`median`]).

#![allow(dead_code)]

use std::{future::Future, path::Path, time::Duration};

use vnpop::{client::ClientTls, config::ServeConfig};

/// Waits (at most a minute) until something listens on the loopback port `port`: a `vnpop
/// serve` process a bench started.
pub fn wait_listening(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "vnpop serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number in the environment variable `name` (underscores allowed: `1_000_000`), or
/// `default` when it is unset or not a number.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The defaults, serving `population` citizens on a loopback port the system picks, with the
/// data directory `data_dir`.
pub fn bench_config(data_dir: &Path, population: usize) -> ServeConfig {
    let mut config = ServeConfig::defaults();
    config.data_dir = data_dir.to_owned();
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.population.size = population;
    config
}

/// The development certificates directory.
pub fn certs() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/certs"))
}

/// The development client identity of `agency` (certs/<agency>.pem and .key).
pub fn development_tls(agency: &str) -> ClientTls {
    ClientTls::from_files(
        certs().join("ca.pem"),
        certs().join(format!("{agency}.pem")),
        certs().join(format!("{agency}.key")),
    )
    .expect("development identity")
}

/// CPU time used by this process so far (every thread, user and system): a cost that other
/// programs' load on the machine inflates far less than it does throughput.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time used so far by this process's SQLite writer threads — every thread whose name starts
/// with `audit-`: the audit log's sequencer, projector and checkpointer, and the outboxes' writers —
/// from the kernel's per-thread run time (`/proc/self/task/*/schedstat`, in nanoseconds). Their
/// cost per call grows when their group commits get smaller, so it shows how the figures' other
/// work crowds them out. Threads that ended are not counted: take it around a figure.
pub fn writers_cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("audit-"))
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    Duration::from_nanos(nanos)
}

/// The middle value of `values` (the upper one of an even count); panics on an empty list.
pub fn middle<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable values (no NaN)"));
    values[values.len() / 2]
}

/// One round of one figure. Measures a benchmark does not take stay 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figure {
    /// Calls a second.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The process's CPU time per call (µs), where measured.
    pub cpu_us: f64,
    /// The SQLite writer threads' share of `cpu_us` (µs per call), where measured.
    pub writers_us: f64,
    /// Group commits a second into the fleet's database, where measured.
    pub commits: f64,
}

/// Each measure's median over `rounds`, taken separately; `None` for a figure not measured.
pub fn median(rounds: &[Figure]) -> Option<Figure> {
    if rounds.is_empty() {
        return None;
    }
    let pick = |key: fn(&Figure) -> f64| middle(rounds.iter().map(key).collect());
    Some(Figure {
        throughput: pick(|f| f.throughput),
        p50_ms: pick(|f| f.p50_ms),
        p99_ms: pick(|f| f.p99_ms),
        cpu_us: pick(|f| f.cpu_us),
        writers_us: pick(|f| f.writers_us),
        commits: pick(|f| f.commits),
    })
}

/// `rounds` rounds of `figures` figures, each round measuring every figure once in order
/// (`measure(i)`; `None` skips figure i), so that the machine's other load falls on all of them
/// alike. Each figure's medians, in order.
pub async fn interleaved<F, Fut>(rounds: usize, figures: usize, measure: F) -> Vec<Option<Figure>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Option<Figure>>,
{
    interleaved_rounds(rounds, figures, measure)
        .await
        .iter()
        .map(|rounds| median(rounds))
        .collect()
}

/// [`interleaved`], each figure's rounds kept (in round order; a skipped figure has none), for
/// figures made of several figures of the same round (a difference, a ratio) whose median over
/// the rounds is wanted.
pub async fn interleaved_rounds<F, Fut>(
    rounds: usize,
    figures: usize,
    mut measure: F,
) -> Vec<Vec<Figure>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Option<Figure>>,
{
    let mut rounds_of = vec![Vec::new(); figures];
    for _ in 0..rounds.max(1) {
        for (i, results) in rounds_of.iter_mut().enumerate() {
            if let Some(figure) = measure(i).await {
                results.push(figure);
            }
        }
    }
    rounds_of
}

#[cfg(feature = "client")]
#[allow(unused_imports)] // Not every benchmark drives lookups.
pub use lookups::{closed_loop, lookup_pool};

#[cfg(feature = "client")]
mod lookups {
    use std::{sync::Arc, time::Duration};

    use tonic::transport::Channel;
    use vnpop::{
        config::ServeConfig,
        load::{
            self, CitizenDistribution, CitizenPool, Driver, LoadConfig, Mix, Pace, PoolSpec,
            RpcKind, Stop,
        },
    };

    use super::Figure;

    /// Known citizens of `config`'s population to look up (up to 200,000), uniformly.
    pub fn lookup_pool(config: &ServeConfig) -> Arc<CitizenPool> {
        Arc::new(CitizenPool::prepare(PoolSpec {
            population: config.population_spec(),
            sample: config.population.size.min(200_000),
            distribution: CitizenDistribution::Uniform,
            unknown_share: 0.0,
            invalid_share: 0.0,
            details: false,
            accounts: false,
        }))
    }

    /// One round: `kind` calls from the real load driver over `channels`, `concurrency` in
    /// flight for `seconds` after a 1 s warm-up; every call must succeed. Its `cpu_us` is the
    /// process's CPU time (every thread, user and system: the server's and the load driver's
    /// alike, both being in this process) over the measured part, per call made in it; its
    /// `writers_us` the part of it the `audit-` threads took ([`super::writers_cpu_time`]).
    pub async fn closed_loop(
        pool: &Arc<CitizenPool>,
        kind: RpcKind,
        channels: Vec<Channel>,
        concurrency: usize,
        seconds: u64,
        run_id: &str,
    ) -> Figure {
        let driver = Arc::new(Driver::new(
            Arc::clone(pool),
            Mix::only(kind),
            channels,
            Duration::from_secs(10),
            run_id.to_owned(),
        ));
        let pace = Pace::Closed { concurrency };
        // The warm-up as `Driver::run` makes it, a phase of its own whose workers have all ended
        // before the measured phase starts, so the CPU time taken between the two covers the
        // measured calls only.
        let warmup = Stop::After(Duration::from_secs(1));
        driver.run(pace, warmup, Duration::ZERO, false).await;
        let (cpu, writers) = (super::cpu_time(), super::writers_cpu_time());
        let (tally, elapsed) = driver
            .run(
                pace,
                Stop::After(Duration::from_secs(seconds)),
                Duration::ZERO,
                false,
            )
            .await;
        let (cpu, writers) = (
            super::cpu_time() - cpu,
            super::writers_cpu_time().saturating_sub(writers),
        );
        let settings = load::settings(&LoadConfig::defaults(), run_id);
        let report = load::LoadReport::new(settings, &tally, elapsed);
        let errors: u64 = report.total.errors.values().sum();
        assert_eq!(errors, 0, "{}", report.table());
        Figure {
            throughput: report.total.throughput_per_second,
            p50_ms: report.total.latency_ms.p50,
            p99_ms: report.total.latency_ms.p99,
            cpu_us: cpu.as_secs_f64() * 1e6 / report.total.requests.max(1) as f64,
            writers_us: writers.as_secs_f64() * 1e6 / report.total.requests.max(1) as f64,
            ..Figure::default()
        }
    }
}
