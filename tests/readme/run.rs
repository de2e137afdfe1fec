//! The docs' commands run as written, in a scratch directory ([`Scratch`]), against the server
//! the README's own `vnpop serve` line starts.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    common,
    lines::{readme_commands, Line},
    pages,
};

/// The scratch directory commands run in, with the repository's certificates.
struct Scratch {
    dir: tempfile::TempDir,
    port: u16,
    scenario: PathBuf,
    certs_out: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::os::unix::fs::symlink(repo.join("certs"), dir.path().join("certs")).unwrap();
        // `vnpop clean` reads the sample registry under data/.
        std::os::unix::fs::symlink(repo.join("data"), dir.path().join("data")).unwrap();
        let scenario = dir.path().join("small-scenario.toml");
        std::fs::write(&scenario, common::small_bundled_scenario()).unwrap();
        let certs_out = dir.path().join("new-certs");
        Scratch {
            port: common::free_port(),
            scenario,
            certs_out,
            dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `vnpop args` as the README's reader would start it, with the test's environment.
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vnpop"));
        command
            .args(args)
            .current_dir(self.path())
            .env("VNPOP_LOG", "info")
            .env("VNPOP_POPULATION", "20000")
            .env("VNPOP_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("VNPOP_SERVER", format!("https://localhost:{}", self.port))
            .env("VNPOP_LOAD_TARGET", format!("127.0.0.1:{}", self.port))
            .env("VNPOP_SCENARIO", &self.scenario)
            .env_remove("VNPOP_DATA_DIR")
            .env_remove("NO_COLOR");
        command
    }

    /// The line's arguments with the test's substitutions.
    fn arguments(&self, line: &Line) -> Vec<String> {
        let mut args = line.args.clone();
        let key = std::fs::read_to_string(self.path().join("vnpop-data/audit-signing.pub"));
        for i in 0..args.len() {
            let replacement = match (i.checked_sub(1).map(|p| args[p].as_str()), args[i].as_str()) {
                (_, "<hex>") => key
                    .as_deref()
                    .expect("the log's public key")
                    .trim()
                    .to_owned(),
                (Some("--out"), _) if args[0] == "certs" => self.certs_out.display().to_string(),
                // The server, or a fleet's servers (`load`): each one is the test's server, written
                // the way the README writes it (a URL, or host:port). `--target` is the older
                // spelling of `--server`.
                (Some("--server" | "--target"), servers) => servers
                    .split(',')
                    .map(|server| match server.starts_with("https://") {
                        true => format!("https://localhost:{}", self.port),
                        false => format!("127.0.0.1:{}", self.port),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                (Some("--duration"), _) => "1s".into(),
                (Some("--warmup"), _) => "0s".into(),
                (Some("--requests"), _) => "200".into(),
                _ => continue,
            };
            args[i] = replacement;
        }
        if args.first().map(String::as_str) == Some("load") {
            args.extend(["--citizen-sample".into(), "500".into()]);
            if !args.iter().any(|a| a == "--warmup") {
                args.extend(["--warmup".into(), "0s".into()]);
            }
        }
        args
    }
}

/// Starts `vnpop serve` and waits for it to listen.
fn start_server(scratch: &Scratch, line: &Line) -> Child {
    let mut child = scratch
        .command(&scratch.arguments(line))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for log_line in stderr.lines().map_while(Result::ok) {
            if log_line.contains("vnpop listening") {
                // Logs written to a pipe carry no colour codes.
                let _ = tx.send(!log_line.contains('\x1b'));
            }
        }
    });
    let plain = rx
        .recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|_| panic!("`{}` did not start listening", line.text));
    assert!(plain, "colour codes in a piped log");
    child
}

/// The docs' sample ratio table's header (the first line of the block after the commands).
fn readme_ratio_header(pages: &[(String, String)]) -> Vec<String> {
    let text = pages
        .iter()
        .find_map(|(_, text)| text.find("\n```\ndistrict ").map(|at| &text[at + 5..]))
        .expect("the sample ratio table");
    text.lines()
        .next()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Runs one command to its end: (success, stdout, stderr).
fn run(scratch: &Scratch, line: &Line) -> (bool, String, String) {
    let mut child = scratch
        .command(&scratch.arguments(line))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let text = match line.head {
        // `| head -N`: N lines, then the reader goes away.
        Some(n) => {
            let mut reader = BufReader::new(stdout);
            let mut text = String::new();
            for _ in 0..n {
                if reader.read_line(&mut text).unwrap() == 0 {
                    break;
                }
            }
            text
        }
        None => {
            let mut text = String::new();
            stdout.read_to_string(&mut text).unwrap();
            text
        }
    };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "`{}` still runs after 5 minutes",
            line.text
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), text, errors.join().unwrap())
}

#[test]
fn every_vnpop_command_in_the_docs_runs_as_written() {
    let pages = pages();
    let lines: Vec<Line> = pages
        .iter()
        .flat_map(|(_, text)| readme_commands(text))
        .collect();
    let scratch = Scratch::new();
    let mut server: Option<Child> = None;
    let mut ran = 0;
    let ratio_header = readme_ratio_header(&pages);
    for line in &lines {
        if line.args.first().map(String::as_str) == Some("serve") {
            // The README starts the server once and talks to it; later `serve` lines are the
            // same server in another section or page.
            if server.is_none() {
                server = Some(start_server(&scratch, line));
                ran += 1;
            }
            continue;
        }
        if line.args.first().map(String::as_str) == Some("gateway") {
            // A long-running process like `serve`; tests/gateway* run it for real.
            continue;
        }
        if line.args.iter().any(|a| a == "--audit-store") {
            // Against a fleet's PostgreSQL database: tests/fleet.rs runs it for real.
            continue;
        }
        assert!(
            !line.background,
            "only `serve` runs in the background: {}",
            line.text
        );
        let (ok, stdout, stderr) = run(&scratch, line);
        ran += 1;
        assert!(ok, "`{}` failed:\n{stderr}", line.text);
        assert!(
            !stderr.contains("panicked"),
            "`{}` panicked:\n{stderr}",
            line.text
        );
        assert!(
            !stderr.contains('\x1b'),
            "`{}` coloured a pipe:\n{stderr}",
            line.text
        );
        // Filter values shown in the README exist in the bundled scenario.
        for nothing in ["matches no", "match --", "holds no"] {
            assert!(
                !stderr.contains(nothing),
                "`{}` matched nothing:\n{stderr}",
                line.text
            );
        }
        if let Some(file) = &line.redirect {
            std::fs::write(scratch.path().join(file), &stdout).unwrap();
        }
        let args: Vec<&str> = line.args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["audit", "ratio", .., "--by", "district"] => {
                let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
                assert_eq!(header, ratio_header, "the README's ratio columns");
                // The TOTAL line, then what the answer left out.
                let last: Vec<&str> = stdout.lines().rev().take(2).collect();
                assert!(last[1].starts_with("TOTAL"), "{stdout}");
                assert!(last[0].starts_with("left out (load test): "), "{stdout}");
            }
            // The README shows the scenario in two sections: the second run is acknowledged.
            ["simulate", ..] => assert!(
                stdout.contains("simulated ") || stdout.contains("already in the log"),
                "{stdout}"
            ),
            ["audit", "verify", ..] => assert!(stdout.starts_with("OK"), "{stdout}"),
            ["chip", "read", .., "--format", "json"] => {
                let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert!(json["securityObject"]["signature"].is_string(), "{json}");
            }
            _ => {}
        }
    }
    // Running the simulation again changes nothing, and says so.
    let again = Line {
        text: "vnpop simulate (again)".into(),
        args: vec!["simulate".into()],
        background: false,
        redirect: None,
        head: None,
    };
    let (ok, stdout, stderr) = run(&scratch, &again);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("already in the log"), "{stdout}");
    if let Some(mut server) = server {
        let _ = server.kill();
        let _ = server.wait();
    }
    assert!(ran >= 25, "only {ran} README commands found: {lines:#?}");
    // The simulator's outbox is in the data directory, not left in the working directory.
    assert!(scratch
        .path()
        .join("vnpop-data/simulate-outbox.sqlite")
        .is_file());
    assert!(!scratch.path().join("vnpop-simulate-outbox.sqlite").exists());
}
