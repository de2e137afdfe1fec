//! `vnpop simulate` end to end: a small scenario through the client library and the real server;
//! the auditor's ratio query then reports its totals exactly, a re-run changes no figure, and a
//! labelled run is a separate one.

mod common;

use common::{simulate_through, TestServer};
use vnpop::{
    proto,
    simulate::{RunIdentity, Scenario},
};

const SCENARIO: &str = r#"
seed = 7
procedures = ["1.004227", "1.001612"]
online_share = 0.3

[[period]]
from = "2022-12-01"
to = "2023-12-31"
dossiers = 300
lookups = 65

[[period]]
from = "2024-01-01"
to = "2024-02-21"
dossiers = 120
lookups = 2

[[unit]]
district = "Thành phố Phủ Lý"
officers = 3
weight = 2
lookup_probability = [0.4, 0.02]

[[unit]]
district = "Huyện Lý Nhân"
officers = 2
weight = 1
lookup_probability = [0.1, 0.0]
"#;

#[tokio::test]
async fn the_ratio_of_a_simulated_scenario_is_exact() {
    let server = TestServer::start().await;
    let scenario = Scenario::parse(SCENARIO).unwrap();
    let identity = RunIdentity::new(&scenario, 2026, None).unwrap();
    let report = simulate_through(&server, &scenario, &identity).await;
    assert_eq!(
        (report.dossiers, report.lookups, report.failed_lookups),
        (420, 67, 0)
    );

    let auditor = server.audit("auditor-thanh-tra").await;
    let ratio = |from: &str, to: &str, by: &[&str]| proto::LookupRatioRequest {
        from: from.into(),
        to: to.into(),
        group_by: by.iter().map(|b| b.to_string()).collect(),
        ..Default::default()
    };
    let first = auditor
        .lookup_ratio(ratio("2022-12-01", "2023-12-31", &[]))
        .await
        .unwrap();
    assert_eq!(
        (first[0].dossiers, first[0].lookups, first[0].served),
        (300, 65, 65)
    );
    // The ratio is the server's: every simulated lookup was served, one per looked-up dossier.
    assert_eq!(
        (
            first[0].dossiers_with_lookup,
            first[0].reported_not_served,
            first[0].reported_failed
        ),
        (65, 0, 0)
    );
    assert!((first[0].coverage - 65.0 / 300.0).abs() < 1e-12);
    let second = auditor
        .lookup_ratio(ratio("2024-01-01", "2024-02-21", &[]))
        .await
        .unwrap();
    assert_eq!((second[0].dossiers, second[0].lookups), (120, 2));
    // The district breakdown: the second period's two lookups can only come from Phủ Lý.
    let by_district = auditor
        .lookup_ratio(ratio("2024-01-01", "2024-02-21", &["district"]))
        .await
        .unwrap();
    let ly_nhan = by_district
        .iter()
        .find(|r| r.group == ["Huyện Lý Nhân"])
        .unwrap();
    assert_eq!((ly_nhan.dossiers, ly_nhan.lookups), (40, 0));

    // The same run again: every dossier is already in the log, its lookup is made again under
    // the same call id and recorded once: no figure changes (served included).
    let again = simulate_through(&server, &scenario, &identity).await;
    assert_eq!(
        (
            again.dossiers,
            again.lookups,
            again.already_logged,
            again.already_logged_lookups
        ),
        (0, 0, 420, 67)
    );
    let first_again = auditor
        .lookup_ratio(ratio("2022-12-01", "2023-12-31", &[]))
        .await
        .unwrap();
    assert_eq!(
        (
            first_again[0].dossiers,
            first_again[0].lookups,
            first_again[0].served
        ),
        (300, 65, 65)
    );

    // A labelled run is another run: its own dossiers and lookups.
    let labelled = RunIdentity::new(&scenario, 2026, Some("second")).unwrap();
    let other = simulate_through(&server, &scenario, &labelled).await;
    assert_eq!(
        (other.dossiers, other.lookups, other.already_logged),
        (420, 67, 0)
    );
    let both = auditor
        .lookup_ratio(ratio("2022-12-01", "2023-12-31", &[]))
        .await
        .unwrap();
    assert_eq!(
        (both[0].dossiers, both[0].lookups, both[0].served),
        (600, 130, 130)
    );
}
