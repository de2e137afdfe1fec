//! `vnpop clean` end to end: a registry built from the server's generated citizens with planted
//! errors, every verdict counted exactly; files refused before anything is sent (a legacy
//! encoding, a missing column); kill -9 of the client and `--resume`, with nothing verified or
//! recorded twice and the output identical to an uninterrupted run; dossier figures untouched.

mod common;

use std::{fmt::Write as _, path::Path};

use chrono::Datelike;
use common::{
    agency_tls, free_port, run_vnpop_binary, spawn_serve, test_config, Spawned, TestServer,
};
use vnpop::{
    domain::{Citizen, CitizenStatus, Sex},
    population::{self, builtin_fixtures},
    proto,
};

const HEADER: &str = "record_id,number,full_name,date_of_birth,sex,address\n";

fn csv_field(text: &str) -> String {
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn row(id: &str, number: &str, name: &str, dob: &str, sex: &str, address: &str) -> String {
    [id, number, name, dob, sex, address]
        .map(csv_field)
        .join(",")
        + "\n"
}

fn sex(c: &Citizen) -> &'static str {
    match c.sex {
        Sex::Male => "Nam",
        Sex::Female => "Nữ",
    }
}

fn dmy(c: &Citizen) -> String {
    c.date_of_birth.format("%d/%m/%Y").to_string()
}

/// The server's citizens, alive.
fn citizens() -> Vec<Citizen> {
    population::generate(test_config().population.spec(), &builtin_fixtures())
}

/// Expected counts, by verdict or field.
type Counts = Vec<(&'static str, u64)>;

/// The planted registry and the exact count of each verdict, and of each mismatching field, it
/// must get.
fn planted() -> (String, Counts, Counts) {
    let all = citizens();
    let mut active = all.iter().filter(|c| c.status == CitizenStatus::Active);
    let mut text = String::from(HEADER);
    let mut n = 0;
    let mut id = || {
        n += 1;
        format!("R{n:03}")
    };
    for c in active.by_ref().take(20) {
        let address = c.permanent_address.to_string();
        text += &row(
            &id(),
            &c.cccd.to_string(),
            &c.full_name,
            &dmy(c),
            sex(c),
            &address,
        );
    }
    for c in active.by_ref().take(3) {
        let misspelt = format!("{}h", c.full_name);
        text += &row(&id(), &c.cccd.to_string(), &misspelt, &dmy(c), sex(c), "");
    }
    let swappable = |c: &&Citizen| {
        c.date_of_birth.day() <= 12 && c.date_of_birth.day() != c.date_of_birth.month()
    };
    for c in active.by_ref().filter(swappable).take(2) {
        let swapped = c.date_of_birth.format("%m/%d/%Y").to_string();
        text += &row(
            &id(),
            &c.cccd.to_string(),
            &c.full_name,
            &swapped,
            sex(c),
            "",
        );
    }
    // Swapped with a day over 12: not a calendar date, refused on its line.
    let c = active
        .by_ref()
        .find(|c| c.date_of_birth.day() > 12)
        .unwrap();
    let swapped = c.date_of_birth.format("%m/%d/%Y").to_string();
    text += &row(
        &id(),
        &c.cccd.to_string(),
        &c.full_name,
        &swapped,
        sex(c),
        "",
    );
    for c in active.by_ref().take(2) {
        let year = format!(
            "{:02}/{:02}/{}",
            c.date_of_birth.day(),
            c.date_of_birth.month(),
            c.date_of_birth.year() + 1
        );
        text += &row(&id(), &c.cccd.to_string(), &c.full_name, &year, sex(c), "");
    }
    for c in active.by_ref().filter(|c| c.cmnd.is_some()).take(2) {
        let cmnd = c.cmnd.unwrap().to_string();
        text += &row(&id(), &cmnd, &c.full_name, &dmy(c), sex(c), "");
    }
    for c in active
        .by_ref()
        .filter(|c| c.pre_reform_address.is_some())
        .take(2)
    {
        let old = c
            .pre_reform_address
            .as_ref()
            .unwrap()
            .line(&c.permanent_address.street);
        text += &row(
            &id(),
            &c.cccd.to_string(),
            &c.full_name,
            &dmy(c),
            sex(c),
            &old,
        );
    }
    text += &row(&id(), "036050000777", "", "", "", "");
    text += &row(&id(), "001090999999", "Nguyễn Văn An", "", "", "");
    text += &row(&id(), "999999990", "", "", "", "");
    text += &row(&id(), "12345", "", "", "", "");
    text += &row(&id(), "00109001234X", "", "", "", "");
    let verdicts = vec![
        ("deceased", 1),
        ("malformed", 3),
        ("match", 24),
        ("mismatch", 7),
        ("unknown_number", 2),
    ];
    let fields = vec![("date_of_birth", 4), ("full_name", 3)];
    (text, verdicts, fields)
}

fn args(server: &TestServer, input: &Path, output: &Path, more: &[&str]) -> Vec<String> {
    args_to(&server.endpoint(), input, output, more)
}

fn args_to(endpoint: &str, input: &Path, output: &Path, more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "clean",
        "--in",
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
        "--server",
        endpoint,
        "--cert",
        "certs/simulation.pem",
        "--key",
        "certs/simulation.key",
        "--quiet",
    ]
    .map(String::from)
    .to_vec();
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// The events the trail holds for job `job`.
async fn job_events(server: &TestServer, job: &str) -> Vec<proto::LoggedEvent> {
    job_events_at(&server.endpoint(), job).await
}

async fn job_events_at(endpoint: &str, job: &str) -> Vec<proto::LoggedEvent> {
    let audit =
        vnpop::client::AuditClient::connect(endpoint, Some(agency_tls("auditor-thanh-tra")))
            .await
            .unwrap();
    let mut stream = audit
        .events(proto::ListEventsRequest {
            dossier_id: job.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await.unwrap() {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn a_planted_registry_gets_the_exact_count_of_every_verdict() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (text, verdicts, fields) = planted();
    let input = dir.path().join("bhxh.csv");
    std::fs::write(&input, &text).unwrap();
    let output = dir.path().join("verdicts.csv");
    let summary = dir.path().join("summary.json");
    let run = run_vnpop_binary(args(
        &server,
        &input,
        &output,
        &["--summary-json", summary.to_str().unwrap()],
    ))
    .await;
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    for (verdict, count) in &verdicts {
        assert_eq!(json["verdicts"][verdict], *count, "{verdict}: {json:#}");
    }
    assert_eq!(json["records"], 37);
    for (field, count) in &fields {
        assert_eq!(
            json["mismatching_fields"][field], *count,
            "{field}: {json:#}"
        );
    }
    assert_eq!(json["linked_cmnd"], 2);
    assert_eq!(json["converted_addresses"], 2);
    assert_eq!(
        json["examples"]["malformed"][0]["detail"],
        "FIELD_INVALID date_of_birth"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("mismatching fields:"), "{stdout}");

    // In input order, one row a record, the line named.
    let written = std::fs::read_to_string(&output).unwrap();
    let ids: Vec<&str> = written
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let expected: Vec<String> = (1..=37).map(|n| format!("R{n:03}")).collect();
    assert_eq!(ids, expected);
    assert!(written
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("2,R001,clean:bhxh:R001,match,"));

    // On the trail as cleaning verifications of the job (the row refused on its line was never
    // sent), in nobody's dossier figures.
    let events = job_events(&server, "bhxh").await;
    assert_eq!(events.len(), 36);
    assert!(events.iter().all(|e| e.rpc == "CleanRecord"));
    // The auditor's list of cleaning jobs, apart from dossiers.
    let listed = run_vnpop_binary(vec![
        "audit".into(),
        "cleaning".into(),
        "--server".into(),
        server.endpoint(),
    ])
    .await;
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(
        listed.lines().next(),
        Some("agency,job,purpose,officer,first,last,records,match,mismatch,unknown_number,malformed,deceased,card_revoked")
    );
    let row = listed.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("simulation,bhxh,làm sạch dữ liệu,data-team,"),
        "{listed}"
    );
    assert!(row.ends_with(",36,24,7,2,2,1,0"), "{listed}");
    let audit = server.audit("auditor-thanh-tra").await;
    let today = common::today().format("%Y-%m-%d").to_string();
    let ratio = audit
        .raw()
        .lookup_ratio(proto::LookupRatioRequest {
            from: today.clone(),
            to: today,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        ratio.rows.iter().all(|r| r.dossiers == 0 && r.lookups == 0),
        "{ratio:?}"
    );
}

#[tokio::test]
async fn files_that_cannot_be_cleaned_are_refused_before_anything_is_sent() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("verdicts.csv");

    let mut legacy = HEADER.as_bytes().to_vec();
    legacy.extend_from_slice(b"R1,001090012345,Nguyen Van An,15/03/1990,Nam,\n");
    legacy.extend_from_slice(b"R2,001090012345,Nguy\xEA\xDEn V\xE3n An,15/03/1990,Nam,\n");
    let input = dir.path().join("cp1258.csv");
    std::fs::write(&input, legacy).unwrap();
    let run = run_vnpop_binary(args(&server, &input, &output, &[])).await;
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("line 3 is not UTF-8 (it looks like Windows-1258"),
        "{stderr}"
    );

    let input = dir.path().join("columns.csv");
    std::fs::write(&input, "record_id,number,full_name\nR1,001090012345,An\n").unwrap();
    let run = run_vnpop_binary(args(&server, &input, &output, &[])).await;
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("the header lacks the column(s) date_of_birth, sex"),
        "{stderr}"
    );
    assert!(!output.exists(), "nothing was started");
    assert!(job_events(&server, "cp1258").await.is_empty());
    assert!(job_events(&server, "columns").await.is_empty());
}

#[tokio::test]
async fn a_job_killed_and_resumed_ends_as_an_uninterrupted_one() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let all = citizens();
    let mut text = String::from(HEADER);
    let rows = 30_000;
    for i in 0..rows {
        let c = &all[i % all.len()];
        let _ = write!(
            text,
            "{}",
            row(
                &format!("K{i}"),
                &c.cccd.to_string(),
                &c.full_name,
                &dmy(c),
                sex(c),
                ""
            )
        );
    }
    let input = dir.path().join("big.csv");
    std::fs::write(&input, &text).unwrap();
    let job = ["--job-id", "kill-job"];

    // Killed with SIGKILL once part of the output is written.
    let killed = dir.path().join("killed.csv");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args(&server, &input, &killed, &job))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let lines = std::fs::read(&killed)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if lines > 2_000 {
            break;
        }
        assert!(started.elapsed().as_secs() < 120, "no progress");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::read_to_string(&killed).unwrap().lines().count();
    assert!(partial < rows, "killed before the end ({partial} lines)");

    let run = run_vnpop_binary(args(
        &server,
        &input,
        &killed,
        &[&job[..], &["--resume"]].concat(),
    ))
    .await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Every record recorded once, whatever the kill interrupted.
    assert_eq!(job_events(&server, "kill-job").await.len(), rows);

    // The same job uninterrupted writes the same file (and records nothing more).
    let whole = dir.path().join("whole.csv");
    let run = run_vnpop_binary(args(&server, &input, &whole, &job)).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&killed).unwrap(),
        std::fs::read_to_string(&whole).unwrap()
    );
    assert_eq!(job_events(&server, "kill-job").await.len(), rows);
}

/// A `vnpop serve` process on `port` with its log in `dir`, once it answers.
async fn serve(port: u16, dir: &Path) -> Spawned {
    let server = spawn_serve(port, dir, &[]);
    let endpoint = format!("https://localhost:{port}");
    for _ in 0..200 {
        let connected =
            vnpop::client::RegistryClient::connect(&endpoint, Some(agency_tls("simulation"))).await;
        if let Ok(client) = connected {
            if client.who_am_i().await.is_ok() {
                return server;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

#[tokio::test]
async fn a_server_outage_stops_the_job_and_resume_finishes_it_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let endpoint = format!("https://localhost:{port}");
    let mut spec = test_config().population.spec();
    spec.size = 1_000;
    let all = population::generate(spec, &builtin_fixtures());
    let rows = 30_000;
    let mut text = String::from(HEADER);
    for i in 0..rows {
        let c = &all[i % all.len()];
        text += &row(
            &format!("O{i}"),
            &c.cccd.to_string(),
            &c.full_name,
            &dmy(c),
            sex(c),
            "",
        );
    }
    let input = dir.path().join("outage.csv");
    std::fs::write(&input, &text).unwrap();
    let output = dir.path().join("verdicts.csv");

    let mut server = serve(port, &data).await;
    let client = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args_to(&endpoint, &input, &output, &[]))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read(&output)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
        < 2_000
    {
        assert!(started.elapsed().as_secs() < 120, "no progress");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The outage: the server dies (SIGKILL) mid-job.
    server.kill().unwrap();
    server.wait().unwrap();
    let ended = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&ended.stderr);
    assert!(!ended.status.success(), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");

    // Back up on the same log: the job resumes and ends with every record recorded once.
    let _server = serve(port, &data).await;
    let run = run_vnpop_binary(args_to(&endpoint, &input, &output, &["--resume"])).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(job_events_at(&endpoint, "outage").await.len(), rows);
    let whole = dir.path().join("whole.csv");
    let run = run_vnpop_binary(args_to(&endpoint, &input, &whole, &["--job-id", "outage"])).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        std::fs::read_to_string(&whole).unwrap()
    );
    assert_eq!(job_events_at(&endpoint, "outage").await.len(), rows);
}
