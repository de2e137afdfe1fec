//! `vnpop audit report` on paper: the bundled scenario's report printed to PDF by headless
//! Chromium (`examples/report-print.sh`, the page's own A4 `@page` rules) and read back with
//! poppler's `pdftotext`: every section, every column header and every row of the officers, of
//! the district-by-month table and of the findings is in the PDF; every page is A4 and carries the
//! report's identity (period, scope, tree head) and its number; no text is set under 7 pt; and
//! nothing on paper asks the reader to hover.
//!
//! The scenario is the bundled one cut down a hundredfold (its ten districts and 54 officers kept;
//! a few seconds to simulate), reported over its first period, the 13 months of 2022–2023, so the
//! heat map is at its widest, against early 2024.
//!
//! Needs `chromium` and `poppler-utils` (Debian's packages; `.ci/run` installs them): where they
//! are missing the test says so and passes without printing.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{as_verification, receipt, run_vnpop_binary, simulate_through, TestServer};
use vnpop::simulate::{RunIdentity, Scenario};

/// The programs printing needs, or why the test cannot print here.
fn printing_tools() -> Result<(), String> {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    let missing: Vec<&str> = [
        (
            "chromium",
            on_path("chromium") || on_path("chromium-browser"),
        ),
        ("pdftotext", on_path("pdftotext")),
        ("pdfinfo", on_path("pdfinfo")),
        ("pdftohtml", on_path("pdftohtml")),
    ]
    .into_iter()
    .filter(|(_, found)| !found)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join(", "))
    }
}

/// Runs `program args…` to its end: its stdout, or a panic naming it with its stderr.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Text without its whitespace: a cell the PDF wraps over two lines reads as the page's cell.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Text as the page shows it: tags dropped, entities read, whitespace squeezed out.
fn shown(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    squeezed(
        &text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// The inner HTML of every `<tag …>…</tag>` in `html` (not nested).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        // `<th` must not match `<thead`.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let body = &after[after.find('>').unwrap() + 1..];
        let end = body.find(&close).unwrap();
        found.push(&body[..end]);
        rest = &body[end..];
    }
    found
}

/// The table with this id.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    &html[start..start + html[start..].find("</table>").unwrap()]
}

/// The body rows of a table, each as its cells' text in order.
fn body_rows(table: &str) -> Vec<String> {
    let body = &table[table.find("<tbody>").unwrap()..];
    elements(body, "tr").into_iter().map(shown).collect()
}

/// Every run of text in the PDF with its font size in points (`pdftohtml -xml` at zoom 1).
fn font_sizes(pdf: &Path) -> Vec<(f64, String)> {
    let xml = run(
        "pdftohtml",
        &[
            "-xml",
            "-i",
            "-zoom",
            "1",
            "-stdout",
            "-q",
            pdf.to_str().unwrap(),
        ],
    );
    let size_of: std::collections::HashMap<String, f64> = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<fontspec"))
        .map(|l| {
            let attr = |name: &str| {
                let start = l.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                l[start..start + l[start..].find('"').unwrap()].to_owned()
            };
            (attr("id"), attr("size").parse().unwrap())
        })
        .collect();
    xml.lines()
        .filter(|l| l.trim_start().starts_with("<text "))
        .map(|l| {
            let start = l.find(" font=\"").unwrap() + 7;
            let font = &l[start..start + l[start..].find('"').unwrap()];
            (size_of[font], shown(l))
        })
        .collect()
}

#[tokio::test]
async fn the_printed_report_holds_every_section_row_and_column() {
    if let Err(missing) = printing_tools() {
        eprintln!(
            "SKIPPED: printing the report needs headless Chromium and poppler-utils; missing here: \
             {missing} (Debian: apt-get install -y chromium poppler-utils; .ci/run installs them)"
        );
        return;
    }
    let server = TestServer::start().await;
    let scenario = Scenario::parse(&common::small_bundled_scenario()).unwrap();
    let run_id = RunIdentity::new(&scenario, server.seed, None).unwrap();
    simulate_through(&server, &scenario, &run_id).await;
    // Dossiers whose lookups were reported and never served: findings an inspector acts on (the
    // period's late reports are counted, not listed), so their list is printed too.
    let desk = server.audit("simulation").await;
    let received: Vec<_> = (0..3)
        .map(|i| {
            receipt(
                format!("print-dossier-{i}"),
                &format!("HS-PRINT-{i}"),
                "Huyện Mai Châu",
                "huyen-mai-chau-cb01",
                1_688_180_400_000 + i * 3_600_000,
            )
        })
        .collect();
    desk.ingest(received).await.unwrap();
    let reported: Vec<_> = (0..3)
        .map(|i| {
            let at = 1_688_180_400_000 + i * 3_600_000; // 2023-07-01 10:00 in Vietnam, on
            as_verification(
                receipt(
                    format!("print-{i}"),
                    &format!("HS-PRINT-{i}"),
                    "Huyện Mai Châu",
                    "huyen-mai-chau-cb01",
                    at,
                ),
                "LookupByCccd",
                "found",
                "kiểm tra thông tin công dân",
                "",
            )
        })
        .collect();
    desk.ingest(reported).await.unwrap();

    let out = tempfile::tempdir().unwrap();
    let html_path = out.path().join("report.html");
    let output = run_vnpop_binary(
        [
            "audit",
            "report",
            "--from",
            "2022-12-01",
            "--to",
            "2023-12-31",
            "--compare-from",
            "2024-01-01",
            "--compare-to",
            "2024-02-21",
            "--server",
            &server.endpoint(),
            "--out",
            html_path.to_str().unwrap(),
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();

    let pdf: PathBuf = out.path().join("report.pdf");
    let started = std::time::Instant::now();
    run(
        "bash",
        &[
            "examples/report-print.sh",
            html_path.to_str().unwrap(),
            pdf.to_str().unwrap(),
        ],
    );
    eprintln!("printed in {:?}", started.elapsed());
    let text = run("pdftotext", &["-raw", pdf.to_str().unwrap(), "-"]);
    let everything = squeezed(&text);

    // Every page A4 (portrait), numbered, and naming the report it belongs to.
    let info = run("pdfinfo", &["-f", "1", "-l", "999", pdf.to_str().unwrap()]);
    let sizes: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains(" size:"))
        .collect();
    assert!(!sizes.is_empty(), "{info}");
    for size in &sizes {
        assert!(size.ends_with("594.96 x 841.92 pts (A4)"), "{size}");
    }
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), sizes.len());
    // The tree head as the first page's header names it: `Đầu cây 3.987 sự kiện · gốc 1a2b…`.
    let head_at = &html[html.find("<p id=\"head-identity\">").unwrap()..];
    let head = shown(&head_at[..head_at.find("</p>").unwrap()]);
    for (i, page) in pages.iter().enumerate() {
        let page = squeezed(page);
        for identity in [
            "Kỳbáocáo:01/12/2022–31/12/2023(396ngày)·TỉnhHòaBình(naythuộcTỉnhPhúThọ)·Tấtcảđơnvị",
            head.as_str(),
            &format!("Trang{}/{}", i + 1, pages.len()),
        ] {
            assert!(page.contains(identity), "page {}: no {identity}", i + 1);
        }
    }

    // Every section and every heading in it, every column header of every table.
    let sections = elements(&html, "section");
    assert!(sections.len() >= 5, "{}", sections.len());
    for heading in elements(&html, "h2")
        .into_iter()
        .chain(elements(&html, "summary"))
        .chain(elements(&html, "th"))
        .map(shown)
        .filter(|h| !h.is_empty())
    {
        assert!(everything.contains(&heading), "not printed: {heading}");
    }
    for column in ["Kênh", "Tiếpnhậnlúc", "Huyện", "Cánbộ", "Báocáolỗikếtnối"] {
        assert!(everything.contains(column), "no column {column}");
    }

    // Every row, whole, of the officers, of the collapsible tables and of the dossiers listed.
    let officers = body_rows(table(&html, "by-officer"));
    assert_eq!(officers.len(), 54, "the scenario's 54 officers");
    for id in [
        "by-officer",
        "by-district",
        "by-district-month",
        "unverified-dossiers",
        "findings",
        "anomalies-by-kind",
    ] {
        for row in body_rows(table(&html, id)) {
            assert!(
                everything.contains(&row),
                "{id}: row not printed whole: {row}"
            );
        }
    }
    // Timestamps and channels in words, the findings by name.
    assert!(everything.contains("Trựctiếp") || everything.contains("Trựctuyến"));
    assert!(!text.contains("+07:00") && !text.contains("reported_not_served"));
    assert!(everything.contains("Đơnvịbáocáonhưngmáychủkhôngghinhận"));

    // On paper, words instead of hover hints.
    assert!(!text.contains("rê chuột"), "a hover hint printed");
    assert!(everything.contains("sốliệuchínhxáccủatừngôởbảngHuyện·Thángbêndưới"));

    // No type under 7 pt, the heat map's included.
    let runs = font_sizes(&pdf);
    assert!(!runs.is_empty());
    let small: Vec<_> = runs.iter().filter(|(size, _)| *size < 7.0).collect();
    assert!(small.is_empty(), "under 7 pt: {small:?}");
    let cell = runs
        .iter()
        .find(|(_, text)| text.ends_with('%'))
        .expect("a heat map cell");
    eprintln!(
        "{} pages; smallest type {} pt; first share printed at {} pt",
        pages.len(),
        runs.iter().map(|(s, _)| *s).fold(f64::MAX, f64::min),
        cell.0
    );
}
