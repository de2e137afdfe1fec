//! [`Dossier`]: a dossier being processed, through which every verification is made and recorded
//! against it (refused before the call if its record would be).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use super::{
    events::{self, event_id, outcome, Which},
    AgencyClient, DossierInfo,
};
use crate::{
    ids::now_ms,
    lang::Language,
    proto,
    vocabulary::{Answer, Outcome, Rpc},
    ClientError, LookupContext, Origin,
};

/// A dossier being processed: every lookup made through it is recorded against it.
///
/// Each call is a verification, numbered from 0 in the order they are made, with an id (of its
/// report, and sent as the call id) derived from the dossier's and its number. A call that fails
/// in transport ([`Origin::Connection`]: whether the server served it is not known) is reported
/// under an id of its own, so the verification can be made again under its number with
/// [`Dossier::at_verification`]: the server records the same call once, and the report of the
/// try that got an answer is the verification's.
#[derive(Clone, Debug)]
pub struct Dossier {
    client: AgencyClient,
    info: DossierInfo,
    event_time_ms: Option<i64>,
    /// What this dossier's event ids are made from (see [`event_id`]).
    base: Arc<str>,
    /// The number of the next verification (shared by clones).
    verifications: Arc<AtomicU64>,
    /// The language the server's refusals are asked in.
    language: Language,
}

impl Dossier {
    /// A dossier of `client` whose events are named under `base`, none of its verifications
    /// made yet.
    pub(super) fn new(client: AgencyClient, info: DossierInfo, base: String) -> Self {
        Dossier {
            client,
            info,
            event_time_ms: None,
            base: base.into(),
            verifications: Arc::new(AtomicU64::new(0)),
            language: Language::English,
        }
    }

    /// The same dossier, its following verifications asking the server for its messages in
    /// `language` (see [`LookupContext::language`]).
    pub fn in_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The dossier as it was opened.
    pub fn info(&self) -> &DossierInfo {
        &self.info
    }

    /// The same dossier, with the following verifications made (and recorded) by another
    /// officer of the unit.
    pub fn by_officer(mut self, officer_id: impl Into<String>) -> Self {
        self.info.officer_id = officer_id.into();
        self
    }

    /// The same dossier, its next verification numbered `n` (the ones after it following), with
    /// a number of its own. A call made through it is the verification first made under `n`
    /// again, with its ids: for a call whose try failed in transport, or a dossier resumed in a
    /// deterministic run. The server records the same call once, and the report is stored once;
    /// a different call under the same number is recorded as one more.
    pub fn at_verification(&self, n: u64) -> Dossier {
        Dossier {
            verifications: Arc::new(AtomicU64::new(n)),
            ..self.clone()
        }
    }

    /// Records the following verifications at this time (Unix ms) instead of now: for
    /// simulations, whose time is not the wall clock.
    pub fn set_event_time(&mut self, at_ms: i64) {
        self.event_time_ms = Some(at_ms);
    }

    fn context(&self, purpose: &str, call_id: String) -> LookupContext {
        LookupContext {
            dossier_id: self.info.id.clone(),
            purpose: purpose.to_owned(),
            officer_id: self.info.officer_id.clone(),
            load_test: self.info.load_test,
            call_id: Some(call_id),
            language: self.language,
        }
    }

    /// The verification event `id` this dossier reports for a call.
    fn verification(
        &self,
        id: String,
        rpc: &Rpc,
        purpose: &str,
        cccd: &str,
        outcome: &Outcome,
    ) -> proto::ReportedEvent {
        let at = self.event_time_ms.unwrap_or_else(now_ms);
        let kind = events::verification(rpc, purpose, cccd, outcome);
        events::event(id, &self.info, at, kind)
    }

    /// Makes the call `rpc` for this dossier and records it, as every verification here is:
    /// refused before the call if its record would be (checked with `cccd`); `call` is given
    /// the context to send (with the verification's call id), `label` names the outcome of a
    /// success and `subject` the citizen the report names, from the result.
    async fn made<T, Fut>(
        &self,
        rpc: Rpc,
        purpose: &str,
        cccd: &str,
        call: impl FnOnce(LookupContext) -> Fut,
        label: impl FnOnce(&T) -> Outcome,
        subject: impl FnOnce(&Result<T, ClientError>) -> String,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        // A draft, checked before the call: the id is the client's own and always valid.
        let draft = self.verification("draft".into(), &rpc, purpose, cccd, &Outcome::OK);
        self.client.check(&draft)?;
        let n = self.verifications.fetch_add(1, Ordering::Relaxed);
        let id = event_id(&self.base, Which::Verification(n));
        let result = self
            .client
            .shared
            .bounded(call(self.context(purpose, id.clone())))
            .await;
        let label = outcome(&result, label);
        let report_id = match &result {
            // Served or not, nobody knows: this try is reported apart, and the verification
            // keeps its id for a try that gets an answer.
            Err(error) if error.origin() == Origin::Connection => {
                let tag = vnpop_core::ids::run_id::<8>()
                    .map_err(|e| crate::OutboxError::Task(e.to_string()))?;
                event_id(&self.base, Which::FailedTry(n, &tag))
            }
            _ => id,
        };
        let event = self.verification(report_id, &rpc, purpose, &subject(&result), &label);
        self.client.check(&event)?;
        self.client.record(event).await?;
        result
    }

    /// Makes the call `rpc` for this dossier and records it, naming the citizen `cccd`, as every
    /// verification here is: for callers that make the RPC themselves, over
    /// [`AgencyClient::channel`] (vnpop's gateway passes the server's answer on as it came).
    /// `call` gets the dossier's [`LookupContext`] (put [`LookupContext::to_proto`] in the
    /// request, and make it with [`LookupContext::request`]); `label` says how the answer is
    /// recorded.
    pub async fn recorded<T, Fut>(
        &self,
        rpc: Rpc,
        purpose: &str,
        cccd: &str,
        call: impl FnOnce(LookupContext) -> Fut,
        label: impl FnOnce(&T) -> Outcome,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        self.made(rpc, purpose, cccd, call, label, |_| cccd.to_owned())
            .await
    }

    /// [`RegistryClient::lookup_by_cccd`](crate::RegistryClient::lookup_by_cccd) for this
    /// dossier, recorded.
    pub async fn lookup_by_cccd(
        &self,
        purpose: &str,
        cccd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let registry = &self.client.shared.registry;
        self.recorded(
            Rpc::LookupByCccd,
            purpose,
            cccd_number,
            |context| async move { registry.lookup_by_cccd(&context, cccd_number).await },
            |_| Answer::Found.into(),
        )
        .await
    }

    /// [`RegistryClient::lookup_by_cmnd`](crate::RegistryClient::lookup_by_cmnd) for this
    /// dossier, recorded (with the CCCD number found).
    pub async fn lookup_by_cmnd(
        &self,
        purpose: &str,
        cmnd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let registry = &self.client.shared.registry;
        self.made(
            Rpc::LookupByCmnd,
            purpose,
            "",
            |context| async move { registry.lookup_by_cmnd(&context, cmnd_number).await },
            |_| Answer::Found.into(),
            |result| {
                result
                    .as_ref()
                    .ok()
                    .and_then(|r| r.citizen.as_ref())
                    .map(|c| c.cccd_number.clone())
                    .unwrap_or_default()
            },
        )
        .await
    }

    /// [`RegistryClient::verify_demographics`](crate::RegistryClient::verify_demographics)
    /// for this dossier, recorded ("match" or "no_match").
    pub async fn verify_demographics(
        &self,
        purpose: &str,
        cccd_number: &str,
        declared: proto::Declared,
    ) -> Result<proto::VerifyDemographicsResponse, ClientError> {
        let registry = &self.client.shared.registry;
        self.recorded(
            Rpc::VerifyDemographics,
            purpose,
            cccd_number,
            |context| async move {
                registry
                    .verify_demographics(&context, cccd_number, declared)
                    .await
            },
            |r| {
                if r.matched {
                    Answer::Match
                } else {
                    Answer::NoMatch
                }
                .into()
            },
        )
        .await
    }

    /// [`RegistryClient::verify_qr`](crate::RegistryClient::verify_qr) for this dossier,
    /// recorded with its verdict.
    pub async fn verify_qr(
        &self,
        purpose: &str,
        qr_payload: &str,
    ) -> Result<proto::VerifyQrResponse, ClientError> {
        let registry = &self.client.shared.registry;
        let cccd = qr_payload.split('|').next().unwrap_or_default().trim();
        self.made(
            Rpc::VerifyQr,
            purpose,
            "",
            |context| async move { registry.verify_qr(&context, qr_payload).await },
            |r| Outcome::qr(r.verdict()),
            |_| cccd.to_owned(),
        )
        .await
    }

    /// Starts a VNeID authentication of the citizen `cccd_number` for this dossier.
    pub async fn start_vneid(
        &self,
        purpose: &str,
        cccd_number: &str,
        level: proto::VneidLevel,
    ) -> Result<proto::StartAuthenticationResponse, ClientError> {
        let vneid = &self.client.shared.vneid;
        self.recorded(
            Rpc::StartAuthentication,
            purpose,
            cccd_number,
            |context| async move { vneid.start(&context, cccd_number, level).await },
            |_| Answer::Challenge.into(),
        )
        .await
    }

    /// Answers a VNeID challenge started for this dossier; `chip_read` is required at level 2.
    pub async fn complete_vneid(
        &self,
        purpose: &str,
        challenge_id: &str,
        passcode: &str,
        totp_code: &str,
        chip_read: Option<proto::ChipRead>,
    ) -> Result<proto::CompleteAuthenticationResponse, ClientError> {
        let vneid = &self.client.shared.vneid;
        // The citizen is the challenge's; the answer names them only inside the token.
        self.recorded(
            Rpc::CompleteAuthentication,
            purpose,
            "",
            |context| async move {
                vneid
                    .complete(&context, challenge_id, passcode, totp_code, chip_read)
                    .await
            },
            |_| Answer::Authenticated.into(),
        )
        .await
    }

    /// Verifies a chip read (passive authentication and comparison with the database).
    pub async fn verify_chip(
        &self,
        purpose: &str,
        chip_read: proto::ChipRead,
    ) -> Result<proto::VerifyChipReadResponse, ClientError> {
        let vneid = &self.client.shared.vneid;
        self.made(
            Rpc::VerifyChipRead,
            purpose,
            "",
            |context| async move { vneid.verify_chip(&context, chip_read).await },
            |r| Outcome::chip(r.verdict()),
            |result| {
                result
                    .as_ref()
                    .map(|r| r.document_number.clone())
                    .unwrap_or_default()
            },
        )
        .await
    }
}
