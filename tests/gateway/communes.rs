//! Dossiers received at communes since the 1 July 2025 reform, and data directories from before
//! the gateway knew communes.

use super::*;

/// A directory where the gateway's identity (one-stop-phuong-ba-dinh) is a desk of Hà Nội that receives
/// dossiers at two wards since the reform, so each dossier must name its commune.
const TWO_WARDS: &str = r#"
[[agency]]
id = "one-stop-phuong-ba-dinh"
name = "Bộ phận một cửa phường Ba Đình và Hoàn Kiếm"
common_name = "one-stop-phuong-ba-dinh"
organization = "UBND phường Ba Đình"
district = "Quận Ba Đình"
province = "Hà Nội"
communes = ["Phường Ba Đình", "00070"]
role = "agency"
fields = ["all"]
backdate_limit = "unlimited"

[[agency]]
id = "auditor-thanh-tra"
name = "Thanh tra"
common_name = "auditor-thanh-tra"
role = "auditor"
fields = []
"#;

/// 5 August 2025, 10:00 in Vietnam: after the reform.
const AUGUST_2025_MS: i64 = 1_754_362_800_000;

fn at_commune(id: &str, commune: &str) -> Value {
    let mut body = open_body(id);
    body["district"] = "".into();
    body["commune"] = commune.into();
    body["receivedAtMs"] = AUGUST_2025_MS.to_string().into();
    body
}

/// Since the reform a dossier is opened at a commune (REST and gRPC, by name, code or
/// "NAME, PROVINCE"): kept by the gateway, reported with it, and counted under it by the
/// auditor's ratio by commune (gRPC and `vnpop audit ratio --by commune`); a commune the rules
/// refuse is a problem with its reason, and nothing is recorded.
#[tokio::test]
async fn a_dossier_opened_at_a_commune_counts_under_it_and_a_bad_commune_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(&agencies, TWO_WARDS).unwrap();
    let port = free_port();
    let mut config = test_config();
    config.agencies = Some(agencies);
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    // The gateway started before the server: it cannot learn the agency's rules at start.
    let mut gateway_config = gateway_config(port, &common::data_dir());
    gateway_config.cert = certs_dir().join("one-stop-phuong-ba-dinh.pem");
    gateway_config.key = certs_dir().join("one-stop-phuong-ba-dinh.key");
    let gateway = gateway::start(&gateway_config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = TestServer::with_config(config).await;
    let mut rest = Rest::new(gateway.local_addr);

    // Its first dossier is checked against them all the same (asked for then), not queued.
    rest.post("/v1/dossiers", &at_commune("X-0", "Phường Không Có"))
        .await
        .unwrap()
        .assert_problem(400, "INVALID_ARGUMENT", "COMMUNE_UNKNOWN");
    for (id, commune) in [
        ("C-1", "Phường Ba Đình"),
        ("C-2", "00070"),
        ("C-3", "Phường Hoàn Kiếm, Hà Nội"),
    ] {
        let opened = rest
            .post("/v1/dossiers", &at_commune(id, commune))
            .await
            .unwrap();
        assert_eq!(opened.status, 201, "{opened:?}");
        assert_eq!(opened.json["commune"], commune, "{opened:?}");
    }
    let known = rest.get("/v1/dossiers/C-2").await.unwrap();
    assert_eq!(known.json["commune"], "00070", "{known:?}");
    let again = rest
        .post("/v1/dossiers", &at_commune("C-2", "00070"))
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{again:?}");
    rest.post("/v1/dossiers", &at_commune("C-2", "Phường Ba Đình"))
        .await
        .unwrap()
        .assert_problem(409, "ALREADY_EXISTS", "DOSSIER_CONFLICT");
    for id in ["C-1", "C-3"] {
        let answer = rest
            .post(
                &format!("/v1/dossiers/{id}/lookup-by-cccd"),
                &lookup_body(AN),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    // Through gRPC as well.
    let channel = vnpop::client::connect_channel(&format!("http://{}", gateway.local_addr), None)
        .await
        .unwrap();
    let mut grpc = AgencyGatewayClient::new(channel);
    let open = |id: &str, commune: &str| proto::OpenDossierRequest {
        dossier_id: id.into(),
        procedure_code: "1.004227".into(),
        commune: commune.into(),
        officer_id: "officer-017".into(),
        channel: proto::DossierChannel::Online as i32,
        received_at_ms: AUGUST_2025_MS,
        ..Default::default()
    };
    let opened = grpc
        .open_dossier(open("C-4", "phuong ba dinh"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(opened.commune, "phuong ba dinh");

    // Refused, each with its reason and the field, and never recorded.
    let refusals = [
        ("X-1", "Phường Không Có", "COMMUNE_UNKNOWN"),
        ("X-2", "Xã Mai Châu, Phú Thọ", "COMMUNE_NOT_SERVED"),
        ("X-3", "Phường Kim Liên", "COMMUNE_NOT_SERVED"),
        ("X-4", "", "EVENT_INVALID"),
    ];
    for (id, commune, reason) in refusals {
        let answer = rest
            .post("/v1/dossiers", &at_commune(id, commune))
            .await
            .unwrap();
        answer.assert_problem(400, "INVALID_ARGUMENT", reason);
        assert_eq!(
            answer.json["invalidParams"][0]["name"], "commune",
            "{answer:?}"
        );
        rest.get(&format!("/v1/dossiers/{id}"))
            .await
            .unwrap()
            .assert_problem(404, "NOT_FOUND", "DOSSIER_NOT_OPENED");
    }
    let error = grpc
        .open_dossier(open("X-5", "Phường Không Có"))
        .await
        .unwrap_err();
    assert_reason(
        &vnpop::client::ClientError::Rpc(error),
        Code::InvalidArgument,
        "COMMUNE_UNKNOWN",
    );

    gateway.flush(Duration::from_secs(30)).await.unwrap();
    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let by_commune = auditor
        .lookup_ratio(proto::LookupRatioRequest {
            group_by: vec!["commune".into()],
            ..ratio("2025-08-01", "2025-08-31")
        })
        .await
        .unwrap();
    let by_commune: Vec<_> = by_commune
        .into_iter()
        .map(|r| (r.group.join(" / "), r.dossiers, r.lookups))
        .collect();
    assert_eq!(
        by_commune,
        [
            ("Phường Ba Đình, Hà Nội".to_owned(), 2, 1),
            ("Phường Hoàn Kiếm, Hà Nội".to_owned(), 2, 1),
        ]
    );
    // The auditor's command line says the same.
    let server_url = format!("https://localhost:{}", server.local_addr.port());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args([
                "audit",
                "ratio",
                "--from",
                "2025-08-01",
                "--to",
                "2025-08-31",
            ])
            .args([
                "--by",
                "commune",
                "--format",
                "csv",
                "--server",
                &server_url,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("VNPOP_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let csv = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{csv}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("\"Phường Ba Đình, Hà Nội\",2,1,"),
        "{csv}"
    );
    assert!(
        rows[1].starts_with("\"Phường Hoàn Kiếm, Hà Nội\",2,1,"),
        "{csv}"
    );
    // Nothing of the refused dossiers was recorded.
    assert!(rows[2].starts_with("TOTAL,4,2,"), "{csv}");
    gateway.shutdown().await;
}

/// A data directory written by a gateway from before dossiers named a commune (its index without
/// the column) opens: its dossiers are still known and verified, and new ones name communes.
#[tokio::test]
async fn a_gateway_data_directory_from_before_communes_still_opens() {
    let server = TestServer::start().await;
    let data_dir = common::data_dir();
    std::fs::create_dir_all(&data_dir).unwrap();
    {
        // The index as the gateway wrote it before (the schema of its first version).
        let old = rusqlite::Connection::open(data_dir.join("dossiers.sqlite")).unwrap();
        old.execute_batch(
            "CREATE TABLE dossiers (
                 dossier_id     TEXT PRIMARY KEY,
                 procedure_code TEXT NOT NULL,
                 district       TEXT NOT NULL,
                 officer_id     TEXT NOT NULL,
                 channel        TEXT NOT NULL,
                 received_at_ms INTEGER NOT NULL,
                 load_test      INTEGER NOT NULL
             );
             INSERT INTO dossiers VALUES
                 ('OLD-1', '1.004227', 'Quận Ba Đình', 'officer-017', 'desk', 1700000000000, 0);",
        )
        .unwrap();
    }
    let gateway = gateway::start(&gateway_config(server.local_addr.port(), &data_dir))
        .await
        .expect("the gateway opens the old data directory");
    let mut rest = Rest::new(gateway.local_addr);
    let old = rest.get("/v1/dossiers/OLD-1").await.unwrap();
    assert_eq!(old.status, 200, "{old:?}");
    assert_eq!(
        (&old.json["district"], &old.json["commune"]),
        (&json!("Quận Ba Đình"), &json!(""))
    );
    let answer = rest
        .post("/v1/dossiers/OLD-1/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let opened = rest
        .post(
            "/v1/dossiers",
            &at_commune("NEW-1", "Phường Ba Đình, Hà Nội"),
        )
        .await
        .unwrap();
    assert_eq!(opened.status, 201, "{opened:?}");
    gateway.flush(Duration::from_secs(30)).await.unwrap();
    gateway.shutdown().await;

    // Restarted on the migrated directory: both dossiers, as opened.
    let gateway = gateway::start(&gateway_config(server.local_addr.port(), &data_dir))
        .await
        .unwrap();
    let mut rest = Rest::new(gateway.local_addr);
    let new = rest.get("/v1/dossiers/NEW-1").await.unwrap();
    assert_eq!(new.json["commune"], "Phường Ba Đình, Hà Nội", "{new:?}");
    assert_eq!(rest.get("/health").await.unwrap().json["dossiers"], 2);
    gateway.shutdown().await;
}
