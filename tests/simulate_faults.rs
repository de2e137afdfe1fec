//! `vnpop simulate` against what nobody scripts: the server killed (kill -9) in the middle of a
//! run and restarted, and the run itself interrupted at seeded moments — Ctrl-C (SIGINT),
//! SIGTERM, or kill -9, which lets nothing drain — and run again. The outage only delays the
//! run; a stopped run exits 130 saying where it stopped; after the last run the log holds
//! exactly the scenario's totals, each lookup served once and reported once, and reconciliation
//! finds nothing.
//!
//! `VNPOP_INTERRUPT_SEED` (default 0x5eed) and `VNPOP_INTERRUPTIONS` (default 20) choose the
//! interruptions.

mod common;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use vnpop::{
    audit::{AuditEvent, EventKind, EventSource},
    vocabulary::Answer,
};

/// Two periods, two units: 1,200 dossiers, 240 of them looked up. `--concurrency 2` makes a run
/// last a few seconds, long enough to be interrupted.
const SCENARIO: &str = r#"
seed = 11
procedures = ["1.004227", "1.001612"]
online_share = 0.3

[[period]]
from = "2022-12-01"
to = "2023-12-31"
dossiers = 900
lookups = 200

[[period]]
from = "2024-01-01"
to = "2024-02-21"
dossiers = 300
lookups = 40

[[unit]]
district = "Thành phố Phủ Lý"
officers = 3
weight = 2
lookup_probability = [0.4, 0.2]

[[unit]]
district = "Huyện Lý Nhân"
officers = 2
weight = 1
lookup_probability = [0.1, 0.05]
"#;

const DOSSIERS: usize = 1_200;
const LOOKUPS: usize = 240;

/// `vnpop simulate` of `scenario` against the server on `port`, its outbox in `outbox_dir`.
fn spawn_simulate(port: u16, scenario: &Path, outbox_dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["simulate", "--concurrency", "2", "--scenario"])
        .arg(scenario)
        .arg("--server")
        .arg(format!("https://localhost:{port}"))
        .arg("--data-dir")
        .arg(outbox_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vnpop simulate starts")
}

/// Waits until something listens on `port`.
fn wait_listening(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the log holds of the simulation: dossiers received (by the client's report), lookups
/// served (by the server's record), and per dossier whether a lookup was reported OK.
struct Held {
    dossiers: HashSet<String>,
    served: HashMap<String, usize>,
    reported_found: HashMap<String, usize>,
}

fn held(data_dir: &Path) -> Held {
    let mut held = Held {
        dossiers: HashSet::new(),
        served: HashMap::new(),
        reported_found: HashMap::new(),
    };
    for AuditEvent {
        source,
        dossier_id,
        kind,
        ..
    } in common::logged_events(data_dir)
    {
        match (source, kind) {
            (EventSource::Client, EventKind::Dossier { .. }) => {
                assert!(held.dossiers.insert(dossier_id), "a receipt twice");
            }
            (EventSource::Server, EventKind::Verification { .. }) => {
                *held.served.entry(dossier_id).or_default() += 1;
            }
            (EventSource::Client, EventKind::Verification { outcome, .. })
                if outcome == Answer::Found.into() =>
            {
                *held.reported_found.entry(dossier_id).or_default() += 1;
            }
            _ => {}
        }
    }
    held
}

/// Every looked-up dossier was served once, and its successful lookup reported once.
fn assert_each_lookup_served_and_reported_once(held: &Held) {
    assert!(
        held.served.values().all(|&n| n == 1),
        "a lookup served twice: {:?}",
        held.served
            .iter()
            .filter(|(_, &n)| n > 1)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        held.reported_found, held.served,
        "served and reported differ"
    );
}

fn output(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The server killed with SIGKILL a second into the run and restarted two seconds later: the
/// run waits for it, ends successfully, and every dossier is in the log once, with exactly one
/// lookup served and reported per looked-up dossier (a lookup cut off mid-call, which the server
/// may have served before the kill, is made again under the same call id and recorded once).
#[test]
fn an_outage_during_simulate_delays_it_and_changes_no_figure() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let data_dir = dir.path().join("server");
    let port = common::free_port();
    let mut server = common::spawn_serve(port, &data_dir, &[]);
    wait_listening(port);
    let simulate = spawn_simulate(port, &scenario, &dir.path().join("client"));
    std::thread::sleep(Duration::from_millis(1_000));
    server.kill().unwrap();
    server.wait().unwrap();
    std::thread::sleep(Duration::from_millis(2_000));
    let mut server = common::spawn_serve(port, &data_dir, &[]);
    let (code, said) = output(simulate);
    assert_clean_reconcile(port);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("every event delivered"), "{said}");
    // The kill came in the middle of the run: it waited for the server.
    assert!(said.contains("the server cannot be reached"), "{said}");

    let held = held(&data_dir);
    assert_eq!(held.dossiers.len(), DOSSIERS, "{said}");
    let looked_up: usize = held.served.len();
    assert_eq!(looked_up, LOOKUPS, "dossiers with a served lookup");
    assert_each_lookup_served_and_reported_once(&held);
}

/// `vnpop audit reconcile` over the scenario's periods, asked of the server on `port` as an
/// auditor would (its answer waits for every acknowledged event): over the scenario's dossiers,
/// no finding but `reported_late`, which every simulated report is by design (it happened on
/// its simulated day, years before the server received it).
fn assert_clean_reconcile(port: u16) {
    let out = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args([
            "audit",
            "reconcile",
            "--from",
            "2022-12-01",
            "--to",
            "2024-02-21",
            "--format",
            "json",
            "--limit",
            "100000",
            "--server",
        ])
        .arg(format!("https://localhost:{port}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .output()
        .expect("vnpop audit reconcile runs");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| !line.contains(r#""finding":"reported_late""#))
        .collect();
    assert!(findings.is_empty(), "reconcile found: {findings:#?}");
    assert!(
        said.contains(&format!("{DOSSIERS} dossiers")),
        "reconcile did not compare the scenario's dossiers: {said}"
    );
}

/// Seeded interruptions (`VNPOP_INTERRUPTIONS`, default 20, half of them kill -9 of simulate,
/// the others SIGINT or SIGTERM) at seeded moments of successive runs: a signalled run stops
/// taking dossiers, finishes those in flight and exits 130 saying where it stopped; a killed one
/// leaves what it was doing wherever it got (a receipt logged, a lookup served but not yet
/// reported, a report in the outbox not yet delivered). Run again, it resumes, and after the
/// last run the log holds exactly the scenario's totals, every lookup served once and reported
/// once, and reconciliation finds nothing.
#[test]
fn an_interrupted_simulate_resumes_to_exactly_the_scenarios_totals() {
    let number = |name: &str, default: u64| {
        std::env::var(name).ok().map_or(default, |v| {
            let v = v.trim();
            v.strip_prefix("0x")
                .map_or_else(|| v.parse(), |hex| u64::from_str_radix(hex, 16))
                .unwrap_or_else(|_| panic!("{name}: {v} is not a number"))
        })
    };
    let mut seed = number("VNPOP_INTERRUPT_SEED", 0x5eed);
    let interruptions = number("VNPOP_INTERRUPTIONS", 20);
    println!("VNPOP_INTERRUPT_SEED={seed:#x} VNPOP_INTERRUPTIONS={interruptions}");
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let data_dir = dir.path().join("server");
    let outbox = dir.path().join("client");
    let port = common::free_port();
    let mut server = common::spawn_serve(port, &data_dir, &[]);
    wait_listening(port);
    let (mut killed, mut stopped, mut finished) = (0, 0, 0);
    for round in 0..interruptions {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Later runs first go through what earlier ones did (skipped, or made again under the
        // same ids): their moments reach further in.
        let after = Duration::from_millis(150 + (seed >> 33) % (400 + 100 * round));
        let mut simulate = spawn_simulate(port, &scenario, &outbox);
        std::thread::sleep(after);
        let signal = match round % 4 {
            0 | 2 => libc::SIGKILL,
            1 => libc::SIGINT,
            _ => libc::SIGTERM,
        };
        if signal == libc::SIGKILL {
            // A run that finished before the kill has exited: nothing to kill.
            let _ = simulate.kill();
        } else {
            // SAFETY: kill(2) on a child process we own, still unreaped.
            unsafe { libc::kill(simulate.id() as i32, signal) };
        }
        let (code, said) = output(simulate);
        match code {
            0 => finished += 1,
            -1 if signal == libc::SIGKILL => killed += 1,
            130 if signal != libc::SIGKILL => {
                assert!(said.contains("stopped after"), "{said}");
                stopped += 1;
            }
            _ => panic!("simulate (signal {signal}) exited {code}: {said}"),
        }
    }
    println!("{killed} runs killed, {stopped} stopped, {finished} finished before the signal");
    assert!(
        killed * 4 >= interruptions && stopped * 4 >= interruptions,
        "too few interruptions landed: {killed} killed, {stopped} stopped of {interruptions}"
    );
    let (code, said) = output(spawn_simulate(port, &scenario, &outbox));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("every event delivered"), "{said}");
    assert_clean_reconcile(port);
    server.kill().unwrap();
    server.wait().unwrap();

    let held = held(&data_dir);
    assert_eq!(held.dossiers.len(), DOSSIERS);
    assert_eq!(held.served.len(), LOOKUPS);
    assert_each_lookup_served_and_reported_once(&held);
}
