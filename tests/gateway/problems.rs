//! What callers are refused, and how: problems with the gRPC code and reason, the API key.

use super::*;

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

    // What the HTTP layer refuses is a problem too: a body over the limit, a path whose dossier
    // id is not UTF-8 once percent-decoded.
    let answer = rest
        .raw("POST", "/v1/dossiers", &vec![b' '; 3 << 20])
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "FIELD_INVALID");
    assert_eq!(answer.json["invalidParams"][0]["name"], "body");
    let answer = rest
        .post("/v1/dossiers/%FF/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    answer.assert_problem(400, "INVALID_ARGUMENT", "FIELD_INVALID");
    assert_eq!(answer.json["invalidParams"][0]["name"], "dossier_id");

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
    config.api_key = Some("s3cret-key-0123456789".into());
    let gateway = gateway::start(&config).await.unwrap();
    let mut anonymous = Rest::new(gateway.local_addr);
    anonymous
        .get("/v1/dossiers/X")
        .await
        .unwrap()
        .assert_problem(401, "UNAUTHENTICATED", "API_KEY_MISSING");
    assert_eq!(anonymous.get("/health").await.unwrap().status, 200);
    let mut wrong = Rest::new(gateway.local_addr).with_api_key("s3cret-key-0123456788");
    wrong.get("/v1/dossiers/X").await.unwrap().assert_problem(
        401,
        "UNAUTHENTICATED",
        "API_KEY_INVALID",
    );
    // An empty key is refused, never a match: an empty x-api-key is a wrong key, an empty
    // bearer token (trimmed to "Bearer") no key at all.
    for (header, value, reason) in [
        ("x-api-key", "", "API_KEY_INVALID"),
        ("authorization", "Bearer ", "API_KEY_MISSING"),
    ] {
        let answer = raw_get(gateway.local_addr, "/v1/dossiers/X", header, value).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{header}: {answer}");
        assert!(answer.contains(reason), "{header}: {answer}");
    }
    let mut right = Rest::new(gateway.local_addr).with_api_key("s3cret-key-0123456789");
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

/// A GET with one header as given (`Rest` sends none empty), closing the connection; the answer
/// as text.
async fn raw_get(addr: std::net::SocketAddr, path: &str, header: &str, value: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: gw\r\n{header}: {value}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}
