//! Chip-card verification over real mTLS: a genuine read, each data group tampered, a broken
//! signature, a signer outside the CSCA, disagreement with the database, the card's state, and
//! unreadable requests.

mod common;

use common::{assert_reason, context, test_config, TestServer};
use tonic::Code;
use vnpop::{
    chip::{
        chip_read, decode_chip_read, encode_chip_read, tampered_chip_read, DocumentSigner, Tamper,
    },
    domain::CccdNumber,
    proto::{self, ChipVerdict},
    server::RunningServer,
};

const AN: &str = "001090012345";
const TUAN: &str = "001098005555"; // card expired
const DECEASED: &str = "036050000777";
const REVOKED: &str = "048188004321";
const CHILD: &str = "001315000111"; // no card

fn read(server: &RunningServer, seed: u64, cccd: &str, tamper: Option<Tamper>) -> proto::ChipRead {
    let citizen = server.store.get(CccdNumber::parse(cccd).unwrap()).unwrap();
    let signer = DocumentSigner::development();
    match tamper {
        None => chip_read(seed, &citizen, &signer).unwrap(),
        Some(tamper) => tampered_chip_read(seed, &citizen, &signer, tamper).unwrap(),
    }
}

fn failed_checks(answer: &proto::VerifyChipReadResponse) -> Vec<&str> {
    answer
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
}

#[tokio::test]
async fn a_genuine_read_is_valid() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let answer = desk
        .verify_chip(&context(), read(&server, seed, AN, None))
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::Valid, "{:?}", answer.checks);
    let names: Vec<&str> = answer.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "certificate_chain",
            "signature",
            "data_group_hashes",
            "citizen",
            "database",
            "card_state"
        ]
    );
    assert!(answer
        .checks
        .iter()
        .all(|c| c.passed && c.detail.is_empty()));
    assert_eq!(answer.document_number, AN);

    // A generated citizen's card too (not only fixtures).
    let generated = (0..1_000)
        .map(|index| server.store.population().citizen(index))
        .find(|c| c.card.is_some());
    {
        let citizen = generated.expect("card holders among the first thousand citizens");
        let genuine = chip_read(seed, &citizen, &DocumentSigner::development()).unwrap();
        let answer = desk.verify_chip(&context(), genuine).await.unwrap();
        assert!(
            matches!(
                answer.verdict(),
                ChipVerdict::Valid
                    | ChipVerdict::CardExpired
                    | ChipVerdict::CardRevoked
                    | ChipVerdict::CitizenDeceased
            ),
            "{:?}",
            answer.checks
        );
        assert!(answer.mismatched_fields.is_empty());
    }

    // The CLI's text form round-trips.
    let genuine = read(&server, seed, AN, None);
    assert_eq!(
        decode_chip_read(&encode_chip_read(&genuine)).unwrap(),
        genuine
    );
}

#[tokio::test]
async fn each_tampering_is_named() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;

    let answer = desk
        .verify_chip(&context(), read(&server, seed, AN, Some(Tamper::Dg1)))
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::DataGroupTampered);
    assert_eq!(answer.tampered_data_groups, [1]);
    assert_eq!(failed_checks(&answer)[0], "data_group_hashes");

    let answer = desk
        .verify_chip(&context(), read(&server, seed, AN, Some(Tamper::Dg13)))
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::DataGroupTampered);
    assert_eq!(answer.tampered_data_groups, [13]);

    // Both data groups swapped for another citizen's: both hashes fail.
    let mut swapped = read(&server, seed, AN, None);
    swapped.data_groups = read(&server, seed, TUAN, None).data_groups;
    let answer = desk.verify_chip(&context(), swapped).await.unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::DataGroupTampered);
    assert_eq!(answer.tampered_data_groups, [1, 13]);

    let answer = desk
        .verify_chip(&context(), read(&server, seed, AN, Some(Tamper::Signature)))
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::BadSignature);
    assert_eq!(failed_checks(&answer), ["signature"]);

    // A signed-content change (another document number) breaks the signature as well.
    let mut renumbered = read(&server, seed, AN, None);
    let sod = renumbered.security_object.as_mut().unwrap();
    let last = sod.signed_content.len() - 1;
    sod.signed_content[last] ^= 0x01;
    let answer = desk.verify_chip(&context(), renumbered).await.unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::BadSignature);

    let answer = desk
        .verify_chip(
            &context(),
            read(&server, seed, AN, Some(Tamper::UnknownSigner)),
        )
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::UnknownSigner);
    assert_eq!(failed_checks(&answer), ["certificate_chain"]);
    assert!(
        answer.checks[0].detail.contains("not by the CSCA"),
        "{:?}",
        answer.checks[0]
    );

    let answer = desk
        .verify_chip(
            &context(),
            read(&server, seed, AN, Some(Tamper::DatabaseMismatch)),
        )
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::DatabaseMismatch);
    assert_eq!(
        answer.mismatched_fields,
        ["dg1.full_name", "dg13.full_name"]
    );
    assert_eq!(failed_checks(&answer), ["database"]);
}

#[tokio::test]
async fn the_database_decides_the_cards_state() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    for (cccd, verdict) in [
        (TUAN, ChipVerdict::CardExpired),
        (REVOKED, ChipVerdict::CardRevoked),
        (DECEASED, ChipVerdict::CitizenDeceased),
    ] {
        let answer = desk
            .verify_chip(&context(), read(&server, seed, cccd, None))
            .await
            .unwrap();
        assert_eq!(answer.verdict(), verdict, "{cccd}: {:?}", answer.checks);
    }

    // A genuine chip whose number the database does not hold.
    let mut stranger = (*server.store.get(CccdNumber::parse(AN).unwrap()).unwrap()).clone();
    stranger.cccd = CccdNumber::parse("001090999999").unwrap();
    let unknown = chip_read(seed, &stranger, &DocumentSigner::development()).unwrap();
    let answer = desk.verify_chip(&context(), unknown).await.unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::UnknownNumber);

    // No card, no chip.
    let child = server.store.get(CccdNumber::parse(CHILD).unwrap()).unwrap();
    assert!(chip_read(seed, &child, &DocumentSigner::development()).is_err());
}

#[tokio::test]
async fn unreadable_requests_are_refused() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let error = desk
        .verify_chip(&context(), proto::ChipRead::default())
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CHIP_READ_MALFORMED");
    assert_eq!(error.invalid_fields(), ["chip_read.security_object"]);

    let mut no_dg13 = read(&server, seed, AN, None);
    no_dg13.data_groups.retain(|g| g.number != 13);
    let error = desk.verify_chip(&context(), no_dg13).await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CHIP_READ_MALFORMED");

    let mut incomplete = context();
    incomplete.purpose.clear();
    let error = desk
        .verify_chip(&incomplete, read(&server, seed, AN, None))
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "REQUEST_CONTEXT_INCOMPLETE");

    let auditor = server.vneid("auditor-thanh-tra").await;
    let error = auditor
        .verify_chip(&context(), read(&server, seed, AN, None))
        .await
        .unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}

#[tokio::test]
async fn the_trusted_csca_is_configurable() {
    // A server that trusts another CSCA refuses the development document signer's reads.
    let other =
        vnpop::security::certs::CertificateAuthority::country_signing_ca("Another CSCA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("csca.pem");
    std::fs::write(&path, &other.cert_pem).unwrap();
    let mut config = test_config();
    config.csca = Some(path);
    let seed = config.population.seed;
    let server = TestServer::with_config(config).await;
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let answer = desk
        .verify_chip(&context(), read(&server, seed, AN, None))
        .await
        .unwrap();
    assert_eq!(answer.verdict(), ChipVerdict::UnknownSigner);
}
