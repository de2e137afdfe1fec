//! The audit promise where nobody scripted a fault: a chip read refused as malformed is on the
//! record like any call the server answered (an honest agency's report of it is `served`), and a
//! dossier whose only lookups were refused as malformed is not covered.

mod common;

use std::time::Duration;

use common::{agency_tls, TestServer};
use vnpop::{
    client::{AgencyClient, AgencyClientConfig, DossierChannel, DossierInfo},
    proto,
};

/// An agency client of `agency` on `server`, its outbox in `dir`.
async fn agency_client(server: &TestServer, agency: &str, dir: &std::path::Path) -> AgencyClient {
    let config = AgencyClientConfig::new(
        server.endpoint(),
        Some(agency_tls(agency)),
        dir.join("outbox.sqlite"),
    );
    AgencyClient::open(config).await.unwrap()
}

fn desk(id: &str) -> DossierInfo {
    DossierInfo::new(
        id,
        "1.004227",
        "Quận Ba Đình",
        "officer-017",
        DossierChannel::Desk,
    )
}

/// Around now: yesterday to tomorrow, in Vietnam's dates.
fn around_today() -> (String, String) {
    let day = |days: i64| {
        (chrono::Utc::now() + chrono::Duration::days(days))
            .with_timezone(&vnpop::domain::vietnam::offset())
            .format("%Y-%m-%d")
            .to_string()
    };
    (day(-1), day(1))
}

#[tokio::test]
async fn a_malformed_chip_read_is_served_not_a_lookup_that_never_happened() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = agency_client(&server, "one-stop-phuong-ba-dinh", dir.path()).await;
    let dossier = client.open_dossier(desk("CHIP-MALFORMED-1")).await.unwrap();
    let garbage = proto::ChipRead {
        data_groups: vec![proto::DataGroup {
            number: 1,
            content: vec![0xff; 40],
        }],
        security_object: None,
    };
    let refused = dossier
        .verify_chip("kiểm tra chip", garbage)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused}");
    client.flush(Duration::from_secs(10)).await.unwrap();

    let (from, to) = around_today();
    let reconciled = server
        .audit("auditor-thanh-tra")
        .await
        .raw()
        .reconcile(proto::ReconcileRequest {
            from,
            to,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (reconciled.reported, reconciled.served),
        (1, 1),
        "{reconciled:?}"
    );
    assert_eq!(reconciled.reported_not_served, 0, "{reconciled:?}");
    assert_eq!(reconciled.served_not_reported, 0, "{reconciled:?}");
}

#[tokio::test]
async fn lookups_refused_as_malformed_do_not_cover_a_dossier() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = agency_client(&server, "one-stop-phuong-ba-dinh", dir.path()).await;
    let malformed = ["x", "000000000000", "", &"1".repeat(32)];
    for (n, number) in malformed.iter().enumerate() {
        let dossier = client
            .open_dossier(desk(&format!("MALFORMED-{n}")))
            .await
            .unwrap();
        let refused = dossier.lookup_by_cccd("cư trú", number).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused}");
    }
    // And one dossier looked up for real, which is covered.
    let dossier = client.open_dossier(desk("FOUND-1")).await.unwrap();
    dossier
        .lookup_by_cccd("cư trú", "001090012345")
        .await
        .unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();

    let (from, to) = around_today();
    let ratio = server
        .audit("auditor-thanh-tra")
        .await
        .lookup_ratio(proto::LookupRatioRequest {
            from: from.clone(),
            to: to.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let total = &ratio[0];
    assert_eq!(total.dossiers, 5, "{total:?}");
    // Five lookups made and served, one dossier covered.
    assert_eq!((total.lookups, total.served), (5, 5), "{total:?}");
    assert_eq!(total.dossiers_with_lookup, 1, "{total:?}");
    // What the agency claims stays what it reported, whatever the outcome.
    assert_eq!(total.dossiers_with_reported_lookup, 5, "{total:?}");
    assert!((total.coverage - 0.2).abs() < 1e-12, "{total:?}");
}
