//! The audit figures the audited cannot game (issue 10, the reporting side): what an agency
//! reports is checked against its entry in the agency directory — districts, how late, load
//! tests, quotas, bounded fields — event by event, so a refused event never costs the rest of its
//! batch; and the client library checks the same rules before it queues an event and sets aside
//! what the server refuses anyway.

mod common;

use std::time::Duration;

use common::{agency_tls, assert_reason, context, receipt, TestServer};
use tokio_stream::StreamExt;
use tonic::Code;
use vnpop::{
    client::{AgencyClient, AgencyClientConfig, ClientError, DossierChannel, DossierInfo, Outbox},
    proto::{self, reported_event::Kind},
    reporting::Refusal,
    server::RunningServer,
};

const DAY_MS: i64 = 86_400_000;

use vnpop::ids::now_ms;

fn dossier(id: &str, district: &str, at: i64) -> proto::ReportedEvent {
    receipt(format!("receipt-{id}"), id, district, "cb01", at)
}

/// The client events the log holds, as an auditor lists them.
async fn logged_client_events(server: &RunningServer) -> Vec<proto::LoggedEvent> {
    common::list_events(
        server,
        proto::ListEventsRequest {
            source: "client".into(),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_district_outside_the_directory_is_refused_and_the_rest_of_the_batch_stored() {
    let server = TestServer::start().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let now = now_ms();
    let answer = desk
        .ingest(vec![
            dossier("A", "Quận Ba Đình", now),
            dossier("B", "Quận Tây Hồ", now),
            dossier("C", "quan ba  dinh", now),
            dossier("D", "", now),
        ])
        .await
        .unwrap();
    assert_eq!((answer.stored, answer.duplicates), (3, 0));
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    let refused = &answer.refused[0];
    assert_eq!((refused.index, refused.event_id.as_str()), (1, "receipt-B"));
    assert_eq!(refused.code, "INVALID_ARGUMENT");
    assert_eq!(refused.reason, "DISTRICT_NOT_SERVED");
    assert_eq!(refused.field, "events[1].district");
    assert!(
        refused.message.contains("Quận Tây Hồ"),
        "{}",
        refused.message
    );

    // The log records the directory's spelling, whatever the client wrote (or left out).
    let events = logged_client_events(&server).await;
    let districts: Vec<_> = events.iter().map(|e| e.district.as_str()).collect();
    assert_eq!(districts, ["Quận Ba Đình"; 3]);
}

#[tokio::test]
async fn a_30_day_backdate_is_refused_for_a_desk_and_accepted_for_the_simulation() {
    let server = TestServer::start().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let now = now_ms();
    let answer = desk
        .ingest(vec![
            dossier("late", "Quận Ba Đình", now - 30 * DAY_MS),
            dossier("six-days", "Quận Ba Đình", now - 6 * DAY_MS),
            dossier("ahead", "Quận Ba Đình", now + 10 * 60_000),
            dossier("skew", "Quận Ba Đình", now + 60_000),
        ])
        .await
        .unwrap();
    assert_eq!(answer.stored, 2);
    let reasons: Vec<_> = answer
        .refused
        .iter()
        .map(|r| (r.index, r.reason.as_str(), r.field.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (0, "REPORT_TOO_LATE", "events[0].occurred_at_ms"),
            (2, "REPORT_IN_FUTURE", "events[2].occurred_at_ms"),
        ]
    );
    assert!(
        answer.refused[0].message.contains("at most 7.0 days late"),
        "{}",
        answer.refused[0].message
    );

    // The simulation agency reports past years: its directory entry has no backdate limit.
    let simulation = server.audit("simulation").await;
    let answer = simulation
        .ingest(vec![dossier(
            "sim-late",
            "Huyện Mai Châu",
            now - 30 * DAY_MS,
        )])
        .await
        .unwrap();
    assert_eq!((answer.stored, answer.refused.len()), (1, 0));
}

#[tokio::test]
async fn load_test_from_a_plain_agency_is_permission_denied() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let mut load = context();
    load.load_test = true;
    let error = desk
        .lookup_by_cccd(&load, "001090012345")
        .await
        .unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "LOAD_TEST_NOT_ALLOWED");
    assert_eq!(error.invalid_fields(), ["context.load_test"]);
    // Refused before anything was served: the server recorded no call.
    let auditor = server.audit("auditor-thanh-tra").await;
    let mut stream = auditor
        .raw()
        .list_events(proto::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.is_none(), "nothing is in the log");

    // A report marked load_test: that event alone is refused, PERMISSION_DENIED.
    let reporter = server.audit("one-stop-phuong-ba-dinh").await;
    let mut marked = dossier("L", "Quận Ba Đình", now_ms());
    marked.load_test = true;
    let answer = reporter
        .ingest(vec![marked, dossier("M", "Quận Ba Đình", now_ms())])
        .await
        .unwrap();
    assert_eq!(answer.stored, 1);
    let refused = &answer.refused[0];
    assert_eq!(
        (
            refused.code.as_str(),
            refused.reason.as_str(),
            refused.field.as_str()
        ),
        (
            "PERMISSION_DENIED",
            "LOAD_TEST_NOT_ALLOWED",
            "events[0].load_test"
        )
    );

    // The agency the load tool uses is allowed.
    let simulation = server.registry("simulation").await;
    simulation
        .lookup_by_cccd(&load, "001090012345")
        .await
        .unwrap();
}

#[tokio::test]
async fn ingest_quotas_refuse_whole_batches_and_strings_are_bounded() {
    let (config, _dir) = common::config_with_desk(
        "ingest_per_minute = 100",
        "[[agency]]\nid = \"auditor-thanh-tra\"\nname = \"Thanh tra\"\ncommon_name = \"auditor-thanh-tra\"\n\
         role = \"auditor\"\nfields = []\n",
    );
    let server = TestServer::with_config(config).await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let now = now_ms();
    let batch = |from: usize, count: usize| {
        (from..from + count)
            .map(|i| dossier(&format!("Q{i}"), "Quận Ba Đình", now))
            .collect::<Vec<_>>()
    };
    assert_eq!(desk.ingest(batch(0, 100)).await.unwrap().stored, 100);
    let error = desk.ingest(batch(100, 10)).await.unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "INGEST_QUOTA_EXCEEDED");
    let ClientError::Rpc(status) = &error else {
        panic!("{error}")
    };
    use tonic_types::StatusExt;
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo");
    assert!(retry >= Duration::from_millis(500), "{retry:?}");
    // Nothing of the refused batch was stored; what was accepted stays.
    assert_eq!(logged_client_events(&server).await.len(), 100);
    server.stop().await;

    // Every string of a report is bounded, and the refusal names it.
    let server = TestServer::start().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let mut long = dossier("long", "Quận Ba Đình", now_ms());
    long.officer_id = "o".repeat(129);
    let mut purpose = dossier("purpose", "Quận Ba Đình", now_ms());
    purpose.kind = Some(Kind::Verification(proto::VerificationMade {
        rpc: "LookupByCccd".into(),
        outcome: "found".into(),
        purpose: "p".repeat(257),
        cccd_number: "001090012345".into(),
    }));
    let answer = desk.ingest(vec![long, purpose]).await.unwrap();
    let refused: Vec<_> = answer
        .refused
        .iter()
        .map(|r| (r.reason.as_str(), r.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("FIELD_TOO_LONG", "events[0].officer_id"),
            ("FIELD_TOO_LONG", "events[1].verification.purpose")
        ]
    );
}

fn client_config(server: &RunningServer, outbox: &std::path::Path) -> AgencyClientConfig {
    AgencyClientConfig::new(
        format!("https://localhost:{}", server.local_addr.port()),
        Some(agency_tls("one-stop-phuong-ba-dinh")),
        outbox,
    )
}

#[tokio::test]
async fn the_client_checks_an_event_before_queuing_it() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = AgencyClient::open(client_config(&server, &dir.path().join("outbox.sqlite")))
        .await
        .unwrap();
    let policy = client.report_policy().await.unwrap();
    assert!(!policy.load_test);

    let info = |id: &str, district: &str| {
        DossierInfo::new(id, "1.004227", district, "cb01", DossierChannel::Desk)
    };
    let error = client
        .open_dossier(info("elsewhere", "Quận Tây Hồ"))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            error,
            ClientError::EventRefused(Refusal::DistrictNotServed { .. })
        ),
        "{error}"
    );
    assert_eq!(
        error.reason(),
        Some(vnpop::client::Reason::DistrictNotServed)
    );
    let mut old = info("old", "Quận Ba Đình");
    old.received_at_ms = Some(now_ms() - 30 * DAY_MS);
    let error = client.open_dossier(old).await.expect_err("refused");
    assert!(
        matches!(error, ClientError::EventRefused(Refusal::TooLate { .. })),
        "{error}"
    );
    let mut load = info("load", "Quận Ba Đình");
    load.load_test = true;
    let error = client.open_dossier(load).await.expect_err("refused");
    assert_eq!(error.code(), Code::PermissionDenied);

    // A lookup whose report would be refused is not made at all.
    let stray = client.resume_dossier(info("stray", "Quận Tây Hồ"));
    let error = stray
        .lookup_by_cccd("đăng ký thường trú", "001090012345")
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::EventRefused(_)), "{error}");
    assert_eq!(client.pending().await.unwrap(), 0, "nothing was queued");

    let fine = client
        .open_dossier(info("fine", "Quận Ba Đình"))
        .await
        .unwrap();
    fine.lookup_by_cccd("đăng ký thường trú", "001090012345")
        .await
        .unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(logged_client_events(&server).await.len(), 2);
}

#[tokio::test]
async fn a_client_whose_server_refuses_one_event_delivers_the_999_others_and_quarantines_it() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    // 1,000 events queued earlier (under a directory that still listed Tây Hồ, say): the 500th
    // names a district the server now refuses.
    {
        let outbox = std::sync::Arc::new(Outbox::open(&path).unwrap());
        let now = now_ms();
        let mut pushes = tokio::task::JoinSet::new();
        for i in 0..1_000 {
            let district = if i == 500 {
                "Quận Tây Hồ"
            } else {
                "Quận Ba Đình"
            };
            let event = dossier(&format!("Q{i:04}"), district, now);
            let outbox = std::sync::Arc::clone(&outbox);
            pushes.spawn(async move { outbox.push(event).await });
        }
        while let Some(pushed) = pushes.join_next().await {
            pushed.unwrap().unwrap();
        }
    }
    let client = AgencyClient::open(client_config(&server, &path))
        .await
        .unwrap();
    client.flush(Duration::from_secs(30)).await.unwrap();
    let quarantined = client.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let kept = &quarantined[0];
    assert_eq!(kept.event.event_id, "receipt-Q0500");
    assert_eq!(kept.reason, vnpop::client::Reason::DistrictNotServed);
    assert_eq!(kept.code, tonic::Code::InvalidArgument);
    assert!(kept.field.ends_with(".district"), "{}", kept.field);
    assert_eq!(logged_client_events(&server).await.len(), 999);

    // Delivery goes on after it.
    let later = client
        .open_dossier(DossierInfo::new(
            "after",
            "1.004227",
            "Quận Ba Đình",
            "cb01",
            DossierChannel::Desk,
        ))
        .await
        .unwrap();
    drop(later);
    client.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(logged_client_events(&server).await.len(), 1_000);
    assert_eq!(client.quarantined().await.unwrap().len(), 1);
}

#[tokio::test]
async fn event_ids_are_each_agencys_own() {
    let server = TestServer::start().await;
    let ba_dinh = server.audit("one-stop-phuong-ba-dinh").await;
    let bach_mai = server.audit("hospital-bach-mai").await;
    let now = now_ms();
    // Two agencies, one event id, each for its own dossier: both are stored.
    let a = ba_dinh
        .ingest(vec![receipt("R-1", "BD-1", "Quận Ba Đình", "cb01", now)])
        .await
        .unwrap();
    assert_eq!((a.stored, a.duplicates), (1, 0), "{a:?}");
    let b = bach_mai
        .ingest(vec![receipt("R-1", "BM-1", "Quận Đống Đa", "bs02", now)])
        .await
        .unwrap();
    assert_eq!((b.stored, b.duplicates), (1, 0), "{b:?}");
    // The same agency sending it again: a duplicate.
    let again = ba_dinh
        .ingest(vec![receipt("R-1", "BD-1", "Quận Ba Đình", "cb01", now)])
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 1), "{again:?}");
    // A refused event is a redelivery only of its own agency's event of that id.
    let refused = bach_mai
        .ingest(vec![receipt("R-2", "BM-2", "Quận Đống Đa", "bs02", now)])
        .await
        .unwrap();
    assert_eq!(refused.stored, 1);
    let probe = ba_dinh
        .ingest(vec![receipt("R-2", "BD-2", "Quận Tây Hồ", "cb01", now)])
        .await
        .unwrap();
    assert_eq!(
        (probe.stored, probe.duplicates, probe.refused.len()),
        (0, 0, 1),
        "{probe:?}"
    );

    let events = logged_client_events(&server).await;
    let mut owners: Vec<_> = events
        .iter()
        .filter(|e| e.event_id == "R-1")
        .map(|e| (e.agency_id.as_str(), e.dossier_id.as_str()))
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        [
            ("hospital-bach-mai", "BM-1"),
            ("one-stop-phuong-ba-dinh", "BD-1")
        ]
    );
}
