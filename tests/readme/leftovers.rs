//! What following the docs leaves behind: a cluster a page starts is stopped and removed, and
//! every file the commands create is ignored by git.

use crate::{
    lines::{readme_commands, strip_comment},
    pages, read, repository,
};

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
