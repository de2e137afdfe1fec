//! Actions that change what auditors see are audited too (issue 10, point 8): QA fault rules and
//! runtime fixture changes, token introspection, and failed VNeID logins under the citizen's
//! keyed subject, so they show in the citizen's access log. Each is recorded before it takes
//! effect; when the log cannot take the record, the action is refused and nothing changes.

mod common;

use common::{
    agency_tls, answer_challenge, assert_reason, connect_audit, context, wrong_passcode, TestServer,
};
use tonic::Code;
use vnpop::{
    client::AdminClient,
    domain::CccdNumber,
    proto::{self, VneidLevel},
    server::RunningServer,
    vneid::TestCredentials,
};

const AN: &str = "001090012345"; // level 2, card valid
const NGOC: &str = "079195001234"; // level 1

async fn connect_admin(server: &RunningServer) -> AdminClient {
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    AdminClient::connect(&endpoint, Some(agency_tls("qa-admin")))
        .await
        .unwrap()
}

/// (rpc, outcome, purpose, dossier) of the citizen's access log, oldest first.
async fn accesses(server: &RunningServer, cccd: &str) -> Vec<(String, String, String, String)> {
    let auditor = connect_audit(server, "auditor-thanh-tra").await;
    auditor
        .raw()
        .citizen_access_log(proto::CitizenAccessLogRequest {
            cccd_number: cccd.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .accesses
        .into_iter()
        .map(|a| (a.rpc, a.outcome, a.purpose, a.dossier_id))
        .collect()
}

/// The server's events outside any dossier: (agency, rpc, outcome, purpose).
async fn actions(server: &RunningServer) -> Vec<(String, String, String, String)> {
    let request = proto::ListEventsRequest {
        source: "server".into(),
        ..Default::default()
    };
    common::list_events(server, request)
        .await
        .into_iter()
        .filter(|e| e.dossier_id.is_empty())
        .map(|e| (e.agency_id, e.rpc, e.outcome, e.purpose))
        .collect()
}

fn rule(name: &str) -> proto::FaultRule {
    proto::FaultRule {
        name: name.into(),
        rpc: "LookupByCccd".into(),
        latency: Some(proto::LatencyFault {
            mean_ms: 1,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn fault_rules_and_fixture_changes_are_recorded_before_they_take_effect() {
    let server = TestServer::start().await;
    let admin = connect_admin(&server).await;
    admin
        .set_faults(vec![rule("slow-lookups"), rule("slower")])
        .await
        .unwrap();
    admin.clear_faults().await.unwrap();
    admin.revoke_card(AN).await.unwrap();
    let died = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    admin.mark_deceased(AN, died).await.unwrap();
    admin.reset_population().await.unwrap();
    // A refused change changes nothing and records nothing.
    let error = admin.remove_citizen("001099999990").await.unwrap_err();
    assert!(error.reason().is_some(), "{error}");

    let logged = actions(&server).await;
    let rpcs: Vec<_> = logged.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(
        rpcs,
        [
            "SetFaults",
            "ClearFaults",
            "RevokeCard",
            "MarkDeceased",
            "ResetPopulation"
        ]
    );
    assert!(logged.iter().all(|a| a.0 == "qa-admin" && a.2 == "applied"));
    assert_eq!(logged[0].3, "fault rules set: 2 (slow-lookups, slower)");
    assert_eq!(logged[4].3, "population reset: 1 changed citizens restored");

    // The citizen sees what was done to their record, and by whom.
    let seen = accesses(&server, AN).await;
    let changes: Vec<_> = seen
        .iter()
        .filter(|a| a.3.is_empty())
        .map(|a| (a.0.as_str(), a.2.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("RevokeCard", "card revoked"),
            ("MarkDeceased", "marked deceased on 2026-05-01")
        ]
    );

    // Ratios and reconciliation leave actions out: no dossier, no finding.
    let auditor = server.audit("auditor-thanh-tra").await;
    let today = chrono::Utc::now().date_naive();
    let period = (
        (today - chrono::Days::new(1)).to_string(),
        (today + chrono::Days::new(1)).to_string(),
    );
    let reconcile = auditor
        .raw()
        .reconcile(proto::ReconcileRequest {
            from: period.0.clone(),
            to: period.1.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            reconcile.dossiers,
            reconcile.served,
            reconcile.findings.len()
        ),
        (0, 0, 0),
        "{reconcile:?}"
    );
    let ratio = auditor
        .lookup_ratio(proto::LookupRatioRequest {
            from: period.0,
            to: period.1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((ratio[0].dossiers, ratio[0].served), (0, 0));
}

#[tokio::test]
async fn an_action_the_log_cannot_take_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = connect_admin(&server).await;
    server.recorder.log().refuse_appends_for_test();
    let error = admin.set_faults(vec![rule("slow")]).await.unwrap_err();
    assert_reason(&error, Code::Unavailable, "AUDIT_UNAVAILABLE");
    assert!(server.faults.plan().rules().is_empty(), "no rule in force");
    let error = admin.revoke_card(AN).await.unwrap_err();
    assert_reason(&error, Code::Unavailable, "AUDIT_UNAVAILABLE");
    let an = server.store.get(CccdNumber::parse(AN).unwrap()).unwrap();
    assert_eq!(an.status, vnpop::domain::CitizenStatus::Active);
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let error = desk.introspect("not.a.token").await.unwrap_err();
    assert_reason(&error, Code::Unavailable, "AUDIT_UNAVAILABLE");
}

#[tokio::test]
async fn introspection_and_failed_logins_show_in_the_citizens_access_log() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let creds = TestCredentials::derive(seed, CccdNumber::parse(NGOC).unwrap());

    // A failed login: the wrong passcode, then a right one.
    let started = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    let wrong = wrong_passcode(&creds);
    let error = answer_challenge(&desk, &started.challenge_id, &wrong, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_PASSCODE_WRONG");
    let done = answer_challenge(&desk, &started.challenge_id, &creds, None)
        .await
        .unwrap();
    // Introspection of the token, and of a token that is no one's.
    assert!(desk.introspect(&done.token).await.unwrap().active);
    assert!(!desk.introspect("not.a.token").await.unwrap().active);

    let seen = accesses(&server, NGOC).await;
    let steps: Vec<_> = seen.iter().map(|a| (a.0.as_str(), a.1.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("StartAuthentication", "challenge"),
            ("CompleteAuthentication", "VNEID_PASSCODE_WRONG"),
            ("CompleteAuthentication", "authenticated"),
            ("IntrospectToken", "active"),
        ]
    );
    let introspection = &seen[3];
    assert!(
        introspection.2.contains(&context().dossier_id),
        "{introspection:?}"
    );
    // The inactive one is recorded too, under no citizen.
    let logged = actions(&server).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(logged[1].1, "IntrospectToken");
    assert!(logged[1].2.starts_with("inactive: "), "{logged:?}");
}
