//! The tonic implementation of `vnpop.v1.CitizenRegistry`.
//!
//! Each RPC follows the same steps: identify the calling agency and check its role, check the
//! request context, parse the inputs (errors name the field), consult the store, answer through
//! the agency's field scope. Logs carry masked numbers only.

use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate, Utc};
use tonic::{Request, Response, Status};

use super::{convert, verify, RequestContext};
use crate::{
    domain::{CccdNumber, CmndNumber, QrPayload},
    error::ApiError,
    proto::{self, citizen_registry_server::CitizenRegistry},
    security::{Agency, Authenticator},
    store::CitizenStore,
};

/// Where "today" comes from, for card expiry.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The calendar date in Vietnam (UTC+7).
    System,
    /// A fixed date, for reproducible tests and demos.
    Fixed(NaiveDate),
}

impl Clock {
    pub fn today(self) -> NaiveDate {
        match self {
            Clock::Fixed(date) => date,
            Clock::System => {
                let vietnam = FixedOffset::east_opt(7 * 3600).expect("valid offset");
                Utc::now().with_timezone(&vietnam).date_naive()
            }
        }
    }
}

/// The CitizenRegistry service over a shared store.
#[derive(Debug, Clone)]
pub struct RegistryService {
    store: Arc<CitizenStore>,
    authn: Arc<Authenticator>,
    clock: Clock,
}

impl RegistryService {
    pub fn new(store: Arc<CitizenStore>, authn: Arc<Authenticator>, clock: Clock) -> Self {
        RegistryService {
            store,
            authn,
            clock,
        }
    }

    /// The calling agency, if its role may look citizens up.
    fn caller<T>(&self, request: &Request<T>, rpc: &'static str) -> Result<Arc<Agency>, ApiError> {
        let agency = self.authn.identify(request)?;
        if !agency.role.may_look_up() {
            return Err(ApiError::RoleNotAllowed {
                agency: agency.id.clone(),
                role: format!("{:?}", agency.role).to_lowercase(),
                rpc,
            });
        }
        Ok(agency)
    }
}

fn parse_cccd(field: &'static str, text: &str) -> Result<CccdNumber, ApiError> {
    CccdNumber::parse(text).map_err(|error| ApiError::InvalidCccd { field, error })
}

/// Logs the outcome of one call at debug level (never a full number or a name).
fn log_call(rpc: &str, agency: &Agency, context: &RequestContext, subject: &str, outcome: &str) {
    tracing::debug!(
        rpc,
        agency = %agency.id,
        dossier = %context.dossier_id,
        officer = %context.officer_id,
        subject,
        outcome,
        "served"
    );
}

#[tonic::async_trait]
impl CitizenRegistry for RegistryService {
    async fn lookup_by_cccd(
        &self,
        request: Request<proto::LookupByCccdRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        let agency = self.caller(&request, "LookupByCccd")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context)?;
        let cccd = parse_cccd("cccd_number", &request.cccd_number)?;
        let Some(citizen) = self.store.get(cccd) else {
            log_call(
                "LookupByCccd",
                &agency,
                &context,
                &cccd.masked(),
                "not_found",
            );
            return Err(ApiError::CitizenNotFound {
                masked: cccd.masked(),
            }
            .into());
        };
        log_call("LookupByCccd", &agency, &context, &cccd.masked(), "found");
        let (citizen, withheld_fields) =
            convert::citizen(&citizen, agency.scope, self.clock.today());
        Ok(Response::new(proto::LookupResponse {
            citizen: Some(citizen),
            withheld_fields,
        }))
    }

    async fn lookup_by_cmnd(
        &self,
        request: Request<proto::LookupByCmndRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        let agency = self.caller(&request, "LookupByCmnd")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context)?;
        let cmnd =
            CmndNumber::parse(&request.cmnd_number).map_err(|error| ApiError::InvalidCmnd {
                field: "cmnd_number",
                error,
            })?;
        let Some(citizen) = self.store.get_by_cmnd(cmnd) else {
            log_call(
                "LookupByCmnd",
                &agency,
                &context,
                &cmnd.masked(),
                "not_found",
            );
            return Err(ApiError::CmndNotFound {
                masked: cmnd.masked(),
            }
            .into());
        };
        log_call("LookupByCmnd", &agency, &context, &cmnd.masked(), "found");
        let (citizen, withheld_fields) =
            convert::citizen(&citizen, agency.scope, self.clock.today());
        Ok(Response::new(proto::LookupResponse {
            citizen: Some(citizen),
            withheld_fields,
        }))
    }

    async fn verify_demographics(
        &self,
        request: Request<proto::VerifyDemographicsRequest>,
    ) -> Result<Response<proto::VerifyDemographicsResponse>, Status> {
        let agency = self.caller(&request, "VerifyDemographics")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context)?;
        let cccd = parse_cccd("cccd_number", &request.cccd_number)?;
        let declared = convert::declared(request.declared)?;
        let Some(citizen) = self.store.get(cccd) else {
            log_call(
                "VerifyDemographics",
                &agency,
                &context,
                &cccd.masked(),
                "not_found",
            );
            return Err(ApiError::CitizenNotFound {
                masked: cccd.masked(),
            }
            .into());
        };
        let verdict = verify::verify_demographics(&declared, &citizen);
        let outcome = if verdict.matched { "match" } else { "no_match" };
        log_call(
            "VerifyDemographics",
            &agency,
            &context,
            &cccd.masked(),
            outcome,
        );
        Ok(Response::new(proto::VerifyDemographicsResponse {
            fields: verdict
                .fields
                .iter()
                .map(|(field, m)| proto::FieldMatch {
                    field: (*field).to_owned(),
                    result: convert::match_result(*m) as i32,
                    score: m.score(),
                })
                .collect(),
            score: verdict.score,
            matched: verdict.matched,
            status: convert::status(citizen.status) as i32,
        }))
    }

    async fn verify_qr(
        &self,
        request: Request<proto::VerifyQrRequest>,
    ) -> Result<Response<proto::VerifyQrResponse>, Status> {
        let agency = self.caller(&request, "VerifyQr")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context)?;
        let qr = QrPayload::parse(&request.qr_payload).map_err(ApiError::InvalidQr)?;
        let citizen = self.store.get(qr.cccd);
        let verdict = verify::verify_qr(&qr, citizen.as_deref(), self.clock.today());
        let proto_verdict = convert::qr_verdict(&verdict);
        log_call(
            "VerifyQr",
            &agency,
            &context,
            &qr.cccd.masked(),
            proto_verdict.as_str_name(),
        );
        let expiry_date = match &verdict {
            verify::QrVerdict::Mismatch(_) | verify::QrVerdict::UnknownNumber => None,
            _ => citizen
                .as_ref()
                .and_then(|c| c.card.as_ref())
                .and_then(|card| card.expires)
                .map(convert::date),
        };
        let mismatched_fields = match verdict {
            verify::QrVerdict::Mismatch(fields) => fields.into_iter().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        Ok(Response::new(proto::VerifyQrResponse {
            verdict: proto_verdict as i32,
            mismatched_fields,
            expiry_date,
        }))
    }
}
