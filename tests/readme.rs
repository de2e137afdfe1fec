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
//!
//! Its parts, in `tests/readme/`: `lines` (a page's command lines, split as a shell would),
//! `run` (the commands run), `links` (the pages' links and anchors), `leftovers` (what following
//! the docs leaves behind: clusters, files).

mod common;
#[path = "readme/leftovers.rs"]
mod leftovers;
#[path = "readme/lines.rs"]
mod lines;
#[path = "readme/links.rs"]
mod links;
#[path = "readme/run.rs"]
mod run;

use std::path::{Path, PathBuf};

/// The repository's root.
pub(crate) fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, then every `docs/*.md` in name order: (path from the root, text).
pub(crate) fn pages() -> Vec<(String, String)> {
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

/// The text of the file at `path`.
pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
