//! The CitizenRegistry over real mTLS: lookups, scopes, verification, QR codes, and refusals.

mod common;

use common::{assert_reason, context, TestServer};
use tonic::{
    transport::{Certificate, ClientTlsConfig, Endpoint},
    Code,
};
use vnpop::{
    client::{ClientError, ClientTls, RegistryClient},
    proto::{self, citizen_registry_client::CitizenRegistryClient},
    security::certs::CertificateAuthority,
};

const AN: &str = "001090012345";
const DECEASED: &str = "036050000777";
const REVOKED: &str = "048188004321";
const EXPIRED: &str = "001098005555";
const CHILD: &str = "001315000111";

#[tokio::test]
async fn lookup_found_by_cccd_and_cmnd() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;

    let answer = desk.lookup_by_cccd(&context(), AN).await.unwrap();
    let citizen = answer.citizen.unwrap();
    assert_eq!(citizen.cccd_number, AN);
    assert_eq!(citizen.full_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(citizen.cmnd_number.as_deref(), Some("012345678"));
    assert_eq!(citizen.sex, Some(proto::Sex::Male as i32));
    assert_eq!(
        citizen.date_of_birth,
        Some(proto::Date {
            year: 1990,
            month: 3,
            day: 15
        })
    );
    assert_eq!(citizen.religion.as_deref(), Some("Không"));
    assert_eq!(citizen.status, proto::CitizenStatus::Active as i32);
    let card = citizen.card.unwrap();
    assert_eq!(card.r#type, proto::CardType::ChipCccd as i32);
    assert_eq!(card.state, proto::CardState::Valid as i32);
    assert_eq!(
        card.expiry_date,
        Some(proto::Date {
            year: 2030,
            month: 3,
            day: 15
        })
    );
    // The database answers in the two-level form in force since 1 July 2025, and offers the
    // pre-2025 form the 2021 card still prints.
    let address = citizen.permanent_address.unwrap();
    assert_eq!(
        address.formatted,
        "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
    );
    assert_eq!(
        (
            address.province_code.as_str(),
            address.province_name.as_str(),
            address.district.as_str(),
            address.ward.as_str(),
            address.commune_code.as_str()
        ),
        ("001", "Thành phố Hà Nội", "", "Phường Hoàn Kiếm", "00070")
    );
    let old = citizen.pre_reform_permanent_address.unwrap();
    assert_eq!(
        old.formatted,
        "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"
    );
    assert_eq!(old.district, "Quận Hoàn Kiếm");
    assert!(answer.withheld_fields.is_empty());

    let by_cmnd = desk.lookup_by_cmnd(&context(), "012345678").await.unwrap();
    assert_eq!(by_cmnd.citizen.unwrap().cccd_number, AN);

    // Generated citizens are found too, by both numbers, at both ends of the range.
    assert_eq!(server.store.len(), 5_000 + 8);
    let population = server.store.population();
    for index in [0, 4_999] {
        let citizen = population.citizen(index);
        let found = desk
            .lookup_by_cccd(&context(), &citizen.cccd.to_string())
            .await
            .unwrap();
        assert_eq!(found.citizen.unwrap().full_name, Some(citizen.full_name));
    }
    let holder = (0..5_000)
        .map(|index| population.citizen(index))
        .find(|c| c.cmnd.is_some())
        .unwrap();
    let found = desk
        .lookup_by_cmnd(&context(), &holder.cmnd.unwrap().to_string())
        .await
        .unwrap();
    assert_eq!(found.citizen.unwrap().cccd_number, holder.cccd.to_string());
}

#[tokio::test]
async fn lookup_not_found() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    // Well-formed, but nobody has it (serials of 999999 are not drawn for fixtures).
    let error = desk.lookup_by_cccd(&context(), "001090999999").await;
    let error = match error {
        Ok(found) => panic!(
            "unexpectedly found {:?}",
            found.citizen.map(|c| c.cccd_number)
        ),
        Err(e) => e,
    };
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");
    assert!(
        !error.to_string().contains("001090999999"),
        "messages mask numbers: {error}"
    );
    let error = desk
        .lookup_by_cmnd(&context(), "999999990")
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "CMND_NOT_FOUND");
}

#[tokio::test]
async fn invalid_numbers_name_the_wrong_part() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let cases = [
        ("00109001234", "CCCD_MALFORMED", "length"),
        ("0010900123456", "CCCD_MALFORMED", "length"),
        ("0A1090012345", "CCCD_MALFORMED", "province"),
        ("001X90012345", "CCCD_MALFORMED", "gender_century"),
        ("0010A0012345", "CCCD_MALFORMED", "birth_year"),
        ("00109001234Z", "CCCD_MALFORMED", "serial"),
        ("003090012345", "CCCD_UNKNOWN_PROVINCE", "province"),
        ("001490012345", "CCCD_CENTURY_IN_FUTURE", "gender_century"),
        ("001290012345", "CCCD_BIRTH_YEAR_IN_FUTURE", "birth_year"),
    ];
    for (number, reason, part) in cases {
        let error = desk.lookup_by_cccd(&context(), number).await.unwrap_err();
        assert_reason(&error, Code::InvalidArgument, reason);
        assert_eq!(error.invalid_fields(), vec!["cccd_number"], "{number}");
        let ClientError::Rpc(status) = &error else {
            panic!()
        };
        use tonic_types::StatusExt;
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.domain, "vnpop.v1");
        assert_eq!(info.metadata["part"], part, "{number}: {error}");
    }
    let error = desk.lookup_by_cmnd(&context(), "12345").await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CMND_MALFORMED");
    assert_eq!(error.invalid_fields(), vec!["cmnd_number"]);
}

#[tokio::test]
async fn deceased_and_revoked_citizens_say_so() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let dead = desk
        .lookup_by_cccd(&context(), DECEASED)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(dead.status, proto::CitizenStatus::Deceased as i32);
    // A dead holder's card has no effect: never answered valid beside the death.
    assert_eq!(
        dead.card.expect("the fixture holds a card").state,
        proto::CardState::Revoked as i32
    );
    let revoked = desk
        .lookup_by_cccd(&context(), REVOKED)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(revoked.status, proto::CitizenStatus::CardRevoked as i32);
    assert_eq!(
        revoked.card.unwrap().state,
        proto::CardState::Revoked as i32
    );
    let expired = desk
        .lookup_by_cccd(&context(), EXPIRED)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(
        expired.card.unwrap().state,
        proto::CardState::Expired as i32
    );
    let child = desk.lookup_by_cccd(&context(), CHILD).await.unwrap();
    assert!(
        child.citizen.unwrap().card.is_none(),
        "a child without a card has no card field"
    );
    assert!(child.withheld_fields.is_empty());
}

#[tokio::test]
async fn the_hospital_sees_less_than_the_one_stop_desk() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let hospital = server.registry("hospital-bach-mai").await;

    let full = desk
        .lookup_by_cccd(&context(), AN)
        .await
        .unwrap()
        .citizen
        .unwrap();
    let answer = hospital.lookup_by_cccd(&context(), AN).await.unwrap();
    let limited = answer.citizen.unwrap();
    assert_eq!(limited.full_name, full.full_name);
    assert_eq!(limited.date_of_birth, full.date_of_birth);
    assert_eq!(limited.permanent_address, full.permanent_address);
    // Outside the hospital's scope: absent, not empty.
    assert_eq!(limited.religion, None);
    assert_eq!(limited.ethnicity, None);
    assert_eq!(limited.cmnd_number, None);
    assert_eq!(limited.card, None);
    assert_eq!(limited.vneid_level, None);
    assert!(full.religion.is_some() && full.card.is_some() && full.vneid_level.is_some());
    let mut withheld = answer.withheld_fields.clone();
    withheld.sort();
    assert_eq!(
        withheld,
        [
            "card",
            "cmnd_number",
            "date_of_death",
            "ethnicity",
            "nationality",
            "place_of_origin",
            "religion",
            "vneid_level"
        ]
    );
    // The wire encoding really omits them.
    use prost::Message;
    assert!(limited.encoded_len() < full.encoded_len());

    // The auditor's certificate may not look citizens up at all.
    let auditor = server.registry("auditor-thanh-tra").await;
    let error = auditor.lookup_by_cccd(&context(), AN).await.unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}

#[tokio::test]
async fn verify_matches_names_without_diacritics() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let declared = |name: &str| proto::Declared {
        full_name: Some(name.to_owned()),
        date_of_birth: Some(proto::Date {
            year: 1990,
            month: 3,
            day: 15,
        }),
        sex: Some(proto::Sex::Male as i32),
        address: Some("8 Hang Bac, P. Hang Bac, Q. Hoan Kiem, Ha Noi".into()),
    };
    for (name, expected) in [
        ("Nguyễn Văn An", proto::MatchResult::Exact),
        ("NGUYỄN  VĂN AN", proto::MatchResult::Exact),
        ("NGUYEN VAN AN", proto::MatchResult::DiacriticInsensitive),
        ("nguyen van an", proto::MatchResult::DiacriticInsensitive),
    ] {
        let answer = desk
            .verify_demographics(&context(), AN, declared(name))
            .await
            .unwrap();
        assert!(answer.matched, "{name}: {answer:?}");
        assert_eq!(answer.fields[0].field, "full_name");
        assert_eq!(answer.fields[0].result, expected as i32, "{name}");
        assert_eq!(
            answer.fields[3].result,
            proto::MatchResult::DiacriticInsensitive as i32
        );
        assert!(answer.score >= 95, "{name}: {}", answer.score);
    }
    // đ/Đ folds to d.
    let child = proto::Declared {
        full_name: Some("DANG NGOC HAN".into()),
        ..Default::default()
    };
    let answer = desk
        .verify_demographics(&context(), CHILD, child)
        .await
        .unwrap();
    assert!(answer.matched);

    let wrong = proto::Declared {
        date_of_birth: Some(proto::Date {
            year: 1991,
            month: 3,
            day: 15,
        }),
        ..declared("Nguyen Van Anh")
    };
    let answer = desk
        .verify_demographics(&context(), AN, wrong)
        .await
        .unwrap();
    assert!(!answer.matched);
    assert_eq!(answer.fields[0].result, proto::MatchResult::NoMatch as i32);
    assert_eq!(answer.fields[1].result, proto::MatchResult::NoMatch as i32);

    // Addresses: the two-level form matches; today's commune with its former district mixes two
    // eras (PARTIAL, naming the district); a district it is not in, an unknown commune or one in
    // another province is NO_MATCH naming the part.
    for (address, result, part) in [
        (
            "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội",
            proto::MatchResult::Exact,
            "",
        ),
        (
            "8 Hàng Bạc, Phường Hoàn Kiếm, Quận Hoàn Kiếm, Thành phố Hà Nội",
            proto::MatchResult::Partial,
            "district:",
        ),
        (
            "8 Hàng Bạc, Phường Hoàn Kiếm, Quận Ba Đình, Thành phố Hà Nội",
            proto::MatchResult::NoMatch,
            "district:",
        ),
        (
            "8 Hàng Bạc, Phường Không Có, Thành phố Hà Nội",
            proto::MatchResult::NoMatch,
            "commune:",
        ),
        (
            "8 Hàng Bạc, Phường Hoàn Kiếm, Tỉnh Phú Thọ",
            proto::MatchResult::NoMatch,
            "commune:",
        ),
    ] {
        let only_address = proto::Declared {
            address: Some(address.into()),
            ..Default::default()
        };
        let answer = desk
            .verify_demographics(&context(), AN, only_address)
            .await
            .unwrap();
        let field = &answer.fields[0];
        assert_eq!(field.result, result as i32, "{address}: {answer:?}");
        assert!(field.problem.starts_with(part), "{address}: {answer:?}");
        assert_eq!(field.problem.is_empty(), part.is_empty(), "{address}");
    }
    assert!(answer.score < 50);

    let dead = desk
        .verify_demographics(
            &context(),
            DECEASED,
            proto::Declared {
                full_name: Some("Pham Van Duc".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dead.status, proto::CitizenStatus::Deceased as i32);

    let error = desk
        .verify_demographics(&context(), AN, proto::Declared::default())
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "DECLARED_EMPTY");
    let bad_date = proto::Declared {
        date_of_birth: Some(proto::Date {
            year: 1990,
            month: 2,
            day: 30,
        }),
        ..Default::default()
    };
    let error = desk
        .verify_demographics(&context(), AN, bad_date)
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FIELD_INVALID");
    assert_eq!(error.invalid_fields(), vec!["declared.date_of_birth"]);
}

#[tokio::test]
async fn qr_codes_valid_tampered_expired_and_worse() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let genuine = "001090012345|012345678|Nguyễn Văn An|15031990|Nam|8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội|01032021";
    let verdict =
        |answer: &proto::VerifyQrResponse| proto::QrVerdict::try_from(answer.verdict).unwrap();

    let answer = desk.verify_qr(&context(), genuine).await.unwrap();
    assert_eq!(verdict(&answer), proto::QrVerdict::Valid, "{answer:?}");
    assert_eq!(
        answer.expiry_date,
        Some(proto::Date {
            year: 2030,
            month: 3,
            day: 15
        })
    );
    // 2024 cards append parts; readers that drop diacritics still match.
    let extended = format!("{genuine}|Hà Nội|||");
    assert_eq!(
        verdict(&desk.verify_qr(&context(), &extended).await.unwrap()),
        proto::QrVerdict::Valid
    );

    let tampered = genuine
        .replace("Nguyễn Văn An", "Nguyễn Văn Bình")
        .replace("01032021", "01032022");
    let answer = desk.verify_qr(&context(), &tampered).await.unwrap();
    assert_eq!(verdict(&answer), proto::QrVerdict::Mismatch);
    assert_eq!(answer.mismatched_fields, ["full_name", "issue_date"]);
    let moved = genuine.replace("8 Hàng Bạc", "99 Hàng Bạc");
    let answer = desk.verify_qr(&context(), &moved).await.unwrap();
    assert_eq!(answer.mismatched_fields, ["address"]);
    // The old ward the card printed is in the converted record's commune: VALID. Written in the
    // two-level form it is the same place. Another ward, or a commune in another province, is not.
    let current = genuine.replace(
        "Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
        "Phường Hoàn Kiếm, Thành phố Hà Nội",
    );
    assert_eq!(
        verdict(&desk.verify_qr(&context(), &current).await.unwrap()),
        proto::QrVerdict::Valid
    );
    let wrong_ward = genuine.replace("Phường Hàng Bạc", "Phường Kim Mã");
    let answer = desk.verify_qr(&context(), &wrong_ward).await.unwrap();
    assert_eq!(verdict(&answer), proto::QrVerdict::Mismatch);
    assert_eq!(answer.mismatched_fields, ["address"]);
    assert!(answer.address_problem.starts_with("ward:"), "{answer:?}");
    let wrong_province = current.replace("Thành phố Hà Nội", "Tỉnh Phú Thọ");
    let answer = desk.verify_qr(&context(), &wrong_province).await.unwrap();
    assert_eq!(answer.mismatched_fields, ["address"]);
    assert!(
        answer.address_problem.starts_with("commune:")
            && answer.address_problem.contains("Thành phố Hà Nội"),
        "{answer:?}"
    );

    let expired = "001098005555|013555555|Hoàng Minh Tuấn|20071998|Nam|17 Xuân Thủy, Phường Dịch Vọng, Quận Cầu Giấy, Hà Nội|01032021";
    let answer = desk.verify_qr(&context(), expired).await.unwrap();
    assert_eq!(verdict(&answer), proto::QrVerdict::CardExpired);
    assert_eq!(
        answer.expiry_date,
        Some(proto::Date {
            year: 2023,
            month: 7,
            day: 20
        })
    );

    let revoked = "048188004321||Lê Thị Hồng|09091988|Nữ|45 Trần Phú, Phường Thạch Thang, Quận Hải Châu, Đà Nẵng|20012022";
    assert_eq!(
        verdict(&desk.verify_qr(&context(), revoked).await.unwrap()),
        proto::QrVerdict::CardRevoked
    );
    let dead = "036050000777|162000777|Phạm Văn Đức|20061950|Nam|21 Hàn Thuyên, Phường Trần Hưng Đạo, Thành phố Nam Định, Nam Định|10052021";
    assert_eq!(
        verdict(&desk.verify_qr(&context(), dead).await.unwrap()),
        proto::QrVerdict::CitizenDeceased
    );
    let unknown = genuine
        .replace("001090012345", "001090999999")
        .replace("|012345678|", "||");
    assert_eq!(
        verdict(&desk.verify_qr(&context(), &unknown).await.unwrap()),
        proto::QrVerdict::UnknownNumber
    );

    let error = desk
        .verify_qr(&context(), &genuine.replace("15031990", "31021990"))
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "QR_MALFORMED");
    assert_eq!(error.invalid_fields(), vec!["qr_payload.date_of_birth"]);
    let error = desk
        .verify_qr(&context(), &genuine.replace("|Nam|", "|Nữ|"))
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "QR_INCONSISTENT");
    let error = desk
        .verify_qr(&context(), "001090012345|Nguyễn Văn An")
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), vec!["qr_payload.parts"]);
}

#[tokio::test]
async fn a_request_without_a_dossier_id_is_refused() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let mut no_dossier = context();
    no_dossier.dossier_id = "  ".into();
    let error = desk.lookup_by_cccd(&no_dossier, AN).await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "REQUEST_CONTEXT_INCOMPLETE");
    assert_eq!(error.invalid_fields(), vec!["context.dossier_id"]);

    // No context at all: every field is named.
    let request = proto::LookupByCccdRequest {
        context: None,
        cccd_number: AN.into(),
    };
    let status = desk.raw().lookup_by_cccd(request).await.unwrap_err();
    let error = ClientError::Rpc(status);
    assert_eq!(
        error.invalid_fields(),
        vec![
            "context.dossier_id",
            "context.purpose",
            "context.officer_id"
        ]
    );
    // Verification and QR checks need it too.
    let error = desk.verify_qr(&no_dossier, "x").await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "REQUEST_CONTEXT_INCOMPLETE");
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_rejected() {
    let server = TestServer::start().await;
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    let ca_pem = std::fs::read_to_string(common::certs_dir().join("ca.pem")).unwrap();

    // Same subject as the real desk, but signed by a CA the server does not trust.
    let rogue_ca = CertificateAuthority::new("Rogue CA").unwrap();
    let rogue = rogue_ca
        .client("one-stop-phuong-ba-dinh", "UBND phường Ba Đình")
        .unwrap();
    let tls = ClientTls::from_pem(ca_pem.clone(), rogue.cert_pem, rogue.key_pem);
    let outcome = match RegistryClient::connect(&endpoint, Some(tls)).await {
        Err(e) => Err(e),
        Ok(client) => client.lookup_by_cccd(&context(), AN).await.map(|_| ()),
    };
    assert!(outcome.is_err(), "a rogue certificate must not be served");

    // Signed by the trusted CA, but for a subject no agency is configured for.
    let dir = common::certs_dir();
    let dev_ca = CertificateAuthority::from_pem(
        &ca_pem,
        &std::fs::read_to_string(dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let stranger = dev_ca.client("stranger", "Unknown agency").unwrap();
    let tls = ClientTls::from_pem(ca_pem.clone(), stranger.cert_pem, stranger.key_pem);
    let client = RegistryClient::connect(&endpoint, Some(tls)).await.unwrap();
    let error = client.lookup_by_cccd(&context(), AN).await.unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "AGENCY_UNKNOWN");

    // No client certificate at all: the handshake fails.
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca_pem))
        .domain_name("localhost");
    let outcome = match Endpoint::from_shared(endpoint.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
    {
        Err(e) => Err(e.to_string()),
        Ok(channel) => CitizenRegistryClient::new(channel)
            .lookup_by_cccd(proto::LookupByCccdRequest {
                context: None,
                cccd_number: AN.into(),
            })
            .await
            .map(|_| ())
            .map_err(|s| s.to_string()),
    };
    assert!(
        outcome.is_err(),
        "a client without a certificate must not be served"
    );

    // The genuine desk still works.
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    assert!(desk.lookup_by_cccd(&context(), AN).await.is_ok());
}

/// What the hospital's scope hides is listed the same for every citizen, whatever each has (a
/// CMND number, a card, a date of death, a pre-reform card address); nothing card-related shows
/// without the `card` scope, a revoked card's status included.
#[tokio::test]
async fn withheld_fields_say_what_the_scope_hides_never_what_the_citizen_lacks() {
    let server = TestServer::start().await;
    let hospital = server.registry("hospital-bach-mai").await;
    // An ordinary citizen, a child without a card, the deceased, a revoked card, no CMND.
    let mut lists = Vec::new();
    for cccd in [
        AN,
        "001315000111",
        "036050000777",
        "048188004321",
        "075205000222",
    ] {
        let answer = hospital.lookup_by_cccd(&context(), cccd).await.unwrap();
        let citizen = answer.citizen.unwrap();
        assert_eq!(citizen.pre_reform_permanent_address, None, "{cccd}");
        assert_ne!(
            citizen.status(),
            proto::CitizenStatus::CardRevoked,
            "{cccd}: a revoked card shows only with the card scope"
        );
        lists.push(answer.withheld_fields);
    }
    assert!(lists.windows(2).all(|w| w[0] == w[1]), "{lists:?}");
    // The one-stop desk, whose scope has the card, sees the revoked card.
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let revoked = desk
        .lookup_by_cccd(&context(), "048188004321")
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(revoked.status(), proto::CitizenStatus::CardRevoked);
}

/// An answer never mixes eras: on a day since 1 July 2025 the address and the place of origin
/// are in the two-level form (the card's pre-2025 forms beside them), on a day before both are
/// in the pre-2025 form (and nothing else is given).
#[tokio::test]
async fn an_answer_gives_the_address_and_the_place_of_origin_in_the_form_of_its_day() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let an = desk
        .lookup_by_cccd(&context(), AN)
        .await
        .unwrap()
        .citizen
        .unwrap();
    let origin = an.place_of_origin.unwrap();
    assert_eq!(
        (
            origin.province_code.as_str(),
            origin.province_name.as_str(),
            origin.district.as_str()
        ),
        ("001", "Thành phố Hà Nội", "")
    );
    let printed = an.pre_reform_place_of_origin.unwrap();
    assert_eq!(
        (printed.province_name.as_str(), printed.district.as_str()),
        ("Hà Nội", "Huyện Đông Anh")
    );
    // Nam Định's Giao Thủy is in Ninh Bình since the reform.
    let dead = desk
        .lookup_by_cccd(&context(), DECEASED)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(
        dead.place_of_origin.unwrap().province_name,
        "Tỉnh Ninh Bình"
    );
    assert_eq!(
        dead.pre_reform_place_of_origin.unwrap().district,
        "Huyện Giao Thủy"
    );
    // The hospital's scope has no card: no card's forms either.
    let hospital = server.registry("hospital-bach-mai").await;
    let seen = hospital
        .lookup_by_cccd(&context(), AN)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(seen.pre_reform_place_of_origin, None);

    // The same citizen on a day of 2023: every place in the pre-2025 form.
    let mut config = common::test_config();
    config.population.today = Some(chrono::NaiveDate::from_ymd_opt(2023, 6, 1).unwrap());
    let before = TestServer::with_config(config).await;
    let an = before
        .registry("one-stop-phuong-ba-dinh")
        .await
        .lookup_by_cccd(&context(), AN)
        .await
        .unwrap()
        .citizen
        .unwrap();
    assert_eq!(
        an.permanent_address.unwrap().formatted,
        "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"
    );
    let origin = an.place_of_origin.unwrap();
    assert_eq!(
        (origin.province_name.as_str(), origin.district.as_str()),
        ("Hà Nội", "Huyện Đông Anh")
    );
    assert_eq!(an.pre_reform_permanent_address, None);
    assert_eq!(an.pre_reform_place_of_origin, None);
}
