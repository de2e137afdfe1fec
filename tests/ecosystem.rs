//! What surrounds the registry: health and reflection on the same port (so grpcurl and
//! grpc_health_probe work without the .proto files), fixtures files, and the plaintext mode.

mod common;

use std::io::Write;

use common::{agency_tls, context, test_config, TestServer};
use tokio_stream::StreamExt;
use tonic::transport::Endpoint;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_reflection::pb::v1::{
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse, ServerReflectionRequest,
};
use vnpop::client::RegistryClient;

async fn mtls_channel(port: u16) -> tonic::transport::Channel {
    let tls = agency_tls("one-stop-phuong-ba-dinh");
    let config = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca_pem))
        .identity(tonic::transport::Identity::from_pem(
            &tls.cert_pem,
            &tls.key_pem,
        ))
        .domain_name("localhost");
    Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(config)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_and_reflection_are_served_on_the_same_port() {
    let server = TestServer::start().await;
    let channel = mtls_channel(server.local_addr.port()).await;

    let mut health = HealthClient::new(channel.clone());
    for service in ["", "vnpop.v1.CitizenRegistry"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"vnpop.v1.CitizenRegistry"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

/// What a reflection client (grpcurl, Postman, grpcui) asks to decode an error's details: the file
/// defining a symbol, then each file it imports. Every file is returned decoded, by name.
async fn resolve(
    reflection: &mut ServerReflectionClient<tonic::transport::Channel>,
    request: MessageRequest,
) -> Vec<prost_types::FileDescriptorProto> {
    use prost::Message;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let answer = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap();
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
            .collect(),
        other => panic!("expected file descriptors, got {other:?}"),
    }
}

#[tokio::test]
async fn reflection_resolves_the_error_detail_types() {
    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(mtls_channel(server.local_addr.port()).await);
    // The details every vnpop error carries (src/error/status.rs), by their type URLs' names.
    for symbol in [
        "google.rpc.ErrorInfo",
        "google.rpc.BadRequest",
        "google.rpc.RetryInfo",
    ] {
        let files = resolve(
            &mut reflection,
            MessageRequest::FileContainingSymbol(symbol.into()),
        )
        .await;
        let message = symbol.trim_start_matches("google.rpc.");
        let defining = files
            .iter()
            .find(|f| {
                f.package() == "google.rpc" && f.message_type.iter().any(|m| m.name() == message)
            })
            .unwrap_or_else(|| panic!("no file defines {symbol}: {files:?}"));
        assert_eq!(defining.name(), "google/rpc/error_details.proto");
        // Its imports resolve too (grpcurl fails on a missing one).
        for import in &defining.dependency {
            let files = resolve(
                &mut reflection,
                MessageRequest::FileByFilename(import.clone()),
            )
            .await;
            assert!(
                files.iter().any(|f| f.name() == import),
                "{import} is not served"
            );
        }
    }
}

#[tokio::test]
async fn a_fixtures_file_adds_and_overrides_citizens() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"{{ "citizens": [
        {{ "cccd_number": "001090012345", "full_name": "Nguyễn Văn Bình", "date_of_birth": "1990-03-15",
           "sex": "male", "place_of_origin": {{ "province_code": "001", "district": "Huyện Đông Anh" }},
           "permanent_address": {{ "province_code": "001", "district": "Quận Ba Đình", "ward": "Phường Kim Mã", "street": "1 Kim Mã" }} }},
        {{ "cccd_number": "092301000042", "full_name": "Thạch Thị Sa Ly", "date_of_birth": "2001-05-05",
           "sex": "female", "ethnicity": "Khmer", "place_of_origin": {{ "province_code": "092", "district": "Quận Ninh Kiều" }},
           "permanent_address": {{ "province_code": "092", "district": "Quận Ninh Kiều", "ward": "Phường Tân An", "street": "3 Ngô Quyền" }},
           "card": {{ "issue_date": "2024-09-01", "expiry_date": "2026-11-23" }}, "vneid_level": "2" }}
        ] }}"#
    )
    .unwrap();
    let mut config = test_config();
    config.population.fixtures = Some(file.path().to_owned());
    let server = TestServer::with_config(config).await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;

    let overridden = desk
        .lookup_by_cccd(&context(), "001090012345")
        .await
        .unwrap();
    let overridden = overridden.citizen.unwrap();
    assert_eq!(overridden.full_name.as_deref(), Some("Nguyễn Văn Bình"));
    assert_eq!(
        overridden.card, None,
        "the override replaces the whole record"
    );
    let added = desk
        .lookup_by_cccd(&context(), "092301000042")
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(added.ethnicity.as_deref(), Some("Khmer"));
    // A card expiring today (the tests' today is 2026-11-23) is expired.
    assert_eq!(
        added.card.unwrap().state,
        vnpop::proto::CardState::Expired as i32
    );
}

#[test]
fn a_bad_fixtures_file_stops_startup_with_a_clear_error() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"{{ "citizens": [ {{ "cccd_number": "001190012345", "full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-15",
           "sex": "male", "place_of_origin": {{ "province_code": "001", "district": "X" }},
           "permanent_address": {{ "province_code": "001", "district": "X", "ward": "Y", "street": "Z" }} }} ] }}"#
    )
    .unwrap();
    let mut config = test_config();
    config.population.fixtures = Some(file.path().to_owned());
    let error = vnpop::server::ServerState::build(&config)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("#0") && error.contains("cccd_number") && error.contains("gender"),
        "{error}"
    );
}

#[tokio::test]
async fn plaintext_mode_only_behind_the_flag() {
    let mut config = test_config();
    config.insecure = true;
    config.insecure_agency = "hospital-bach-mai".into();
    let server = TestServer::with_config(config).await;
    let endpoint = format!("http://127.0.0.1:{}", server.local_addr.port());
    let client = RegistryClient::connect(&endpoint, None).await.unwrap();
    let answer = client
        .lookup_by_cccd(&context(), "001090012345")
        .await
        .unwrap();
    // Every caller is the configured agency: the hospital's scope applies.
    assert_eq!(answer.citizen.unwrap().religion, None);
    server.stop().await;

    // A plaintext client cannot talk to the default (mTLS) server.
    let server = TestServer::start().await;
    let endpoint = format!("http://127.0.0.1:{}", server.local_addr.port());
    let outcome = match RegistryClient::connect(&endpoint, None).await {
        Err(_) => true,
        Ok(client) => client
            .lookup_by_cccd(&context(), "001090012345")
            .await
            .is_err(),
    };
    assert!(outcome, "plaintext must be refused by an mTLS server");
}
