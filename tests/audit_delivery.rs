//! The client library never loses an audit event: through server outages and restarts of the
//! agency's own process, and without duplicates.

mod common;

use std::{path::Path, time::Duration};

use common::{agency_tls, free_port, test_config, TestServer};
use tonic::Code;
use vnpop::client::{AgencyClient, AgencyClientConfig, DossierChannel, DossierInfo};

const AN: &str = "001090012345";

async fn agency_client(port: u16, outbox: &Path) -> AgencyClient {
    let config = AgencyClientConfig::new(
        format!("https://localhost:{port}"),
        Some(agency_tls("one-stop-phuong-ba-dinh")),
        outbox,
    );
    AgencyClient::open(config).await.unwrap()
}

fn dossier(n: usize) -> DossierInfo {
    DossierInfo::new(
        format!("D-{n}"),
        "1.004227",
        "Quận Ba Đình",
        "officer-7",
        DossierChannel::Desk,
    )
}

/// (client-reported events, distinct event ids, rows per dossier) in the server's log.
fn client_events(data_dir: &Path) -> (i64, i64, Vec<(String, String, String)>) {
    let events: Vec<_> = common::logged_events(data_dir)
        .into_iter()
        .filter(|e| e.source == vnpop::audit::EventSource::Client)
        .collect();
    let distinct: std::collections::HashSet<&str> =
        events.iter().map(|e| e.event_id.as_str()).collect();
    let rows = events
        .iter()
        .map(|e| match &e.kind {
            vnpop::audit::EventKind::Dossier { .. } => {
                (e.dossier_id.clone(), "dossier".into(), String::new())
            }
            vnpop::audit::EventKind::Verification { outcome, .. } => (
                e.dossier_id.clone(),
                "verification".into(),
                outcome.to_string(),
            ),
        })
        .collect();
    (events.len() as i64, distinct.len() as i64, rows)
}

#[tokio::test]
async fn every_lookup_lands_in_the_log_with_its_dossier() {
    let config = test_config();
    let data_dir = config.data_dir.clone();
    let server = TestServer::with_config(config).await;
    let outbox = tempfile::tempdir().unwrap();
    let client = agency_client(
        server.local_addr.port(),
        &outbox.path().join("outbox.sqlite"),
    )
    .await;

    let d1 = client.open_dossier(dossier(1)).await.unwrap();
    d1.lookup_by_cccd("đăng ký thường trú", AN).await.unwrap();
    d1.lookup_by_cmnd("đăng ký thường trú", "012345678")
        .await
        .unwrap();
    let d2 = client.open_dossier(dossier(2)).await.unwrap();
    let error = d2
        .lookup_by_cccd("cấp đổi", "001090999999")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    client.open_dossier(dossier(3)).await.unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();

    let (count, distinct, rows) = client_events(&data_dir);
    assert_eq!((count, distinct), (6, 6));
    let expected = [
        ("D-1", "dossier", ""),
        ("D-1", "verification", "found"),
        ("D-1", "verification", "found"),
        ("D-2", "dossier", ""),
        ("D-2", "verification", "not_found"),
        ("D-3", "dossier", ""),
    ];
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn a_server_outage_loses_nothing_and_duplicates_nothing() {
    let port = free_port();
    let mut config = test_config();
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let data_dir = config.data_dir.clone();
    let server = TestServer::with_config(config.clone()).await;
    let outbox = tempfile::tempdir().unwrap();
    let client = agency_client(port, &outbox.path().join("outbox.sqlite")).await;

    for n in 0..10 {
        let d = client.open_dossier(dossier(n)).await.unwrap();
        d.lookup_by_cccd("p", AN).await.unwrap();
    }
    client.flush(Duration::from_secs(10)).await.unwrap();
    server.stop().await;

    // The server is down: lookups fail, but the dossiers and attempts are still recorded.
    for n in 10..20 {
        let d = client.open_dossier(dossier(n)).await.unwrap();
        let error = d.lookup_by_cccd("p", AN).await.unwrap_err();
        assert_eq!(error.code(), Code::Unavailable, "{error}");
    }
    assert_eq!(client.pending().await.unwrap(), 20);
    assert!(client.flush(Duration::from_millis(300)).await.is_err());

    let _server = TestServer::with_config(config).await;
    for n in 20..25 {
        let d = client.open_dossier(dossier(n)).await.unwrap();
        d.lookup_by_cccd("p", AN).await.unwrap();
    }
    client.flush(Duration::from_secs(20)).await.unwrap();
    let (count, distinct, rows) = client_events(&data_dir);
    assert_eq!(
        (count, distinct),
        (50, 50),
        "25 dossiers and 25 lookups, each once"
    );
    let unavailable = rows.iter().filter(|r| r.2 == "unavailable").count();
    assert_eq!(unavailable, 10);
}

#[tokio::test]
async fn a_restarted_client_delivers_what_its_outbox_holds() {
    let port = free_port();
    let outbox = tempfile::tempdir().unwrap();
    let outbox_path = outbox.path().join("outbox.sqlite");
    {
        // The server is not running yet; the agency keeps working, then its process stops.
        let client = agency_client(port, &outbox_path).await;
        for n in 0..5 {
            let d = client.open_dossier(dossier(n)).await.unwrap();
            assert!(d.lookup_by_cccd("p", AN).await.is_err());
        }
        assert_eq!(client.pending().await.unwrap(), 10);
    }
    let mut config = test_config();
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let data_dir = config.data_dir.clone();
    let _server = TestServer::with_config(config).await;
    let client = agency_client(port, &outbox_path).await;
    client.flush(Duration::from_secs(20)).await.unwrap();
    let (count, distinct, _) = client_events(&data_dir);
    assert_eq!((count, distinct), (10, 10));
}
