//! The tonic implementation of `vnpop.v1.VneidAuthentication`.
//!
//! StartAuthentication: identify the agency and its role, check the request context, parse the
//! number and level, check the citizen and account (alive, has an account of the level, card not
//! revoked, not locked), then hand out a challenge. CompleteAuthentication: find the agency's
//! challenge, check the account again, then the passcode, the one-time code (once only), and at
//! level 2 the chip read; every wrong factor counts towards the lockout. Logs carry masked
//! numbers only, never a credential.

use std::{sync::Arc, time::Instant};

use tonic::{Request, Response, Status};

use super::{
    challenges::{ChallengeError, ChallengeRefused, ChallengeStore},
    credentials::{unix_now, TestCredentials, TOTP_STEP},
    lockout::Lockout,
    replay::UsedCodes,
    tokens::{Grant, TokenIssuer},
    AuthSettings,
};
use crate::{
    audit::recorder::Action,
    chip::{service::verdict_proto, ChipVerification, ChipVerifier, MalformedChipRead},
    domain::{CccdNumber, Citizen, CitizenStatus, VneidLevel},
    error::{bounded, ApiError},
    proto::{self, vneid_authentication_server::VneidAuthentication},
    registry::scope,
    security::{Agency, FieldScope},
    serving::{respond, Answered, Outcome, Refused, Serving},
    store::CitizenStore,
    vocabulary::{self, Answer, Rpc},
};

/// What a handler of this service returns: a recorded answer, or why there is none.
type Served<T> = Result<Answered<T>, Refused>;

/// The longest challenge id looked at (ids are 22 characters).
const MAX_CHALLENGE_ID_BYTES: usize = 64;
/// The longest passcode or one-time code looked at (both are 6 digits).
const MAX_FACTOR_BYTES: usize = 32;
/// The longest token looked at (vnpop's are about 400 bytes).
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest CCCD number looked at.
const MAX_NUMBER_BYTES: usize = 32;

/// Accounts tracked by the lockout and replay maps at most.
const TRACKED_ACCOUNTS: usize = 100_000;

#[derive(Debug)]
pub struct VneidService {
    store: Arc<CitizenStore>,
    /// The caller check and the audit record of every authentication, like lookups.
    serving: Serving,
    chip: Arc<ChipVerifier>,
    tokens: Arc<TokenIssuer>,
    challenges: ChallengeStore,
    lockout: Lockout,
    used_codes: UsedCodes,
    seed: u64,
}

impl VneidService {
    pub fn new(
        store: Arc<CitizenStore>,
        serving: Serving,
        chip: Arc<ChipVerifier>,
        tokens: Arc<TokenIssuer>,
        settings: AuthSettings,
    ) -> Self {
        VneidService {
            store,
            serving,
            seed: chip.seed,
            chip,
            tokens,
            challenges: ChallengeStore::new(
                settings.challenge_lifetime,
                settings.max_challenges,
                settings.max_challenges_per_agency,
            ),
            lockout: Lockout::new(
                settings.lockout_threshold,
                settings.citizen_lockout_threshold,
                settings.lockout_window,
                settings.lockout_duration,
                TRACKED_ACCOUNTS,
            ),
            used_codes: UsedCodes::new(TRACKED_ACCOUNTS),
        }
    }

    /// Refuses citizens whose account cannot authenticate at `level`.
    fn check_account(citizen: &Citizen, level: VneidLevel) -> Result<(), ApiError> {
        let masked = citizen.cccd.masked();
        if citizen.status == CitizenStatus::Deceased {
            return Err(ApiError::VneidCitizenDeceased { masked });
        }
        if citizen.vneid == VneidLevel::None {
            return Err(ApiError::VneidNoAccount { masked });
        }
        if citizen.status == CitizenStatus::CardRevoked {
            return Err(ApiError::VneidCardRevoked { masked });
        }
        if level_number(citizen.vneid) < level_number(level) {
            return Err(ApiError::VneidLevelTooLow {
                masked,
                account: level_number(citizen.vneid),
                requested: level_number(level),
            });
        }
        Ok(())
    }

    fn check_unlocked(&self, cccd: CccdNumber, agency: &str, now: Instant) -> Result<(), ApiError> {
        self.lockout
            .check(cccd, agency, now)
            .map_err(|unlocks_in| ApiError::VneidAccountLocked {
                masked: cccd.masked(),
                unlocks_in,
            })
    }

    /// Counts a failed factor; the error to answer (locked once the threshold is reached).
    fn fail(
        &self,
        cccd: CccdNumber,
        agency: &str,
        now: Instant,
        error: impl FnOnce(u32) -> ApiError,
    ) -> ApiError {
        match self.lockout.record_failure(cccd, agency, now) {
            0 => ApiError::VneidAccountLocked {
                masked: cccd.masked(),
                unlocks_in: self
                    .lockout
                    .check(cccd, agency, now)
                    .err()
                    .unwrap_or_default(),
            },
            attempts_left => error(attempts_left),
        }
    }

    /// The checks of CompleteAuthentication up to the token. A failure names the citizen whenever
    /// the challenge did (everything after finding it), so the failed login is recorded under
    /// their keyed subject and shows in their access log.
    fn complete(
        &self,
        agency: &Agency,
        request: &proto::CompleteAuthenticationRequest,
        chip: Option<Result<ChipVerification, MalformedChipRead>>,
        now: Instant,
    ) -> Result<(CccdNumber, VneidLevel), (Option<CccdNumber>, ApiError)> {
        let challenge = self
            .challenges
            .get(&request.challenge_id, &agency.id, now)
            .map_err(|e| {
                let error = match e {
                    ChallengeError::NotFound => ApiError::VneidChallengeNotFound,
                    ChallengeError::Expired => ApiError::VneidChallengeExpired,
                };
                (None, error)
            })?;
        let cccd = challenge.cccd;
        self.complete_challenge(agency, request, chip, now, cccd, challenge.level)
            .map(|level| (cccd, level))
            .map_err(|error| (Some(cccd), error))
    }

    /// [`VneidService::complete`] once the challenge (for `cccd` at `level`) is found.
    fn complete_challenge(
        &self,
        agency: &Agency,
        request: &proto::CompleteAuthenticationRequest,
        chip: Option<Result<ChipVerification, MalformedChipRead>>,
        now: Instant,
        cccd: CccdNumber,
        level: VneidLevel,
    ) -> Result<VneidLevel, ApiError> {
        if level == VneidLevel::Level2 && chip.is_none() {
            return Err(ApiError::VneidChipRequired);
        }
        let citizen = self.store.get(cccd).ok_or(ApiError::CitizenNotFound {
            masked: cccd.masked(),
        })?;
        Self::check_account(&citizen, level)?;
        self.check_unlocked(cccd, &agency.id, now)?;

        let credentials = TestCredentials::derive(self.seed, cccd);
        if !credentials.passcode_matches(&request.passcode) {
            return Err(self.fail(cccd, &agency.id, now, |attempts_left| {
                ApiError::VneidPasscodeWrong { attempts_left }
            }));
        }
        let unix = unix_now();
        let Some(step) = credentials.code_step(request.totp_code.trim(), unix) else {
            return Err(self.fail(cccd, &agency.id, now, |attempts_left| {
                ApiError::VneidCodeWrong { attempts_left }
            }));
        };
        if let Some(report) = chip {
            if level == VneidLevel::Level2 {
                self.check_chip(agency, cccd, report, now)?;
            }
        }
        if !self.used_codes.use_step(cccd, step, unix / TOTP_STEP) {
            return Err(self.fail(cccd, &agency.id, now, |_| ApiError::VneidCodeReused));
        }
        if !self.challenges.consume(&request.challenge_id) {
            return Err(ApiError::VneidChallengeNotFound);
        }
        self.lockout.record_success(cccd, &agency.id);
        Ok(level)
    }

    /// Level 2: the chip must be genuine, valid, agree with the database, and be this citizen's.
    fn check_chip(
        &self,
        agency: &Agency,
        cccd: CccdNumber,
        report: Result<ChipVerification, MalformedChipRead>,
        now: Instant,
    ) -> Result<(), ApiError> {
        let report = report.map_err(|e| ApiError::ChipReadMalformed {
            field: format!("chip_read.{}", e.field.trim_start_matches("chip_read.")),
            message: e.message,
        })?;
        if !report.is_valid() {
            let detail = report
                .checks
                .iter()
                .find_map(|c| c.outcome.clone().err())
                .unwrap_or_default();
            let verdict = verdict_proto(report.verdict).as_str_name();
            return Err(
                self.fail(cccd, &agency.id, now, |_| ApiError::VneidChipRejected {
                    verdict,
                    detail,
                }),
            );
        }
        if report.document_number != cccd.to_string() {
            return Err(
                self.fail(cccd, &agency.id, now, |_| ApiError::VneidChipRejected {
                    verdict: "OTHER_CITIZEN",
                    detail: "the chip belongs to another citizen".into(),
                }),
            );
        }
        Ok(())
    }
}

fn level_number(level: VneidLevel) -> u8 {
    match level {
        VneidLevel::None => 0,
        VneidLevel::Level1 => 1,
        VneidLevel::Level2 => 2,
    }
}

fn level_proto(level: VneidLevel) -> proto::VneidLevel {
    match level {
        VneidLevel::None => proto::VneidLevel::None,
        VneidLevel::Level1 => proto::VneidLevel::One,
        VneidLevel::Level2 => proto::VneidLevel::Two,
    }
}

impl VneidService {
    /// StartAuthentication, recorded: the number and level read (a refusal of either recorded
    /// too), then the citizen's account checked and a challenge handed out.
    async fn start_served(
        &self,
        request: Request<proto::StartAuthenticationRequest>,
    ) -> Served<proto::StartAuthenticationResponse> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::StartAuthentication, |r| r.context.take())?;
        let cccd = bounded("cccd_number", &request.cccd_number, MAX_NUMBER_BYTES).and_then(|n| {
            CccdNumber::parse(n).map_err(|error| ApiError::InvalidCccd {
                field: "cccd_number",
                error,
            })
        });
        let cccd = match cccd {
            Ok(cccd) => cccd,
            Err(error) => return call.answer(Outcome::refused(error, None)).await,
        };
        let level = match proto::VneidLevel::try_from(request.level) {
            Ok(proto::VneidLevel::One) => VneidLevel::Level1,
            Ok(proto::VneidLevel::Two) => VneidLevel::Level2,
            _ => {
                let error = ApiError::InvalidField {
                    field: "level",
                    message: "must be VNEID_LEVEL_ONE or VNEID_LEVEL_TWO".into(),
                };
                return call.answer(Outcome::refused(error, None)).await;
            }
        };
        let agency = Arc::clone(call.agency());
        let outcome = (|| {
            let citizen = self.store.get(cccd).ok_or(ApiError::CitizenNotFound {
                masked: cccd.masked(),
            })?;
            Self::check_account(&citizen, level)?;
            let now = Instant::now();
            self.check_unlocked(cccd, &agency.id, now)?;
            if !self.lockout.has_room(cccd, &agency.id, now) {
                return Err(ApiError::VneidCapacity {
                    what: "failed-attempt counts",
                });
            }
            let (id, challenge) = self
                .challenges
                .create(cccd, level, &agency.id, now)
                .map_err(|refused| match refused {
                    ChallengeRefused::Full => ApiError::VneidCapacity {
                        what: "pending authentications",
                    },
                    ChallengeRefused::AgencyQuota { max } => ApiError::VneidChallengeQuota {
                        agency: agency.id.clone(),
                        max,
                    },
                })?;
            let expires_at =
                unix_now() as i64 + challenge.expires.duration_since(now).as_secs() as i64;
            let mut required_factors = vec![
                proto::AuthFactor::Passcode as i32,
                proto::AuthFactor::TotpCode as i32,
            ];
            if level == VneidLevel::Level2 {
                required_factors.push(proto::AuthFactor::ChipRead as i32);
            }
            Ok(proto::StartAuthenticationResponse {
                challenge_id: id,
                required_factors,
                expires_at,
            })
        })();
        let subject = Some(cccd.to_string());
        let outcome = match outcome {
            Ok(answer) => Outcome::answered(answer, subject, Answer::Challenge),
            // The trail records the true reason; the caller is told only what its scope allows.
            Err(error) => {
                let reason = error.reason();
                let told = scope::vneid_refusal(call.scope(), error);
                Outcome::refused_as(told, subject, reason)
            }
        };
        call.answer(outcome).await
    }

    /// CompleteAuthentication, recorded: every factor checked, a token issued.
    async fn complete_served(
        &self,
        request: Request<proto::CompleteAuthenticationRequest>,
    ) -> Served<proto::CompleteAuthenticationResponse> {
        let (call, mut request) =
            self.serving
                .begin(request, Rpc::CompleteAuthentication, |r| r.context.clone())?;
        let sizes = bounded(
            "challenge_id",
            &request.challenge_id,
            MAX_CHALLENGE_ID_BYTES,
        )
        .and_then(|_| bounded("passcode", &request.passcode, MAX_FACTOR_BYTES))
        .and_then(|_| bounded("totp_code", &request.totp_code, MAX_FACTOR_BYTES));
        if let Err(error) = sizes {
            return call.answer(Outcome::refused(error, None)).await;
        }
        // The chip read is verified first, on the blocking pool (never on an async worker); its
        // outcome counts in `complete` in the order of the factors. The whole scope is used:
        // level 2 must check everything, and the database is compared only with an authentic
        // read, which a caller cannot forge to test guesses.
        let chip = match request.chip_read.take() {
            Some(read) => Some(
                self.chip
                    .verify_on_pool(
                        read,
                        Arc::clone(&self.store),
                        call.today(),
                        FieldScope::all(),
                    )
                    .await,
            ),
            None => None,
        };
        let outcome = match self.complete(call.agency(), &request, chip, Instant::now()) {
            Ok((cccd, level)) => {
                let (token, claims) = self.tokens.issue(&Grant {
                    cccd,
                    level,
                    agency_id: &call.agency().id,
                    dossier_id: &call.context().dossier_id,
                });
                let answer = proto::CompleteAuthenticationResponse {
                    token,
                    expires_at: claims.exp,
                    level: level_proto(level) as i32,
                };
                Outcome::answered(answer, Some(cccd.to_string()), Answer::Authenticated)
            }
            Err((cccd, error)) => {
                let reason = error.reason();
                Outcome::refused_as(
                    scope::vneid_refusal(call.scope(), error),
                    cccd.map(|c| c.to_string()),
                    reason,
                )
            }
        };
        call.answer(outcome).await
    }
}

#[tonic::async_trait]
impl VneidAuthentication for VneidService {
    async fn start_authentication(
        &self,
        request: Request<proto::StartAuthenticationRequest>,
    ) -> Result<Response<proto::StartAuthenticationResponse>, Status> {
        respond(self.start_served(request).await)
    }

    async fn complete_authentication(
        &self,
        request: Request<proto::CompleteAuthenticationRequest>,
    ) -> Result<Response<proto::CompleteAuthenticationResponse>, Status> {
        respond(self.complete_served(request).await)
    }

    async fn get_jwks(
        &self,
        request: Request<proto::GetJwksRequest>,
    ) -> Result<Response<proto::GetJwksResponse>, Status> {
        self.serving.identify(&request)?;
        Ok(Response::new(proto::GetJwksResponse {
            jwks_json: self.tokens.jwks_json(),
        }))
    }

    async fn introspect_token(
        &self,
        request: Request<proto::IntrospectTokenRequest>,
    ) -> Result<Response<proto::IntrospectTokenResponse>, Status> {
        let agency = self.serving.verifier(&request, "IntrospectToken")?;
        let token = request.into_inner().token;
        bounded("token", &token, MAX_TOKEN_BYTES)?;
        let introspected = self.tokens.introspect(&token, &agency.id);
        // Recorded before the answer, as every served call: under the citizen's keyed subject
        // when the token is active (an inactive answer reveals no one).
        let (cccd, outcome, detail) = match &introspected {
            Ok(claims) => (
                Some(claims.sub.as_str()),
                vocabulary::Outcome::from(Answer::Active),
                format!(
                    "token introspection (token of dossier {})",
                    claims.dossier_id
                ),
            ),
            Err(error) => (
                None,
                vocabulary::Outcome::inactive(error.name()),
                "token introspection".to_owned(),
            ),
        };
        let detail: String = detail
            .chars()
            .take(crate::reporting::MAX_PURPOSE_CHARS)
            .collect();
        let unit = agency.unit_at(crate::ids::now_ms());
        self.serving
            .recorder()
            .record_action(Action {
                agency_id: &agency.id,
                district: &unit.district,
                commune: unit.commune.map(|c| c.get()),
                province: unit.province,
                rpc: &Rpc::IntrospectToken,
                cccd,
                outcome: &outcome,
                detail: &detail,
            })
            .await
            .map_err(ApiError::AuditUnavailable)?;
        let answer = match introspected {
            Ok(claims) => proto::IntrospectTokenResponse {
                active: true,
                subject: claims.sub,
                level: if claims.level == 2 {
                    proto::VneidLevel::Two
                } else {
                    proto::VneidLevel::One
                } as i32,
                issued_at: claims.iat,
                expires_at: claims.exp,
                inactive_reason: String::new(),
            },
            Err(error) => proto::IntrospectTokenResponse {
                inactive_reason: error.name().to_owned(),
                ..Default::default()
            },
        };
        Ok(Response::new(answer))
    }
}
