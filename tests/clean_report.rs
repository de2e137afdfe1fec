//! Cleaning jobs beside the bundled scenario on one server: the auditor's report lists the jobs
//! in a section of their own (agency, job, purpose, records, verdict counts) from a real
//! `vnpop clean` run, and the scenario's ratio figures — the answers of LookupRatio and the rest
//! of the report — are the same after the jobs as before, even for a job named like one of the
//! scenario's dossiers (issue 31's "done when").
//!
//! The scenario is the bundled one with every total divided by 100 (its ten districts and 54
//! officers kept; a few seconds to simulate in a debug build), as in `audit_report_print.rs`.

mod common;

use std::path::Path;

use chrono::{Duration, Utc};
use common::{run_vnpop_binary, simulate_through, TestServer};
use vnpop::{
    client::AuditClient,
    domain::{CitizenStatus, Sex},
    population::{self, builtin_fixtures},
    proto,
    simulate::{self, RunIdentity, Scenario},
};

/// The report's and the ratios' first day: the scenario's first period begins on 1 December 2022.
const FROM: &str = "2022-12-01";

/// The last day of the period: tomorrow in Vietnam, so the jobs run now are in it.
fn to() -> String {
    (Utc::now() + Duration::hours(7) + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string()
}

/// Every ratio figure an auditor reads: the total, by district and month, by officer, by
/// procedure and channel.
async fn ratios(auditor: &AuditClient, to: &str) -> Vec<Vec<proto::RatioRow>> {
    let mut all = Vec::new();
    for by in [
        &[][..],
        &["district", "month"],
        &["officer"],
        &["procedure", "channel"],
        &["agency", "province", "commune"],
    ] {
        let rows = auditor
            .raw()
            .lookup_ratio(proto::LookupRatioRequest {
                from: FROM.into(),
                to: to.into(),
                group_by: by.iter().map(|g| (*g).to_owned()).collect(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .rows;
        all.push(rows);
    }
    all
}

/// `vnpop audit report` over the period ending `to` into `file`; the page.
async fn report(server: &TestServer, to: &str, file: &Path) -> String {
    let output = run_vnpop_binary(
        [
            "audit",
            "report",
            "--from",
            FROM,
            "--to",
            to,
            "--out",
            file.to_str().unwrap(),
            "--server",
            &server.endpoint(),
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
    std::fs::read_to_string(file).unwrap()
}

/// The page's parts that a cleaning job must leave as they were: the header and headline
/// figures, then each section by id, without the cleaning section and the tree head (the jobs'
/// records are in the log, so its size and root moved) and without the lines that differ
/// between two runs anyway (the time, the command, the head named in the header).
fn figures_of(html: &str) -> Vec<(String, String)> {
    let stable = common::stable_part(html);
    let mut parts = stable.split("<section id=\"");
    let head = parts.next().unwrap_or_default();
    let head: Vec<&str> = head.lines().filter(|l| !l.contains("Đầu cây")).collect();
    let mut kept = vec![("header".to_owned(), head.join("\n"))];
    for section in parts {
        let id = &section[..section.find('"').unwrap()];
        if id != "cleaning" && id != "tree-head" {
            kept.push((id.to_owned(), section.to_owned()));
        }
    }
    kept
}

/// The text of each cell of each body row of the table with this id.
fn table_cells(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = &cell[cell.find('>').unwrap() + 1..];
                    text[..text.find("</td>").unwrap()].to_owned()
                })
                .collect()
        })
        .collect()
}

/// A registry row, no field quoted (the values hold no comma).
fn row(id: &str, number: &str, name: &str, dob: &str, sex: &str) -> String {
    format!("{id},{number},{name},{dob},{sex}\n")
}

/// A registry of the server's citizens: 4 matches, 2 misspelt names, a deceased citizen, an
/// unknown number, a malformed one (9 records); and one of 2 matches.
fn registries() -> (String, String) {
    let spec = common::test_config().population.spec();
    let citizens = population::generate(spec, &builtin_fixtures());
    let mut active = citizens
        .iter()
        .filter(|c| c.status == CitizenStatus::Active);
    let line = |id: String, c: &vnpop::domain::Citizen, name: &str| {
        let sex = match c.sex {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        };
        row(
            &id,
            &c.cccd.to_string(),
            name,
            &c.date_of_birth.format("%d/%m/%Y").to_string(),
            sex,
        )
    };
    let mut bhxh = String::from("record_id,number,full_name,date_of_birth,sex\n");
    for (i, c) in active.by_ref().take(4).enumerate() {
        bhxh += &line(format!("M{i}"), c, &c.full_name);
    }
    for (i, c) in active.by_ref().take(2).enumerate() {
        bhxh += &line(format!("X{i}"), c, &format!("{}h", c.full_name));
    }
    bhxh += &row("D0", "036050000777", "", "", "");
    bhxh += &row("U0", "001090999999", "", "", "");
    bhxh += &row("B0", "12345", "", "", "");
    let mut small = String::from("record_id,number,full_name,date_of_birth,sex\n");
    for (i, c) in active.take(2).enumerate() {
        small += &line(format!("S{i}"), c, &c.full_name);
    }
    (bhxh, small)
}

/// Runs `vnpop clean` as the simulation agency: `--in registry --job-id job --purpose purpose`.
async fn clean(server: &TestServer, dir: &Path, registry: &str, job: &str, purpose: &str) {
    let input = dir.join(format!("{job}.csv"));
    std::fs::write(&input, registry).unwrap();
    let output = run_vnpop_binary(
        [
            "clean",
            "--in",
            input.to_str().unwrap(),
            "--out",
            dir.join(format!("{job}-verdicts.csv")).to_str().unwrap(),
            "--job-id",
            job,
            "--purpose",
            purpose,
            "--server",
            &server.endpoint(),
            "--cert",
            "certs/simulation.pem",
            "--key",
            "certs/simulation.key",
            "--quiet",
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
}

#[tokio::test]
async fn the_report_lists_cleaning_jobs_apart_and_the_scenarios_ratios_stay() {
    let server = TestServer::start().await;
    let scenario = Scenario::parse(&common::small_bundled_scenario()).unwrap();
    let run_id = RunIdentity::new(&scenario, server.seed, None).unwrap();
    simulate_through(&server, &scenario, &run_id).await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let dir = tempfile::tempdir().unwrap();
    // One period for every answer, even if the day changes while the test runs.
    let to = to();

    let ratios_before = ratios(&auditor, &to).await;
    let total = &ratios_before[0][0];
    assert!(total.dossiers > 3_000 && total.lookups > 0, "{total:?}");
    let before = report(&server, &to, &dir.path().join("before.html")).await;
    assert!(!before.contains("id=\"cleaning\""));

    // Two jobs: a registry with planted errors, and one named like a dossier of the scenario
    // that had no lookup (were cleaning counted as lookups, that dossier would be covered).
    let (bhxh, small) = registries();
    clean(
        &server,
        dir.path(),
        &bhxh,
        "bhxh-2026-q4",
        "làm sạch dữ liệu BHXH",
    )
    .await;
    let unverified = simulate::plan(&scenario)
        .into_iter()
        .find(|p| p.lookup_at_ms.is_none())
        .unwrap()
        .info
        .id;
    clean(&server, dir.path(), &small, &unverified, "đối chiếu thử").await;

    // The ratios, every breakdown, are what they were.
    assert_eq!(ratios(&auditor, &to).await, ratios_before);

    // The report: the same figures, section by section, and a cleaning section listing the
    // two jobs.
    let after = report(&server, &to, &dir.path().join("after.html")).await;
    let (figures_before, figures_after) = (figures_of(&before), figures_of(&after));
    assert_eq!(
        figures_after.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        figures_before.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    for ((id, was), (_, is)) in figures_before.iter().zip(&figures_after) {
        assert!(was == is, "section {id} changed with the cleaning jobs");
    }
    let section = &after[after.find("<section id=\"cleaning\">").unwrap()..];
    assert!(section.contains("Làm sạch dữ liệu (không tính vào hồ sơ)"));
    for column in [
        "Đơn vị",
        "Đợt",
        "Mục đích",
        "Bản ghi",
        "Khớp",
        "Sai lệch",
        "Số không tồn tại",
        "Sai định dạng",
        "Đã chết",
        "Thẻ bị thu hồi",
    ] {
        assert!(section.contains(&format!(">{column}</th>")), "{column}");
    }
    // By agency and job id: agency, job, purpose, records, then match, mismatch, unknown
    // number, malformed, deceased, card revoked.
    let mut expected = vec![
        vec![
            "simulation",
            "bhxh-2026-q4",
            "làm sạch dữ liệu BHXH",
            "9",
            "4",
            "2",
            "1",
            "1",
            "1",
            "0",
        ],
        vec![
            "simulation",
            unverified.as_str(),
            "đối chiếu thử",
            "2",
            "2",
            "0",
            "0",
            "0",
            "0",
            "0",
        ],
    ];
    expected.sort();
    assert_eq!(table_cells(&after, "cleaning-jobs"), expected);
}
