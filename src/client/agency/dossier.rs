//! [`Dossier`]: a dossier being processed, through which every verification is made and recorded
//! against it (refused before the call if its record would be).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use super::{
    events::{self, outcome},
    AgencyClient, DossierInfo,
};
use crate::{
    client::{ClientError, LookupContext},
    ids::now_ms,
    proto,
};

/// A dossier being processed: every lookup made through it is recorded against it.
#[derive(Clone, Debug)]
pub struct Dossier {
    client: AgencyClient,
    info: DossierInfo,
    event_time_ms: Option<i64>,
    /// Verifications recorded for this dossier so far (shared by clones).
    verifications: Arc<AtomicU64>,
}

impl Dossier {
    /// A dossier of `client`, none of its verifications made yet.
    pub(super) fn new(client: AgencyClient, info: DossierInfo) -> Self {
        Dossier {
            client,
            info,
            event_time_ms: None,
            verifications: Arc::new(AtomicU64::new(0)),
        }
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

    /// Records the following verifications at this time (Unix ms) instead of now: for
    /// simulations, whose time is not the wall clock.
    pub fn set_event_time(&mut self, at_ms: i64) {
        self.event_time_ms = Some(at_ms);
    }

    fn context(&self, purpose: &str) -> LookupContext {
        LookupContext {
            dossier_id: self.info.id.clone(),
            purpose: purpose.to_owned(),
            officer_id: self.info.officer_id.clone(),
            load_test: self.info.load_test,
        }
    }

    /// The verification event this dossier reports for a call.
    fn verification(
        &self,
        id: Option<u64>,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        outcome: String,
    ) -> proto::ReportedEvent {
        let at = self.event_time_ms.unwrap_or_else(now_ms);
        let kind = events::verification(rpc, purpose, cccd, outcome);
        match id {
            Some(n) => self.client.event(&self.info, at, Some(n), kind),
            // A draft, to check before the call: the id is the client's own and always valid.
            None => events::event("draft".into(), &self.info, at, kind),
        }
    }

    /// Checks, before a call is made, that its report would be accepted: a call whose record
    /// would be refused is not made.
    fn precheck(&self, rpc: &str, purpose: &str, cccd: &str) -> Result<(), ClientError> {
        self.client
            .check(&self.verification(None, rpc, purpose, cccd, "pending".into()))
    }

    async fn verified(
        &self,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        outcome: String,
    ) -> Result<(), ClientError> {
        let n = self.verifications.fetch_add(1, Ordering::Relaxed);
        let event = self.verification(Some(n), rpc, purpose, cccd, outcome);
        self.client.check(&event)?;
        self.client.record(event).await
    }

    /// Makes the call `rpc` for this dossier and records it, as every verification here is:
    /// refused before the call if its record would be; `call` is given the context to send, and
    /// `label` names the outcome of a success. For callers that make the RPC themselves (the
    /// gateway passes the server's answer on as it came).
    pub(crate) async fn recorded<T, Fut>(
        &self,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        call: impl FnOnce(LookupContext) -> Fut,
        label: impl FnOnce(&T) -> String,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        self.precheck(rpc, purpose, cccd)?;
        let result = self
            .client
            .shared
            .bounded(call(self.context(purpose)))
            .await;
        let label = outcome(&result, label);
        self.verified(rpc, purpose, cccd, label).await?;
        result
    }

    /// [`RegistryClient::lookup_by_cccd`](crate::client::RegistryClient::lookup_by_cccd) for this
    /// dossier, recorded.
    pub async fn lookup_by_cccd(
        &self,
        purpose: &str,
        cccd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let registry = &self.client.shared.registry;
        self.recorded(
            "LookupByCccd",
            purpose,
            cccd_number,
            |context| async move { registry.lookup_by_cccd(&context, cccd_number).await },
            |_| "found".into(),
        )
        .await
    }

    /// [`RegistryClient::lookup_by_cmnd`](crate::client::RegistryClient::lookup_by_cmnd) for this
    /// dossier, recorded (with the CCCD number found).
    pub async fn lookup_by_cmnd(
        &self,
        purpose: &str,
        cmnd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        self.precheck("LookupByCmnd", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .registry
                    .lookup_by_cmnd(&self.context(purpose), cmnd_number),
            )
            .await;
        let label = outcome(&result, |_| "found".into());
        let cccd = result
            .as_ref()
            .ok()
            .and_then(|r| r.citizen.as_ref())
            .map(|c| c.cccd_number.clone());
        self.verified("LookupByCmnd", purpose, &cccd.unwrap_or_default(), label)
            .await?;
        result
    }

    /// [`RegistryClient::verify_demographics`](crate::client::RegistryClient::verify_demographics)
    /// for this dossier, recorded ("match" or "no_match").
    pub async fn verify_demographics(
        &self,
        purpose: &str,
        cccd_number: &str,
        declared: proto::Declared,
    ) -> Result<proto::VerifyDemographicsResponse, ClientError> {
        self.precheck("VerifyDemographics", purpose, cccd_number)?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.registry.verify_demographics(
                &self.context(purpose),
                cccd_number,
                declared,
            ))
            .await;
        let label = outcome(&result, |r| {
            if r.matched { "match" } else { "no_match" }.into()
        });
        self.verified("VerifyDemographics", purpose, cccd_number, label)
            .await?;
        result
    }

    /// [`RegistryClient::verify_qr`](crate::client::RegistryClient::verify_qr) for this dossier,
    /// recorded with its verdict.
    pub async fn verify_qr(
        &self,
        purpose: &str,
        qr_payload: &str,
    ) -> Result<proto::VerifyQrResponse, ClientError> {
        self.precheck("VerifyQr", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .registry
                    .verify_qr(&self.context(purpose), qr_payload),
            )
            .await;
        let label = outcome(&result, |r| {
            proto::QrVerdict::try_from(r.verdict)
                .map_or("unspecified", |v| v.as_str_name())
                .trim_start_matches("QR_VERDICT_")
                .to_lowercase()
        });
        let cccd = qr_payload
            .split('|')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        self.verified("VerifyQr", purpose, &cccd, label).await?;
        result
    }

    /// Starts a VNeID authentication of the citizen `cccd_number` for this dossier.
    pub async fn start_vneid(
        &self,
        purpose: &str,
        cccd_number: &str,
        level: proto::VneidLevel,
    ) -> Result<proto::StartAuthenticationResponse, ClientError> {
        self.precheck("StartAuthentication", purpose, cccd_number)?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .vneid
                    .start(&self.context(purpose), cccd_number, level),
            )
            .await;
        let label = outcome(&result, |_| "challenge".into());
        self.verified("StartAuthentication", purpose, cccd_number, label)
            .await?;
        result
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
        self.precheck("CompleteAuthentication", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.vneid.complete(
                &self.context(purpose),
                challenge_id,
                passcode,
                totp_code,
                chip_read,
            ))
            .await;
        let label = outcome(&result, |_| "authenticated".into());
        // The citizen is the challenge's; the answer names them only inside the token.
        self.verified("CompleteAuthentication", purpose, "", label)
            .await?;
        result
    }

    /// Verifies a chip read (passive authentication and comparison with the database).
    pub async fn verify_chip(
        &self,
        purpose: &str,
        chip_read: proto::ChipRead,
    ) -> Result<proto::VerifyChipReadResponse, ClientError> {
        self.precheck("VerifyChipRead", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.vneid.verify_chip(&self.context(purpose), chip_read))
            .await;
        let label = outcome(&result, |r| {
            proto::ChipVerdict::try_from(r.verdict)
                .map_or("unspecified", |v| v.as_str_name())
                .trim_start_matches("CHIP_VERDICT_")
                .to_lowercase()
        });
        let cccd = result
            .as_ref()
            .map(|r| r.document_number.clone())
            .unwrap_or_default();
        self.verified("VerifyChipRead", purpose, &cccd, label)
            .await?;
        result
    }
}
