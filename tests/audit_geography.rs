//! The audit side of the 2025 reform (issue 17): dossiers received since 1 July 2025 are received
//! at a commune (or at the province), named in the report and checked against the agency
//! directory and the geography; ratios group by commune and by current province, old districts
//! mapped into the province that now contains them, so a trend across July 2025 stays
//! comparable; `--by district` still answers for the periods before.

mod common;

use chrono::NaiveDate;
use common::{agency_tls, as_verification, receipt, test_config, TestServer};
use vnpop::{
    client::{AgencyClient, AgencyClientConfig, ClientError, DossierChannel, DossierInfo},
    proto,
};

/// A directory where the Ba Đình certificate stands for the one-stop desk of Mai Châu, opened in
/// Hòa Bình before the reform and now in Phú Thọ; the hospital's for a desk of a district whose
/// name five provinces shared, with no province in its entry; the simulation agency as usual.
const DIRECTORY: &str = r#"
[[agency]]
id = "one-stop-mai-chau"
name = "Bộ phận một cửa Mai Châu"
common_name = "one-stop-phuong-ba-dinh"
organization = "UBND phường Ba Đình"
districts = ["Huyện Mai Châu", "Huyện Tân Lạc"]
province = "Phú Thọ"
communes = ["Xã Mai Châu", "05128"]
role = "agency"
fields = ["all"]
backdate_limit = "unlimited"

[[agency]]
id = "one-stop-chau-thanh"
name = "Bộ phận một cửa huyện Châu Thành"
common_name = "hospital-bach-mai"
district = "Huyện Châu Thành"
role = "agency"
fields = ["all"]
backdate_limit = "unlimited"

[[agency]]
id = "simulation"
name = "simulation"
common_name = "simulation"
districts = ["*"]
role = "agency"
fields = ["all"]
backdate_limit = "unlimited"
load_test = true

[[agency]]
id = "auditor-thanh-tra"
name = "Thanh tra"
common_name = "auditor-thanh-tra"
role = "auditor"
fields = []
"#;

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(&agencies, DIRECTORY).unwrap();
    let mut config = test_config();
    config.agencies = Some(agencies);
    (TestServer::with_config(config).await, dir)
}

/// 10:00 in Vietnam on that day, Unix ms.
fn at(year: i32, month: u32, day: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap()
        .and_hms_opt(3, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn dossier(id: &str, district: &str, commune: &str, at: i64) -> proto::ReportedEvent {
    proto::ReportedEvent {
        commune: commune.into(),
        ..receipt(format!("receipt-{id}"), id, district, "cb01", at)
    }
}

fn lookup(id: &str, district: &str, commune: &str, at: i64) -> proto::ReportedEvent {
    as_verification(
        proto::ReportedEvent {
            event_id: format!("lookup-{id}"),
            ..dossier(id, district, commune, at)
        },
        "LookupByCccd",
        "found",
        "đăng ký thường trú",
        "",
    )
}

fn ratio(from: &str, to: &str, by: &[&str]) -> proto::LookupRatioRequest {
    proto::LookupRatioRequest {
        from: from.into(),
        to: to.into(),
        group_by: by.iter().map(|g| (*g).to_owned()).collect(),
        ..Default::default()
    }
}

/// (group, dossiers, lookups) per row.
fn rows(rows: Vec<proto::RatioRow>) -> Vec<(String, u64, u64)> {
    rows.into_iter()
        .map(|r| (r.group.join(" / "), r.dossiers, r.lookups))
        .collect()
}

#[tokio::test]
async fn a_ratio_across_july_2025_groups_hoa_binh_districts_and_phu_tho_communes_together() {
    let (server, _dir) = server().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let (june, august) = (at(2025, 6, 10), at(2025, 8, 5));
    let answer = desk
        .ingest(vec![
            // Before the reform: Hòa Bình's districts.
            dossier("P1", "Huyện Mai Châu", "", june),
            lookup("P1", "Huyện Mai Châu", "", june),
            dossier("P2", "huyen mai chau", "", june),
            dossier("P3", "Huyện Tân Lạc", "", june),
            lookup("P3", "Huyện Tân Lạc", "", june),
            // Since: Phú Thọ's communes, by name or code.
            dossier("N1", "", "Xã Mai Châu", august),
            lookup("N1", "", "Xã Mai Châu", august),
            dossier("N2", "", "05200", august),
            lookup("N2", "", "05200", august),
            dossier("N3", "", "xa tan lac", august),
            // The former district, still sent by old software, is kept beside the commune.
            dossier("N4", "Huyện Mai Châu", "Xã Mai Châu", august),
        ])
        .await
        .unwrap();
    assert_eq!((answer.stored, answer.refused.len()), (11, 0), "{answer:?}");
    // Another agency's dossier in Hà Nội, named with its province.
    let simulation = server.audit("simulation").await;
    let answer = simulation
        .ingest(vec![dossier("H1", "", "Phường Ba Đình, Hà Nội", august)])
        .await
        .unwrap();
    assert_eq!(answer.stored, 1, "{answer:?}");

    let auditor = server.audit("auditor-thanh-tra").await;
    let by_province = auditor
        .lookup_ratio(ratio("2025-06-01", "2025-08-31", &["province"]))
        .await
        .unwrap();
    assert_eq!(
        rows(by_province),
        [("Hà Nội".into(), 1, 0), ("Phú Thọ".into(), 7, 4)],
        "Hòa Bình's districts before and Phú Thọ's communes after, in one row"
    );
    let by_province_month = auditor
        .lookup_ratio(ratio("2025-06-01", "2025-08-31", &["province", "month"]))
        .await
        .unwrap();
    assert_eq!(
        rows(by_province_month),
        [
            ("Hà Nội / 2025-08".into(), 1, 0),
            ("Phú Thọ / 2025-06".into(), 3, 2),
            ("Phú Thọ / 2025-08".into(), 4, 2),
        ]
    );
    let by_commune = auditor
        .lookup_ratio(ratio("2025-06-01", "2025-08-31", &["commune"]))
        .await
        .unwrap();
    assert_eq!(
        rows(by_commune),
        [
            (String::new(), 3, 2),
            ("Phường Ba Đình, Hà Nội".into(), 1, 0),
            ("Xã Tân Lạc, Phú Thọ".into(), 1, 0),
            ("Xã Mai Châu, Phú Thọ".into(), 3, 2),
        ],
        "in code order; dossiers before the reform have no commune"
    );
    // `--by district` still answers for the period before the reform.
    let by_district = auditor
        .lookup_ratio(ratio("2025-06-01", "2025-06-30", &["district"]))
        .await
        .unwrap();
    assert_eq!(
        rows(by_district),
        [
            ("Huyện Mai Châu".into(), 2, 1),
            ("Huyện Tân Lạc".into(), 1, 1)
        ]
    );

    // The events name the commune and the province of the day.
    let events = common::list_events(
        &server,
        proto::ListEventsRequest {
            source: "client".into(),
            ..Default::default()
        },
    )
    .await;
    let mut places = Vec::new();
    for event in events {
        if event.kind == "dossier" {
            places.push((
                event.dossier_id,
                event.district,
                event.commune_code,
                event.commune,
                event.province_code,
            ));
        }
    }
    let place = |id: &str| places.iter().find(|p| p.0 == id).unwrap().clone();
    assert_eq!(
        place("P2"),
        (
            "P2".into(),
            "Huyện Mai Châu".into(),
            String::new(),
            String::new(),
            "017".into()
        ),
        "the directory's spelling, Hòa Bình's code"
    );
    assert_eq!(
        place("N2"),
        (
            "N2".into(),
            String::new(),
            "05200".into(),
            "Xã Mai Châu, Phú Thọ".into(),
            "025".into()
        )
    );
    assert_eq!(place("N4").1, "Huyện Mai Châu");

    // Unverified dossiers name their commune. (Every one of them: the lookups of N1 and N2 were
    // reported, never served, and only a served lookup verifies a dossier.)
    let unverified = auditor
        .raw()
        .list_unverified_dossiers(proto::ListUnverifiedDossiersRequest {
            from: "2025-08-01".into(),
            to: "2025-08-31".into(),
            agency_id: "one-stop-mai-chau".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .dossiers;
    let listed: Vec<_> = unverified
        .iter()
        .map(|d| (d.dossier_id.as_str(), d.commune.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("N1", "Xã Mai Châu, Phú Thọ"),
            ("N2", "Xã Mai Châu, Phú Thọ"),
            ("N3", "Xã Tân Lạc, Phú Thọ"),
            ("N4", "Xã Mai Châu, Phú Thọ")
        ]
    );
}

#[tokio::test]
async fn communes_and_districts_after_the_reform_are_checked_event_by_event() {
    let (server, _dir) = server().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let (june, august) = (at(2025, 6, 10), at(2025, 8, 5));
    let answer = desk
        .ingest(vec![
            dossier("ok", "", "Xã Mai Châu", august),
            dossier("unknown", "", "Xã Không Có", august),
            dossier("wrong-province", "", "Phường Hoàn Kiếm", august),
            dossier("not-served", "", "00070", august),
            dossier("bad-code", "", "99999", august),
            dossier("which-commune", "Huyện Mai Châu", "", august),
            dossier("other-district", "Huyện Đà Bắc", "Xã Mai Châu", august),
            dossier("commune-too-early", "Huyện Mai Châu", "Xã Mai Châu", june),
            dossier("ok-before", "Huyện Mai Châu", "", june),
        ])
        .await
        .unwrap();
    assert_eq!(answer.stored, 2, "{answer:?}");
    let refused: Vec<_> = answer
        .refused
        .iter()
        .map(|r| {
            assert_eq!(r.code, "INVALID_ARGUMENT", "{r:?}");
            (
                r.event_id.trim_start_matches("receipt-"),
                r.reason.as_str(),
                r.field.split_once('.').unwrap().1,
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("unknown", "COMMUNE_UNKNOWN", "commune"),
            ("wrong-province", "COMMUNE_UNKNOWN", "commune"),
            ("not-served", "COMMUNE_NOT_SERVED", "commune"),
            ("bad-code", "COMMUNE_UNKNOWN", "commune"),
            ("which-commune", "EVENT_INVALID", "commune"),
            ("other-district", "DISTRICT_NOT_SERVED", "district"),
            ("commune-too-early", "EVENT_INVALID", "commune"),
        ]
    );
    let message = |id: &str| {
        answer
            .refused
            .iter()
            .find(|r| r.event_id == format!("receipt-{id}"))
            .unwrap()
            .message
            .clone()
    };
    assert!(
        message("wrong-province").contains("Tỉnh Phú Thọ"),
        "{}",
        message("wrong-province")
    );
    assert!(
        message("not-served").contains("Phường Hoàn Kiếm, Hà Nội"),
        "{}",
        message("not-served")
    );

    // A desk whose entry names only a district that five provinces had: before the reform its
    // reports are taken (the province unknown), after, its district places nothing.
    let chau_thanh = server.audit("hospital-bach-mai").await;
    let answer = chau_thanh
        .ingest(vec![
            dossier("before", "", "", june),
            dossier("after", "", "", august),
        ])
        .await
        .unwrap();
    assert_eq!(answer.stored, 1, "{answer:?}");
    let refused = &answer.refused[0];
    assert_eq!(
        (
            refused.event_id.as_str(),
            refused.reason.as_str(),
            refused.field.as_str()
        ),
        ("receipt-after", "DISTRICT_ABOLISHED", "events[1].district")
    );
    assert!(
        refused.message.contains("1 July 2025"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn the_client_library_checks_the_commune_before_queuing() {
    let (server, dir) = server().await;
    let client = AgencyClient::open(AgencyClientConfig::new(
        format!("https://localhost:{}", server.local_addr.port()),
        Some(agency_tls("one-stop-phuong-ba-dinh")),
        dir.path().join("outbox.sqlite"),
    ))
    .await
    .unwrap();
    client.report_policy().await.unwrap();
    let info = |id: &str, commune: &str| {
        let mut info = DossierInfo::new(id, "1.004227", "", "cb01", DossierChannel::Desk);
        info.commune = commune.into();
        info.received_at_ms = Some(at(2025, 8, 5));
        info
    };
    let error = client
        .open_dossier(info("elsewhere", "Phường Ba Đình, Hà Nội"))
        .await
        .expect_err("refused");
    assert!(matches!(error, ClientError::EventRefused(_)), "{error}");
    assert_eq!(
        error.reason(),
        Some(vnpop::client::Reason::CommuneNotServed)
    );
    client
        .open_dossier(info("here", "Xã Tân Lạc"))
        .await
        .unwrap();
    client
        .flush(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let auditor = server.audit("auditor-thanh-tra").await;
    let rows = auditor
        .lookup_ratio(ratio("2025-08-01", "2025-08-31", &["commune"]))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].group, ["Xã Tân Lạc, Phú Thọ"]);
}
