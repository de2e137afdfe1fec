//! The auditor's command line against a real server:
//! `vnpop audit ratio|unverified|export|citizen|reconcile|verify --remote`.

mod common;

use common::{as_verification, context, receipt, run_vnpop_binary, test_config, TestServer};

/// Runs `vnpop args…`: (exit success, stdout, stderr).
async fn run_vnpop(args: Vec<String>) -> (bool, String, String) {
    let output = run_vnpop_binary(args).await;
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `vnpop args…`, which must succeed; its stdout.
async fn vnpop(args: Vec<String>) -> String {
    let (ok, stdout, stderr) = run_vnpop(args).await;
    assert!(ok, "{stderr}");
    stdout
}

#[tokio::test]
async fn the_auditor_cli_reports_ratios_lists_and_exports() {
    let config = test_config();
    let db = config.data_dir.join("audit.sqlite");
    let server = TestServer::with_config(config).await;
    let server_url = format!("https://localhost:{}", server.local_addr.port());
    let desk = server.audit("simulation").await;
    // 2023-12-01 and 2023-12-02 (Vietnam time): two dossiers, one looked up.
    let dossier = |id: &str, at: i64| receipt(format!("d-{id}"), id, "Quận Ba Đình", "cb01", at);
    let day = 1_701_363_600_000;
    desk.ingest(vec![dossier("A", day), dossier("B", day + 86_400_000)])
        .await
        .unwrap();
    let mut for_a = context();
    for_a.dossier_id = "A".into();
    let registry = server.registry("simulation").await;
    registry
        .lookup_by_cccd(&for_a, "001090012345")
        .await
        .unwrap();
    desk.ingest(vec![as_verification(
        receipt("l-A", "A", "", "cb01", day),
        "LookupByCccd",
        "found",
        "đăng ký thường trú",
        "001090012345",
    )])
    .await
    .unwrap();

    let with_server = |args: Vec<&str>| {
        let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        args.extend(["--server".to_owned(), server_url.clone()]);
        args
    };
    let ratio = vnpop(with_server(vec![
        "audit",
        "ratio",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-31",
        "--format",
        "csv",
    ]))
    .await;
    assert_eq!(
        ratio.lines().nth(1),
        Some("2,1,0.500000,1,0.500000,1,0,0,1,0,0,0"),
        "{ratio}"
    );

    let chart_dir = tempfile::tempdir().unwrap();
    let chart = chart_dir.path().join("ratio.svg");
    vnpop(with_server(vec![
        "audit",
        "ratio",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-31",
        "--by",
        "district",
        "--chart",
        chart.to_str().unwrap(),
    ]))
    .await;
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("Quận Ba Đình"), "{svg}");
    assert!(
        svg.contains("50.0%  (1 of 2 dossiers; 1 lookups served, 1 reported)"),
        "{svg}"
    );

    let unverified = vnpop(with_server(vec![
        "audit",
        "unverified",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-31",
    ]))
    .await;
    let lines: Vec<&str> = unverified.lines().collect();
    assert_eq!(
        lines[0],
        "agency,dossier,district,officer,procedure,channel,received_at,commune"
    );
    assert_eq!(lines.len(), 2, "{unverified}");
    assert!(lines[1]
        .starts_with("simulation,B,Quận Ba Đình,cb01,1.004227,desk,2023-12-02T00:00:00+07:00"));

    let export = vnpop(with_server(vec![
        "audit",
        "export",
        "--dossier",
        "A",
        "--format",
        "json",
    ]))
    .await;
    let events: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sources: Vec<&str> = events
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["client", "server", "client"]);

    let citizen = vnpop(with_server(vec![
        "audit",
        "citizen",
        "001090012345",
        "--format",
        "csv",
    ]))
    .await;
    assert_eq!(
        citizen.lines().count(),
        3,
        "header, the served lookup, the reported lookup: {citizen}"
    );
    assert!(!citizen.contains("001090012345"));

    // A lookup for B that the agency's software never reported: reconciliation names it.
    let mut for_b = context();
    for_b.dossier_id = "B".into();
    for_b.officer_id = "cb01".into();
    registry
        .lookup_by_cccd(&for_b, "001090012345")
        .await
        .unwrap();
    let findings = vnpop(with_server(vec![
        "audit",
        "reconcile",
        "--from",
        "2023-12-01",
        "--to",
        "2023-12-31",
        "--format",
        "csv",
    ]))
    .await;
    let lines: Vec<&str> = findings.lines().collect();
    assert_eq!(
        lines[0],
        "finding,agency,dossier,district,officer,rpc,reported,served,first_at,received_at"
    );
    assert_eq!(lines.len(), 4, "{findings}");
    // Reported today for December 2023 (the simulation agency may backdate): late, both times.
    assert!(
        lines[1].starts_with(
            "reported_late,simulation,A,Quận Ba Đình,cb01,,2,0,2023-12-01T00:00:00+07:00,20"
        ),
        "{findings}"
    );
    assert!(
        lines[2].starts_with("reported_late,simulation,B,"),
        "{findings}"
    );
    assert!(
        lines[3]
            .starts_with("served_not_reported,simulation,B,Quận Ba Đình,cb01,LookupByCccd,0,1,"),
        "{findings}"
    );

    // Every command gives the same answer from the log file as from the server.
    let db = db.to_str().unwrap();
    for command in [
        vec![
            "ratio",
            "--from",
            "2023-12-01",
            "--to",
            "2023-12-31",
            "--by",
            "district",
        ],
        vec!["unverified", "--from", "2023-12-01", "--to", "2023-12-31"],
        vec!["export", "--format", "json"],
        vec!["citizen", "001090012345", "--format", "csv"],
        vec!["reconcile", "--from", "2023-12-01", "--to", "2023-12-31"],
    ] {
        let args = |extra: Vec<&str>| {
            ["audit"]
                .into_iter()
                .chain(command.iter().copied())
                .chain(extra)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let from_server = vnpop(args(vec!["--server", &server_url])).await;
        let from_file = vnpop(args(vec!["--db", db])).await;
        assert_eq!(from_file, from_server, "{command:?}");
        assert!(!from_file.is_empty(), "{command:?}");
    }
    let (ok, _, err) = run_vnpop(
        [
            "audit",
            "unverified",
            "--from",
            "2023-12-01",
            "--to",
            "2023-12-31",
            "--db",
            "/nonexistent/audit.sqlite",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert!(!ok && err.contains("no such log file"), "{err}");
}

#[tokio::test]
async fn remote_verification_checks_the_signed_head_and_that_the_log_only_grew() {
    let server = TestServer::start().await;
    let server_url = format!("https://localhost:{}", server.local_addr.port());
    let registry = server.registry("simulation").await;
    let lookups = |n: usize| {
        let registry = registry.clone();
        async move {
            for _ in 0..n {
                registry
                    .lookup_by_cccd(&context(), "001090012345")
                    .await
                    .unwrap();
            }
        }
    };
    lookups(3).await;
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.json");
    let verify = |extra: Vec<String>| {
        let mut args: Vec<String> = ["audit", "verify", "--remote", "--server", &server_url]
            .into_iter()
            .map(str::to_owned)
            .collect();
        args.extend(extra);
        run_vnpop(args)
    };
    let path = head.display().to_string();
    let (ok, out, err) = verify(vec!["--save-head".into(), path.clone()]).await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with("OK (server-side recomputation): 3 events"),
        "{out}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&head).unwrap()).unwrap();
    assert_eq!(saved["tree_size"], 3);

    lookups(2).await;
    let key = saved["public_key"].as_str().unwrap().to_owned();
    let (ok, out, err) = verify(vec![
        "--previous-head".into(),
        path.clone(),
        "--public-key".into(),
        key,
    ])
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("5 events"), "{out}");
    assert!(
        out.contains("extends the previous head of 3 events"),
        "{out}"
    );

    // A saved head whose root was changed is not the log's: refused.
    let mut forged = saved.clone();
    forged["root_hash"] = serde_json::Value::String("00".repeat(32));
    std::fs::write(&head, forged.to_string()).unwrap();
    let (ok, _, err) = verify(vec!["--previous-head".into(), path]).await;
    assert!(!ok);
    assert!(err.contains("not signed by the log's key"), "{err}");
}
