//! What leaves the CLI in files and on the terminal from text an agency wrote: a CSV cell a
//! spreadsheet would execute (`=1+2`, `=HYPERLINK(…)`) is prefixed with `'`, and a
//! right-to-left override stored before the edge refused it shows as `[U+202E]` in the CSV
//! export, the ratio table and the HTML report, never raw.

mod common;

use vnpop::audit::{lock::DataDirLock, log::AuditLog, AuditEvent, EventKind, EventSource};

/// A dossier received at the desk on 2023-12-01 by `officer`, written straight to the log (as a
/// log written before the edge refused such text would hold it).
fn dossier(id: &str, officer: &str) -> AuditEvent {
    AuditEvent {
        event_id: format!("d-{id}"),
        source: EventSource::Client,
        dossier_id: id.into(),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: "Quận Ba Đình".into(),
        officer_id: officer.into(),
        occurred_at_ms: 1_701_400_000_000,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Dossier {
            procedure: "1.004227".into(),
            channel: vnpop::vocabulary::Channel::Desk,
        },
    }
}

#[tokio::test]
async fn formulas_and_bidi_overrides_are_neutralised_in_what_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let log = AuditLog::open(DataDirLock::acquire(&path).unwrap()).unwrap();
        log.append_blocking(vec![
            dossier("A", "=HYPERLINK(\"http://evil\",\"x\")"),
            dossier("B", "=1+2"),
            dossier("C", "cb\u{202E}10"),
        ])
        .unwrap();
    })
    .await
    .unwrap();
    let db = dir.path().join("audit.sqlite").display().to_string();
    let run = |args: &[&str]| {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["--db".to_owned(), db.clone()]);
        common::run_vnpop_binary(args)
    };

    let export = run(&["audit", "export", "--format", "csv"]).await;
    assert!(export.status.success(), "{export:?}");
    let csv = String::from_utf8(export.stdout).unwrap();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{csv}"
    );
    assert!(csv.contains(",'=1+2,"), "{csv}");
    assert!(csv.contains("cb[U+202E]10"), "{csv}");
    assert!(!csv.contains('\u{202E}'), "{csv}");

    let table = run(&[
        "audit",
        "ratio",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-02",
        "--by",
        "officer",
    ])
    .await;
    assert!(table.status.success(), "{table:?}");
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("cb[U+202E]10"), "{table}");
    assert!(!table.contains('\u{202E}'), "{table}");

    let page = dir.path().join("report.html");
    let report = run(&[
        "audit",
        "report",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-02",
        "--out",
        &page.display().to_string(),
    ])
    .await;
    assert!(report.status.success(), "{report:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains('\u{202E}'),
        "the report prints the override raw"
    );
    assert!(html.contains("cb[U+202E]10"));
}
