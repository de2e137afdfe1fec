//! Coverage from what the server saw (issue 10): reports alone cannot raise an agency's figures,
//! the server's contradictions and late reports are reconcile findings, every ratio answer says
//! what load-test traffic it left out, and a redelivery past the backdate limit is a duplicate.

mod common;

use chrono::Utc;
use common::{as_verification, receipt, TestServer};
use vnpop::{client::AuditClient, proto};

const AN: &str = "001090012345";
const DISTRICT: &str = "Quận Ba Đình";
const MINUTE: i64 = 60_000;

/// A Vietnam date `days` from today, YYYY-MM-DD.
fn day(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days))
        .with_timezone(&vnpop::domain::vietnam::offset())
        .format("%Y-%m-%d")
        .to_string()
}

fn dossier(id: &str, at_ms: i64) -> proto::ReportedEvent {
    receipt(format!("dossier-{id}"), id, DISTRICT, "officer-1", at_ms)
}

fn verification(id: &str, outcome: &str, at_ms: i64) -> proto::ReportedEvent {
    as_verification(
        receipt(
            format!("lookup-{id}-{outcome}"),
            id,
            DISTRICT,
            "officer-1",
            at_ms,
        ),
        "LookupByCccd",
        outcome,
        "cư trú",
        AN,
    )
}

/// Around today (a day either side, so a test running over midnight still sees its events).
fn around_today() -> (String, String) {
    (day(-1), day(1))
}

/// The ratio answer around today.
async fn ratio_today(
    auditor: &AuditClient,
    request: proto::LookupRatioRequest,
) -> proto::LookupRatioResponse {
    let (from, to) = around_today();
    auditor
        .raw()
        .lookup_ratio(proto::LookupRatioRequest {
            from,
            to,
            ..request
        })
        .await
        .unwrap()
        .into_inner()
}

/// The reconcile answer around today.
async fn reconcile_today(auditor: &AuditClient) -> proto::ReconcileResponse {
    let (from, to) = around_today();
    auditor
        .raw()
        .reconcile(proto::ReconcileRequest {
            from,
            to,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn reports_alone_give_no_coverage_and_the_server_contradicts_them() {
    let server = TestServer::start().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let total = || async { ratio_today(&auditor, Default::default()).await.rows[0].clone() };

    // The agency's desk is working: one real lookup, for a dossier it never reports.
    let registry = server.registry("one-stop-phuong-ba-dinh").await;
    let mut context = common::context();
    context.dossier_id = "walk-in".into();
    registry.lookup_by_cccd(&context, AN).await.unwrap();

    // The fake-coverage attempt: ten dossiers, and for each a report of a lookup that "failed
    // before reaching the server", a minute ago. No call is made.
    let now = vnpop::ids::now_ms();
    let mut events = Vec::new();
    for i in 0..10 {
        let id = format!("F-{i}");
        events.push(dossier(&id, now - MINUTE));
        events.push(verification(&id, "unavailable", now - MINUTE));
    }
    let stored = desk.ingest(events).await.unwrap();
    assert_eq!((stored.stored, stored.refused.len()), (20, 0));

    let row = total().await;
    assert_eq!(
        (
            row.dossiers,
            row.lookups,
            row.served,
            row.dossiers_with_lookup,
            row.reported_failed,
            row.reported_not_served,
            row.dossiers_with_reported_lookup
        ),
        (10, 10, 0, 0, 10, 0, 10),
        "{row:?}"
    );
    assert_eq!((row.coverage, row.lookups_per_dossier), (0.0, 0.0));
    // Nobody looked these dossiers up: all ten are on the supervisor's list.
    let (from, to) = around_today();
    let unverified = auditor
        .raw()
        .list_unverified_dossiers(proto::ListUnverifiedDossiersRequest {
            from,
            to,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unverified.dossiers.len(), 10);

    // Reconcile: the server was answering this agency a minute earlier; each failure is
    // contradicted.
    let reconciled = reconcile_today(&auditor).await;
    assert_eq!(
        reconciled.reported_failure_unconfirmed, 10,
        "{reconciled:?}"
    );
    assert_eq!(
        (reconciled.reported_late, reconciled.not_reaching_server),
        (0, 10)
    );
    let unconfirmed: Vec<_> = reconciled
        .findings
        .iter()
        .filter(|f| f.kind == "reported_failure_unconfirmed")
        .collect();
    assert_eq!(unconfirmed.len(), 10);
    assert!(unconfirmed
        .iter()
        .all(|f| f.dossier_id.starts_with("F-") && f.reported == 1 && f.served == 0));

    // A report of a real lookup the server never served counts as reported, not served.
    desk.ingest(vec![verification("F-0", "found", now - MINUTE)])
        .await
        .unwrap();
    let row = total().await;
    assert_eq!(
        (
            row.lookups,
            row.served,
            row.reported_not_served,
            row.coverage
        ),
        (11, 0, 1, 0.0)
    );

    // The honest way: the lookup is made, for the dossier; now it is covered.
    context.dossier_id = "F-1".into();
    registry.lookup_by_cccd(&context, AN).await.unwrap();
    let row = total().await;
    assert_eq!((row.served, row.dossiers_with_lookup), (1, 1));
    assert!((row.coverage - 0.1).abs() < 1e-12);
}

#[tokio::test]
async fn late_reports_are_findings_with_both_times() {
    let server = TestServer::start().await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let now = vnpop::ids::now_ms();
    // Within the backdate limit (7 days), so accepted; but three hours after the fact.
    let three_hours_ago = now - 180 * MINUTE;
    desk.ingest(vec![
        dossier("L-1", three_hours_ago),
        verification("L-1", "found", three_hours_ago),
        // On time: not a finding.
        dossier("L-2", now - MINUTE),
    ])
    .await
    .unwrap();
    let reconciled = reconcile_today(&auditor).await;
    assert_eq!(reconciled.reported_late, 1, "{reconciled:?}");
    let late = reconciled
        .findings
        .iter()
        .find(|f| f.kind == "reported_late")
        .unwrap();
    assert_eq!((late.dossier_id.as_str(), late.reported), ("L-1", 2));
    assert_eq!(late.first_at_ms, three_hours_ago);
    assert!(
        late.received_at_ms >= now && late.received_at_ms < now + 10 * MINUTE,
        "{late:?}"
    );
}

#[tokio::test]
async fn every_ratio_answer_says_what_load_test_traffic_it_left_out() {
    let server = TestServer::start().await;
    let simulation = server.audit("simulation").await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let now = vnpop::ids::now_ms();
    let mut events = vec![dossier("real", now - MINUTE)];
    for i in 0..3 {
        let id = format!("load-{i}");
        let mut d = dossier(&id, now - MINUTE);
        d.load_test = true;
        let mut v = verification(&id, "found", now - MINUTE);
        v.load_test = true;
        events.extend([d, v]);
    }
    let stored = simulation.ingest(events).await.unwrap();
    assert_eq!((stored.stored, stored.refused.len()), (7, 0));
    // A served load-test call for one of them.
    let registry = server.registry("simulation").await;
    let mut context = common::context();
    context.dossier_id = "load-0".into();
    context.load_test = true;
    registry.lookup_by_cccd(&context, AN).await.unwrap();

    let mut request = proto::LookupRatioRequest {
        group_by: vec!["district".into()],
        ..Default::default()
    };
    let answer = ratio_today(&auditor, request.clone()).await;
    assert_eq!(answer.rows.len(), 1);
    assert_eq!(answer.rows[0].dossiers, 1);
    assert_eq!(
        (
            answer.load_test_dossiers_left_out,
            answer.load_test_lookups_left_out,
            answer.load_test_served_left_out
        ),
        (3, 3, 1)
    );
    // Counted in: nothing is left out.
    request.include_load_test = true;
    let answer = ratio_today(&auditor, request).await;
    assert_eq!((answer.rows[0].dossiers, answer.rows[0].served), (4, 1));
    assert_eq!(
        (
            answer.load_test_dossiers_left_out,
            answer.load_test_lookups_left_out,
            answer.load_test_served_left_out
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_redelivery_after_the_backdate_limit_is_a_duplicate_not_a_refusal() {
    // A desk that may report one minute late.
    let (config, _dir) = common::config_with_desk("backdate_limit = \"1 minute\"", "");
    let server = TestServer::with_config(config).await;
    let desk = server.audit("one-stop-phuong-ba-dinh").await;

    // Stored just inside the limit; its acknowledgement is lost, and the client sends it again
    // once the limit has passed, beside a new event that is itself too late.
    let at = vnpop::ids::now_ms() - MINUTE + 1_500;
    let first = desk.ingest(vec![dossier("R-1", at)]).await.unwrap();
    assert_eq!((first.stored, first.refused.len()), (1, 0));
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let again = desk
        .ingest(vec![dossier("R-1", at), dossier("R-2", at)])
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 1), "{again:?}");
    let refused: Vec<_> = again
        .refused
        .iter()
        .map(|r| (r.index, r.event_id.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(refused, [(1, "dossier-R-2", "REPORT_TOO_LATE")]);
}
