//! The server records every call it serves in the tamper-evident audit log, on its own,
//! whatever the client reports.

mod common;

use common::{context, test_config, TestServer};
use vnpop::audit::verify_file;

#[tokio::test]
async fn every_served_call_is_recorded_with_its_dossier_and_a_keyed_subject() {
    let config = test_config();
    let data_dir = config.data_dir.clone();
    let server = TestServer::with_config(config).await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;

    desk.lookup_by_cccd(&context(), "001090012345")
        .await
        .unwrap();
    desk.lookup_by_cccd(&context(), "001090999999")
        .await
        .unwrap_err();
    desk.lookup_by_cccd(&context(), "003090012345")
        .await
        .unwrap_err();
    desk.lookup_by_cmnd(&context(), "012345678").await.unwrap();
    let mut no_dossier = context();
    no_dossier.dossier_id.clear();
    desk.lookup_by_cccd(&no_dossier, "001090012345")
        .await
        .unwrap_err();

    let rows = common::served_calls(&data_dir);
    let summary: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    // The call without a dossier was refused before it was served: nothing to attribute.
    assert_eq!(
        summary,
        [
            ("LookupByCccd", "found"),
            ("LookupByCccd", "not_found"),
            ("LookupByCccd", "invalid_argument"),
            ("LookupByCmnd", "found"),
        ]
    );
    for (_, _, dossier, agency, _) in &rows {
        assert_eq!(dossier, &context().dossier_id);
        assert_eq!(agency, "one-stop-phuong-ba-dinh");
    }
    // The subject is a keyed hash: the same citizen gets the same subject, the number never
    // appears in the file.
    assert_eq!(rows[0].4.len(), 64);
    assert_eq!(
        rows[0].4, rows[3].4,
        "CCCD and CMND lookups of one citizen share a subject"
    );
    assert_eq!(rows[2].4, "", "an invalid number has no subject");
    server.recorder.log().caught_up().await.unwrap();
    let db = data_dir.join("audit.sqlite");
    // The dossier was never reported received: its four served calls are one finding of
    // reconciliation (served for a dossier the agency never reported).
    let log = std::sync::Arc::clone(server.recorder.log());
    let reconciled = tokio::task::spawn_blocking(move || {
        let reader = log.caught_up_reader_blocking().unwrap();
        reader
            .reconcile(&vnpop::audit::reconcile::ReconcileQuery {
                from_ms: 0,
                to_ms: i64::MAX,
                ..Default::default()
            })
            .unwrap()
    })
    .await
    .unwrap();
    let served: Vec<u64> = reconciled
        .findings
        .iter()
        .filter(|f| f.dossier_id == context().dossier_id)
        .map(|f| f.served)
        .collect();
    assert_eq!(served.iter().sum::<u64>(), 4, "{:?}", reconciled.findings);

    let key = server.recorder.log().public_key();
    server.stop().await;
    for file in [
        "audit.sqlite",
        "audit.sqlite-wal",
        "audit-query.sqlite",
        "audit-query.sqlite-wal",
    ] {
        let bytes = std::fs::read(data_dir.join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("001090012345") && !text.contains("012345678"),
            "{file}"
        );
    }
    let report = verify_file(&db, &key).unwrap();
    assert_eq!((report.events, report.tamper), (4, None));
}

#[tokio::test]
async fn authentications_and_chip_verifications_are_recorded_too() {
    use vnpop::{
        chip::{chip_read, DocumentSigner},
        domain::CccdNumber,
        proto,
    };
    let config = test_config();
    let (data_dir, seed) = (config.data_dir.clone(), config.population.seed);
    let server = TestServer::with_config(config).await;
    let vneid = common::connect_vneid(&server, "one-stop-phuong-ba-dinh").await;

    vneid
        .start(&context(), "001090012345", proto::VneidLevel::One)
        .await
        .unwrap();
    vneid
        .start(&context(), "001315000111", proto::VneidLevel::One)
        .await
        .unwrap_err();
    let citizen = server
        .store
        .get(CccdNumber::parse("001090012345").unwrap())
        .unwrap();
    let read = chip_read(seed, &citizen, &DocumentSigner::development()).unwrap();
    vneid.verify_chip(&context(), read).await.unwrap();

    let rows = common::served_calls(&data_dir);
    let summary: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("StartAuthentication", "challenge"),
            ("StartAuthentication", "VNEID_NO_ACCOUNT"),
            ("VerifyChipRead", "valid"),
        ]
    );
    assert!(rows.iter().all(|r| r.2 == context().dossier_id));
}

/// Since 1 July 2025 a call is recorded at the unit of its day: the Ba Đình desk's lookups are
/// placed at Phường Ba Đình, Hà Nội (commune and province), its former district kept beside them.
#[tokio::test]
async fn a_served_call_names_the_commune_and_province_of_its_day() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    desk.lookup_by_cccd(&context(), "001090012345")
        .await
        .unwrap();
    let events = common::list_events(
        &server,
        vnpop::proto::ListEventsRequest {
            source: "server".into(),
            ..Default::default()
        },
    )
    .await;
    let served: Vec<_> = events
        .iter()
        .filter(|e| e.agency_id == "one-stop-phuong-ba-dinh")
        .map(|e| {
            (
                e.district.as_str(),
                e.commune_code.as_str(),
                e.commune.as_str(),
                e.province_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        served,
        [("Quận Ba Đình", "00004", "Phường Ba Đình, Hà Nội", "001")]
    );
}
