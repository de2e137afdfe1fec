//! VNeID authentication over real mTLS: level-1 and level-2 logins, every documented refusal,
//! lockout and unlock, expiry, and tokens verified offline with the published keys.

mod common;

use std::time::Duration;

use common::{
    answer_challenge, assert_reason, context, error_metadata, test_config, wrong_passcode,
    TestServer,
};
use tonic::Code;
use vnpop::{
    chip::{chip_read, tampered_chip_read, DocumentSigner, Tamper},
    client::{TokenVerifier, VneidClient},
    domain::{CccdNumber, TokenError},
    proto::{self, AuthFactor, VneidLevel},
    server::RunningServer,
    vneid::TestCredentials,
};

const AN: &str = "001090012345"; // level 2, card valid
const NGOC: &str = "079195001234"; // level 1
const TUAN: &str = "001098005555"; // level 1, card expired
const DECEASED: &str = "036050000777";
const REVOKED: &str = "048188004321"; // level 2, card revoked
const CHILD: &str = "001315000111"; // no account
const NO_ACCOUNT: &str = "010192000333";
const KHANG: &str = "075205000222"; // level 2, 2024 identity card
const DESK: &str = "one-stop-phuong-ba-dinh";
const HOSPITAL: &str = "hospital-bach-mai";

fn credentials(seed: u64, cccd: &str) -> TestCredentials {
    TestCredentials::derive(seed, CccdNumber::parse(cccd).unwrap())
}

fn genuine_chip(server: &RunningServer, seed: u64, cccd: &str) -> proto::ChipRead {
    let citizen = server.store.get(CccdNumber::parse(cccd).unwrap()).unwrap();
    chip_read(seed, &citizen, &DocumentSigner::development()).unwrap()
}

/// Start + complete with the right passcode and the current code.
async fn login(
    client: &VneidClient,
    seed: u64,
    cccd: &str,
    level: VneidLevel,
    chip: Option<proto::ChipRead>,
) -> proto::CompleteAuthenticationResponse {
    let started = client.start(&context(), cccd, level).await.unwrap();
    let creds = credentials(seed, cccd);
    answer_challenge(client, &started.challenge_id, &creds, chip)
        .await
        .unwrap()
}

#[tokio::test]
async fn level_one_login_and_offline_verification() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid(DESK).await;

    let started = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    assert_eq!(
        started.required_factors,
        vec![AuthFactor::Passcode as i32, AuthFactor::TotpCode as i32]
    );
    assert!(started.challenge_id.len() >= 22);
    let creds = credentials(seed, NGOC);
    let code = creds.current_code();
    let done = desk
        .complete(
            &context(),
            &started.challenge_id,
            &creds.passcode,
            &code,
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.level, VneidLevel::One as i32);

    // Offline, with the published keys: for this agency only.
    let verifier = desk.token_verifier().await.unwrap();
    let claims = verifier.verify(&done.token, DESK).unwrap();
    assert_eq!(claims.sub, NGOC);
    assert_eq!(claims.aud, DESK);
    assert_eq!(claims.iss, "vnpop");
    assert_eq!(claims.level, 1);
    assert_eq!(claims.acr, "vneid:level1");
    assert_eq!(claims.amr, ["pwd", "otp"]);
    assert_eq!(claims.dossier_id, context().dossier_id);
    assert_eq!(claims.exp, done.expires_at);
    assert_eq!(claims.exp - claims.iat, 600);
    assert_eq!(
        verifier.verify(&done.token, HOSPITAL),
        Err(TokenError::WrongAudience)
    );
    // Keys of another server (another key) do not verify it.
    let other = TestServer::start().await;
    let other_keys = other.vneid(DESK).await.token_verifier().await.unwrap();
    assert_eq!(
        other_keys.verify(&done.token, DESK),
        Err(TokenError::BadSignature)
    );
    other.stop().await;
    // The JWKS is plain JSON that any JOSE library reads.
    let (mut raw, _) = desk.raw();
    let json = raw
        .get_jwks(proto::GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json;
    assert!(json.contains(r#""crv":"Ed25519""#), "{json}");
    assert!(TokenVerifier::from_json(&json)
        .unwrap()
        .verify(&done.token, DESK)
        .is_ok());

    // Introspection: active for the agency it was issued to, not for another.
    let active = desk.introspect(&done.token).await.unwrap();
    assert!(active.active);
    assert_eq!(active.subject, NGOC);
    assert_eq!(active.level, VneidLevel::One as i32);
    let hospital = server.vneid(HOSPITAL).await;
    let inactive = hospital.introspect(&done.token).await.unwrap();
    assert!(!inactive.active);
    assert_eq!(inactive.inactive_reason, "wrong_audience");
    assert_eq!(
        hospital
            .introspect("not.a.token")
            .await
            .unwrap()
            .inactive_reason,
        "malformed"
    );

    // The same one-time code a second time: reused.
    let again = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    let error = desk
        .complete(
            &context(),
            &again.challenge_id,
            &creds.passcode,
            &code,
            None,
        )
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_CODE_REUSED");
    // A completed challenge cannot be completed twice.
    let error = desk
        .complete(
            &context(),
            &started.challenge_id,
            &creds.passcode,
            &code,
            None,
        )
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "VNEID_CHALLENGE_NOT_FOUND");

    // A level-1 login with an expired card still works (VNeID does not need the card at level 1).
    let tuan = login(&desk, seed, TUAN, VneidLevel::One, None).await;
    assert_eq!(verifier.verify(&tuan.token, DESK).unwrap().sub, TUAN);
}

#[tokio::test]
async fn level_two_login_needs_a_genuine_chip_of_the_citizen() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid(DESK).await;
    let creds = credentials(seed, AN);

    let started = desk.start(&context(), AN, VneidLevel::Two).await.unwrap();
    assert_eq!(
        started.required_factors,
        vec![
            AuthFactor::Passcode as i32,
            AuthFactor::TotpCode as i32,
            AuthFactor::ChipRead as i32
        ]
    );
    let id = &started.challenge_id;
    let error = answer_challenge(&desk, id, &creds, None).await.unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "VNEID_CHIP_REQUIRED");
    assert_eq!(error.invalid_fields(), ["chip_read"]);

    let signer = DocumentSigner::development();
    let an = server.store.get(CccdNumber::parse(AN).unwrap()).unwrap();
    let forged = tampered_chip_read(seed, &an, &signer, Tamper::Dg13).unwrap();
    let error = answer_challenge(&desk, id, &creds, Some(forged))
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_CHIP_REJECTED");
    assert_eq!(
        error_metadata(&error)["verdict"],
        "CHIP_VERDICT_DATA_GROUP_TAMPERED"
    );
    // Every detail it carries is a google.rpc type the server's reflection resolves
    // (tests/ecosystem.rs), so grpcurl decodes it rather than printing bytes.
    {
        use prost::Message;
        let status = error.status().expect("the server's answer");
        let details = tonic_types::Status::decode(status.details()).unwrap();
        assert!(!details.details.is_empty());
        for any in details.details {
            assert!(
                [
                    "type.googleapis.com/google.rpc.ErrorInfo",
                    "type.googleapis.com/google.rpc.BadRequest",
                    "type.googleapis.com/google.rpc.RetryInfo",
                ]
                .contains(&any.type_url.as_str()),
                "{}",
                any.type_url
            );
        }
    }

    // Someone else's genuine card.
    let khang = genuine_chip(&server, seed, KHANG);
    let error = answer_challenge(&desk, id, &creds, Some(khang))
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_CHIP_REJECTED");
    assert_eq!(error_metadata(&error)["verdict"], "OTHER_CITIZEN");

    // The citizen's own card: level 2.
    let done = answer_challenge(&desk, id, &creds, Some(genuine_chip(&server, seed, AN)))
        .await
        .unwrap();
    assert_eq!(done.level, VneidLevel::Two as i32);
    let claims = desk
        .token_verifier()
        .await
        .unwrap()
        .verify(&done.token, DESK)
        .unwrap();
    assert_eq!((claims.sub.as_str(), claims.level), (AN, 2));
    assert_eq!(claims.acr, "vneid:level2");
    assert_eq!(claims.amr, ["pwd", "otp", "sc"]);

    // A level-2 account may also log in at level 1, without the card.
    let level_one = login(&desk, seed, KHANG, VneidLevel::One, None).await;
    assert_eq!(level_one.level, VneidLevel::One as i32);
}

#[tokio::test]
async fn refusals_when_starting() {
    let server = TestServer::start().await;
    let desk = server.vneid(DESK).await;
    let cases = [
        (
            "001090999999",
            VneidLevel::One,
            Code::NotFound,
            "CITIZEN_NOT_FOUND",
        ),
        (
            NO_ACCOUNT,
            VneidLevel::One,
            Code::FailedPrecondition,
            "VNEID_NO_ACCOUNT",
        ),
        (
            CHILD,
            VneidLevel::One,
            Code::FailedPrecondition,
            "VNEID_NO_ACCOUNT",
        ),
        (
            NGOC,
            VneidLevel::Two,
            Code::FailedPrecondition,
            "VNEID_LEVEL_TOO_LOW",
        ),
        (
            DECEASED,
            VneidLevel::One,
            Code::FailedPrecondition,
            "VNEID_CITIZEN_DECEASED",
        ),
        (
            REVOKED,
            VneidLevel::One,
            Code::FailedPrecondition,
            "VNEID_CARD_REVOKED",
        ),
        (
            NGOC,
            VneidLevel::None,
            Code::InvalidArgument,
            "FIELD_INVALID",
        ),
        (
            "00109001234",
            VneidLevel::One,
            Code::InvalidArgument,
            "CCCD_MALFORMED",
        ),
    ];
    for (cccd, level, code, reason) in cases {
        let error = desk.start(&context(), cccd, level).await.unwrap_err();
        assert_reason(&error, code, reason);
        assert!(
            !error.to_string().contains(cccd) || cccd.len() != 12,
            "messages mask numbers: {error}"
        );
    }
    let error = desk
        .start(&context(), NGOC, VneidLevel::Two)
        .await
        .unwrap_err();
    let metadata = error_metadata(&error);
    assert_eq!(
        (
            metadata["account_level"].as_str(),
            metadata["requested_level"].as_str()
        ),
        ("1", "2")
    );

    // The request context is required, as for lookups.
    let mut incomplete = context();
    incomplete.dossier_id.clear();
    let error = desk
        .start(&incomplete, NGOC, VneidLevel::One)
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "REQUEST_CONTEXT_INCOMPLETE");
    assert_eq!(error.invalid_fields(), ["context.dossier_id"]);
    let started = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    let error = desk
        .complete(&incomplete, &started.challenge_id, "000000", "000000", None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "REQUEST_CONTEXT_INCOMPLETE");

    // The hospital's scope has neither `vneid_level` nor `card` nor `date_of_death`: it is told
    // that the citizen cannot authenticate, never why (no account, the account's level, a
    // revoked card, a death), and no metadata.
    let hospital = server.vneid(HOSPITAL).await;
    for (cccd, level) in [
        (NO_ACCOUNT, VneidLevel::One),
        (NGOC, VneidLevel::Two),
        (DECEASED, VneidLevel::One),
        (REVOKED, VneidLevel::One),
    ] {
        let error = hospital.start(&context(), cccd, level).await.unwrap_err();
        assert_reason(&error, Code::FailedPrecondition, "VNEID_REFUSED");
        assert!(error_metadata(&error).is_empty(), "{error}");
        for word in ["account", "level-1", "revoked", "deceased"] {
            assert!(!error.to_string().contains(word), "{word}: {error}");
        }
    }
    // What is about the login itself, or the citizen's number, is told as to everyone.
    let error = hospital
        .start(&context(), "001090999999", VneidLevel::One)
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "CITIZEN_NOT_FOUND");

    // Auditors do not authenticate citizens.
    let auditor = server.vneid("auditor-thanh-tra").await;
    let error = auditor
        .start(&context(), NGOC, VneidLevel::One)
        .await
        .unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}

#[tokio::test]
async fn wrong_factors_and_foreign_or_unknown_challenges() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let desk = server.vneid(DESK).await;
    let creds = credentials(seed, NGOC);
    let started = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    let id = &started.challenge_id;

    let error = answer_challenge(&desk, id, &wrong_passcode(&creds), None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_PASSCODE_WRONG");
    assert_eq!(error_metadata(&error)["attempts_left"], "4");
    assert!(!error.to_string().contains(&creds.passcode));

    let now = vnpop::vneid::credentials::unix_now();
    let stale = creds.code_at(now - 300);
    let error = desk
        .complete(&context(), id, &creds.passcode, &stale, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::Unauthenticated, "VNEID_CODE_WRONG");
    assert_eq!(error_metadata(&error)["attempts_left"], "3");

    // Another agency cannot use this agency's challenge; made-up ids are unknown.
    let hospital = server.vneid(HOSPITAL).await;
    let error = answer_challenge(&hospital, id, &creds, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "VNEID_CHALLENGE_NOT_FOUND");
    let error = answer_challenge(&desk, "made-up", &creds, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::NotFound, "VNEID_CHALLENGE_NOT_FOUND");

    // The challenge survives wrong answers: the right ones still pass, and clear the count.
    let done = answer_challenge(&desk, id, &creds, None).await.unwrap();
    assert!(!done.token.is_empty());
}

#[tokio::test]
async fn challenges_expire() {
    let mut config = test_config();
    config.challenge_lifetime = Duration::from_millis(300);
    let seed = config.population.seed;
    let server = TestServer::with_config(config).await;
    let desk = server.vneid(DESK).await;
    let creds = credentials(seed, NGOC);
    let started = desk.start(&context(), NGOC, VneidLevel::One).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let error = answer_challenge(&desk, &started.challenge_id, &creds, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::FailedPrecondition, "VNEID_CHALLENGE_EXPIRED");
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_lock_runs_out() {
    let mut config = test_config();
    config.lockout_duration = Duration::from_millis(1200);
    let seed = config.population.seed;
    let server = TestServer::with_config(config).await;
    let desk = server.vneid(DESK).await;
    let creds = credentials(seed, AN);
    let wrong = wrong_passcode(&creds);
    let started = desk.start(&context(), AN, VneidLevel::One).await.unwrap();
    for left in ["4", "3", "2", "1"] {
        let error = answer_challenge(&desk, &started.challenge_id, &wrong, None)
            .await
            .unwrap_err();
        assert_reason(&error, Code::Unauthenticated, "VNEID_PASSCODE_WRONG");
        assert_eq!(error_metadata(&error)["attempts_left"], left);
    }
    let error = answer_challenge(&desk, &started.challenge_id, &wrong, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "VNEID_ACCOUNT_LOCKED");
    assert!(error_metadata(&error).contains_key("unlocks_in_seconds"));

    // Locked: even the right credentials, and new authentications, are refused.
    let error = answer_challenge(&desk, &started.challenge_id, &creds, None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "VNEID_ACCOUNT_LOCKED");
    let error = desk
        .start(&context(), AN, VneidLevel::One)
        .await
        .unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "VNEID_ACCOUNT_LOCKED");
    // Other citizens are not affected.
    login(&desk, seed, NGOC, VneidLevel::One, None).await;

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let done = answer_challenge(&desk, &started.challenge_id, &creds, None)
        .await
        .unwrap();
    assert_eq!(done.level, VneidLevel::One as i32);
}

#[tokio::test]
async fn tokens_expire() {
    let mut config = test_config();
    config.token_lifetime = Duration::from_secs(1);
    let seed = config.population.seed;
    let server = TestServer::with_config(config).await;
    let desk = server.vneid(DESK).await;
    let done = login(&desk, seed, NGOC, VneidLevel::One, None).await;
    let verifier = desk.token_verifier().await.unwrap();
    assert!(verifier.verify(&done.token, DESK).is_ok());
    assert!(desk.introspect(&done.token).await.unwrap().active);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(verifier.verify(&done.token, DESK), Err(TokenError::Expired));
    let inactive = desk.introspect(&done.token).await.unwrap();
    assert!(!inactive.active);
    assert_eq!(inactive.inactive_reason, "expired");
}
