//! The audit promise under kill -9, call by call: a real `vnpop serve` process (1,000 citizens,
//! mTLS with the development certificates, an ephemeral loopback port) is killed with SIGKILL at
//! seeded random moments — [`KILLS`] times, each followed by a restart on the same port and data
//! directory — while a few tasks keep making every client API call in a loop:
//! `AgencyClient::open_dossier`, `open_dossier_once` (a fixed run id), and through the `Dossier`
//! `lookup_by_cccd`, `lookup_by_cmnd`, `verify_demographics`, `verify_qr`, `verify_chip` (a
//! genuine chip read), VNeID `start_vneid`/`complete_vneid` (one login in four with a wrong
//! passcode: a refusal the server serves and records), and `flush`; and the same calls through
//! an in-process gateway, over REST/JSON and over gRPC.
//!
//! What it checks:
//! 1. No transport failure surfaces as a server answer: every error a direct call returns is
//!    either of [`Origin::Connection`], or the server's refusal ([`ClientError::Rpc`], or
//!    `RefusedByServer` for `open_dossier_once`) carrying an ErrorInfo reason; told by the typed
//!    variant and origin, never by a message's text. (`flush` may end in its own `FlushTimeout`.)
//! 2. The gateway never answers 500 (REST) or INTERNAL/UNKNOWN (gRPC): a transport failure is
//!    503 / UNAVAILABLE `SERVER_UNREACHABLE`; every other error carries the server's reason.
//! 3. After the last restart and `flush` (the outboxes empty, nothing quarantined), every event
//!    the clients acknowledged is in the log exactly once: every call that returned (success or
//!    failure) was recorded. The direct client's ids are deterministic (`RUN/DOSSIER/received`,
//!    `RUN/DOSSIER/vK`, and `RUN/DOSSIER/vK-tTAG` for a call K that failed in transport, whose
//!    fate is unknown, with a random tag), so its dossiers must hold exactly those ids, each
//!    once; the gateway's
//!    ids are random, so each of its dossiers must hold exactly its receipt plus one event per
//!    call that was answered, with no id twice.
//! 4. `audit reconcile` over the period (Vietnam's yesterday to tomorrow) finds no
//!    `served_not_reported`, `reported_not_served` or `dossier_not_reported` the faults do not
//!    explain. The rules, per dossier and RPC:
//!    - `served_not_reported` (served S > reported R) is explained only when the test saw at
//!      least S − R of the dossier's calls of that RPC end in a transport failure that may have
//!      reached the server — `TransportFailure::Broken` or `Timeout` for a direct call (the
//!      server served and recorded it, the answer was lost, and the client honestly reported
//!      `unavailable`/`deadline_exceeded`, which reconciliation counts as not reaching the
//!      server); for a gateway call, 503 `SERVER_UNREACHABLE` (the gateway does not say which
//!      kind). `TransportFailure::Connect` explains nothing: nothing was sent.
//!    - `reported_not_served` (R > S) is explained only by refusals the server makes *before*
//!      it records a call and whose code reconciliation counts as reaching the server
//!      (REQUEST_CONTEXT_INCOMPLETE, REQUEST_CONTEXT_TOO_LONG: INVALID_ARGUMENT from
//!      `Serving::begin`; an unsafe character in the context is refused the same way, but the
//!      client library refuses it before sending), of which the test sees at least R − S. A
//!      report counted as reaching the server is an answer the client received, and the server
//!      answers only once its record is fsync'd: kill -9 cannot take a record back, so a kill
//!      never explains one. The test sends well-formed contexts only, so in practice none is
//!      explained.
//!    - `dossier_not_reported` is never explained: every receipt is recorded (outbox, or
//!      Ingest acknowledged) before any call is made for the dossier.
//!
//!    `reported_failure_unconfirmed` and `reported_late` are not checked: a kill makes failures
//!    next to served calls of the same agency by design.
//!
//! Besides: the log verifies after the last kill, and every route and some kills mid-call are
//! exercised. Anything unexplained fails the test, with the dossier ids listed. The kill moments
//! and the workers' choices are seeded ([`SEED`], or `VNPOP_FAULT_MATRIX_SEED`; printed) so a
//! failure can be run again on the same schedule (the threads' interleaving is the machine's;
//! `VNPOP_FAULT_MATRIX_KILLS` makes fewer or more kills, to explore); every loop is bounded in
//! count and time; only loopback addresses are used.
//!
//! Its parts, in `tests/fault_matrix/`: `world` (what the workers share), `ledger` (what the
//! test saw), `server` (the process killed, the killer, the gateway), `direct` and `gateway_workers`
//! (the workers), `check` (the checks after the last restart).

mod common;
#[path = "common/rest.rs"]
mod rest;

#[path = "fault_matrix/check.rs"]
mod check;
#[path = "fault_matrix/direct.rs"]
mod direct;
#[path = "fault_matrix/gateway_workers.rs"]
mod gateway_workers;
#[path = "fault_matrix/ledger.rs"]
mod ledger;
#[path = "fault_matrix/server.rs"]
mod server;
#[path = "fault_matrix/world.rs"]
mod world;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::agency_tls;
use vnpop::{
    audit::{log::parse_public_key, verify_file},
    client::{AgencyClient, AgencyClientConfig},
    gateway::{self, RunningGateway},
};

use crate::{
    check::{missing_or_extra, reconcile, unexplained},
    direct::direct_worker,
    gateway_workers::{grpc_worker, rest_worker},
    ledger::{Ledger, Route},
    server::{gateway_config, killer, wait_listening, Server},
    world::{Targets, World},
};

/// The default seed of the kill moments and of the workers' choices.
const SEED: u64 = 0x5eed_fa17;
/// Kills (each followed by a restart) in a run.
const KILLS: usize = 200;
/// The server's population seed (`vnpop serve`'s default).
const POPULATION_SEED: u64 = 2026;
/// The agency every call is made as (its only commune is Phường Ba Đình: receipts of today
/// need no commune).
const AGENCY: &str = "one-stop-phuong-ba-dinh";
const DISTRICT: &str = "Quận Ba Đình";
const PURPOSE: &str = "đăng ký thường trú";
/// Refusals the server makes before recording the call, under a code reconciliation counts as
/// reaching the server: the only explanation of a `reported_not_served`.
const REFUSED_BEFORE_RECORD: &[&str] = &["REQUEST_CONTEXT_INCOMPLETE", "REQUEST_CONTEXT_TOO_LONG"];
/// The gateway's own reasons: never expected here (every call names a dossier opened there).
const GATEWAY_OWN: &[&str] = &[
    "JSON_INVALID",
    "FIELD_INVALID",
    "DOSSIER_NOT_OPENED",
    "DOSSIER_CONFLICT",
    "API_KEY_MISSING",
    "API_KEY_INVALID",
    "ROUTE_NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "GATEWAY_INDEX_FAILED",
    "AUDIT_OUTBOX_FAILED",
];

/// A small LCG (Knuth's MMIX constants): the seeded choices.
#[derive(Debug, Clone)]
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        let mut lcg = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
        lcg.next();
        lcg
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_keeps_the_audit_promise_across_200_kill_9s() {
    let begun = Instant::now();
    let seed = std::env::var("VNPOP_FAULT_MATRIX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    println!("fault matrix: seed {seed} (set VNPOP_FAULT_MATRIX_SEED={seed} to run it again)");
    let targets = Targets::build();

    let port = common::free_port();
    let data_dir = common::data_dir();
    let server = Server::spawn(port, &data_dir);
    wait_listening(port);

    let endpoint = format!("https://localhost:{port}");
    let outbox = common::data_dir();
    std::fs::create_dir_all(&outbox).unwrap();
    let run = format!("fm-{seed:x}");
    let client = AgencyClient::open(
        AgencyClientConfig::new(
            &endpoint,
            Some(agency_tls(AGENCY)),
            outbox.join("outbox.sqlite"),
        )
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(3))
        .with_run_id(&run),
    )
    .await
    .expect("the agency client opens");
    // The reporting rules are known before the first dossier (as they are after any restart).
    client.report_policy().await.expect("the server answers");
    let gateway: RunningGateway = gateway::start(&gateway_config(port, &common::data_dir()))
        .await
        .expect("the gateway starts");

    let world = Arc::new(World {
        ledger: Mutex::new(Ledger::default()),
        targets,
        stop: AtomicBool::new(false),
    });
    let mut workers = Vec::new();
    for worker in 0..2 {
        workers.push(tokio::spawn(direct_worker(
            Arc::clone(&world),
            client.clone(),
            worker,
            seed,
        )));
    }
    workers.push(tokio::spawn(rest_worker(
        Arc::clone(&world),
        gateway.local_addr,
        seed,
    )));
    workers.push(tokio::spawn(grpc_worker(
        Arc::clone(&world),
        gateway.local_addr,
        seed,
    )));

    let killing = {
        let data_dir = data_dir.clone();
        let kills = std::env::var("VNPOP_FAULT_MATRIX_KILLS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(KILLS);
        tokio::task::spawn_blocking(move || killer(server, port, data_dir, seed, kills))
    };
    let (mut server, kills) = killing.await.unwrap();
    world.stop.store(true, Ordering::Relaxed);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(60), worker)
            .await
            .expect("a worker ends once the killing stops")
            .unwrap();
    }

    // Check 3, first half: everything acknowledged is delivered.
    client
        .flush(Duration::from_secs(60))
        .await
        .expect("the client's outbox drains");
    assert_eq!(client.pending().await.unwrap(), 0);
    let quarantined = client.quarantined().await.unwrap();
    assert!(quarantined.is_empty(), "refused reports: {quarantined:?}");
    gateway
        .flush(Duration::from_secs(60))
        .await
        .expect("the gateway's outbox drains");
    assert_eq!(gateway.pending().await.unwrap(), 0);

    let (summary, findings) = reconcile(port).await;
    server.kill();
    gateway.shutdown().await;
    let events = common::logged_events(&data_dir);
    // After every kill the log still verifies, to its last signed head.
    let key = parse_public_key(
        &std::fs::read_to_string(data_dir.join("audit-signing.pub")).expect("the public key"),
    )
    .unwrap();
    let verified = verify_file(&data_dir.join("audit.sqlite"), &key).expect("the log verifies");
    assert_eq!(verified.tamper, None, "the log is damaged");
    assert_eq!(verified.events as usize, events.len());

    let world = Arc::try_unwrap(world).ok().expect("the workers ended");
    let ledger = world.ledger.into_inner().unwrap();
    let calls: u64 = ledger.endings.values().sum();
    println!(
        "fault matrix: {kills} kills, {} dossiers, {calls} calls in {:.1} s; endings: {:#?}",
        ledger.dossiers.len(),
        begun.elapsed().as_secs_f64(),
        ledger.endings
    );
    println!(
        "reconcile: {} dossiers, reported {}, served {}, not reaching the server {}; \
         served_not_reported {}, reported_not_served {}, dossier_not_reported {}, \
         reported_failure_unconfirmed {}",
        summary.dossiers,
        summary.reported,
        summary.served,
        summary.not_reaching_server,
        summary.served_not_reported,
        summary.reported_not_served,
        summary.dossier_not_reported,
        summary.reported_failure_unconfirmed
    );

    let routes = [Route::Direct, Route::Once, Route::Rest, Route::Grpc];
    for route in routes {
        let n = ledger
            .dossiers
            .values()
            .filter(|d| d.route == route)
            .count();
        assert!(n >= 20, "only {n} dossiers through {route:?}");
    }
    assert!(
        ledger.endings.keys().any(|k| k.contains(" lost")),
        "no call met a kill"
    );

    // Checks 1 and 2.
    assert!(
        ledger.violations.is_empty(),
        "{} calls broke the promise:\n{}",
        ledger.violations.len(),
        ledger.violations.join("\n")
    );
    // Check 3.
    let problems = missing_or_extra(&ledger, &run, &events);
    assert!(
        problems.is_empty(),
        "{} dossiers' events are not in the log exactly once:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Check 4.
    assert!(!summary.truncated, "more findings than asked for");
    let unexplained = unexplained(&ledger, &findings);
    assert!(
        unexplained.is_empty(),
        "{} reconciliation findings the faults do not explain:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
