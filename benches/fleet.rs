//! Fleet mode's price: audited lookups per second with one and two servers sharing one
//! PostgreSQL database, against one server on its embedded SQLite file, in the same run:
//! `bash tests/with-postgres cargo bench --bench fleet` (the wrapper starts a throwaway cluster;
//! or point `VNPOP_BENCH_POSTGRES` at a database server of your own: a new database is created
//! in it for the run).
//!
//! One process starts the servers (200,000 citizens, development mTLS certificates, fresh data
//! directories) and drives them with the `vnpop load` driver, closed loop, 64 in flight over
//! one channel per server (the fleet's load spread evenly), `LookupByCccd` only:
//!
//! - (s) one server, the audit trail in its SQLite file (the single-server default);
//! - (p1) one server, the audit trail in PostgreSQL;
//! - (p2) two servers sharing the PostgreSQL database, the load spread over both.
//!
//! Interleaved rounds (s, p1, p2, s, …), medians; printed: throughput, p50 and p99, and
//! throughput against (s). Every server, the load generator and PostgreSQL share this machine's
//! cores: on a small machine a second server adds CPU contention, not capacity; what bounds
//! the fleet on a real one is the database's commit rate (one append lock, one commit a group).
//! `VNPOP_BENCH_ROUNDS` (5), `VNPOP_BENCH_SECONDS` (4), `VNPOP_BENCH_CONCURRENCY` (64).

mod common;

/// The allocator the `vnpop` binary uses, so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use common::{bench_config, closed_loop, env_number, interleaved, lookup_pool, Figure};
use vnpop::{
    client::connect_channel,
    config::ServeConfig,
    load::{self, LoadConfig, RpcKind},
    server::{self, RunningServer, ServerState},
};

/// A new database in the PostgreSQL server at `base` (a URL ending in `/database`).
async fn new_database(base: &str) -> String {
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    let connection = tokio::spawn(connection);
    let name = format!("vnpop_bench_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&statement).await.expect(&statement);
    }
    drop(client);
    let _ = connection.await;
    let (prefix, _) = base.rsplit_once('/').expect("a URL ending in /database");
    format!("{prefix}/{name}")
}

fn main() {
    let base = std::env::var("VNPOP_BENCH_POSTGRES")
        .or_else(|_| std::env::var("VNPOP_TEST_POSTGRES"))
        .expect("run as `bash tests/with-postgres cargo bench --bench fleet`, or set VNPOP_BENCH_POSTGRES");
    let seconds = env_number("VNPOP_BENCH_SECONDS", 4);
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 5).max(1) as usize;
    let concurrency = env_number("VNPOP_BENCH_CONCURRENCY", 64) as usize;
    let population = env_number("VNPOP_BENCH_POPULATION", 200_000) as usize;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "Audited lookups, one server on SQLite against one and two on PostgreSQL: {cores} cores (shared by servers, load and database), population {population}, closed loop {concurrency} in flight, {rounds} interleaved rounds of {seconds} s per figure (after a 1 s warm-up each), medians"
    );
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("data directory"))
        .collect();
    let config = |dir: &tempfile::TempDir, store: Option<String>| {
        let mut config = bench_config(dir.path(), population);
        config.audit_store = store;
        config
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let figures = runtime.block_on(async {
        let store = new_database(&base).await;
        let start = |config: ServeConfig| async move {
            let state = ServerState::build(&config).expect("server state");
            server::start(config.listen, state).await.expect("server")
        };
        let sqlite = start(config(&dirs[0], None)).await;
        let first = start(config(&dirs[1], Some(store.clone()))).await;
        for file in [
            "audit-signing.key",
            "audit-signing.pub",
            "audit-subject.key",
        ] {
            std::fs::copy(dirs[1].path().join(file), dirs[2].path().join(file)).expect("keys");
        }
        let second = start(config(&dirs[2], Some(store.clone()))).await;
        // Signed heads in the database: one a group commit.
        let (heads, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
            .await
            .expect("the fleet's database");
        tokio::spawn(connection);
        let commits = || async {
            heads
                .query_one("SELECT count(*) FROM audit_heads", &[])
                .await
                .expect("count heads")
                .get::<_, i64>(0)
        };

        let load_config = LoadConfig::defaults();
        let tls = load::client_tls(&load_config).expect("development identity");
        let channel = |server: &RunningServer| {
            let endpoint = format!("https://127.0.0.1:{}", server.local_addr.port());
            let tls = tls.clone();
            async move {
                connect_channel(&endpoint, tls.as_ref())
                    .await
                    .expect("connect")
            }
        };
        let (to_sqlite, to_first, to_second) = (
            channel(&sqlite).await,
            channel(&first).await,
            channel(&second).await,
        );
        let pool = lookup_pool(&config(&dirs[0], None));
        let run_id = load::new_run_id();
        let setups = [
            ("(s) 1 server, SQLite", vec![to_sqlite]),
            ("(p1) 1 server, PostgreSQL", vec![to_first.clone()]),
            ("(p2) 2 servers, PostgreSQL", vec![to_first, to_second]),
        ];
        let medians = interleaved(rounds, setups.len(), |i| {
            let (pool, run_id, channels, commits) = (&pool, &run_id, setups[i].1.clone(), &commits);
            async move {
                let (before, wall) = (commits().await, std::time::Instant::now());
                let figure = closed_loop(
                    pool,
                    RpcKind::Lookup,
                    channels,
                    concurrency,
                    seconds,
                    run_id,
                )
                .await;
                // Over the warm-up too: the commit count has no warm-up of its own.
                let commits = (commits().await - before) as f64 / wall.elapsed().as_secs_f64();
                Some(Figure { commits, ..figure })
            }
        })
        .await;
        for server in [sqlite, first, second] {
            server.shutdown().await.expect("shutdown");
        }
        setups
            .iter()
            .zip(medians)
            .map(|((label, _), figure)| (*label, figure.expect("measured")))
            .collect::<Vec<_>>()
    });

    let base = &figures[0].1;
    println!();
    println!(
        "| {:<28} | {:>9} | {:>8} | {:>8} | {:>16} |",
        "figure", "req/s", "p50 ms", "p99 ms", "throughput vs s"
    );
    println!(
        "|{:-<30}|{:->11}|{:->10}|{:->10}|{:->18}|",
        "", "", "", "", ""
    );
    for (label, figure) in &figures {
        println!(
            "| {:<28} | {:>9.0} | {:>8.3} | {:>8.3} | {:>15.0}% |",
            label,
            figure.throughput,
            figure.p50_ms,
            figure.p99_ms,
            100.0 * figure.throughput / base.throughput
        );
    }
    println!();
    for (label, figure) in &figures[1..] {
        println!(
            "{label}: {:.0} group commits a second into PostgreSQL (one at a time, under the append lock), {:.1} lookups a commit",
            figure.commits,
            figure.throughput / figure.commits.max(1.0)
        );
    }
}
