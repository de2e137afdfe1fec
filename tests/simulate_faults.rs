//! `vnpop simulate` against what nobody scripts: the server killed (kill -9) in the middle of a
//! run and restarted, and the run itself stopped with Ctrl-C (SIGINT) or SIGTERM at seeded
//! moments and run again. The outage only delays the run; a stopped run exits 130 saying where
//! it stopped, and the next run ends with exactly the scenario's totals.

mod common;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use vnpop::audit::{AuditEvent, EventKind, EventSource};

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
                if outcome == "found" =>
            {
                *held.reported_found.entry(dossier_id).or_default() += 1;
            }
            _ => {}
        }
    }
    held
}

fn output(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The server killed with SIGKILL a second into the run and restarted two seconds later: the
/// run waits for it, ends successfully, and every dossier is in the log once, with one lookup
/// served per looked-up dossier (a lookup cut off mid-call may have been served before the
/// kill: at most the two in flight are served twice).
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
    let served: usize = held.served.values().sum();
    assert!(
        (LOOKUPS..=LOOKUPS + 2).contains(&served),
        "{served} lookups served for {LOOKUPS}"
    );
    // Every looked-up dossier has its successful lookup reported, once.
    assert_eq!(held.reported_found.len(), LOOKUPS);
    assert!(held.reported_found.values().all(|&n| n == 1));
}

/// SIGINT (or SIGTERM) at seeded moments: the run stops taking dossiers, finishes those in
/// flight, exits 130 saying where it stopped; run again, it resumes, and after the last run the
/// log holds exactly the scenario's totals, every served lookup reported.
#[test]
fn a_stopped_simulate_resumes_to_exactly_the_scenarios_totals() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let data_dir = dir.path().join("server");
    let outbox = dir.path().join("client");
    let port = common::free_port();
    let mut server = common::spawn_serve(port, &data_dir, &[]);
    wait_listening(port);
    // Seeded stop moments (ms into each run); SIGTERM for odd ones.
    let mut seed = 0x5eed_u64;
    let mut stops = 0;
    for round in 0..6 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(200 + (seed >> 33) % 900);
        let simulate = spawn_simulate(port, &scenario, &outbox);
        std::thread::sleep(after);
        let signal = if round % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        // SAFETY: kill(2) on a child process we own, still unreaped.
        unsafe { libc::kill(simulate.id() as i32, signal) };
        let (code, said) = output(simulate);
        match code {
            130 => {
                assert!(said.contains("stopped after"), "{said}");
                stops += 1;
            }
            0 => break, // it finished before the signal came
            _ => panic!("simulate exited {code}: {said}"),
        }
    }
    assert!(stops >= 2, "only {stops} runs were stopped");
    let (code, said) = output(spawn_simulate(port, &scenario, &outbox));
    assert_eq!(code, 0, "{said}");
    server.kill().unwrap();
    server.wait().unwrap();

    let held = held(&data_dir);
    assert_eq!(held.dossiers.len(), DOSSIERS);
    assert_eq!(held.served.len(), LOOKUPS);
    assert!(
        held.served.values().all(|&n| n == 1),
        "a lookup served twice"
    );
    assert_eq!(
        held.reported_found, held.served,
        "served and reported differ"
    );
}
