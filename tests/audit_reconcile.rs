//! Reconciliation of client-reported against server-observed verifications, and the log's
//! verification over gRPC (`VerifyLog`, `vnpop audit verify --remote`).

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{agency_tls, as_verification, assert_reason, receipt, test_config, TestServer};
use tonic::Code;
use vnpop::{
    client::{AgencyClient, AgencyClientConfig, ClientError, DossierChannel, DossierInfo},
    proto,
};

const AN: &str = "001090012345";

/// A Vietnam date `days` from today, YYYY-MM-DD.
fn day(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days))
        .with_timezone(&vnpop::domain::vietnam::offset())
        .format("%Y-%m-%d")
        .to_string()
}

/// Around now (a day either side, so a test running over midnight still sees its events).
fn reconcile_today() -> proto::ReconcileRequest {
    proto::ReconcileRequest {
        from: day(-1),
        to: day(1),
        ..Default::default()
    }
}

#[tokio::test]
async fn reconciliation_names_unreported_unserved_and_undeclared_verifications() {
    let server = TestServer::start().await;
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    let outbox = tempfile::tempdir().unwrap();
    let agency = AgencyClient::open(AgencyClientConfig::new(
        endpoint.clone(),
        Some(agency_tls("one-stop-phuong-ba-dinh")),
        outbox.path().join("outbox.sqlite"),
    ))
    .await
    .unwrap();
    let info = |id: &str| {
        DossierInfo::new(
            id,
            "1.004227",
            "Quận Ba Đình",
            "officer-7",
            DossierChannel::Desk,
        )
    };

    // Through the client library: reported and served, twice for D-1.
    let honest = agency.open_dossier(info("D-1")).await.unwrap();
    honest.lookup_by_cccd("cư trú", AN).await.unwrap();
    honest.lookup_by_cccd("cư trú", AN).await.unwrap();
    // D-2 is received through the library, but one lookup goes around it.
    let bypassed = agency.open_dossier(info("D-2")).await.unwrap();
    bypassed.lookup_by_cccd("cư trú", AN).await.unwrap();
    agency.flush(Duration::from_secs(10)).await.unwrap();
    let registry = server.registry("one-stop-phuong-ba-dinh").await;
    let mut around = common::context();
    around.dossier_id = "D-2".into();
    around.officer_id = "officer-7".into();
    registry.lookup_by_cccd(&around, AN).await.unwrap();
    // A lookup for a dossier nobody reported receiving.
    around.dossier_id = "D-ghost".into();
    registry.lookup_by_cccd(&around, AN).await.unwrap();
    // D-3: a reported QR verification that never happened, and a call that "failed before
    // reaching the server" while the server was answering this agency's other calls (the server
    // contradicts it).
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let d3 = agency.open_dossier(info("D-3")).await.unwrap();
    agency.flush(Duration::from_secs(10)).await.unwrap();
    let now = vnpop::ids::now_ms();
    let reported = |id: &str, rpc: &str, outcome: &str| {
        let event = receipt(id, &d3.info().id, "Quận Ba Đình", "officer-7", now);
        as_verification(event, rpc, outcome, "cư trú", AN)
    };
    desk.ingest(vec![
        reported("fabricated-1", "VerifyQr", "valid"),
        reported("failed-1", "LookupByCccd", "unavailable"),
    ])
    .await
    .unwrap();

    let auditor = server.audit("auditor-thanh-tra").await;
    let result = auditor
        .raw()
        .reconcile(reconcile_today())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.dossiers, 3, "{result:?}");
    assert_eq!(
        (result.reported, result.served, result.not_reaching_server),
        (4, 4, 1),
        "{result:?}"
    );
    assert_eq!(
        (
            result.served_not_reported,
            result.reported_not_served,
            result.dossier_not_reported,
            result.reported_failure_unconfirmed,
            result.reported_late
        ),
        (1, 1, 1, 1, 0)
    );
    let mut findings: Vec<_> = result
        .findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.dossier_id.as_str(),
                f.rpc.as_str(),
                f.reported,
                f.served,
            )
        })
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        [
            ("dossier_not_reported", "D-ghost", "LookupByCccd", 0, 1),
            ("reported_failure_unconfirmed", "D-3", "LookupByCccd", 1, 0),
            ("reported_not_served", "D-3", "VerifyQr", 1, 0),
            ("served_not_reported", "D-2", "LookupByCccd", 1, 2),
        ]
    );
    assert!(!result.truncated);

    // The list is capped, the counts are not.
    let mut capped = reconcile_today();
    capped.max_findings = 1;
    let capped = auditor.raw().reconcile(capped).await.unwrap().into_inner();
    assert_eq!((capped.findings.len(), capped.truncated), (1, true));
    assert_eq!(capped.served_not_reported, 1);

    // Bad input names the field; agencies may not reconcile.
    let mut bad = reconcile_today();
    bad.to = "yesterday".into();
    let error = ClientError::from(auditor.raw().reconcile(bad).await.unwrap_err());
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(error.invalid_fields(), ["to"]);
    let error = ClientError::from(desk.raw().reconcile(reconcile_today()).await.unwrap_err());
    assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}

#[tokio::test]
async fn the_server_verifies_its_log_and_names_a_tampered_event() {
    let config = test_config();
    let db = config.data_dir.join("audit.sqlite");
    let server = TestServer::with_config(config).await;
    let registry = server.registry("one-stop-phuong-ba-dinh").await;
    for _ in 0..5 {
        registry
            .lookup_by_cccd(&common::context(), AN)
            .await
            .unwrap();
    }
    let auditor = server.audit("auditor-thanh-tra").await;
    let report = auditor
        .raw()
        .verify_log(proto::VerifyLogRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(report.intact, "{report:?}");
    assert_eq!((report.events, report.heads_checked), (5, 5));
    assert_eq!(report.latest_head.unwrap().tree_size, 5);

    // Someone with write access to the file changes what an event says.
    vnpop::audit::testing::rewrite_event(&db, 3, false, |event| {
        if let vnpop::audit::EventKind::Verification { outcome, .. } = &mut event.kind {
            *outcome = vnpop::vocabulary::Outcome::Failed(tonic::Code::NotFound);
        }
    })
    .unwrap();
    let report = auditor
        .raw()
        .verify_log(proto::VerifyLogRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!report.intact);
    assert_eq!(
        (report.problem_kind.as_str(), report.first_bad_seq),
        ("altered", 3)
    );
    assert!(report.problem.contains("event #3"), "{}", report.problem);

    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let error = ClientError::from(
        desk.raw()
            .verify_log(proto::VerifyLogRequest {})
            .await
            .unwrap_err(),
    );
    assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}
