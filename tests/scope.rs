//! The field-scope table of the README ("Field scopes"), row by row, over real mTLS: what each
//! RPC reveals to the one-stop desk (every field) and to the hospital (name, date of birth, sex,
//! address), or to a narrower agency configured on the hospital's certificate.

mod common;

use common::{assert_reason, context, error_metadata, TestServer};
use tonic::Code;
use vnpop::{
    chip::{chip_read, tampered_chip_read, DocumentSigner, Tamper},
    domain::{CccdNumber, QrPayload},
    proto::{self, ChipVerdict, QrVerdict},
    server::RunningServer,
};

const AN: &str = "001090012345";
const AN_CMND: &str = "012345678";
const TUAN: &str = "001098005555"; // card expired
const DECEASED: &str = "036050000777";

async fn server() -> (TestServer, u64) {
    let config = common::test_config();
    let seed = config.population.seed;
    (TestServer::with_config(config).await, seed)
}

fn citizen(server: &RunningServer, cccd: &str) -> std::sync::Arc<vnpop::domain::Citizen> {
    server.store.get(CccdNumber::parse(cccd).unwrap()).unwrap()
}

#[tokio::test]
async fn row_lookup_values_are_absent_and_withheld() {
    let (server, _) = server().await;
    let hospital = server.registry("hospital-bach-mai").await;
    let answer = hospital.lookup_by_cccd(&context(), AN).await.unwrap();
    let c = answer.citizen.unwrap();
    assert!(c.full_name.is_some() && c.date_of_birth.is_some() && c.sex.is_some());
    assert!(c.permanent_address.is_some());
    assert_eq!((c.religion, c.ethnicity, c.nationality), (None, None, None));
    assert_eq!(c.place_of_origin, None);
    for field in ["religion", "ethnicity", "nationality", "place_of_origin"] {
        assert!(answer.withheld_fields.iter().any(|w| w == field), "{field}");
    }
}

#[tokio::test]
async fn row_card_dates_and_state_need_the_card_scope() {
    let (server, _) = server().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let hospital = server.registry("hospital-bach-mai").await;
    // Lookups: the card (dates and state) is absent, "card" withheld.
    let answer = hospital.lookup_by_cccd(&context(), TUAN).await.unwrap();
    assert_eq!(answer.citizen.unwrap().card, None);
    assert!(answer.withheld_fields.contains(&"card".to_owned()));

    // VerifyQr: no expiry date and no card state for the hospital.
    let qr = QrPayload::of(&citizen(&server, TUAN)).encode();
    let full = desk.verify_qr(&context(), &qr).await.unwrap();
    assert_eq!(full.verdict(), QrVerdict::CardExpired);
    assert!(full.expiry_date.is_some());
    assert!(
        full.withheld_fields.is_empty(),
        "{:?}",
        full.withheld_fields
    );
    let limited = hospital.verify_qr(&context(), &qr).await.unwrap();
    assert_eq!(limited.verdict(), QrVerdict::Valid);
    assert_eq!(limited.expiry_date, None);
    assert!(limited.withheld_fields.contains(&"card".to_owned()));
}

#[tokio::test]
async fn row_date_of_death_needs_its_scope() {
    let (server, _) = server().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let hospital = server.registry("hospital-bach-mai").await;
    let mut dead = (*citizen(&server, DECEASED)).clone();
    dead.date_of_death = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
    server.store.upsert(dead);
    let full = desk.lookup_by_cccd(&context(), DECEASED).await.unwrap();
    assert!(full.citizen.unwrap().date_of_death.is_some());
    let answer = hospital.lookup_by_cccd(&context(), DECEASED).await.unwrap();
    let c = answer.citizen.unwrap();
    assert_eq!(c.date_of_death, None);
    assert_eq!(
        c.status,
        proto::CitizenStatus::Deceased as i32,
        "always shown"
    );
    assert!(answer.withheld_fields.contains(&"date_of_death".to_owned()));
}

#[tokio::test]
async fn row_vneid_level_needs_its_scope() {
    let (server, _) = server().await;
    let hospital = server.registry("hospital-bach-mai").await;
    let answer = hospital.lookup_by_cccd(&context(), AN).await.unwrap();
    assert_eq!(answer.citizen.unwrap().vneid_level, None);
    assert!(answer.withheld_fields.contains(&"vneid_level".to_owned()));
}

#[tokio::test]
async fn row_lookup_by_cmnd_needs_the_cmnd_scope() {
    let (server, _) = server().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    assert!(desk.lookup_by_cmnd(&context(), AN_CMND).await.is_ok());
    let hospital = server.registry("hospital-bach-mai").await;
    let error = hospital
        .lookup_by_cmnd(&context(), AN_CMND)
        .await
        .unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "FIELD_OUT_OF_SCOPE");
    assert_eq!(error_metadata(&error)["field"], "cmnd_number");
}

#[tokio::test]
async fn row_declared_fields_outside_the_scope_are_refused() {
    // The hospital's certificate, configured with a name-only scope.
    let mut config = common::test_config();
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let agencies = config.data_dir.join("agencies.toml");
    std::fs::write(
        &agencies,
        "[[agency]]\nid = 'name-only'\nname = 'Name only'\ncommon_name = 'hospital-bach-mai'\n\
         role = 'agency'\nfields = ['full_name']\n",
    )
    .unwrap();
    config.agencies = Some(agencies);
    let server = TestServer::with_config(config).await;
    let narrow = server.registry("hospital-bach-mai").await;
    let name = proto::Declared {
        full_name: Some("Nguyễn Văn An".into()),
        ..Default::default()
    };
    assert!(
        narrow
            .verify_demographics(&context(), AN, name.clone())
            .await
            .unwrap()
            .matched
    );
    let cases = [
        (
            proto::Declared {
                date_of_birth: Some(proto::Date {
                    year: 1990,
                    month: 3,
                    day: 15,
                }),
                ..name.clone()
            },
            "declared.date_of_birth",
            "date_of_birth",
        ),
        (
            proto::Declared {
                sex: Some(proto::Sex::Male as i32),
                ..name.clone()
            },
            "declared.sex",
            "sex",
        ),
        (
            proto::Declared {
                address: Some("Hàng Bạc, Hoàn Kiếm, Hà Nội".into()),
                ..name.clone()
            },
            "declared.address",
            "permanent_address",
        ),
    ];
    for (declared, input, field) in cases {
        let error = narrow
            .verify_demographics(&context(), AN, declared)
            .await
            .unwrap_err();
        assert_reason(&error, Code::PermissionDenied, "FIELD_OUT_OF_SCOPE");
        assert_eq!(error_metadata(&error)["field"], field);
        assert_eq!(error.invalid_fields(), [input]);
    }
    // Through a QR code its date of birth is not compared either.
    let mut qr = QrPayload::of(&citizen(&server, AN));
    qr.date_of_birth = chrono::NaiveDate::from_ymd_opt(1990, 3, 16).unwrap();
    let answer = narrow.verify_qr(&context(), &qr.encode()).await.unwrap();
    assert_eq!(answer.verdict(), QrVerdict::Valid);
    assert!(answer.withheld_fields.contains(&"date_of_birth".to_owned()));
}

#[tokio::test]
async fn row_qr_compares_only_the_scope() {
    let (server, _) = server().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let hospital = server.registry("hospital-bach-mai").await;
    let mut qr = QrPayload::of(&citizen(&server, AN));
    qr.issue_date = chrono::NaiveDate::from_ymd_opt(2022, 1, 1);
    let text = qr.encode();
    let full = desk.verify_qr(&context(), &text).await.unwrap();
    assert_eq!(full.verdict(), QrVerdict::Mismatch);
    assert_eq!(full.mismatched_fields, ["issue_date"]);
    let limited = hospital.verify_qr(&context(), &text).await.unwrap();
    assert_eq!(limited.verdict(), QrVerdict::Valid);
    assert!(limited.mismatched_fields.is_empty());
    assert_eq!(limited.withheld_fields, ["cmnd_number", "card"]);
    // A name the hospital may see is compared.
    qr.full_name = "Trần Thị Bình".into();
    let limited = hospital.verify_qr(&context(), &qr.encode()).await.unwrap();
    assert_eq!(limited.mismatched_fields, ["full_name"]);
}

#[tokio::test]
async fn row_chip_differences_only_from_an_authentic_read_and_within_the_scope() {
    let (server, seed) = server().await;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let hospital = server.vneid("hospital-bach-mai").await;
    let an = citizen(&server, AN);
    let signer = DocumentSigner::development();

    // An unsigned guess (the name changed, the signature no longer matches): no comparison.
    let mut guess = tampered_chip_read(seed, &an, &signer, Tamper::Signature).unwrap();
    guess.data_groups.truncate(2);
    for read in [
        guess,
        tampered_chip_read(seed, &an, &signer, Tamper::Dg13).unwrap(),
        tampered_chip_read(seed, &an, &signer, Tamper::UnknownSigner).unwrap(),
    ] {
        let answer = desk.verify_chip(&context(), read).await.unwrap();
        assert!(answer.mismatched_fields.is_empty(), "{answer:?}");
        let names: Vec<&str> = answer.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["certificate_chain", "signature", "data_group_hashes"],
            "the database is not consulted"
        );
    }

    // An authentic read of another seed's personal data (parents' names differ): the desk is
    // told, the hospital (no `family` scope) is not.
    let other = chip_read(seed + 1, &an, &signer).unwrap();
    let full = desk.verify_chip(&context(), other.clone()).await.unwrap();
    assert_eq!(full.verdict(), ChipVerdict::DatabaseMismatch);
    assert!(full
        .mismatched_fields
        .contains(&"dg13.father_name".to_owned()));
    let limited = hospital.verify_chip(&context(), other).await.unwrap();
    assert!(
        limited
            .mismatched_fields
            .iter()
            .all(|f| !f.contains("father")),
        "{:?}",
        limited.mismatched_fields
    );
    assert!(limited.withheld_fields.contains(&"family".to_owned()));
    assert!(limited.withheld_fields.contains(&"religion".to_owned()));

    // A changed name the hospital may see, authentically signed: reported to both.
    let renamed = tampered_chip_read(seed, &an, &signer, Tamper::DatabaseMismatch).unwrap();
    let limited = hospital.verify_chip(&context(), renamed).await.unwrap();
    assert_eq!(limited.verdict(), ChipVerdict::DatabaseMismatch);
    assert!(limited
        .mismatched_fields
        .contains(&"dg13.full_name".to_owned()));
}
