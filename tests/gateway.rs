//! `vnpop gateway` end to end, in process: a real server with mTLS, a gateway forwarding to it,
//! and callers speaking REST/JSON (a plain HTTP client) or gRPC without TLS on loopback.

mod common;
#[path = "common/rest.rs"]
mod rest;

use std::{
    collections::VecDeque,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{assert_reason, certs_dir, test_config, TestServer};
use rest::Rest;
use serde_json::{json, Value};
use tonic::Code;
use vnpop::{
    chip::{chip_read, DocumentSigner},
    client::{LookupContext, RegistryClient, VneidClient},
    domain::CccdNumber,
    gateway::{self, GatewayConfig, RunningGateway},
    population::{self, PopulationSpec},
    proto::{self, agency_gateway_client::AgencyGatewayClient},
    simulate::{self, Scenario},
    vneid::TestCredentials,
};

const AN: &str = "001090012345";
/// Has a level-1 VNeID account.
const NGOC: &str = "079195001234";

fn gateway_config(server_port: u16, data_dir: &Path) -> GatewayConfig {
    let mut config = GatewayConfig::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.server = format!("https://localhost:{server_port}");
    config.ca = certs_dir().join("ca.pem");
    config.cert = certs_dir().join("simulation.pem");
    config.key = certs_dir().join("simulation.key");
    config.data_dir = data_dir.to_owned();
    config.api_key = None;
    config
}

async fn start_gateway(server_port: u16) -> RunningGateway {
    gateway::start(&gateway_config(server_port, &common::data_dir()))
        .await
        .expect("the gateway starts")
}

fn open_body(id: &str) -> Value {
    json!({
        "dossierId": id,
        "procedureCode": "1.004227",
        "district": "Quận Ba Đình",
        "officerId": "officer-017",
        "channel": "DOSSIER_CHANNEL_DESK",
    })
}

fn lookup_body(cccd: &str) -> Value {
    json!({"context": {"purpose": "đăng ký thường trú"}, "cccdNumber": cccd})
}

fn ratio(from: &str, to: &str) -> proto::LookupRatioRequest {
    proto::LookupRatioRequest {
        from: from.into(),
        to: to.into(),
        ..Default::default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The bundled scenario's first 1,000 dossiers through REST, with the server down for 10 s in
/// the middle: the auditor's figures for them are exactly the plan's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_1000_scenario_dossiers_through_rest_give_the_exact_ratio_across_an_outage() {
    let port = free_port();
    let mut config = test_config();
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let server = TestServer::with_config(config.clone()).await;
    let gateway = start_gateway(port).await;

    let planned: Vec<_> = simulate::plan(&Scenario::bundled())
        .into_iter()
        .take(1_000)
        .collect();
    let expected_lookups = planned.iter().filter(|p| p.lookup_at_ms.is_some()).count();
    assert!(expected_lookups > 100, "{expected_lookups}");
    let spec = PopulationSpec {
        seed: config.population.seed,
        size: 1_000,
        reference_date: PopulationSpec::default_reference_date(),
    };
    let citizens: Arc<Vec<String>> = Arc::new(
        population::generate(spec, &population::builtin_fixtures())
            .iter()
            .map(|c| c.cccd.to_string())
            .collect(),
    );
    let queue = Arc::new(Mutex::new(planned.into_iter().collect::<VecDeque<_>>()));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let slowest_failure = Arc::new(Mutex::new(Duration::ZERO));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (queue, done, failed, slowest, citizens) = (
                Arc::clone(&queue),
                Arc::clone(&done),
                Arc::clone(&failed),
                Arc::clone(&slowest_failure),
                Arc::clone(&citizens),
            );
            let mut rest = Rest::new(gateway.local_addr);
            tokio::spawn(async move {
                loop {
                    let Some(next) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let info = &next.info;
                    let opened = rest
                        .post(
                            "/v1/dossiers",
                            &json!({
                                "dossierId": info.id,
                                "procedureCode": info.procedure_code,
                                "district": info.district,
                                "officerId": info.officer_id,
                                "channel": format!("DOSSIER_CHANNEL_{}", info.channel.as_str().to_uppercase()),
                                "receivedAtMs": info.received_at_ms.unwrap().to_string(),
                            }),
                        )
                        .await
                        .unwrap();
                    assert_eq!(opened.status, 201, "{opened:?}");
                    if let Some(at) = next.lookup_at_ms {
                        let cccd = &citizens[(at as usize / 1000) % citizens.len()];
                        let started = Instant::now();
                        let answer = rest
                            .post(
                                &format!("/v1/dossiers/{}/lookup-by-cccd", info.id),
                                &lookup_body(cccd),
                            )
                            .await
                            .unwrap();
                        if answer.status != 200 {
                            // Only the outage may fail a call, fast and as UNAVAILABLE.
                            answer.assert_problem(503, "UNAVAILABLE", "SERVER_UNREACHABLE");
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut slowest = slowest.lock().unwrap();
                            *slowest = (*slowest).max(started.elapsed());
                        } else {
                            assert_eq!(answer.json["citizen"]["cccdNumber"], cccd.as_str());
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    // Paced, so that the outage falls in the middle of the run.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        })
        .collect();

    while done.load(Ordering::Relaxed) < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during_outage = done.load(Ordering::Relaxed);
    let server = TestServer::with_config(config).await;
    for worker in workers {
        worker.await.unwrap();
    }
    let failed = failed.load(Ordering::Relaxed);
    assert!(failed > 0, "no call met the outage");
    assert!(during_outage < 1_000, "the run ended during the outage");
    let slowest = *slowest_failure.lock().unwrap();
    assert!(
        slowest < Duration::from_secs(6),
        "a failure took {slowest:?}"
    );

    gateway.flush(Duration::from_secs(60)).await.unwrap();
    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let rows = auditor
        .lookup_ratio(ratio("2022-12-01", "2023-12-31"))
        .await
        .unwrap();
    // Every attempted lookup is a lookup (the officer did look); those the outage failed were
    // not served.
    assert_eq!(
        (rows[0].dossiers, rows[0].lookups),
        (1_000, expected_lookups as u64)
    );
    // A call the outage cut off after the server had recorded it (answer lost on the way back)
    // is served in the server's record and failed in the agency's: at most the calls in flight.
    let served = rows[0].served as usize;
    assert!(
        (expected_lookups - failed..=expected_lookups - failed + 8).contains(&served),
        "served {served} of {expected_lookups} lookups, {failed} failed"
    );
    gateway.shutdown().await;
}

/// Each class of error is an RFC 9457 problem with the gRPC code and reason.
#[tokio::test]
async fn each_error_class_is_a_problem_with_the_grpc_code_and_reason() {
    let server = TestServer::start().await;
    let gateway = start_gateway(server.local_addr.port()).await;
    let mut rest = Rest::new(gateway.local_addr);

    // The gateway's own refusals.
    let answer = rest.raw("POST", "/v1/dossiers", b"not json").await.unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "JSON_INVALID");
    let answer = rest
        .post("/v1/dossiers", &json!({"dossier_idd": "x"}))
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "JSON_INVALID");
    let mut missing = open_body("D-1");
    missing["officerId"] = "".into();
    let answer = rest.post("/v1/dossiers", &missing).await.unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "FIELD_INVALID");
    assert_eq!(answer.json["invalidParams"][0]["name"], "officer_id");

    let opened = rest.post("/v1/dossiers", &open_body("D-1")).await.unwrap();
    assert_eq!(opened.status, 201, "{opened:?}");
    assert_eq!(opened.json["dossierId"], "D-1");
    let again = rest.post("/v1/dossiers", &open_body("D-1")).await.unwrap();
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json["receivedAtMs"], opened.json["receivedAtMs"]);
    let mut other = open_body("D-1");
    other["district"] = "Quận Hoàn Kiếm".into();
    let answer = rest.post("/v1/dossiers", &other).await.unwrap();
    answer.assert_problem(409, "ALREADY_EXISTS", "DOSSIER_CONFLICT");

    let answer = rest.get("/v1/dossiers/NEVER").await.unwrap();
    answer.assert_problem(404, "NOT_FOUND", "DOSSIER_NOT_OPENED");
    let answer = rest
        .post("/v1/dossiers/NEVER/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    answer.assert_problem(404, "NOT_FOUND", "DOSSIER_NOT_OPENED");
    let answer = rest
        .post(
            "/v1/dossiers/D-1/lookup-by-cccd",
            &json!({"context": {"dossierId": "D-2", "purpose": "p"}, "cccdNumber": AN}),
        )
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "FIELD_INVALID");
    assert_eq!(
        answer.json["invalidParams"][0]["name"],
        "context.dossier_id"
    );
    let answer = rest.get("/v2/nothing").await.unwrap();
    answer.assert_problem(404, "NOT_FOUND", "ROUTE_NOT_FOUND");
    let answer = rest.raw("DELETE", "/v1/dossiers", b"").await.unwrap();
    answer.assert_problem(405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED");

    // The server's answers, passed on with their reason codes and field violations.
    let answer = rest
        .post("/v1/dossiers/D-1/lookup-by-cccd", &lookup_body("12345"))
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "CCCD_MALFORMED");
    assert_eq!(answer.json["invalidParams"][0]["name"], "cccd_number");
    assert_eq!(answer.json["domain"], "vnpop.v1");
    let answer = rest
        .post(
            "/v1/dossiers/D-1/lookup-by-cccd",
            &lookup_body("001099999999"),
        )
        .await
        .unwrap();
    answer.assert_problem(404, "NOT_FOUND", "CITIZEN_NOT_FOUND");
    let answer = rest
        .post(
            "/v1/dossiers/D-1/lookup-by-cccd",
            &json!({"cccdNumber": AN}),
        )
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "REQUEST_CONTEXT_INCOMPLETE");
    let answer = rest
        .post(
            "/v1/dossiers/D-1/vneid/complete",
            &json!({"context": {"purpose": "p"}, "challengeId": "nope", "passcode": "1", "totpCode": "1"}),
        )
        .await
        .unwrap();
    assert_eq!(answer.reason(), "VNEID_CHALLENGE_NOT_FOUND", "{answer:?}");
    assert_eq!(answer.content_type, "application/problem+json");

    let started = rest
        .post(
            "/v1/dossiers/D-1/vneid/start",
            &json!({"context": {"purpose": "p"}, "cccdNumber": NGOC, "level": "VNEID_LEVEL_ONE"}),
        )
        .await
        .unwrap();
    assert_eq!(started.status, 200, "{started:?}");
    assert!(started.json["challengeId"].is_string(), "{started:?}");

    // A success, in the proto3 JSON mapping.
    let answer = rest
        .post("/v1/dossiers/D-1/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json["citizen"]["cccdNumber"], AN);
    assert!(answer.json["citizen"]["fullName"].is_string(), "{answer:?}");

    // The server down: UNAVAILABLE, fast, named.
    server.stop().await;
    let started = Instant::now();
    let answer = rest
        .post("/v1/dossiers/D-1/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    answer.assert_problem(503, "UNAVAILABLE", "SERVER_UNREACHABLE");
    assert!(started.elapsed() < Duration::from_secs(6));
    // Every call above that reached a dossier was recorded, the failures included.
    assert!(gateway.pending().await.unwrap() > 0);
    gateway.shutdown().await;
}

/// Every operation the OpenAPI document lists is served at its path and method (and no other
/// method is), and answers use the documented JSON names.
#[tokio::test]
async fn the_openapi_document_matches_the_routes_served() {
    let server = TestServer::start().await;
    let gateway = start_gateway(server.local_addr.port()).await;
    let mut rest = Rest::new(gateway.local_addr);
    let document = rest.get("/openapi.json").await.unwrap();
    assert_eq!(document.status, 200);
    let document = document.json;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        rest.post("/v1/dossiers", &open_body("D-OA"))
            .await
            .unwrap()
            .status,
        201
    );
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 11, "{}", paths.len());
    let mut operations = 0;
    for (path, methods) in paths {
        let concrete = path.replace("{dossierId}", "D-OA");
        for (method, operation) in methods.as_object().unwrap() {
            operations += 1;
            let body: &[u8] = if method == "post" { b"{}" } else { b"" };
            let answer = rest
                .raw(&method.to_uppercase(), &concrete, body)
                .await
                .unwrap();
            assert!(
                !["ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"].contains(&answer.reason()),
                "{method} {path} is documented but not served: {answer:?}"
            );
            let documented: Vec<&String> =
                operation["responses"].as_object().unwrap().keys().collect();
            if answer.status < 300 {
                assert!(
                    documented.contains(&&answer.status.to_string()),
                    "{method} {path} answered {} (documented: {documented:?})",
                    answer.status
                );
            } else {
                assert_eq!(answer.content_type, "application/problem+json");
            }
        }
        let put = rest.raw("PUT", &concrete, b"{}").await.unwrap();
        put.assert_problem(405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED");
    }
    assert!(operations >= 11);

    // An answer carries only documented field names, at every level.
    let answer = rest
        .post("/v1/dossiers/D-OA/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let schemas = &document["components"]["schemas"];
    conforms(&answer.json, &schemas["LookupResponse"], schemas, "$");
    gateway.shutdown().await;
}

/// Checks that every key of `value` is a property of `schema` (following `$ref`), recursively.
fn conforms(value: &Value, schema: &Value, schemas: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let property = &schema["properties"][key];
                assert!(!property.is_null(), "{at}.{key} is not documented");
                conforms(inner, property, schemas, &format!("{at}.{key}"));
            }
        }
        Value::Array(items) => {
            for item in items {
                conforms(item, &schema["items"], schemas, at);
            }
        }
        _ => {}
    }
}

/// gRPC callers without a vnpop library: the same services on the gateway's port, each call
/// recorded in the outbox like AgencyClient's; VNeID and chip calls go through the dossier too.
#[tokio::test]
async fn grpc_calls_through_the_gateway_are_recorded_for_their_dossier() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let gateway = start_gateway(server.local_addr.port()).await;
    let endpoint = format!("http://{}", gateway.local_addr);
    let channel = vnpop::client::connect_channel(&endpoint, None)
        .await
        .unwrap();
    let mut dossiers = AgencyGatewayClient::new(channel.clone());
    let opened = dossiers
        .open_dossier(proto::OpenDossierRequest {
            dossier_id: "G-1".into(),
            procedure_code: "1.004227".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-017".into(),
            channel: proto::DossierChannel::Desk as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(opened.dossier_id, "G-1");

    let registry = RegistryClient::from_channel(channel.clone());
    let context = LookupContext::new("G-1", "đăng ký thường trú", "officer-017");
    let found = registry.lookup_by_cccd(&context, AN).await.unwrap();
    assert_eq!(found.citizen.unwrap().cccd_number, AN);
    let never = LookupContext::new("G-NEVER", "đăng ký thường trú", "officer-017");
    let error = registry.lookup_by_cccd(&never, AN).await.unwrap_err();
    assert_reason(&error, Code::NotFound, "DOSSIER_NOT_OPENED");
    assert_eq!(registry.who_am_i().await.unwrap().agency_id, "simulation");

    let citizen = server.store.get(CccdNumber::parse(AN).unwrap()).unwrap();
    let read = chip_read(seed, &citizen, &DocumentSigner::development()).unwrap();
    let vneid = VneidClient::from_channel(channel);
    let verdict = vneid.verify_chip(&context, read).await.unwrap();
    assert_eq!(verdict.verdict(), proto::ChipVerdict::Valid);
    // A VNeID login for the dossier, through the gateway.
    let started = vneid
        .start(&context, NGOC, proto::VneidLevel::One)
        .await
        .unwrap();
    let credentials = TestCredentials::derive(seed, CccdNumber::parse(NGOC).unwrap());
    let done = vneid
        .complete(
            &context,
            &started.challenge_id,
            &credentials.passcode,
            &credentials.current_code(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.level, proto::VneidLevel::One as i32);

    gateway.flush(Duration::from_secs(30)).await.unwrap();
    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let rows = auditor
        .lookup_ratio(ratio("2020-01-01", "2030-12-31"))
        .await
        .unwrap();
    assert_eq!(
        (rows[0].dossiers, rows[0].lookups, rows[0].served),
        (1, 4, 4)
    );
    // What the agency reported (through the gateway) and what the server served agree, VNeID and
    // chip calls included.
    let reconciled = auditor
        .raw()
        .reconcile(proto::ReconcileRequest {
            from: "2020-01-01".into(),
            to: "2030-12-31".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            reconciled.reported,
            reconciled.served,
            reconciled.served_not_reported,
            reconciled.reported_not_served
        ),
        (4, 4, 0, 0),
        "{:?}",
        reconciled.findings
    );
    gateway.shutdown().await;
}

/// An API key, when set, is required of REST and gRPC callers (not of /health); off loopback
/// the gateway refuses to start without one.
#[tokio::test]
async fn the_api_key_guards_both_apis_and_is_required_off_loopback() {
    let server = TestServer::start().await;
    let mut config = gateway_config(server.local_addr.port(), &common::data_dir());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let refused = gateway::start(&config).await.err().expect("refused");
    assert!(matches!(refused, gateway::StartError::ApiKeyRequired(_)));

    config.listen = "127.0.0.1:0".parse().unwrap();
    config.api_key = Some("s3cret-key".into());
    let gateway = gateway::start(&config).await.unwrap();
    let mut anonymous = Rest::new(gateway.local_addr);
    anonymous
        .get("/v1/dossiers/X")
        .await
        .unwrap()
        .assert_problem(401, "UNAUTHENTICATED", "API_KEY_MISSING");
    assert_eq!(anonymous.get("/health").await.unwrap().status, 200);
    let mut wrong = Rest::new(gateway.local_addr).with_api_key("s3cret-kez");
    wrong.get("/v1/dossiers/X").await.unwrap().assert_problem(
        401,
        "UNAUTHENTICATED",
        "API_KEY_INVALID",
    );
    let mut right = Rest::new(gateway.local_addr).with_api_key("s3cret-key");
    right.get("/v1/dossiers/X").await.unwrap().assert_problem(
        404,
        "NOT_FOUND",
        "DOSSIER_NOT_OPENED",
    );

    let registry = RegistryClient::connect(&format!("http://{}", gateway.local_addr), None)
        .await
        .unwrap();
    let error = registry.who_am_i().await.unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "API_KEY_MISSING");
    gateway.shutdown().await;
}

/// A directory where the gateway's identity (one-stop-ba-dinh) is a desk of Hà Nội that receives
/// dossiers at two wards since the reform, so each dossier must name its commune.
const TWO_WARDS: &str = r#"
[[agency]]
id = "one-stop-ba-dinh"
name = "Bộ phận một cửa phường Ba Đình và Hoàn Kiếm"
common_name = "one-stop-ba-dinh"
organization = "UBND quận Ba Đình"
district = "Quận Ba Đình"
province = "Hà Nội"
communes = ["Phường Ba Đình", "00070"]
role = "agency"
fields = ["all"]
backdate_limit = "unlimited"

[[agency]]
id = "auditor-thanh-tra"
name = "Thanh tra"
common_name = "auditor-thanh-tra"
role = "auditor"
fields = []
"#;

/// 5 August 2025, 10:00 in Vietnam: after the reform.
const AUGUST_2025_MS: i64 = 1_754_362_800_000;

fn at_commune(id: &str, commune: &str) -> Value {
    let mut body = open_body(id);
    body["district"] = "".into();
    body["commune"] = commune.into();
    body["receivedAtMs"] = AUGUST_2025_MS.to_string().into();
    body
}

/// Since the reform a dossier is opened at a commune (REST and gRPC, by name, code or
/// "NAME, PROVINCE"): kept by the gateway, reported with it, and counted under it by the
/// auditor's ratio by commune (gRPC and `vnpop audit ratio --by commune`); a commune the rules
/// refuse is a problem with its reason, and nothing is recorded.
#[tokio::test]
async fn a_dossier_opened_at_a_commune_counts_under_it_and_a_bad_commune_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(&agencies, TWO_WARDS).unwrap();
    let port = free_port();
    let mut config = test_config();
    config.agencies = Some(agencies);
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    // The gateway started before the server: it cannot learn the agency's rules at start.
    let mut gateway_config = gateway_config(port, &common::data_dir());
    gateway_config.cert = certs_dir().join("one-stop-ba-dinh.pem");
    gateway_config.key = certs_dir().join("one-stop-ba-dinh.key");
    let gateway = gateway::start(&gateway_config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = TestServer::with_config(config).await;
    let mut rest = Rest::new(gateway.local_addr);

    // Its first dossier is checked against them all the same (asked for then), not queued.
    rest.post("/v1/dossiers", &at_commune("X-0", "Phường Không Có"))
        .await
        .unwrap()
        .assert_problem(400, "INVALID_ARGUMENT", "COMMUNE_UNKNOWN");
    for (id, commune) in [
        ("C-1", "Phường Ba Đình"),
        ("C-2", "00070"),
        ("C-3", "Phường Hoàn Kiếm, Hà Nội"),
    ] {
        let opened = rest
            .post("/v1/dossiers", &at_commune(id, commune))
            .await
            .unwrap();
        assert_eq!(opened.status, 201, "{opened:?}");
        assert_eq!(opened.json["commune"], commune, "{opened:?}");
    }
    let known = rest.get("/v1/dossiers/C-2").await.unwrap();
    assert_eq!(known.json["commune"], "00070", "{known:?}");
    let again = rest
        .post("/v1/dossiers", &at_commune("C-2", "00070"))
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{again:?}");
    rest.post("/v1/dossiers", &at_commune("C-2", "Phường Ba Đình"))
        .await
        .unwrap()
        .assert_problem(409, "ALREADY_EXISTS", "DOSSIER_CONFLICT");
    for id in ["C-1", "C-3"] {
        let answer = rest
            .post(
                &format!("/v1/dossiers/{id}/lookup-by-cccd"),
                &lookup_body(AN),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    // Through gRPC as well.
    let channel = vnpop::client::connect_channel(&format!("http://{}", gateway.local_addr), None)
        .await
        .unwrap();
    let mut grpc = AgencyGatewayClient::new(channel);
    let open = |id: &str, commune: &str| proto::OpenDossierRequest {
        dossier_id: id.into(),
        procedure_code: "1.004227".into(),
        commune: commune.into(),
        officer_id: "officer-017".into(),
        channel: proto::DossierChannel::Online as i32,
        received_at_ms: AUGUST_2025_MS,
        ..Default::default()
    };
    let opened = grpc
        .open_dossier(open("C-4", "phuong ba dinh"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(opened.commune, "phuong ba dinh");

    // Refused, each with its reason and the field, and never recorded.
    let refusals = [
        ("X-1", "Phường Không Có", "COMMUNE_UNKNOWN"),
        ("X-2", "Xã Mai Châu, Phú Thọ", "COMMUNE_NOT_SERVED"),
        ("X-3", "Phường Kim Liên", "COMMUNE_NOT_SERVED"),
        ("X-4", "", "EVENT_INVALID"),
    ];
    for (id, commune, reason) in refusals {
        let answer = rest
            .post("/v1/dossiers", &at_commune(id, commune))
            .await
            .unwrap();
        answer.assert_problem(400, "INVALID_ARGUMENT", reason);
        assert_eq!(
            answer.json["invalidParams"][0]["name"], "commune",
            "{answer:?}"
        );
        rest.get(&format!("/v1/dossiers/{id}"))
            .await
            .unwrap()
            .assert_problem(404, "NOT_FOUND", "DOSSIER_NOT_OPENED");
    }
    let error = grpc
        .open_dossier(open("X-5", "Phường Không Có"))
        .await
        .unwrap_err();
    assert_reason(
        &vnpop::client::ClientError::Rpc(error),
        Code::InvalidArgument,
        "COMMUNE_UNKNOWN",
    );

    gateway.flush(Duration::from_secs(30)).await.unwrap();
    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let by_commune = auditor
        .lookup_ratio(proto::LookupRatioRequest {
            group_by: vec!["commune".into()],
            ..ratio("2025-08-01", "2025-08-31")
        })
        .await
        .unwrap();
    let by_commune: Vec<_> = by_commune
        .into_iter()
        .map(|r| (r.group.join(" / "), r.dossiers, r.lookups))
        .collect();
    assert_eq!(
        by_commune,
        [
            ("Phường Ba Đình, Hà Nội".to_owned(), 2, 1),
            ("Phường Hoàn Kiếm, Hà Nội".to_owned(), 2, 1),
        ]
    );
    // The auditor's command line says the same.
    let server_url = format!("https://localhost:{}", server.local_addr.port());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args([
                "audit",
                "ratio",
                "--from",
                "2025-08-01",
                "--to",
                "2025-08-31",
            ])
            .args([
                "--by",
                "commune",
                "--format",
                "csv",
                "--server",
                &server_url,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("VNPOP_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let csv = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{csv}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("\"Phường Ba Đình, Hà Nội\",2,1,"),
        "{csv}"
    );
    assert!(
        rows[1].starts_with("\"Phường Hoàn Kiếm, Hà Nội\",2,1,"),
        "{csv}"
    );
    // Nothing of the refused dossiers was recorded.
    assert!(rows[2].starts_with("TOTAL,4,2,"), "{csv}");
    gateway.shutdown().await;
}

/// A data directory written by a gateway from before dossiers named a commune (its index without
/// the column) opens: its dossiers are still known and verified, and new ones name communes.
#[tokio::test]
async fn a_gateway_data_directory_from_before_communes_still_opens() {
    let server = TestServer::start().await;
    let data_dir = common::data_dir();
    std::fs::create_dir_all(&data_dir).unwrap();
    {
        // The index as the gateway wrote it before (the schema of its first version).
        let old = rusqlite::Connection::open(data_dir.join("dossiers.sqlite")).unwrap();
        old.execute_batch(
            "CREATE TABLE dossiers (
                 dossier_id     TEXT PRIMARY KEY,
                 procedure_code TEXT NOT NULL,
                 district       TEXT NOT NULL,
                 officer_id     TEXT NOT NULL,
                 channel        TEXT NOT NULL,
                 received_at_ms INTEGER NOT NULL,
                 load_test      INTEGER NOT NULL
             );
             INSERT INTO dossiers VALUES
                 ('OLD-1', '1.004227', 'Quận Ba Đình', 'officer-017', 'desk', 1700000000000, 0);",
        )
        .unwrap();
    }
    let gateway = gateway::start(&gateway_config(server.local_addr.port(), &data_dir))
        .await
        .expect("the gateway opens the old data directory");
    let mut rest = Rest::new(gateway.local_addr);
    let old = rest.get("/v1/dossiers/OLD-1").await.unwrap();
    assert_eq!(old.status, 200, "{old:?}");
    assert_eq!(
        (&old.json["district"], &old.json["commune"]),
        (&json!("Quận Ba Đình"), &json!(""))
    );
    let answer = rest
        .post("/v1/dossiers/OLD-1/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let opened = rest
        .post(
            "/v1/dossiers",
            &at_commune("NEW-1", "Phường Ba Đình, Hà Nội"),
        )
        .await
        .unwrap();
    assert_eq!(opened.status, 201, "{opened:?}");
    gateway.flush(Duration::from_secs(30)).await.unwrap();
    gateway.shutdown().await;

    // Restarted on the migrated directory: both dossiers, as opened.
    let gateway = gateway::start(&gateway_config(server.local_addr.port(), &data_dir))
        .await
        .unwrap();
    let mut rest = Rest::new(gateway.local_addr);
    let new = rest.get("/v1/dossiers/NEW-1").await.unwrap();
    assert_eq!(new.json["commune"], "Phường Ba Đình, Hà Nội", "{new:?}");
    assert_eq!(rest.get("/health").await.unwrap().json["dossiers"], 2);
    gateway.shutdown().await;
}
