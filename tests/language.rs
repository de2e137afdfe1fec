//! Messages in Vietnamese: a caller that sends `accept-language: vi` (or vi-VN) gets a
//! `google.rpc.LocalizedMessage` in locale vi-VN besides the English status message, with the
//! number masked as in the English one; without it, English only.

mod common;

use common::{assert_reason, context, TestServer};
use tonic::Code;
use tonic_types::StatusExt;
use vnpop::{
    client::{ClientError, Language},
    proto,
};

/// A well-formed number nobody has.
const NOBODY: &str = "001090999999";

fn localized(error: &ClientError) -> Option<(String, String)> {
    error
        .localized_message()
        .map(|message| (message.locale, message.message))
}

#[tokio::test]
async fn a_lookup_asked_in_vietnamese_is_refused_in_vietnamese_through_the_client_library() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;

    let english = desk.lookup_by_cccd(&context(), NOBODY).await.unwrap_err();
    assert_reason(&english, Code::NotFound, "CITIZEN_NOT_FOUND");
    assert_eq!(
        localized(&english),
        None,
        "English is the default: {english}"
    );

    let vietnamese = context().in_language(Language::Vietnamese);
    let error = desk.lookup_by_cccd(&vietnamese, NOBODY).await.unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");
    let (locale, message) = localized(&error).expect("a LocalizedMessage");
    assert_eq!(locale, "vi-VN");
    assert_eq!(
        message,
        "Không tìm thấy công dân có số định danh cá nhân 001******999; đề nghị kiểm tra lại số với người nộp hồ sơ."
    );
    assert!(!message.contains(NOBODY), "{message}");
    // The status message stays English, and the library gives the message in either language.
    assert!(error
        .to_string()
        .contains("no citizen has CCCD number 001******999"));
    assert_eq!(error.message_in(Language::Vietnamese), message);

    // An invalid argument keeps its field violation, and says which part in Vietnamese.
    let error = desk
        .lookup_by_cccd(&vietnamese, "00109001234")
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CCCD_MALFORMED");
    assert_eq!(error.invalid_fields(), ["cccd_number"]);
    let (_, message) = localized(&error).expect("a LocalizedMessage");
    assert!(
        message.contains("số phải gồm 12 chữ số, số đã nhập có 11 ký tự"),
        "{message}"
    );
}

fn request_context() -> Option<proto::RequestContext> {
    Some(proto::RequestContext {
        dossier_id: "000.00.01.H26-261206-0001".into(),
        purpose: "đăng ký thường trú".into(),
        officer_id: "officer-017".into(),
        ..Default::default()
    })
}

/// The metadata as any gRPC client sends it, `vi` or `vi-VN`, not only the library's.
#[tokio::test]
async fn accept_language_metadata_of_any_client_is_read() {
    let server = TestServer::start().await;
    let mut raw = server.registry("one-stop-phuong-ba-dinh").await.raw();
    for value in ["vi", "vi-VN", "vi-VN,vi;q=0.9,en;q=0.8"] {
        let mut request = tonic::Request::new(proto::LookupByCmndRequest {
            context: request_context(),
            cmnd_number: "999999999".into(),
        });
        request
            .metadata_mut()
            .insert("accept-language", value.parse().unwrap());
        let status = raw.lookup_by_cmnd(request).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let details = status.get_error_details();
        let message = details.localized_message().expect("a LocalizedMessage");
        assert_eq!(message.locale, "vi-VN", "{value}");
        assert!(
            message
                .message
                .starts_with("Không tìm thấy công dân gắn với số chứng minh nhân dân 99*****99;"),
            "{value}: {}",
            message.message
        );
    }
    let mut request = tonic::Request::new(proto::LookupByCmndRequest {
        context: request_context(),
        cmnd_number: "999999999".into(),
    });
    request
        .metadata_mut()
        .insert("accept-language", "en-US,en;q=0.9".parse().unwrap());
    let status = raw.lookup_by_cmnd(request).await.unwrap_err();
    assert!(status.get_error_details().localized_message().is_none());
}
