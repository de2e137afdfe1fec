//! The tonic implementation of `vnpop.v1.CitizenRegistry`.
//!
//! Each RPC follows the same steps: begin serving it ([`Serving::begin`]: the caller, its role,
//! the request context), parse the inputs (errors name the field), consult the store, and answer
//! through the agency's field scope with [`Call::answer`], which records the call first — a
//! refusal of the input included. Logs carry masked numbers only.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{convert, scope, verify};
use crate::{
    domain::{CccdNumber, Citizen, CmndNumber, QrPayload},
    error::{bounded, ApiError},
    proto::{self, citizen_registry_server::CitizenRegistry},
    reporting::{Communes, Districts},
    security::ScopeField,
    serving::{respond, Answered, Call, Outcome, Refused, Serving},
    store::CitizenStore,
    vocabulary::{self, Answer, Rpc},
};

/// The CitizenRegistry service over a shared store.
#[derive(Clone)]
pub struct RegistryService {
    store: Arc<CitizenStore>,
    serving: Serving,
}

/// What a handler of this service returns: a recorded answer, or why there is none.
type Served<T> = Result<Answered<T>, Refused>;

impl RegistryService {
    pub fn new(store: Arc<CitizenStore>, serving: Serving) -> Self {
        RegistryService { store, serving }
    }

    /// The answer to a lookup that found `citizen` or not; `asked` is the number asked for, if
    /// the request gave a CCCD number (what the audit trail records for a miss).
    fn lookup(
        &self,
        call: &Call<'_>,
        citizen: Option<Arc<Citizen>>,
        not_found: impl FnOnce() -> ApiError,
        asked: Option<CccdNumber>,
    ) -> Outcome<proto::LookupResponse> {
        let Some(citizen) = citizen else {
            return Outcome::refused(not_found(), asked.map(|n| n.to_string()));
        };
        let (message, withheld_fields) = convert::citizen(&citizen, call.scope(), call.today());
        Outcome::answered(
            proto::LookupResponse {
                citizen: Some(message),
                withheld_fields,
            },
            Some(citizen.cccd.to_string()),
            Answer::Found,
        )
    }

    async fn lookup_by_cccd_served(
        &self,
        request: Request<proto::LookupByCccdRequest>,
    ) -> Served<proto::LookupResponse> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::LookupByCccd, |r| r.context.take())?;
        let outcome = match parse_cccd("cccd_number", &request.cccd_number) {
            Err(error) => Outcome::refused(error, None),
            Ok(cccd) => self.lookup(
                &call,
                self.store.get(cccd),
                || ApiError::CitizenNotFound {
                    masked: cccd.masked(),
                },
                Some(cccd),
            ),
        };
        call.answer(outcome).await
    }

    async fn lookup_by_cmnd_served(
        &self,
        request: Request<proto::LookupByCmndRequest>,
    ) -> Served<proto::LookupResponse> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::LookupByCmnd, |r| r.context.take())?;
        scope::require(call.agency(), ScopeField::CmndNumber, "cmnd_number")
            .map_err(|e| call.deny(e))?;
        let parsed = bounded("cmnd_number", &request.cmnd_number, MAX_NUMBER_BYTES).and_then(|n| {
            CmndNumber::parse(n).map_err(|error| ApiError::InvalidCmnd {
                field: "cmnd_number",
                error,
            })
        });
        let outcome = match parsed {
            Err(error) => Outcome::refused(error, None),
            Ok(cmnd) => self.lookup(
                &call,
                self.store.get_by_cmnd(cmnd),
                || ApiError::CmndNotFound {
                    masked: cmnd.masked(),
                },
                None,
            ),
        };
        call.answer(outcome).await
    }

    async fn verify_demographics_served(
        &self,
        request: Request<proto::VerifyDemographicsRequest>,
    ) -> Served<proto::VerifyDemographicsResponse> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::VerifyDemographics, |r| r.context.take())?;
        let parsed = parse_cccd("cccd_number", &request.cccd_number)
            .and_then(|cccd| Ok((cccd, convert::declared(request.declared)?)));
        if let Ok((_, declared)) = &parsed {
            for (input, field) in declared.scope_fields() {
                scope::require(call.agency(), field, input).map_err(|e| call.deny(e))?;
            }
        }
        let outcome = match parsed {
            Err(error) => Outcome::refused(error, None),
            Ok((cccd, declared)) => match self.store.get(cccd) {
                None => Outcome::refused(
                    ApiError::CitizenNotFound {
                        masked: cccd.masked(),
                    },
                    Some(cccd.to_string()),
                ),
                Some(citizen) => {
                    let verdict = verify::verify_demographics(&declared, &citizen);
                    Outcome::answered(
                        proto::VerifyDemographicsResponse {
                            fields: verdict
                                .fields
                                .iter()
                                .map(|(field, m)| proto::FieldMatch {
                                    field: (*field).to_owned(),
                                    result: convert::match_result(*m) as i32,
                                    score: m.score(),
                                    problem: if *field == "address" {
                                        verdict.address_problem.clone().unwrap_or_default()
                                    } else {
                                        String::new()
                                    },
                                })
                                .collect(),
                            score: verdict.score,
                            matched: verdict.matched,
                            status: convert::status_for(citizen.status, call.scope()) as i32,
                        },
                        Some(cccd.to_string()),
                        if verdict.matched {
                            Answer::Match
                        } else {
                            Answer::NoMatch
                        },
                    )
                }
            },
        };
        call.answer(outcome).await
    }

    async fn verify_qr_served(
        &self,
        request: Request<proto::VerifyQrRequest>,
    ) -> Served<proto::VerifyQrResponse> {
        let (call, request) = self
            .serving
            .begin(request, Rpc::VerifyQr, |r| r.context.take())?;
        let parsed = bounded("qr_payload", &request.qr_payload, MAX_QR_BYTES)
            .and_then(|text| QrPayload::parse(text).map_err(ApiError::InvalidQr));
        let outcome = match parsed {
            Err(error) => Outcome::refused(error, None),
            Ok(qr) => {
                let citizen = self.store.get(qr.cccd);
                let mut disclosure = scope::Disclosure::new(call.scope());
                let verify::QrCheck {
                    verdict,
                    address_problem,
                } = verify::verify_qr(&qr, citizen.as_deref(), call.today(), &mut disclosure);
                let proto_verdict = convert::qr_verdict(&verdict);
                let expiry_date = match &verdict {
                    verify::QrVerdict::Mismatch(_) | verify::QrVerdict::UnknownNumber => None,
                    _ if !call.scope().allows(ScopeField::Card) => None,
                    _ => citizen
                        .as_ref()
                        .and_then(|c| c.card.as_ref())
                        .and_then(|card| card.expires)
                        .map(convert::date),
                };
                let (mismatched_fields, address_problem) = match verdict {
                    verify::QrVerdict::Mismatch(fields) => (
                        fields.into_iter().map(str::to_owned).collect(),
                        address_problem.unwrap_or_default(),
                    ),
                    _ => (Vec::new(), String::new()),
                };
                Outcome::answered(
                    proto::VerifyQrResponse {
                        verdict: proto_verdict as i32,
                        mismatched_fields,
                        expiry_date,
                        address_problem,
                        withheld_fields: disclosure.withheld(),
                    },
                    Some(qr.cccd.to_string()),
                    vocabulary::Outcome::qr(proto_verdict),
                )
            }
        };
        call.answer(outcome).await
    }
}

/// The longest CCCD or CMND number input looked at (a number is 12 or 9 digits; spaces around
/// it are tolerated).
pub(crate) const MAX_NUMBER_BYTES: usize = 32;
/// The longest QR payload looked at (a card's is about 150 bytes).
const MAX_QR_BYTES: usize = 1024;

fn parse_cccd(field: &'static str, text: &str) -> Result<CccdNumber, ApiError> {
    let text = bounded(field, text, MAX_NUMBER_BYTES)?;
    CccdNumber::parse(text).map_err(|error| ApiError::InvalidCccd { field, error })
}

#[tonic::async_trait]
impl CitizenRegistry for RegistryService {
    async fn lookup_by_cccd(
        &self,
        request: Request<proto::LookupByCccdRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        respond(self.lookup_by_cccd_served(request).await)
    }

    async fn lookup_by_cmnd(
        &self,
        request: Request<proto::LookupByCmndRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        respond(self.lookup_by_cmnd_served(request).await)
    }

    async fn verify_demographics(
        &self,
        request: Request<proto::VerifyDemographicsRequest>,
    ) -> Result<Response<proto::VerifyDemographicsResponse>, Status> {
        respond(self.verify_demographics_served(request).await)
    }

    async fn verify_qr(
        &self,
        request: Request<proto::VerifyQrRequest>,
    ) -> Result<Response<proto::VerifyQrResponse>, Status> {
        respond(self.verify_qr_served(request).await)
    }

    /// The caller as resolved from its certificate. No role check (an auditor may ask who it
    /// is), no request context, no store access and no audit record: the cheapest answer the
    /// server gives, which makes it the baseline for load tests.
    async fn who_am_i(
        &self,
        request: Request<proto::WhoAmIRequest>,
    ) -> Result<Response<proto::WhoAmIResponse>, Status> {
        let agency = self.serving.identify(&request)?;
        Ok(Response::new(proto::WhoAmIResponse {
            agency_id: agency.id.clone(),
            agency_name: agency.name.clone(),
            role: agency.role.name().to_owned(),
            district: agency.district.clone(),
            field_scope: ScopeField::ALL
                .into_iter()
                .filter(|field| agency.scope.allows(*field))
                .map(|field| field.name().to_owned())
                .collect(),
            report_districts: match &agency.report.districts {
                Districts::Any => Vec::new(),
                Districts::Only(list) => list.clone(),
            },
            any_district: agency.report.districts == Districts::Any,
            backdate_limit_seconds: agency.report.backdate_limit.map(|d| d.as_secs()),
            load_test_allowed: agency.report.load_test,
            ingest_events_per_minute: agency.ingest_per_minute,
            report_province: agency
                .report
                .province
                .map(|p| format!("{p:03}"))
                .unwrap_or_default(),
            report_communes: match &agency.report.communes {
                Communes::Any => Vec::new(),
                Communes::Only(list) => list.iter().map(|c| c.to_string()).collect(),
            },
            any_commune: agency.report.communes == Communes::Any,
        }))
    }
}
