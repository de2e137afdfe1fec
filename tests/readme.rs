//! The documentation's commands, run as a newcomer would run them: every `vnpop …` line of the
//! `sh` and `console` blocks (and `cargo run --release -- …`, the same binary) of README.md and
//! of every page under `docs/` is executed — README first, then the pages in name order — by the
//! real binary, in a scratch directory that has the repository's `certs/` and `data/`, against
//! the server the README's own `vnpop serve` line starts. So the documentation cannot drift from
//! the binary: a flag, a subcommand, a file format or a filter value that a page shows and the
//! binary does not accept fails here. The pages' links are checked too: every docs page is
//! reachable from the README, and every relative link and `#anchor` resolves.
//!
//! What the test changes, and only to keep it short: the population (20,000 citizens, through
//! `VNPOP_POPULATION`), the scenario (the bundled one with every total divided by 100, through
//! `VNPOP_SCENARIO`, so its districts and officers are the bundled ones), the port (through
//! `VNPOP_LISTEN` / `VNPOP_SERVER` / `VNPOP_LOAD_TARGET`), `vnpop load`'s duration, and
//! `vnpop certs --out` (a scratch directory, never the repository's `certs/`).

mod common;

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The repository's root.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, then every `docs/*.md` in name order: (path from the root, text).
fn pages() -> Vec<(String, String)> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repository().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("a docs entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![(
        "README.md".to_owned(),
        read(&repository().join("README.md")),
    )];
    for path in docs {
        let name = path
            .strip_prefix(repository())
            .unwrap()
            .display()
            .to_string();
        pages.push((name, read(&path)));
    }
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One command of the README.
#[derive(Debug)]
struct Line {
    /// The line as written, for messages.
    text: String,
    /// The arguments after `vnpop`.
    args: Vec<String>,
    /// Started in the background (`&`).
    background: bool,
    /// `> FILE`.
    redirect: Option<String>,
    /// `| head -N`: read N lines, then close the pipe.
    head: Option<usize>,
}

/// The text before an unquoted ` #` comment.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The README's `vnpop` command lines, in order.
fn readme_commands(markdown: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    // `sh` blocks are all commands; in `console` blocks, the lines after a `$ ` prompt.
    let mut block: Option<&str> = None;
    let mut pending = String::new();
    for raw in markdown.lines() {
        if let Some(fence) = raw.trim_start().strip_prefix("```") {
            block = match (block, fence.trim()) {
                (None, kind @ ("sh" | "console")) => Some(kind),
                (None, _) => Some("other"),
                (Some(_), _) => None,
            };
            continue;
        }
        let text = match block {
            Some("sh") => raw.trim(),
            Some("console") => match raw.trim().strip_prefix("$ ") {
                Some(command) => command.trim(),
                None => continue,
            },
            _ => continue,
        };
        // A line ending in `\` goes on on the next line, as in a shell.
        if let Some(head) = text.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let joined = std::mem::take(&mut pending) + text;
        let text = joined.as_str();
        // `NAME=$(vnpop …)`: the command inside.
        let text = match text.split_once("=$(") {
            Some((name, rest)) if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                rest.trim_end_matches(')')
            }
            _ => text,
        };
        let command = strip_comment(text).trim();
        let rest = if let Some(rest) = command.strip_prefix("vnpop ") {
            rest
        } else if let Some(rest) = command.strip_prefix("cargo run --release -- ") {
            rest
        } else {
            continue;
        };
        let mut words = shlex::split(rest).unwrap_or_else(|| panic!("cannot split {raw:?}"));
        let mut line = Line {
            text: command.to_owned(),
            args: Vec::new(),
            background: false,
            redirect: None,
            head: None,
        };
        if words.last().map(String::as_str) == Some("&") {
            words.pop();
            line.background = true;
        }
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            match word.as_str() {
                ">" => line.redirect = words.next(),
                "|" => {
                    let rest: Vec<String> = words.by_ref().collect();
                    assert_eq!(rest.first().map(String::as_str), Some("head"), "{raw}");
                    let n = rest.get(1).map_or("-10", String::as_str);
                    line.head = Some(n.trim_start_matches('-').parse().expect("head -N"));
                }
                _ => line.args.push(word),
            }
        }
        lines.push(line);
    }
    lines
}

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

#[test]
fn readme_lines_are_split_as_a_shell_would() {
    let lines = readme_commands(
        "```sh\nvnpop serve &   # the server\n```\n\
         ```console\n$ vnpop chip read 1 > an.chip\nvnpop output, not a command\n```\n```sh\n\
         vnpop audit export --district \"Huyện Đà Bắc\" | head -3\n\
         CHIP=$(vnpop chip read 1 --format json)\ngrpcurl x\n```\n\
         ```rust\nvnpop not this\n```\n",
    );
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].background);
    assert_eq!(lines[0].args, ["serve"]);
    assert_eq!(lines[1].redirect.as_deref(), Some("an.chip"));
    assert_eq!(
        lines[2].args,
        ["audit", "export", "--district", "Huyện Đà Bắc"]
    );
    assert_eq!(lines[2].head, Some(3));
    assert_eq!(lines[3].args, ["chip", "read", "1", "--format", "json"]);
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' | '-' => Some('-'),
            '_' => Some('_'),
            c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
            _ => None,
        })
        .collect()
}

/// The lines of a page outside its code blocks.
fn prose_lines(markdown: &str) -> impl Iterator<Item = &str> {
    let mut in_code = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            return false;
        }
        !in_code
    })
}

/// The anchors of a page's headings (outside code blocks).
fn anchors(markdown: &str) -> Vec<String> {
    prose_lines(markdown)
        .filter_map(|line| {
            let hashes = line.bytes().take_while(|&b| b == b'#').count();
            (hashes > 0 && line[hashes..].starts_with(' ')).then(|| anchor(line[hashes..].trim()))
        })
        .collect()
}

/// The targets of a page's inline links `[text](target)`, outside code blocks.
fn links(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose_lines(markdown) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_docs_page_is_linked_from_the_readme_and_every_link_resolves() {
    let pages = pages();
    let readme = &pages[0].1;
    for (name, _) in &pages[1..] {
        assert!(
            readme.contains(&format!("]({name})")),
            "README.md does not link {name}"
        );
    }
    let mut checked = pages.clone();
    checked.push((
        "ARCHITECTURE.md".into(),
        read(&repository().join("ARCHITECTURE.md")),
    ));
    for (name, text) in &checked {
        let dir = Path::new(name).parent().unwrap_or(Path::new(""));
        for target in links(text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if file.is_empty() {
                repository().join(name)
            } else {
                repository().join(dir).join(file)
            };
            assert!(linked.exists(), "{name} links {target}: no such file");
            if let Some(fragment) = fragment {
                let heads = anchors(&read(&linked));
                assert!(
                    heads.iter().any(|a| a == fragment),
                    "{name} links {target}: no such heading in {}",
                    linked.display()
                );
            }
        }
    }
}

/// A page that starts a PostgreSQL cluster (the fleet) also says how to stop it and remove it,
/// and removes the data directories of the servers it started.
#[test]
fn a_page_that_starts_a_cluster_stops_and_removes_it() {
    let mut pages_with_a_cluster = 0;
    for (name, text) in pages() {
        let shell: Vec<&str> = text.lines().map(str::trim).collect();
        let started: Vec<&str> = shell
            .iter()
            .filter(|line| {
                line.contains("pg_ctl -D ") && strip_comment(line).trim_end().ends_with(" start")
            })
            .copied()
            .collect();
        for line in started {
            pages_with_a_cluster += 1;
            let dir = line
                .split("pg_ctl -D ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            assert!(
                shell.iter().any(|l| strip_comment(l)
                    .trim_end()
                    .ends_with(&format!("pg_ctl -D {dir} stop"))),
                "{name} starts the cluster in {dir} and never stops it"
            );
            assert!(
                shell
                    .iter()
                    .any(|l| l.contains("rm -rf ") && strip_comment(l).contains(dir)),
                "{name} starts the cluster in {dir} and never removes it"
            );
            // The servers' data directories, and the servers themselves.
            for command in shell
                .iter()
                .filter(|l| l.starts_with("vnpop serve ") && l.ends_with('&'))
            {
                let words = shlex::split(strip_comment(command)).unwrap();
                if let Some(at) = words.iter().position(|w| w == "--data-dir") {
                    let data = &words[at + 1];
                    assert!(
                        shell.iter().any(|l| l.starts_with("rm -rf ")
                            && strip_comment(l).split_whitespace().any(|w| w == data)),
                        "{name} starts a server on {data} and never removes it"
                    );
                }
                assert!(
                    shell.iter().any(|l| l.starts_with("kill ")),
                    "{name} starts servers in the background and never stops them"
                );
            }
        }
    }
    assert!(
        pages_with_a_cluster > 0,
        "no page starts the fleet's cluster"
    );
}

/// `name` (a path relative to the repository's root) matches a `.gitignore` line: `*` globs,
/// a leading `/` anchors it at the root, a trailing `/` means a directory.
fn ignored_by(pattern: &str, name: &str) -> bool {
    fn glob(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
            }
            (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
    let first = name.split('/').next().unwrap_or(name);
    glob(pattern.as_bytes(), name.as_bytes()) || glob(pattern.as_bytes(), first.as_bytes())
}

/// Every file or directory the docs' commands create in the working directory (`> FILE`,
/// `--out`, `--save-head`, `--summary-json`, `--data-dir`, `--outbox`) is in `.gitignore`, so
/// following the docs in a clone leaves `git status` clean.
#[test]
fn what_the_docs_commands_create_is_ignored_by_git() {
    let gitignore = read(&repository().join(".gitignore"));
    let patterns: Vec<&str> = gitignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut created = Vec::new();
    for (_, text) in pages() {
        for line in readme_commands(&text) {
            created.extend(line.redirect.clone());
            for pair in line.args.windows(2) {
                let certs = line.args.first().map(String::as_str) == Some("certs");
                if matches!(
                    pair[0].as_str(),
                    "--out" | "--save-head" | "--summary-json" | "--data-dir" | "--outbox"
                ) && !certs
                {
                    created.push(pair[1].clone());
                }
            }
        }
    }
    // Absolute paths are the reader's own (/etc/vnpop, /var/lib/vnpop).
    created.retain(|name| !name.starts_with('/'));
    assert!(created.len() >= 10, "{created:?}");
    for name in created {
        assert!(
            patterns.iter().any(|p| ignored_by(p, &name)),
            ".gitignore does not ignore {name}, which the docs' commands create"
        );
    }
}
