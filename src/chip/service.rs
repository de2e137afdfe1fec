//! The tonic implementation of `vnpop.v1.ChipVerification`: identify the agency and its role,
//! check the request context, verify the chip read, answer the verdict and every check.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{ChipVerdict, ChipVerifier};
use crate::{
    error::ApiError,
    proto::{self, chip_verification_server::ChipVerification},
    serving::{respond, Answered, Outcome, Refused, Serving},
    store::CitizenStore,
    vocabulary::{self, Rpc},
};

#[derive(Debug, Clone)]
pub struct ChipService {
    store: Arc<CitizenStore>,
    /// Records every chip verification in the audit trail, like lookups.
    serving: Serving,
    verifier: Arc<ChipVerifier>,
}

impl ChipService {
    pub fn new(store: Arc<CitizenStore>, serving: Serving, verifier: Arc<ChipVerifier>) -> Self {
        ChipService {
            store,
            serving,
            verifier,
        }
    }

    /// VerifyChipRead: the verdict and every check, recorded first; a read refused as
    /// malformed is recorded too (no citizen), so an agency's report of it is `served`.
    async fn verify_chip_read_served(
        &self,
        request: Request<proto::VerifyChipReadRequest>,
    ) -> Result<Answered<proto::VerifyChipReadResponse>, Refused> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::VerifyChipRead, |r| r.context.take())?;
        let Some(read) = request.chip_read else {
            let missing = ApiError::ChipReadMalformed {
                field: "chip_read".into(),
                message: "missing".into(),
            };
            return call.answer(Outcome::refused(missing, None)).await;
        };
        let verified = self
            .verifier
            .verify_on_pool(read, Arc::clone(&self.store), call.today(), call.scope())
            .await;
        let report = match verified {
            Ok(report) => report,
            Err(e) => {
                let malformed = ApiError::ChipReadMalformed {
                    field: e.field,
                    message: e.message,
                };
                return call.answer(Outcome::refused(malformed, None)).await;
            }
        };
        let verdict = verdict_proto(report.verdict);
        let label = vocabulary::Outcome::chip(verdict);
        let subject = Some(report.document_number.clone());
        let answer = proto::VerifyChipReadResponse {
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
        };
        call.answer(Outcome::answered(answer, subject, label)).await
    }
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
        respond(self.verify_chip_read_served(request).await)
    }
}
