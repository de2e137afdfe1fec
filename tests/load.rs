//! `vnpop load` against a real server: the library driver and the binary's JSON report, closed
//! and open loop; and WhoAmI, the no-op RPC the load uses as its baseline.

mod common;

use std::time::Duration;

use common::*;
use vnpop::{
    client::RegistryClient,
    load::{self, LoadConfig, LoadReport},
};

/// A load configuration for the test server: its population, no warm-up, a few hundred requests.
fn load_config(server: &vnpop::server::RunningServer, population: usize) -> LoadConfig {
    let mut config = LoadConfig::defaults();
    config.target = format!("127.0.0.1:{}", server.local_addr.port());
    config.population = population;
    config.citizen_sample = population;
    config.warmup = Duration::ZERO;
    config.requests = Some(400);
    config.concurrency = Some(8);
    config
}

/// The counts of a report add up: OK plus errors is the total, overall and per RPC, and the
/// RPCs add up to the total.
fn assert_counts_add_up(report: &LoadReport, requests: u64) {
    assert_eq!(report.total.requests, requests, "{report:#?}");
    let errors: u64 = report.total.errors.values().sum();
    assert_eq!(report.total.ok + errors, requests, "{report:#?}");
    let per_rpc: u64 = report.rpcs.values().map(|f| f.requests).sum();
    assert_eq!(per_rpc, requests);
    for (rpc, figures) in &report.rpcs {
        let errors: u64 = figures.errors.values().sum();
        assert_eq!(figures.ok + errors, figures.requests, "{rpc}");
        assert!(figures.latency_ms.p50 > 0.0, "{rpc}");
        assert!(figures.latency_ms.p50 <= figures.latency_ms.p99);
        assert!(figures.latency_ms.p99 <= figures.latency_ms.max);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_mix_asks_for_real_citizens_and_counts_every_answer() {
    let config = test_config();
    let population = config.population.size;
    let server = TestServer::with_config(config).await;

    // Real citizens only: every lookup, verification, QR check and login is answered OK, which
    // shows the load knows the server's population and the accounts' credentials.
    let mut clean = load_config(&server, population);
    clean.mix = "lookup=40,verify=20,qr=20,auth=20".parse().unwrap();
    clean.unknown_share = 0.0;
    clean.invalid_share = 0.0;
    let report = load::run(&clean, Default::default())
        .await
        .expect("load runs");
    assert_counts_add_up(&report, 400);
    assert_eq!(
        report.total.errors,
        Default::default(),
        "{}",
        report.table()
    );
    assert_eq!(report.rpcs.len(), 4);
    assert!(report.rpcs["auth"].ok > 0);

    // With unknown and invalid numbers: NOT_FOUND and INVALID_ARGUMENT appear, and only those.
    // (No logins this time: the accounts just used have used this 30-second step's code.)
    let mut mixed = load_config(&server, population);
    mixed.mix = "lookup=70,verify=15,qr=15".parse().unwrap();
    mixed.unknown_share = 0.2;
    mixed.invalid_share = 0.2;
    let report = load::run(&mixed, Default::default())
        .await
        .expect("load runs");
    assert_counts_add_up(&report, 400);
    let errors = &report.total.errors;
    assert!(
        errors.get("INVALID_ARGUMENT").copied().unwrap_or(0) > 20,
        "{errors:?}"
    );
    assert!(
        errors.get("NOT_FOUND").copied().unwrap_or(0) > 20,
        "{errors:?}"
    );
    assert!(
        errors
            .keys()
            .all(|code| code == "INVALID_ARGUMENT" || code == "NOT_FOUND"),
        "{}",
        report.table()
    );
    assert!(report.rpcs["lookup"]
        .errors
        .contains_key("INVALID_ARGUMENT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_one_json_report() {
    let config = test_config();
    let population = config.population.size;
    let server = TestServer::with_config(config).await;
    let port = server.local_addr.port();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["load", "--json", "--mix", "noop=1", "--requests", "300"])
            .args([
                "--warmup",
                "0s",
                "--concurrency",
                "4",
                "--invalid-share",
                "0.5",
            ])
            .args(["--server", &format!("127.0.0.1:{port}")])
            .args(["--population", &population.to_string()])
            .output()
            .expect("vnpop runs")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: LoadReport = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_counts_add_up(&report, 300);
    // Only the no-op: no lookups, and WhoAmI takes no number, so nothing is invalid.
    assert_eq!(report.rpcs.keys().collect::<Vec<_>>(), ["noop"]);
    assert_eq!(report.total.ok, 300);
    assert_eq!(report.settings.mode, "closed");

    // A bad option is an error message, not a panic.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["load", "--mix", "lookups=5"])
        .output()
        .expect("vnpop runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown RPC"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_loop_sends_at_the_requested_rate() {
    let config = test_config();
    let population = config.population.size;
    let server = TestServer::with_config(config).await;
    let mut config = load_config(&server, population);
    config.requests = None;
    config.concurrency = None;
    config.rate = Some("200/s".parse().unwrap());
    config.duration = Some(Duration::from_secs(1));
    config.mix = "noop=1,lookup=1".parse().unwrap();
    let started = std::time::Instant::now();
    let report = load::run(&config, Default::default())
        .await
        .expect("load runs");
    let requests = report.total.requests;
    assert_counts_add_up(&report, requests);
    // Due times 0, 5 ms, … up to just before 1 s: 200 requests, sent over about a second.
    assert!((190..=201).contains(&requests), "{requests}");
    assert!(report.elapsed_seconds >= 0.95, "{}", report.elapsed_seconds);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.settings.rate_per_second, Some(200.0));
}

#[tokio::test]
async fn who_am_i_tells_the_caller_how_the_server_sees_it() {
    let server = TestServer::start().await;
    let one_stop = server.registry("one-stop-phuong-ba-dinh").await;
    let me = one_stop.who_am_i().await.unwrap();
    assert_eq!(me.agency_id, "one-stop-phuong-ba-dinh");
    assert_eq!(me.role, "agency");
    assert!(me.field_scope.contains(&"religion".to_owned()));

    let hospital = server.registry("hospital-bach-mai").await;
    let me = hospital.who_am_i().await.unwrap();
    assert_eq!(
        me.field_scope,
        ["full_name", "date_of_birth", "sex", "permanent_address"]
    );

    // Auditors may not look anyone up, but may ask who they are.
    let auditor: RegistryClient = server.registry("auditor-thanh-tra").await;
    assert_eq!(auditor.who_am_i().await.unwrap().role, "auditor");

    // Not recorded in the audit trail.
    let size = || {
        server
            .recorder
            .log()
            .latest_head()
            .unwrap()
            .map_or(0, |head| head.tree_size)
    };
    let before = size();
    one_stop.who_am_i().await.unwrap();
    assert_eq!(size(), before);
    // …whereas a lookup is.
    one_stop
        .lookup_by_cccd(&context(), "001090012345")
        .await
        .unwrap();
    assert_eq!(size(), before + 1);
}

/// Ctrl-C during a 60-second run: it ends within seconds, successfully, with the report of the
/// part that ran, saying it was interrupted.
#[tokio::test]
async fn ctrl_c_ends_a_run_with_its_partial_report() {
    let config = test_config();
    let population = config.population.size;
    let server = TestServer::with_config(config).await;
    let port = server.local_addr.port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["load", "--json", "--mix", "noop=1", "--duration", "60s"])
        .args(["--warmup", "0s", "--concurrency", "2"])
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(["--population", &population.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vnpop runs");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SAFETY: kill(2) on a child process we own, still unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(output.status.success(), "{output:?}");
    let report: LoadReport = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert!(report.interrupted);
    assert!(report.total.ok > 0, "{report:?}");
    assert!(report.elapsed_seconds < 30.0, "{}", report.elapsed_seconds);
}
