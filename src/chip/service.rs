//! The tonic implementation of `vnpop.v1.ChipVerification`: identify the agency and its role,
//! check the request context, verify the chip read, answer the verdict and every check.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{ChipVerdict, ChipVerifier};
use crate::{
    audit::recorder::ServedRecorder,
    error::ApiError,
    proto::{self, chip_verification_server::ChipVerification},
    registry::{record_call, Clock, RequestContext},
    security::{Agency, Authenticator},
    store::CitizenStore,
};

#[derive(Debug, Clone)]
pub struct ChipService {
    store: Arc<CitizenStore>,
    authn: Arc<Authenticator>,
    /// Records every chip verification in the audit trail, like lookups.
    recorder: Arc<ServedRecorder>,
    verifier: Arc<ChipVerifier>,
    clock: Clock,
}

impl ChipService {
    pub fn new(
        store: Arc<CitizenStore>,
        authn: Arc<Authenticator>,
        recorder: Arc<ServedRecorder>,
        verifier: Arc<ChipVerifier>,
        clock: Clock,
    ) -> Self {
        ChipService {
            store,
            authn,
            recorder,
            verifier,
            clock,
        }
    }
}

/// The calling agency, if its role may verify citizens.
pub(crate) fn verifying_agency<T>(
    authn: &Authenticator,
    request: &Request<T>,
    rpc: &'static str,
) -> Result<Arc<Agency>, ApiError> {
    let agency = authn.identify(request)?;
    if !agency.role.may_look_up() {
        return Err(ApiError::RoleNotAllowed {
            agency: agency.id.clone(),
            role: format!("{:?}", agency.role).to_lowercase(),
            rpc,
        });
    }
    Ok(agency)
}

pub(crate) fn verdict_proto(verdict: ChipVerdict) -> proto::ChipVerdict {
    match verdict {
        ChipVerdict::Valid => proto::ChipVerdict::Valid,
        ChipVerdict::UnknownSigner => proto::ChipVerdict::UnknownSigner,
        ChipVerdict::BadSignature => proto::ChipVerdict::BadSignature,
        ChipVerdict::DataGroupTampered => proto::ChipVerdict::DataGroupTampered,
        ChipVerdict::UnknownNumber => proto::ChipVerdict::UnknownNumber,
        ChipVerdict::CitizenDeceased => proto::ChipVerdict::CitizenDeceased,
        ChipVerdict::DatabaseMismatch => proto::ChipVerdict::DatabaseMismatch,
        ChipVerdict::CardRevoked => proto::ChipVerdict::CardRevoked,
        ChipVerdict::CardExpired => proto::ChipVerdict::CardExpired,
    }
}

#[tonic::async_trait]
impl ChipVerification for ChipService {
    async fn verify_chip_read(
        &self,
        request: Request<proto::VerifyChipReadRequest>,
    ) -> Result<Response<proto::VerifyChipReadResponse>, Status> {
        let agency = verifying_agency(&self.authn, &request, "VerifyChipRead")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context, &agency)?;
        let read = request
            .chip_read
            .ok_or_else(|| ApiError::ChipReadMalformed {
                field: "chip_read".into(),
                message: "missing".into(),
            });
        let report = match read {
            Ok(read) => self
                .verifier
                .verify_on_pool(
                    read,
                    Arc::clone(&self.store),
                    self.clock.today(),
                    agency.scope,
                )
                .await
                .map_err(|e| ApiError::ChipReadMalformed {
                    field: e.field,
                    message: e.message,
                }),
            Err(refused) => Err(refused),
        };
        let report = match report {
            Ok(report) => report,
            Err(refused) => {
                // A read refused as malformed is recorded too (no citizen): the agency reports
                // the call, and the auditor sees it served, not as a call that never happened.
                record_call(
                    &self.recorder,
                    "VerifyChipRead",
                    &agency,
                    &context,
                    None,
                    "invalid_argument",
                )
                .await?;
                return Err(refused.into());
            }
        };
        let verdict = verdict_proto(report.verdict);
        let label = verdict
            .as_str_name()
            .trim_start_matches("CHIP_VERDICT_")
            .to_lowercase();
        record_call(
            &self.recorder,
            "VerifyChipRead",
            &agency,
            &context,
            Some(&report.document_number),
            &label,
        )
        .await?;
        Ok(Response::new(proto::VerifyChipReadResponse {
            verdict: verdict as i32,
            checks: report
                .checks
                .iter()
                .map(|c| proto::ChipCheck {
                    name: c.name.to_owned(),
                    passed: c.outcome.is_ok(),
                    detail: c.outcome.clone().err().unwrap_or_default(),
                })
                .collect(),
            tampered_data_groups: report.tampered_data_groups,
            mismatched_fields: report.mismatched_fields,
            document_number: report.document_number,
            withheld_fields: report.withheld_fields,
        }))
    }
}
