//! `FindAnomalies` and `vnpop audit anomalies` against a real server (mTLS, the client library):
//! findings planted through an agency's reports come back, each with its Vietnamese sentence and
//! its evidence rows, the same over gRPC and on the log file; bad thresholds are
//! INVALID_ARGUMENT naming the field; only auditors may ask.

mod common;

use common::{as_verification, receipt, run_vnpop_binary, TestServer};
use tonic::Code;
use vnpop::proto;

/// 2024-01-02T09:00:00+07:00, a Tuesday and a working day.
const TUESDAY_9AM: i64 = 1_704_160_800_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// A lookup of `cccd` for `dossier` by `officer` at `at`, as reported.
fn lookup(id: String, dossier: &str, officer: &str, at: i64, cccd: &str) -> proto::ReportedEvent {
    as_verification(
        receipt(id, dossier, "Huyện Mai Châu", officer, at),
        "LookupByCccd",
        "found",
        "kiểm tra thông tin công dân",
        cccd,
    )
}

/// One dossier used to look up six citizens; a lookup on New Year's Day.
fn planted() -> Vec<proto::ReportedEvent> {
    let mut events = vec![receipt(
        "an-cover",
        "HS-COVER",
        "Huyện Mai Châu",
        "huyen-mai-chau-cb01",
        TUESDAY_9AM,
    )];
    for n in 0..6 {
        events.push(lookup(
            format!("an-cover-{n}"),
            "HS-COVER",
            "huyen-mai-chau-cb01",
            TUESDAY_9AM + (n + 1) * 3 * MINUTE,
            &format!("00109001234{n}"),
        ));
    }
    let holiday = TUESDAY_9AM - DAY;
    events.push(receipt(
        "an-holiday",
        "HS-HOLIDAY",
        "Huyện Mai Châu",
        "huyen-mai-chau-cb02",
        holiday,
    ));
    events.push(lookup(
        "an-holiday-lookup".into(),
        "HS-HOLIDAY",
        "huyen-mai-chau-cb02",
        holiday + 5 * MINUTE,
        "001090099999",
    ));
    events
}

fn request() -> proto::AnomaliesRequest {
    proto::AnomaliesRequest {
        from: "2024-01-01".into(),
        to: "2024-01-31".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn planted_findings_come_back_over_grpc_and_from_the_file_alike() {
    let server = TestServer::start().await;
    let desk = server.audit("simulation").await;
    let stored = desk.ingest(planted()).await.unwrap();
    assert!(stored.refused.is_empty(), "{:?}", stored.refused);

    let auditor = server.audit("auditor-thanh-tra").await;
    let mut stream = auditor
        .raw()
        .find_anomalies(request())
        .await
        .unwrap()
        .into_inner();
    let counts = stream.message().await.unwrap().unwrap().counts.unwrap();
    assert_eq!(
        (
            counts.dossier_many_citizens,
            counts.day_off,
            counts.off_hours,
            counts.citizen_many_officers,
            counts.peer_outlier,
            counts.burst,
            counts.no_lookup
        ),
        (1, 1, 0, 0, 0, 0, 0)
    );
    assert_eq!(counts.events, 9);
    let mut findings = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        assert!(chunk.counts.is_none());
        findings.extend(chunk.findings);
    }
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["dossier_many_citizens", "day_off"]);
    let cover = &findings[0];
    assert_eq!((cover.dossier_id.as_str(), cover.count), ("HS-COVER", 6));
    assert_eq!(cover.evidence.len(), 6);
    assert!(cover.evidence.iter().all(|e| e.subject.len() == 16));
    assert!(
        cover
            .explanation
            .starts_with("Hồ sơ HS-COVER do cán bộ huyen-mai-chau-cb01 (Huyện Mai Châu) tiếp nhận được dùng để tra cứu 6 công dân khác nhau"),
        "{}",
        cover.explanation
    );
    // No CCCD number anywhere in the answer: citizens are their keyed hash.
    assert!(!format!("{findings:?}").contains("00109001234"));
    let holiday = &findings[1];
    assert!(
        holiday.explanation.contains("Tết Dương lịch"),
        "{}",
        holiday.explanation
    );
    assert_eq!(holiday.evidence[0].dossier_id, "HS-HOLIDAY");

    // The command line, over gRPC and on the file: the same records.
    let ask = |source: Vec<String>| {
        let mut args: Vec<String> = [
            "audit",
            "anomalies",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
            "--format",
            "json",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(source);
        run_vnpop_binary(args)
    };
    let grpc = ask(vec!["--server".into(), server.endpoint()]).await;
    assert!(
        grpc.status.success(),
        "{}",
        String::from_utf8_lossy(&grpc.stderr)
    );
    let db = server.data_dir.join("audit.sqlite");
    let file = ask(vec!["--db".into(), db.display().to_string()]).await;
    assert!(
        file.status.success(),
        "{}",
        String::from_utf8_lossy(&file.stderr)
    );
    assert_eq!(grpc.stdout, file.stdout);
    let lines: Vec<serde_json::Value> = String::from_utf8(grpc.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["finding"], "dossier_many_citizens");
    assert_eq!(lines[0]["evidence"].as_array().unwrap().len(), 6);
    assert!(String::from_utf8_lossy(&grpc.stderr).contains("1 dossier_many_citizens"));

    // CSV: the header, then a finding a line with its evidence's log positions.
    let csv = run_vnpop_binary(
        [
            "audit",
            "anomalies",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
            "--dossier-citizens",
            "7",
            "--server",
            &server.endpoint(),
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut rows = text.lines();
    assert!(rows
        .next()
        .unwrap()
        .starts_with("finding,agency,district,officer,dossier"));
    // Seven citizens a dossier now: only the holiday is left.
    let rest: Vec<&str> = rows.collect();
    assert_eq!(rest.len(), 1, "{text}");
    assert!(rest[0].starts_with("day_off,simulation,Huyện Mai Châu,huyen-mai-chau-cb02"));
}

#[tokio::test]
async fn bad_thresholds_name_their_field_and_only_auditors_ask() {
    let server = TestServer::start().await;
    let auditor = server.audit("auditor-thanh-tra").await;
    for (bad, field) in [
        (
            proto::AnomaliesRequest {
                peer_z: -1.0,
                ..request()
            },
            "peer_z",
        ),
        (
            proto::AnomaliesRequest {
                evidence: 5_000,
                ..request()
            },
            "evidence",
        ),
        (
            proto::AnomaliesRequest {
                to: "2023-12-31".into(),
                ..request()
            },
            "to",
        ),
    ] {
        let status = auditor.raw().find_anomalies(bad).await.unwrap_err();
        let error = vnpop::client::ClientError::Rpc(status);
        assert_eq!(error.code(), Code::InvalidArgument, "{error}");
        assert_eq!(error.invalid_fields(), [field]);
    }
    let desk = server.audit("simulation").await;
    let status = desk.raw().find_anomalies(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
