//! `vnpop audit report` on the bundled scenario: the HTML report's figures are the auditor
//! answers' (parsed back out of the page), over gRPC and on the log file alike, and bad arguments
//! give one line and exit code 2.
//!
//! The log holds the scenario from December 2023 on: its whole early-2024 period (the published
//! 222 lookups for 29,613 dossiers) and, to compare with, December 2023. All 329,613 dossiers take
//! minutes to ingest in a debug build; the README's screenshot is the full run.

mod common;

use std::path::Path;

use common::{run_vnpop_binary, test_config, TestServer};
use vnpop::{
    client::{AuditClient, LookupContext, RegistryClient},
    proto::{self, reported_event::Kind},
    simulate::{self, Scenario},
};

/// The bundled scenario's early-2024 period.
const FROM: &str = "2024-01-01";
const TO: &str = "2024-02-21";

/// Runs `vnpop args…`: (exit code, stderr).
async fn run_vnpop(args: Vec<String>) -> (i32, String) {
    let output = run_vnpop_binary(args).await;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The bundled scenario's dossiers received from `since_ms` on and their lookups, reported as the
/// client library reports them; each lookup is also made, through `registry`, so the server
/// serves it (the ratio counts only what it served).
async fn report_the_bundled_scenario(desk: &AuditClient, registry: &RegistryClient, since_ms: i64) {
    let mut events = Vec::new();
    let mut lookups = Vec::new();
    for planned in simulate::plan(&Scenario::bundled())
        .into_iter()
        .filter(|p| p.info.received_at_ms.unwrap() >= since_ms)
    {
        let info = planned.info;
        let event = |id: String, at: i64, kind: Kind| proto::ReportedEvent {
            event_id: id,
            dossier_id: info.id.clone(),
            district: info.district.clone(),
            officer_id: info.officer_id.clone(),
            occurred_at_ms: at,
            load_test: false,
            commune: String::new(),
            kind: Some(kind),
        };
        events.push(event(
            format!("d-{}", info.id),
            info.received_at_ms.unwrap(),
            Kind::Dossier(proto::DossierReceived {
                procedure_code: info.procedure_code.clone(),
                channel: "desk".into(),
            }),
        ));
        if let Some(at) = planned.lookup_at_ms {
            lookups.push(LookupContext::new(
                &info.id,
                "kiểm tra thông tin công dân",
                &info.officer_id,
            ));
            events.push(event(
                format!("l-{}", info.id),
                at,
                Kind::Verification(proto::VerificationMade {
                    rpc: "LookupByCccd".into(),
                    outcome: "found".into(),
                    purpose: "kiểm tra thông tin công dân".into(),
                    cccd_number: String::new(),
                }),
            ));
        }
    }
    for batch in events.chunks(10_000) {
        desk.ingest(batch.to_vec()).await.unwrap();
    }
    // Many at once: each served call is its own group commit.
    let mut calls = tokio::task::JoinSet::new();
    for context in lookups {
        let registry = registry.clone();
        calls.spawn(async move {
            registry
                .lookup_by_cccd(&context, "001090012345")
                .await
                .unwrap();
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
}

/// One cell of a page's table: its exact value (`data-v`, if any) and its text.
#[derive(Debug)]
struct Cell {
    value: Option<String>,
    text: String,
}

/// The value of attribute `name` in the start tag `tag`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The rows of the table with this id that carry a group: (group values, cells).
fn table_rows(html: &str, id: &str) -> Vec<(Vec<String>, Vec<Cell>)> {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    table
        .split("<tr")
        .skip(1)
        .filter_map(|row| {
            let tag = &row[..row.find('>').unwrap()];
            let group = attribute(tag, "data-group")?;
            let cells = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let close = cell.find('>').unwrap();
                    Cell {
                        value: attribute(&cell[..close], "data-v"),
                        text: unescape(&cell[close + 1..cell.find("</td>").unwrap()]),
                    }
                })
                .collect();
            Some((group.split('\u{1f}').map(str::to_owned).collect(), cells))
        })
        .collect()
}

/// The `data-v` and text of the first element after `marker` that has a `data-v`.
fn figure(html: &str, marker: &str) -> (String, String) {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let rest = &html[at..];
    let tag_start = rest.find(" data-v=\"").unwrap();
    let tag_end = tag_start + rest[tag_start..].find('>').unwrap();
    let value = attribute(&rest[..tag_end], "data-v").unwrap();
    let text = &rest[tag_end + 1..tag_end + 1 + rest[tag_end + 1..].find('<').unwrap()];
    (value, unescape(text))
}

/// Vietnamese thousands: 65498 → 65.498.
fn vi_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// One decimal, Vietnamese: 569.48 → 569,5 (under 1,000).
fn vi_decimal(x: f64) -> String {
    format!("{x:.1}").replace('.', ",")
}

fn vi_percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0).replace('.', ",")
}

/// Every grouped row of the page's table `id` is the answer's row, figure by figure, written the
/// Vietnamese way; and every row of the answer is on the page.
fn assert_rows_match(html: &str, id: &str, answer: &[proto::RatioRow]) {
    let rows = table_rows(html, id);
    let answered: Vec<_> = answer.iter().map(|r| r.group.clone()).collect();
    let on_page: Vec<_> = rows
        .iter()
        .map(|(g, _)| g.clone())
        .filter(|g| !g[0].is_empty())
        .collect();
    for group in &answered {
        assert!(on_page.contains(group), "{id}: {group:?} missing");
    }
    for (group, cells) in rows {
        let Some(row) = answer.iter().find(|r| r.group == group) else {
            continue;
        };
        let figures: Vec<&Cell> = cells.iter().filter(|c| c.value.is_some()).collect();
        let expected = [
            (row.dossiers.to_string(), vi_int(row.dossiers)),
            (row.lookups.to_string(), vi_int(row.lookups)),
            (row.served.to_string(), vi_int(row.served)),
            (
                row.dossiers_with_lookup.to_string(),
                vi_int(row.dossiers_with_lookup),
            ),
            (row.coverage.to_string(), vi_percent(row.coverage)),
        ];
        for ((value, text), cell) in expected.iter().zip(&figures) {
            assert_eq!(cell.value.as_ref(), Some(value), "{id} {group:?}");
            assert_eq!(&cell.text, text, "{id} {group:?}");
        }
    }
}

async fn ratio(client: &AuditClient, from: &str, to: &str, by: &[&str]) -> Vec<proto::RatioRow> {
    client
        .raw()
        .lookup_ratio(proto::LookupRatioRequest {
            from: from.into(),
            to: to.into(),
            group_by: by.iter().map(|g| (*g).to_owned()).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rows
}

/// The page without the lines that differ between two runs (the time, in the header and the
/// printed page's margin, and the command line).

#[tokio::test]
async fn the_report_of_the_bundled_scenario_shows_the_answers_figures() {
    let config = test_config();
    let db = config.data_dir.join("audit.sqlite");
    let server = TestServer::with_config(config).await;
    let server_url = format!("https://localhost:{}", server.local_addr.port());
    let desk = server.audit("simulation").await;
    // 2023-12-01 00:00 in Vietnam.
    let registry = server.registry("simulation").await;
    report_the_bundled_scenario(&desk, &registry, 1_701_363_600_000).await;
    // Two load-test dossiers in the period: left out of every figure, and said so.
    let load_test = |id: &str| proto::ReportedEvent {
        event_id: format!("load-{id}"),
        dossier_id: id.into(),
        district: "Huyện Mai Châu".into(),
        officer_id: "qa".into(),
        occurred_at_ms: 1_704_067_200_000, // 2024-01-01 07:00 in Vietnam
        load_test: true,
        commune: String::new(),
        kind: Some(Kind::Dossier(proto::DossierReceived {
            procedure_code: "1.004227".into(),
            channel: "desk".into(),
        })),
    };
    desk.ingest(vec![load_test("LT-1"), load_test("LT-2")])
        .await
        .unwrap();
    let auditor = server.audit("auditor-thanh-tra").await;

    let out = tempfile::tempdir().unwrap();
    let page = |name: &str| out.path().join(name);
    let report = |extra: Vec<String>, file: &Path| {
        let mut args: Vec<String> = [
            "audit",
            "report",
            "--from",
            "2024-01-01",
            "--to",
            "2024-02-21",
            "--compare-from",
            "2023-12-01",
            "--compare-to",
            "2023-12-31",
            "--out",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(file.display().to_string());
        args.extend(extra);
        run_vnpop(args)
    };
    let (code, stderr) = report(
        vec!["--server".into(), server_url.clone()],
        &page("grpc.html"),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = report(
        vec!["--db".into(), db.display().to_string()],
        &page("file.html"),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(page("grpc.html")).unwrap();
    let from_file = std::fs::read_to_string(page("file.html")).unwrap();
    assert_eq!(
        common::stable_part(&html),
        common::stable_part(&from_file),
        "gRPC and file give the same report"
    );

    // Self-contained: nothing fetched.
    for fetch in [
        "<script",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"vi\">"));

    // The headline: the published figures, the Vietnamese way, with the comparison period's.
    assert_eq!(
        figure(&html, "id=\"headline-dossiers\""),
        ("29613".into(), "29.613".into())
    );
    assert_eq!(
        figure(&html, "id=\"headline-lookups\""),
        ("222".into(), "222".into())
    );
    let (coverage, text) = figure(&html, "id=\"headline-coverage\"");
    assert_eq!(text, "0,7%");
    assert_eq!(coverage.parse::<f64>().unwrap(), 222.0 / 29_613.0);
    let total = &ratio(&auditor, FROM, TO, &[]).await[0];
    let (served, _) = figure(&html, "id=\"headline-served\"");
    assert_eq!(served, total.served.to_string());
    // Counts of the two periods (52 days, 31) compared per day, each period's count and days said.
    let december = &ratio(&auditor, "2023-12-01", "2023-12-31", &[]).await[0];
    let compare_at = html.find("id=\"headline-dossiers\"").unwrap();
    let (now, text) = figure(&html[compare_at..], "class=\"rate\"");
    assert_eq!(now.parse::<f64>().unwrap(), 29_613.0 / 52.0);
    assert_eq!(text, "569,5/ngày · 52 ngày");
    let per_day = december.dossiers as f64 / 31.0;
    let (before, text) = figure(&html[compare_at..], "class=\"compare\"");
    assert_eq!(before.parse::<f64>().unwrap(), per_day);
    assert_eq!(text, format!("Kỳ so sánh: {}/ngày · ", vi_decimal(per_day)));
    let counted = format!(
        "<br><span data-v=\"{}\">{}</span> / 31 ngày</div>",
        december.dossiers,
        vi_int(december.dossiers)
    );
    assert!(html[compare_at..].contains(&counted), "{counted}");
    assert!(html.contains("kỳ báo cáo 52 ngày, kỳ so sánh 31 ngày."));
    let compare_at = html.find("id=\"headline-coverage\"").unwrap();
    let points = (222.0 / 29_613.0 - december.coverage) * 100.0;
    let expected = format!(
        ">Kỳ so sánh: {} · <span class=\"down\">−{:.1} điểm %</span>",
        vi_percent(december.coverage),
        -points
    )
    .replace('.', ",");
    assert!(html[compare_at..].contains(&expected), "{expected}");

    // Every table row against the ratio query.
    let by_district = ratio(&auditor, FROM, TO, &["district"]).await;
    assert_eq!(by_district.len(), 10, "Hòa Bình's ten districts");
    assert_rows_match(&html, "by-district", &by_district);
    // What the report is about: the province of the day and today's, the reporting agencies.
    assert!(
        html.contains("<p id=\"scope\">Tỉnh Hòa Bình (nay thuộc Tỉnh Phú Thọ) · Tất cả đơn vị</p>")
    );
    assert!(html.contains("<p id=\"agencies\">Đơn vị báo cáo: simulation</p>"));
    // Lists in Vietnamese order: Đà Bắc between Cao Phong and Kim Bôi, Lạc Sơn before Lương Sơn.
    let districts: Vec<String> = table_rows(&html, "by-district")
        .into_iter()
        .map(|(g, _)| g[0].clone())
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(
        districts,
        [
            "Huyện Cao Phong",
            "Huyện Đà Bắc",
            "Huyện Kim Bôi",
            "Huyện Lạc Sơn",
            "Huyện Lạc Thủy",
            "Huyện Lương Sơn",
            "Huyện Mai Châu",
            "Huyện Tân Lạc",
            "Huyện Yên Thủy",
            "Thành phố Hòa Bình",
        ]
    );
    // Procedures by name, and no raw code or ISO time in the lists.
    let unverified = &html[html.find("<table id=\"unverified-dossiers\"").unwrap()..];
    let unverified = &unverified[..unverified.find("</table>").unwrap()];
    assert!(unverified.contains(" – "), "procedure names");
    assert!(!unverified.contains("+07:00") && !unverified.contains(">desk<"));
    // A backfilled period is said once; its late reports are not listed as findings to act on.
    assert!(html.contains("<p class=\"note\" id=\"backfilled\">"));
    assert!(!html.contains("data-kind=\"reported_late\""));
    // The findings an inspector acts on: counted by kind.
    assert_eq!(table_rows(&html, "anomalies-by-kind").len(), 7);
    let total_row = table_rows(&html, "by-district")
        .into_iter()
        .find(|(g, _)| g == &vec![String::new()])
        .expect("a total row");
    assert_eq!(total_row.1[1].value.as_deref(), Some("29613"));
    assert_rows_match(
        &html,
        "by-district-month",
        &ratio(&auditor, FROM, TO, &["district", "month"]).await,
    );
    let by_officer = ratio(&auditor, FROM, TO, &["district", "officer"]).await;
    assert_rows_match(&html, "by-officer", &by_officer);
    let coverages: Vec<f64> = table_rows(&html, "by-officer")
        .iter()
        .map(|(_, cells)| cells[6].value.as_ref().unwrap().parse().unwrap())
        .collect();
    assert!(
        coverages.windows(2).all(|w| w[0] <= w[1]),
        "lowest coverage first"
    );
    assert_eq!(coverages.len(), by_officer.len());

    // Unverified: the first 100 listed, the rest counted.
    let (missing, _) = figure(&html, "<section id=\"unverified\">");
    assert_eq!(missing, (29_613 - 222).to_string());
    let (rest, _) = figure(&html, "id=\"unverified-rest\"");
    assert_eq!(rest, (29_613 - 222 - 100).to_string());

    // The load-test traffic the figures leave out is said.
    let (left_out, text) = figure(&html, "id=\"load-test-left-out\"");
    assert_eq!((left_out.as_str(), text.as_str()), ("2", "2"));
    assert!(html.contains("Không tính lưu lượng kiểm thử tải: "));

    // Reconcile: by kind, as the answer counts them.
    let findings = table_rows(&html, "findings-by-kind");
    assert_eq!(findings.len(), 5);
    let reconciled = auditor
        .raw()
        .reconcile(proto::ReconcileRequest {
            from: FROM.into(),
            to: TO.into(),
            max_findings: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        findings[1].1[1].value.as_deref(),
        Some(reconciled.reported_not_served.to_string().as_str())
    );

    // The signed tree head the figures rest on, and the command that checks it.
    let head = auditor.tree_head().await.unwrap();
    let (size, _) = figure(&html, "id=\"tree-size\"");
    assert_eq!(size, head.tree_size.to_string());
    let root = vnpop::ids::hex(&head.root_hash);
    assert!(html.contains(&format!("<dd id=\"root-hash\">{root}</dd>")));
    assert!(html.contains("vnpop audit verify --remote --previous-head head.json --public-key "));
    // The same head as a C2SP checkpoint, signed by the log's key (through the server).
    let checkpoint = auditor.checkpoint().await.unwrap();
    assert_eq!(checkpoint.tree_size, head.tree_size);
    assert!(html.contains(&format!("<pre id=\"checkpoint\">{}", checkpoint.origin)));
    assert!(html.contains(&format!("\n{}\n", head.tree_size)));
    assert!(html.contains(&format!(
        "<pre id=\"verifier-key\">{}</pre>",
        checkpoint.verifier_key
    )));
    assert!(
        !from_file.contains("id=\"checkpoint\""),
        "a file has no key to sign with"
    );
    let saved = &html[html.find("<pre id=\"head-json\">").unwrap() + 20..];
    let saved: serde_json::Value =
        serde_json::from_str(&unescape(&saved[..saved.find("</pre>").unwrap()])).unwrap();
    assert_eq!(saved["tree_size"], head.tree_size);

    // English on request.
    let (code, stderr) = report(
        vec![
            "--server".into(),
            server_url.clone(),
            "--lang".into(),
            "en".into(),
        ],
        &page("en.html"),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let english = std::fs::read_to_string(page("en.html")).unwrap();
    assert_eq!(
        figure(&english, "id=\"headline-dossiers\""),
        ("29613".into(), "29,613".into())
    );
    assert_eq!(figure(&english, "id=\"headline-coverage\"").1, "0.7%");

    // Bad arguments: one line, exit code 2, no file written.
    let bad = |args: &[&str]| {
        let mut args: Vec<String> = ["audit", "report"]
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect();
        args.extend(["--server".to_owned(), server_url.clone()]);
        run_vnpop(args)
    };
    let missing_dir = out.path().join("no-such-dir/report.html");
    let out_file = page("bad.html").display().to_string();
    for (args, says) in [
        (
            vec![
                "--from",
                "2022-12-01",
                "--to",
                "2023-12-31",
                "--district",
                "Huyện Phủ Lý",
                "--out",
                &out_file,
            ],
            "--district \"Huyện Phủ Lý\": no dossiers from this district",
        ),
        (
            vec![
                "--from",
                "2024-02-01",
                "--to",
                "2024-01-01",
                "--out",
                &out_file,
            ],
            "empty period: --to 2024-01-01 is before --from 2024-02-01",
        ),
        (
            vec![
                "--from",
                "2030-01-01",
                "--to",
                "2030-01-31",
                "--out",
                &out_file,
            ],
            "empty period: no dossiers received from 2030-01-01 to 2030-01-31",
        ),
        (
            vec![
                "--from",
                "2022-12-01",
                "--to",
                "2023-12-31",
                "--out",
                missing_dir.to_str().unwrap(),
            ],
            "does not exist",
        ),
        (
            vec![
                "--from",
                "2022-13-01",
                "--to",
                "2023-12-31",
                "--out",
                &out_file,
            ],
            "--from \"2022-13-01\" is not a date written YYYY-MM-DD",
        ),
    ] {
        let (code, stderr) = bad(&args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("vnpop: ") && stderr.contains(says),
            "{stderr}"
        );
    }
    assert!(!page("bad.html").exists());

    // One district: its own headline and rows.
    let (code, stderr) = run_vnpop(
        [
            "audit",
            "report",
            "--from",
            FROM,
            "--to",
            TO,
            "--district",
            "Huyện Mai Châu",
            "--out",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([
            page("mai-chau.html").display().to_string(),
            "--server".into(),
            server_url,
        ])
        .collect(),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let mai_chau = std::fs::read_to_string(page("mai-chau.html")).unwrap();
    let row = by_district
        .iter()
        .find(|r| r.group[0] == "Huyện Mai Châu")
        .unwrap();
    assert_eq!(
        figure(&mai_chau, "id=\"headline-dossiers\"").0,
        row.dossiers.to_string()
    );
    assert_eq!(table_rows(&mai_chau, "by-district").len(), 1);
}
