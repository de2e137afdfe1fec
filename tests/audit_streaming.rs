//! Auditor answers larger than a gRPC message (tonic's default decode limit is 4 MiB) come
//! through the server whole: the README's district report over 13 months, `vnpop audit
//! reconcile --limit 100000`, the client library's typed streams; and a long export keeps the
//! server's memory bounded.
//!
//! The log is planted through the client library's Ingest (the `simulation` agency, which may
//! report any district and date): 30,000 dossiers received in Huyện Mai Châu in 2023 and
//! reported now, each a `reported_late` finding of about 190 bytes, so the findings alone are
//! about 5.7 MB.

mod common;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{agency_tls, receipt, run_vnpop_binary, TestServer};
use vnpop::{
    audit::{lock::DataDirLock, AuditEvent, AuditLog, EventKind, EventSource},
    client::AuditClient,
    proto,
    vocabulary::{Answer, Rpc, Subject},
};

/// Dossiers planted: each one finding.
const DOSSIERS: usize = 30_000;
const DISTRICT: &str = "Huyện Mai Châu";
/// 2023-03-01 08:00 in Vietnam.
const MARCH_2023_MS: i64 = 1_677_632_400_000;

/// Plants [`DOSSIERS`] dossiers received in [`DISTRICT`] in 2023 (one a minute), with long
/// dossier ids, through Ingest as the simulation agency.
async fn plant_late_dossiers(server: &TestServer) {
    let desk = server.audit("simulation").await;
    let events: Vec<proto::ReportedEvent> = (0..DOSSIERS)
        .map(|i| {
            let dossier = format!("000.00.31.H23-{i:06}-{}", "x".repeat(80));
            receipt(
                format!("late-{i}"),
                &dossier,
                DISTRICT,
                &format!("huyen-mai-chau-cb{:02}", i % 10 + 1),
                MARCH_2023_MS + i as i64 * 60_000,
            )
        })
        .collect();
    for batch in events.chunks(10_000) {
        let answer = desk.ingest(batch.to_vec()).await.unwrap();
        assert_eq!(answer.stored as usize, batch.len(), "{:?}", answer.refused);
    }
}

/// The flags that reach `server` as the development auditor.
fn through(server: &TestServer) -> Vec<String> {
    vec!["--server".into(), server.endpoint()]
}

/// `vnpop args…` to its end: (exit code, stdout, stderr).
async fn vnpop(args: Vec<String>) -> (i32, String, String) {
    let output = run_vnpop_binary(args).await;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `text` as owned arguments.
fn args(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| (*s).to_owned()).collect()
}

/// The page without the lines that differ between two runs (the time, in the header and the
/// printed page's margin, and the command line).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_report_whose_findings_exceed_4_mib_is_written_through_the_server() {
    let server = TestServer::start().await;
    plant_late_dossiers(&server).await;
    let out = tempfile::tempdir().unwrap();
    let report = |source: Vec<String>, file: &Path| {
        let mut command = args(&[
            "audit",
            "report",
            "--lang",
            "en",
            "--district",
            DISTRICT,
            "--from",
            "2022-12-01",
            "--to",
            "2023-12-31",
            "--out",
        ]);
        command.push(file.display().to_string());
        command.extend(source);
        vnpop(command)
    };
    let (grpc, file) = (out.path().join("grpc.html"), out.path().join("file.html"));
    let (code, _, stderr) = report(through(&server), &grpc).await;
    assert_eq!(code, 0, "through the server: {stderr}");
    assert!(
        stderr.contains("(30,000 dossiers"),
        "the report's headline: {stderr}"
    );
    let db = server.data_dir.join("audit.sqlite");
    let (code, _, stderr) = report(vec!["--db".into(), db.display().to_string()], &file).await;
    assert_eq!(code, 0, "on the file: {stderr}");
    let html = std::fs::read_to_string(&grpc).unwrap();
    assert_eq!(
        common::stable_part(&html),
        common::stable_part(&std::fs::read_to_string(&file).unwrap()),
        "the server and the file give the same report"
    );
    // Every late dossier counted, the first 100 listed.
    assert!(html.contains("data-v=\"30000\""), "the findings' count");
    assert!(html.contains("000.00.31.H23-000099-"));
    assert!(!html.contains("000.00.31.H23-000100-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_limit_100000_through_the_server_lists_every_finding() {
    let server = TestServer::start().await;
    plant_late_dossiers(&server).await;
    let command = |source: Vec<String>| {
        let mut command = args(&[
            "audit",
            "reconcile",
            "--from",
            "2022-12-01",
            "--to",
            "2023-12-31",
            "--limit",
            "100000",
        ]);
        command.extend(source);
        vnpop(command)
    };
    let (code, stdout, stderr) = command(through(&server)).await;
    assert_eq!(code, 0, "through the server: {stderr}");
    assert!(
        stderr.contains("30000 dossiers:") && stderr.contains("30000 reported_late"),
        "{stderr}"
    );
    assert!(stdout.len() > 4 << 20, "{} bytes", stdout.len());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), DOSSIERS + 1, "the header and every finding");
    assert!(lines[1].starts_with("reported_late,simulation,000.00.31.H23-000000-"));
    assert!(lines[DOSSIERS].starts_with("reported_late,simulation,000.00.31.H23-029999-"));
    let db = server.data_dir.join("audit.sqlite");
    let (code, from_file, file_stderr) =
        command(vec!["--db".into(), db.display().to_string()]).await;
    assert_eq!(code, 0, "{file_stderr}");
    assert_eq!(stdout, from_file, "the server and the file list the same");
    assert_eq!(stderr, file_stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_library_streams_answers_larger_than_a_message() {
    let server = TestServer::start().await;
    plant_late_dossiers(&server).await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let request = proto::ReconcileRequest {
        from: "2022-12-01".into(),
        to: "2023-12-31".into(),
        max_findings: 100_000,
        ..Default::default()
    };
    // The unary answer does not fit in a message; the stream does, chunk by chunk.
    let unary = auditor.raw().reconcile(request.clone()).await.unwrap_err();
    assert!(
        unary.message().contains("message length too large"),
        "{unary}"
    );
    let mut stream = auditor.reconcile_stream(request).await.unwrap();
    assert_eq!(
        (stream.summary().dossiers, stream.summary().reported_late),
        (DOSSIERS as u64, DOSSIERS as u64)
    );
    assert!(stream.summary().findings.is_empty() && !stream.summary().truncated);
    let (mut findings, mut chunks, mut last_at) = (0, 0, i64::MIN);
    while let Some(chunk) = stream.next_findings().await.unwrap() {
        assert!((1..=1_000).contains(&chunk.len()), "{}", chunk.len());
        for finding in chunk {
            assert!(finding.first_at_ms >= last_at, "oldest first");
            last_at = finding.first_at_ms;
            findings += 1;
        }
        chunks += 1;
    }
    assert_eq!((findings, chunks), (DOSSIERS, DOSSIERS / 1_000));

    // A limit keeps the oldest, and says the list was cut.
    let mut cut = auditor
        .reconcile_stream(proto::ReconcileRequest {
            from: "2022-12-01".into(),
            to: "2023-12-31".into(),
            max_findings: 2_500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(cut.summary().truncated);
    let mut kept = Vec::new();
    while let Some(chunk) = cut.next_findings().await.unwrap() {
        kept.extend(chunk);
    }
    assert_eq!(kept.len(), 2_500);
    assert!(kept[2_499].dossier_id.starts_with("000.00.31.H23-002499-"));

    // A ratio by dossier's officer, streamed, is the unary answer.
    let ratio = proto::LookupRatioRequest {
        from: "2022-12-01".into(),
        to: "2023-12-31".into(),
        group_by: vec!["district".into(), "officer".into()],
        ..Default::default()
    };
    let rows = auditor.lookup_ratio(ratio.clone()).await.unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows,
        auditor
            .raw()
            .lookup_ratio(ratio)
            .await
            .unwrap()
            .into_inner()
            .rows
    );

    // Unverified dossiers, page after page.
    let mut pages = auditor.unverified_dossiers(proto::ListUnverifiedDossiersRequest {
        from: "2022-12-01".into(),
        to: "2023-12-31".into(),
        district: DISTRICT.into(),
        page_size: 1_000,
        ..Default::default()
    });
    let (mut dossiers, mut count) = (0, 0);
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= 1_000);
        dossiers += page.len();
        count += 1;
    }
    assert_eq!((dossiers, count), (DOSSIERS, DOSSIERS / 1_000 + 1));

    // A bad argument is refused before anything is streamed, naming the field.
    let error = auditor
        .reconcile_stream(proto::ReconcileRequest {
            from: "2022-12-01".into(),
            to: "2023-12-31".into(),
            max_findings: 100_001,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), ["max_findings"], "{error}");
}

/// The resident memory of process `pid`, bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Events planted for the export's memory: with their 256-character purposes, about 450 bytes
/// each as ListEvents sends them, 90 MB in all.
const EXPORTED: usize = 200_000;

/// The server's memory is read from its own process (`vnpop serve`, /proc/PID/status): in this
/// process it would count the client's, and the other tests' of this binary, which run
/// alongside and plant 30,000 dossiers each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_export_keeps_the_servers_memory_bounded() {
    let data_dir = common::data_dir();
    {
        let log = AuditLog::open(DataDirLock::acquire(&data_dir).unwrap()).unwrap();
        let purpose = "p".repeat(256);
        for start in (0..EXPORTED).step_by(10_000) {
            let events = (start..start + 10_000)
                .map(|n| AuditEvent {
                    event_id: format!("export-{n}"),
                    source: EventSource::Client,
                    dossier_id: format!("EXPORT-{n:07}"),
                    agency_id: "simulation".into(),
                    district: DISTRICT.into(),
                    officer_id: "huyen-mai-chau-cb01".into(),
                    occurred_at_ms: MARCH_2023_MS + n as i64,
                    load_test: false,
                    commune: None,
                    province: None,
                    call_id: None,
                    kind: EventKind::Verification {
                        rpc: Rpc::LookupByCccd,
                        outcome: Answer::Found.into(),
                        purpose: purpose.clone(),
                        subject: Subject::from_hex(&format!("{n:064x}")),
                    },
                })
                .collect();
            log.append(events).await.unwrap();
        }
        // Dropped: the log is closed and the data directory released for the server.
    }
    let port = common::free_port();
    // Stopped when dropped (the test failing included).
    let server = common::spawn_serve(port, &data_dir, &[]);
    let pid = server.id();
    let mut connected = None;
    for _ in 0..600 {
        if let Ok(client) = AuditClient::connect(
            &format!("https://localhost:{port}"),
            Some(agency_tls("auditor-thanh-tra")),
        )
        .await
        {
            if client.tree_head().await.is_ok() {
                connected = Some(client);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let auditor = connected.expect("vnpop serve did not come up");
    // A short export first, so every lazy structure of the path is in place.
    let mut warm = auditor
        .events(proto::ListEventsRequest {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap();
    while warm.next().await.unwrap().is_some() {}

    let before = resident_bytes(pid);
    let (peak, done) = (
        Arc::new(AtomicU64::new(before)),
        Arc::new(AtomicBool::new(false)),
    );
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(resident_bytes(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut stream = auditor
        .events(proto::ListEventsRequest::default())
        .await
        .unwrap();
    let (mut events, mut bytes) = (0usize, 0usize);
    while let Some(event) = stream.next().await.unwrap() {
        bytes += prost::Message::encoded_len(&event);
        events += 1;
        if events % 20_000 == 0 {
            // A slow reader: the server must wait for it, not queue the answer up.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert_eq!(events, EXPORTED);
    let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "exported {events} events ({} MB): the server's resident memory grew {:.1} MiB",
        bytes / 1_000_000,
        growth as f64 / (1 << 20) as f64
    );
    assert!(bytes > 80_000_000, "{bytes}");
    assert!(
        growth < 32 << 20,
        "the server's resident memory grew {growth} bytes streaming {bytes} bytes"
    );
    drop(server);
}
