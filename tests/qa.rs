//! QA facilities over real mTLS: injected faults at their configured rates, overload shedding and
//! recovery, per-agency rules, the admin service's role check and runtime fixtures, the metrics
//! endpoint.

mod common;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use common::{assert_reason, context, test_config, TestServer};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, task::JoinSet};
use tonic::Code;
use vnpop::{
    client::{AdminClient, ClientError, RegistryClient},
    proto,
};

const AN: &str = "001090012345";

/// A server, its QA administrator and the Ba Đình desk.
async fn qa_server() -> (TestServer, AdminClient, RegistryClient) {
    let server = TestServer::start().await;
    let admin = server.admin("qa-admin").await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    (server, admin, desk)
}

fn rule(name: &str, rpc: &str) -> proto::FaultRule {
    proto::FaultRule {
        name: name.into(),
        rpc: rpc.into(),
        ..Default::default()
    }
}

/// A rule failing `rpc` ("*": every one, "": every one of its agency) at these rates.
fn failing(name: &str, rpc: &str, errors: proto::ErrorRates) -> proto::FaultRule {
    proto::FaultRule {
        errors: Some(errors),
        ..rule(name, rpc)
    }
}

/// A rule adding `mean_ms` to every call of `rpc`.
fn fixed_latency(name: &str, rpc: &str, mean_ms: u32) -> proto::FaultRule {
    proto::FaultRule {
        latency: Some(proto::LatencyFault {
            distribution: proto::latency_fault::Distribution::Fixed as i32,
            mean_ms,
            ..Default::default()
        }),
        ..rule(name, rpc)
    }
}

/// The desk's lookup of `cccd`: the citizen found.
async fn citizen(desk: &RegistryClient, cccd: &str) -> proto::Citizen {
    desk.lookup_by_cccd(&context(), cccd)
        .await
        .unwrap()
        .citizen
        .unwrap()
}

/// `count` lookups of AN, `concurrency` at a time; the outcome of each.
async fn lookups(
    client: &RegistryClient,
    count: usize,
    concurrency: usize,
) -> Vec<Result<(), ClientError>> {
    let mut results = Vec::with_capacity(count);
    let mut running = JoinSet::new();
    for _ in 0..count {
        if running.len() >= concurrency {
            results.push(running.join_next().await.unwrap().unwrap());
        }
        let client = client.clone();
        running.spawn(async move { client.lookup_by_cccd(&context(), AN).await.map(drop) });
    }
    while let Some(result) = running.join_next().await {
        results.push(result.unwrap());
    }
    results
}

#[tokio::test]
async fn injected_errors_come_at_their_configured_rates() {
    let (_server, admin, desk) = qa_server().await;
    let flaky = failing(
        "flaky-lookups",
        "LookupByCccd",
        proto::ErrorRates {
            unavailable: 0.3,
            deadline_exceeded: 0.1,
            resource_exhausted: 0.1,
            internal: 0.1,
        },
    );
    admin.set_faults(vec![flaky]).await.unwrap();

    let results = lookups(&desk, 1_000, 32).await;
    let mut by_code: HashMap<Code, usize> = HashMap::new();
    for result in &results {
        match result {
            Ok(()) => *by_code.entry(Code::Ok).or_default() += 1,
            Err(error) => {
                assert_eq!(
                    error.reason(),
                    Some(vnpop::client::Reason::FaultInjected),
                    "{error}"
                );
                assert!(error.to_string().contains("INJECTED FAULT"), "{error}");
                let rule = common::error_metadata(error).remove("rule");
                assert_eq!(rule.as_deref(), Some("flaky-lookups"));
                *by_code.entry(error.code()).or_default() += 1;
            }
        }
    }
    let share = |code| by_code.get(&code).copied().unwrap_or(0) as f64 / 1_000.0;
    for (code, expected) in [
        (Code::Unavailable, 0.3),
        (Code::DeadlineExceeded, 0.1),
        (Code::ResourceExhausted, 0.1),
        (Code::Internal, 0.1),
        (Code::Ok, 0.4),
    ] {
        let got = share(code);
        assert!(
            (got - expected).abs() <= 0.06,
            "{code:?}: {got} (expected {expected})"
        );
    }

    // The admin service itself is never faulted, even by a rule for every RPC.
    let everything = failing(
        "everything-down",
        "*",
        proto::ErrorRates {
            unavailable: 1.0,
            ..Default::default()
        },
    );
    admin.set_faults(vec![everything]).await.unwrap();
    let error = desk
        .lookup_by_cmnd(&context(), "012345678")
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unavailable, "FAULT_INJECTED");
    assert_eq!(admin.faults().await.unwrap().rules.len(), 1);
    admin.clear_faults().await.unwrap();
    desk.lookup_by_cccd(&context(), AN).await.unwrap();
}

#[tokio::test]
async fn fixed_latency_is_added_to_the_matching_rpc_only() {
    let (_server, admin, desk) = qa_server().await;
    let slow = fixed_latency("slow-lookups", "/vnpop.v1.CitizenRegistry/LookupByCccd", 80);
    let very_slow = fixed_latency("very-slow-qr", "VerifyQr", 5_000);
    admin.set_faults(vec![slow, very_slow]).await.unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        desk.lookup_by_cccd(&context(), AN).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(80));
    }
    // An RPC no rule names gets none of it (a generous bound: the machine may be busy).
    let started = Instant::now();
    desk.lookup_by_cmnd(&context(), "012345678").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(2_500));
}

#[tokio::test]
async fn overload_sheds_beyond_capacity_and_recovers() {
    let (_server, admin, desk) = qa_server().await;
    let mut peak = rule("peak", "*");
    peak.overload = Some(proto::OverloadFault {
        capacity: 4,
        service_time_ms: 100,
        max_queue: 4,
        max_queue_wait_ms: 150,
    });
    admin.set_faults(vec![peak]).await.unwrap();

    let started = Instant::now();
    let results = lookups(&desk, 40, 40).await;
    let served = results.iter().filter(|r| r.is_ok()).count();
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_reason(error, Code::ResourceExhausted, "OVERLOADED");
        assert_eq!(common::error_metadata(error)["capacity"], "4");
    }
    // 4 served at once and a few from the queue; the rest shed.
    assert!((4..40).contains(&served), "{served} served");
    assert!(started.elapsed() >= Duration::from_millis(100));

    // Load drops: calls one at a time are all served.
    for _ in 0..5 {
        desk.lookup_by_cccd(&context(), AN).await.unwrap();
    }
}

#[tokio::test]
async fn a_per_agency_rule_affects_only_that_agency() {
    let (server, admin, desk) = qa_server().await;
    let hospital_down = proto::FaultRule {
        agency: "hospital-bach-mai".into(),
        ..failing(
            "hospital-down",
            "",
            proto::ErrorRates {
                internal: 1.0,
                ..Default::default()
            },
        )
    };
    admin.set_faults(vec![hospital_down]).await.unwrap();
    let hospital = server.registry("hospital-bach-mai").await;
    for _ in 0..10 {
        let error = hospital.lookup_by_cccd(&context(), AN).await.unwrap_err();
        assert_reason(&error, Code::Internal, "FAULT_INJECTED");
        desk.lookup_by_cccd(&context(), AN).await.unwrap();
    }
}

#[tokio::test]
async fn the_admin_service_refuses_other_roles_and_invalid_rules() {
    let server = TestServer::start().await;
    for agency in ["one-stop-phuong-ba-dinh", "auditor-thanh-tra"] {
        let client = server.admin(agency).await;
        let error = client.faults().await.unwrap_err();
        assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
        let error = client.revoke_card(AN).await.unwrap_err();
        assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    }
    let admin = server.admin("qa-admin").await;
    let bad = failing(
        "bad",
        "LookupByCccd",
        proto::ErrorRates {
            unavailable: 1.5,
            ..Default::default()
        },
    );
    let error = admin
        .set_faults(vec![rule("good", "*"), bad])
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FAULT_RULE_INVALID");
    assert_eq!(error.invalid_fields(), ["rules[1].errors.unavailable"]);
    let error = admin
        .set_faults(vec![rule("x", "Ingest")])
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), ["rules[0].rpc"]);
    // The rejected set changed nothing.
    assert!(admin.faults().await.unwrap().rules.is_empty());
}

/// A citizen in the fixtures-file format; `name` goes in as given.
fn citizen_json(cccd: &str, name: &str) -> String {
    serde_json::json!({
        "cccd_number": cccd,
        "full_name": name,
        "date_of_birth": "1990-05-05",
        "sex": "female",
        "place_of_origin": { "province_code": "001", "district": "Huyện Đông Anh" },
        "permanent_address": { "province_code": "001", "district": "Quận Ba Đình",
            "ward": "Phường Kim Mã", "street": "1 Kim Mã" },
        "card": { "issue_date": "2022-01-10" },
        "vneid_level": "2"
    })
    .to_string()
}

#[tokio::test]
async fn runtime_fixtures_are_visible_to_the_next_lookup_and_reset_restores() {
    let (_server, admin, desk) = qa_server().await;
    let newcomer = "001190077777";
    let error = desk.lookup_by_cccd(&context(), newcomer).await.unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");

    // Chinese characters and decomposed diacritics (combining marks) are names like any other.
    let name = "Lý 李小龍 Nguye\u{302}\u{303}n Thi\u{323}";
    let changed = admin
        .put_citizen_json(&citizen_json(newcomer, name))
        .await
        .unwrap();
    assert!(!changed.existed);
    assert_eq!(changed.cccd_masked, "001******777");
    assert_eq!(
        citizen(&desk, newcomer).await.full_name.as_deref(),
        Some(name)
    );

    admin.revoke_card(AN).await.unwrap();
    let an = citizen(&desk, AN).await;
    assert_eq!(an.status, proto::CitizenStatus::CardRevoked as i32);
    assert_eq!(an.card.unwrap().state, proto::CardState::Revoked as i32);
    let died = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    admin.mark_deceased(AN, died).await.unwrap();
    let an = citizen(&desk, AN).await;
    assert_eq!(an.status, proto::CitizenStatus::Deceased as i32);
    assert_eq!(
        an.date_of_death,
        Some(proto::Date {
            year: 2026,
            month: 6,
            day: 1
        })
    );

    // Invalid input names the field.
    let error = admin.revoke_card("00109001234").await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CCCD_MALFORMED");
    assert_eq!(error.invalid_fields(), ["cccd_number"]);
    let error = admin
        .put_citizen_json(&citizen_json(newcomer, "  "))
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FIXTURE_INVALID");
    assert_eq!(error.invalid_fields(), ["citizen_json.full_name"]);
    let error = admin
        .put_citizen_json(&citizen_json("001090077777", "Trần Thị Mai"))
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), ["citizen_json.cccd_number"]);
    let error = admin
        .put_citizen_json("{\"cccd_number\": 1")
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), ["citizen_json"]);
    let error = admin.remove_citizen("001190066666").await.unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");

    admin.remove_citizen("036050000777").await.unwrap();
    assert_eq!(admin.reset_population().await.unwrap(), 3);
    let error = desk.lookup_by_cccd(&context(), newcomer).await.unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");
    let an = citizen(&desk, AN).await;
    assert_eq!(an.status, proto::CitizenStatus::Active as i32);
    assert_eq!(an.date_of_death, None);
    desk.lookup_by_cccd(&context(), "036050000777")
        .await
        .unwrap();
}

async fn scrape(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn startup_fault_file_and_the_metrics_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.toml");
    std::fs::write(
        &faults,
        "[[rule]]\nname = \"cmnd-down\"\nrpc = \"LookupByCmnd\"\nerrors = { unavailable = 1.0 }\n",
    )
    .unwrap();
    let mut config = test_config();
    config.faults = Some(faults);
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = TestServer::with_config(config).await;
    let metrics = server.metrics_addr.expect("metrics endpoint is on");
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    for _ in 0..3 {
        desk.lookup_by_cccd(&context(), AN).await.unwrap();
    }
    let error = desk
        .lookup_by_cccd(&context(), "001090099998")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let error = desk
        .lookup_by_cmnd(&context(), "012345678")
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unavailable, "FAULT_INJECTED");

    let text = scrape(metrics, "/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for expected in [
        r#"vnpop_grpc_requests_total{rpc="LookupByCccd",code="OK"} 3"#,
        r#"vnpop_grpc_requests_total{rpc="LookupByCccd",code="NOT_FOUND"} 1"#,
        r#"vnpop_grpc_requests_total{rpc="LookupByCmnd",code="UNAVAILABLE"} 1"#,
        r#"vnpop_grpc_request_duration_seconds_count{rpc="LookupByCccd",code="OK"} 3"#,
        r#"vnpop_faults_injected_total{kind="unavailable",rpc="LookupByCmnd"} 1"#,
        "vnpop_audit_events_written_total 4",
        "vnpop_store_citizens ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(scrape(metrics, "/other").await.starts_with("HTTP/1.1 404"));
}
