//! The gateway's gRPC services, each call recorded for its dossier.

use super::*;

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

/// The gateway serves gRPC reflection too, listing exactly what it serves (AgencyGateway
/// included, AuditTrail and QaAdministration not), as `grpcurl -plaintext localhost:8080 list`
/// shows.
#[tokio::test]
async fn the_gateways_reflection_lists_what_it_serves() {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let server = TestServer::start().await;
    let gateway = start_gateway(server.local_addr.port()).await;
    let channel = vnpop::client::connect_channel(&format!("http://{}", gateway.local_addr), None)
        .await
        .unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let answer = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a list: {answer:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "vnpop.v1.AgencyGateway",
            "vnpop.v1.ChipVerification",
            "vnpop.v1.CitizenRegistry",
            "vnpop.v1.VneidAuthentication",
        ]
    );
}
