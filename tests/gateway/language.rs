//! Vietnamese through the gateway: `Accept-Language: vi` makes the problem's `detail` the
//! server's Vietnamese message (or the catalogue's, for the gateway's own refusals), and gRPC
//! callers' `accept-language` gets them the LocalizedMessage; English stays the default.

use tonic_types::StatusExt;
use vnpop::client::Language;

use super::*;

/// A well-formed number nobody has.
const NOBODY: &str = "001090999999";

#[tokio::test]
async fn accept_language_vi_gets_vietnamese_problems_and_localized_messages() {
    let server = TestServer::start().await;
    let gateway = start_gateway(server.local_addr.port()).await;

    let mut english = Rest::new(gateway.local_addr);
    let opened = english
        .post("/v1/dossiers", &open_body("L-1"))
        .await
        .unwrap();
    assert_eq!(opened.status, 201, "{opened:?}");
    let answer = english
        .post("/v1/dossiers/L-1/lookup-by-cccd", &lookup_body(NOBODY))
        .await
        .unwrap();
    answer.assert_problem(404, "NOT_FOUND", "CITIZEN_NOT_FOUND");
    assert_eq!(
        answer.json["detail"],
        "no citizen has CCCD number 001******999; check the number with the applicant"
    );

    let mut vietnamese = Rest::new(gateway.local_addr).with_header("accept-language", "vi");
    let answer = vietnamese
        .post("/v1/dossiers/L-1/lookup-by-cccd", &lookup_body(NOBODY))
        .await
        .unwrap();
    answer.assert_problem(404, "NOT_FOUND", "CITIZEN_NOT_FOUND");
    assert_eq!(
        answer.json["detail"],
        "Không tìm thấy công dân có số định danh cá nhân 001******999; đề nghị kiểm tra lại số với người nộp hồ sơ."
    );
    // The gateway's own refusal, from the catalogue.
    let answer = vietnamese
        .post("/v1/dossiers/NEVER/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    answer.assert_problem(404, "NOT_FOUND", "DOSSIER_NOT_OPENED");
    assert_eq!(
        answer.json["detail"].as_str(),
        vnpop::reason::Reason::DossierNotOpened.vietnamese()
    );

    // gRPC through the gateway: the server's LocalizedMessage, vi-VN.
    let channel = vnpop::client::connect_channel(&format!("http://{}", gateway.local_addr), None)
        .await
        .unwrap();
    let registry = RegistryClient::from_channel(channel);
    let context = LookupContext::new("L-1", "đăng ký thường trú", "officer-017")
        .in_language(Language::Vietnamese);
    let error = registry.lookup_by_cccd(&context, NOBODY).await.unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");
    let message = error.localized_message().expect("a LocalizedMessage");
    assert_eq!(message.locale, "vi-VN");
    assert!(
        message.message.contains("001******999"),
        "{}",
        message.message
    );
    // Through the typed (not pass-through) path too.
    let error = registry
        .lookup_by_cmnd(&context, "999999999")
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "CMND_NOT_FOUND");
    let ClientError::Rpc(status) = &error else {
        panic!("{error}");
    };
    let details = status.get_error_details();
    let message = details.localized_message().expect("a LocalizedMessage");
    assert_eq!(message.locale, "vi-VN");
    assert!(message.message.contains("99*****99"), "{}", message.message);
    gateway.shutdown().await;
}
