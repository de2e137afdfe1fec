//! What a newcomer trips on, each checked with the real binary: a closed pipe, a connection that
//! fails (and why), a wrong `--by`, a fault file with a mistake, colour in a piped log.

mod common;

use std::process::{Command, Stdio};

use common::TestServer;

/// `vnpop args…` in the repository, logs at info: (exit success, stdout, stderr).
fn vnpop(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .expect("vnpop runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `vnpop args…` with its stdout already closed by the reader: it must end quietly.
fn with_closed_stdout(args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        output.status.success(),
        "{args:?}: {:?} {stderr}",
        output.status
    );
}

#[test]
fn commands_end_quietly_when_their_reader_goes_away() {
    with_closed_stdout(&["chip", "read", "001090012345", "--population", "100"]);
    with_closed_stdout(&["citizen", "show", "001090012345", "--population", "100"]);
    // A list command on a log file (created empty by opening it).
    let dir = tempfile::tempdir().unwrap();
    drop(
        vnpop::audit::log::AuditLog::open(
            vnpop::audit::log::DataDirLock::acquire(dir.path()).unwrap(),
        )
        .unwrap(),
    );
    let db = dir.path().join("audit.sqlite");
    with_closed_stdout(&["audit", "export", "--db", db.to_str().unwrap()]);
    with_closed_stdout(&[
        "audit",
        "ratio",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        "--db",
        db.to_str().unwrap(),
    ]);
}

#[test]
fn empty_lists_keep_their_header_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    drop(
        vnpop::audit::log::AuditLog::open(
            vnpop::audit::log::DataDirLock::acquire(dir.path()).unwrap(),
        )
        .unwrap(),
    );
    let db = dir.path().join("audit.sqlite");
    let db = db.to_str().unwrap();
    let period = ["--from", "2024-01-01", "--to", "2024-02-21", "--db", db];
    let (ok, stdout, _) = vnpop(&[&["audit", "reconcile"][..], &period].concat());
    assert!(ok);
    assert_eq!(
        stdout,
        "finding,agency,dossier,district,officer,rpc,reported,served,first_at,received_at\n"
    );
    let (ok, stdout, stderr) = vnpop(
        &[
            &["audit", "unverified", "--district", "Huyen Binh Luc"][..],
            &period,
        ]
        .concat(),
    );
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("agency,dossier,district,"), "{stdout}");
    assert!(
        stderr.contains("no unverified dossiers match --district"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("audit-subject.key"), [7u8; 32]).unwrap();
    let (ok, stdout, stderr) = vnpop(&["audit", "citizen", "001090012345", "--db", db]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("no agency has looked this citizen up"),
        "{stderr}"
    );
    assert!(
        stdout.starts_with("at,agency,"),
        "citizen prints CSV by default: {stdout}"
    );
}

#[test]
fn a_wrong_group_names_the_flag_and_the_accepted_values() {
    let (ok, _, stderr) = vnpop(&[
        "audit",
        "ratio",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
        "--by",
        "county",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--by"), "{stderr}");
    for value in vnpop::cli::audit::groups() {
        assert!(stderr.contains(value), "{stderr}");
    }
}

#[test]
fn outside_the_repository_a_missing_certificate_says_where_it_was_looked_for() {
    let elsewhere = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args([
            "audit",
            "ratio",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("certs/ca.pem"), "{stderr}");
    assert!(
        stderr.contains("run from the repository's root"),
        "{stderr}"
    );
}

#[test]
fn a_fault_file_is_checked_before_the_population_is_generated() {
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.toml");
    std::fs::write(
        &faults,
        "[[rule]]\nname = \"x\"\nerrors = { unavailable = 2.0 }\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let (ok, _, stderr) = vnpop(&[
        "serve",
        "--faults",
        faults.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(stderr.contains("faults.toml"), "{stderr}");
    assert!(
        !stderr.contains("population ready"),
        "generated first: {stderr}"
    );
    // Logs written to a pipe carry no colour codes.
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

#[tokio::test]
async fn a_failed_connection_names_the_address_and_the_cause() {
    let server = TestServer::start().await;
    let url = format!("https://localhost:{}", server.local_addr.port());
    let nothing = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        )
    };
    let ratio = |extra: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            let mut args: Vec<&str> = vec![
                "audit",
                "ratio",
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-02",
            ];
            args.extend(extra.iter().map(String::as_str));
            vnpop(&args)
        })
        .await
        .unwrap()
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let (ok, _, refused) = ratio(args(&["--server", &nothing])).await;
    assert!(!ok);
    assert!(refused.contains(&nothing), "{refused}");
    assert!(refused.contains("connection refused"), "{refused}");

    let (ok, _, wrong_ca) = ratio(args(&["--server", &url, "--ca", "certs/csca.pem"])).await;
    assert!(!ok);
    assert!(wrong_ca.contains(&url), "{wrong_ca}");
    assert!(
        wrong_ca.contains("did not verify against the CA in certs/csca.pem"),
        "{wrong_ca}"
    );

    let (ok, _, foreign) = ratio(args(&[
        "--server",
        &url,
        "--cert",
        "certs/document-signer.pem",
        "--key",
        "certs/document-signer.key",
    ]))
    .await;
    assert!(!ok);
    assert!(foreign.contains(&url), "{foreign}");
    assert!(
        foreign.contains("refused our certificate certs/document-signer.pem")
            || foreign.contains("it may have refused our certificate certs/document-signer.pem"),
        "{foreign}"
    );
}

/// A certificate and a key that do not belong together are named before anything is sent
/// (it used to be "cannot use endpoint …: transport error" on the first call).
#[tokio::test]
async fn a_certificate_and_a_key_that_do_not_belong_together_are_named() {
    let output = common::run_vnpop_binary(
        [
            "audit",
            "ratio",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--server",
            "https://localhost:1",
            "--cert",
            "certs/auditor-thanh-tra.pem",
            "--key",
            "certs/hospital-bach-mai.key",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("certs/auditor-thanh-tra.pem"), "{said}");
    assert!(said.contains("certs/hospital-bach-mai.key"), "{said}");
    assert!(said.contains("do not belong together"), "{said}");
    assert!(!said.contains("transport error"), "{said}");
}

/// `vnpop args…` in the repository with `VNPOP_LOG` unset: (exit code, stdout, stderr).
fn vnpop_default_log(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("VNPOP_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("vnpop runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn commands_that_need_no_server_log_no_info_by_default() {
    for args in [
        &["chip", "read", "001090012345", "--population", "100"][..],
        &["citizen", "show", "001090012345", "--population", "100"],
    ] {
        let (code, _, stderr) = vnpop_default_log(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("INFO") && !stderr.contains("population ready"),
            "{args:?} logged at INFO: {stderr}"
        );
    }
    // VNPOP_LOG still asks for more.
    let (ok, _, stderr) = vnpop(&["chip", "read", "001090012345", "--population", "100"]);
    assert!(ok && stderr.contains("population ready"), "{stderr}");
}

#[test]
fn a_number_after_citizen_or_chip_suggests_the_subcommand() {
    let (code, _, stderr) = vnpop_default_log(&["citizen", "001090012345"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("vnpop citizen show 001090012345"),
        "{stderr}"
    );
    let (code, _, stderr) = vnpop_default_log(&["chip", "001090012345"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("vnpop chip read 001090012345"), "{stderr}");
}

#[test]
fn a_cccd_number_written_in_groups_is_taken_without_them_and_a_bad_one_is_a_usage_error() {
    for grouped in ["001 090 012345", "001-090-012345"] {
        let (code, stdout, stderr) =
            vnpop_default_log(&["citizen", "show", grouped, "--population", "100"]);
        assert_eq!(code, Some(0), "{grouped}: {stderr}");
        assert!(stdout.contains("001090012345"), "{grouped}: {stdout}");
        assert!(
            stderr.contains("taken as a CCCD number without its spaces or dashes"),
            "{grouped}: {stderr}"
        );
    }
    let (code, _, stderr) =
        vnpop_default_log(&["chip", "read", "00109001234", "--population", "100"]);
    assert_eq!(
        code,
        Some(2),
        "a malformed number is a usage error: {stderr}"
    );
    assert!(stderr.contains("not a valid CCCD number"), "{stderr}");
}

#[test]
fn load_says_once_that_it_cannot_connect() {
    let port = common::free_port();
    let server = format!("127.0.0.1:{port}");
    let (code, _, stderr) = vnpop_default_log(&[
        "load",
        "--server",
        &server,
        "--requests",
        "1",
        "--warmup",
        "0s",
        "--citizen-sample",
        "10",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("cannot connect").count(),
        1,
        "the prefix is said once: {stderr}"
    );
    assert!(stderr.contains(&port.to_string()), "{stderr}");
}
