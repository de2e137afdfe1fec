//! The tonic implementation of `vnpop.v1.CitizenRegistry`.
//!
//! Each RPC follows the same steps: identify the calling agency and check its role, check the
//! request context, parse the inputs (errors name the field), consult the store, answer through
//! the agency's field scope. Logs carry masked numbers only.

use std::sync::Arc;

use chrono::NaiveDate;
use tonic::{Request, Response, Status};

use super::{convert, scope, verify, RequestContext};
use crate::{
    audit::recorder::{ServedCall, ServedRecorder},
    domain::{vietnam, CccdNumber, Citizen, CmndNumber, QrPayload},
    error::{bounded, ApiError},
    proto::{self, citizen_registry_server::CitizenRegistry},
    reporting::{Communes, Districts},
    security::{Agency, Authenticator, ScopeField},
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
            Clock::System => vietnam::today(),
        }
    }
}

/// The CitizenRegistry service over a shared store.
#[derive(Clone)]
pub struct RegistryService {
    store: Arc<CitizenStore>,
    authn: Arc<Authenticator>,
    recorder: Arc<ServedRecorder>,
    clock: Clock,
}

/// What a call produced: the answer, and what the audit log records about it.
struct Outcome<T> {
    answer: Result<T, ApiError>,
    subject: Option<String>,
    /// "found", "not_found", "match", "valid", "invalid_argument" …
    label: &'static str,
}

impl<T> Outcome<T> {
    fn rejected(error: ApiError) -> Self {
        Outcome {
            answer: Err(error),
            subject: None,
            label: "invalid_argument",
        }
    }
}

impl RegistryService {
    pub fn new(
        store: Arc<CitizenStore>,
        authn: Arc<Authenticator>,
        recorder: Arc<ServedRecorder>,
        clock: Clock,
    ) -> Self {
        RegistryService {
            store,
            authn,
            recorder,
            clock,
        }
    }

    /// The calling agency, if its role may look citizens up.
    fn caller<T>(&self, request: &Request<T>, rpc: &'static str) -> Result<Arc<Agency>, ApiError> {
        let agency = self.authn.identify(request)?;
        if !agency.role.may_look_up() {
            return Err(ApiError::RoleNotAllowed {
                agency: agency.id.clone(),
                role: agency.role.name().to_owned(),
                rpc,
            });
        }
        Ok(agency)
    }

    /// Records the call in the audit log, then answers. A call that cannot be recorded is not
    /// answered: no lookup escapes the audit trail.
    async fn finish<T>(
        &self,
        rpc: &'static str,
        agency: &Agency,
        context: &RequestContext,
        outcome: Outcome<T>,
    ) -> Result<Response<T>, Status> {
        record_call(
            &self.recorder,
            rpc,
            agency,
            context,
            outcome.subject.as_deref(),
            outcome.label,
        )
        .await?;
        Ok(Response::new(outcome.answer?))
    }

    /// The answer to a lookup that found `citizen` or not; `asked` is the number asked for, if
    /// the request gave a CCCD number (what the audit trail records for a miss).
    fn lookup(
        &self,
        agency: &Agency,
        citizen: Option<Arc<Citizen>>,
        not_found: impl FnOnce() -> ApiError,
        asked: Option<CccdNumber>,
    ) -> Outcome<proto::LookupResponse> {
        let Some(citizen) = citizen else {
            return Outcome {
                answer: Err(not_found()),
                subject: asked.map(|n| n.to_string()),
                label: "not_found",
            };
        };
        let (message, withheld_fields) =
            convert::citizen(&citizen, agency.scope, self.clock.today());
        Outcome {
            answer: Ok(proto::LookupResponse {
                citizen: Some(message),
                withheld_fields,
            }),
            subject: Some(citizen.cccd.to_string()),
            label: "found",
        }
    }
}

/// Logs a served call (masked) and records it durably in the audit log; every service that
/// serves a verification calls this before answering.
pub(crate) async fn record_call(
    recorder: &ServedRecorder,
    rpc: &'static str,
    agency: &Agency,
    context: &RequestContext,
    cccd: Option<&str>,
    outcome: &str,
) -> Result<(), ApiError> {
    // The masked number is computed only when debug logging is on: no allocation per call
    // otherwise.
    tracing::debug!(
        rpc,
        agency = %agency.id,
        dossier = %context.dossier_id,
        officer = %context.officer_id,
        subject = %cccd
            .and_then(|c| CccdNumber::parse(c).ok())
            .map_or_else(|| "-".to_owned(), CccdNumber::masked),
        outcome,
        "served"
    );
    let call = ServedCall {
        agency_id: &agency.id,
        district: &agency.district,
        dossier_id: &context.dossier_id,
        officer_id: &context.officer_id,
        purpose: &context.purpose,
        load_test: context.load_test,
        rpc,
        cccd,
        outcome,
    };
    recorder
        .record(call, crate::ids::now_ms())
        .await
        .map_err(ApiError::AuditUnavailable)
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
        let agency = self.caller(&request, "LookupByCccd")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context, &agency)?;
        let outcome = match parse_cccd("cccd_number", &request.cccd_number) {
            Err(error) => Outcome::rejected(error),
            Ok(cccd) => self.lookup(
                &agency,
                self.store.get(cccd),
                || ApiError::CitizenNotFound {
                    masked: cccd.masked(),
                },
                Some(cccd),
            ),
        };
        self.finish("LookupByCccd", &agency, &context, outcome)
            .await
    }

    async fn lookup_by_cmnd(
        &self,
        request: Request<proto::LookupByCmndRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        let agency = self.caller(&request, "LookupByCmnd")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context, &agency)?;
        scope::require(&agency, ScopeField::CmndNumber, "cmnd_number")?;
        let parsed = bounded("cmnd_number", &request.cmnd_number, MAX_NUMBER_BYTES).and_then(|n| {
            CmndNumber::parse(n).map_err(|error| ApiError::InvalidCmnd {
                field: "cmnd_number",
                error,
            })
        });
        let outcome = match parsed {
            Err(error) => Outcome::rejected(error),
            Ok(cmnd) => self.lookup(
                &agency,
                self.store.get_by_cmnd(cmnd),
                || ApiError::CmndNotFound {
                    masked: cmnd.masked(),
                },
                None,
            ),
        };
        self.finish("LookupByCmnd", &agency, &context, outcome)
            .await
    }

    async fn verify_demographics(
        &self,
        request: Request<proto::VerifyDemographicsRequest>,
    ) -> Result<Response<proto::VerifyDemographicsResponse>, Status> {
        let agency = self.caller(&request, "VerifyDemographics")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context, &agency)?;
        let parsed = parse_cccd("cccd_number", &request.cccd_number)
            .and_then(|cccd| Ok((cccd, convert::declared(request.declared)?)));
        if let Ok((_, declared)) = &parsed {
            for (input, field) in declared.scope_fields() {
                scope::require(&agency, field, input)?;
            }
        }
        let outcome = match parsed {
            Err(error) => Outcome::rejected(error),
            Ok((cccd, declared)) => match self.store.get(cccd) {
                None => Outcome {
                    answer: Err(ApiError::CitizenNotFound {
                        masked: cccd.masked(),
                    }),
                    subject: Some(cccd.to_string()),
                    label: "not_found",
                },
                Some(citizen) => {
                    let verdict = verify::verify_demographics(&declared, &citizen);
                    Outcome {
                        label: if verdict.matched { "match" } else { "no_match" },
                        subject: Some(cccd.to_string()),
                        answer: Ok(proto::VerifyDemographicsResponse {
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
                            status: convert::status(citizen.status) as i32,
                        }),
                    }
                }
            },
        };
        self.finish("VerifyDemographics", &agency, &context, outcome)
            .await
    }

    async fn verify_qr(
        &self,
        request: Request<proto::VerifyQrRequest>,
    ) -> Result<Response<proto::VerifyQrResponse>, Status> {
        let agency = self.caller(&request, "VerifyQr")?;
        let request = request.into_inner();
        let context = RequestContext::from_proto(request.context, &agency)?;
        let parsed = bounded("qr_payload", &request.qr_payload, MAX_QR_BYTES)
            .and_then(|text| QrPayload::parse(text).map_err(ApiError::InvalidQr));
        let outcome = match parsed {
            Err(error) => Outcome::rejected(error),
            Ok(qr) => {
                let citizen = self.store.get(qr.cccd);
                let mut disclosure = scope::Disclosure::new(agency.scope);
                let verify::QrCheck {
                    verdict,
                    address_problem,
                } = verify::verify_qr(&qr, citizen.as_deref(), self.clock.today(), &mut disclosure);
                let proto_verdict = convert::qr_verdict(&verdict);
                let expiry_date = match &verdict {
                    verify::QrVerdict::Mismatch(_) | verify::QrVerdict::UnknownNumber => None,
                    _ if !agency.scope.allows(ScopeField::Card) => None,
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
                Outcome {
                    label: qr_label(proto_verdict),
                    subject: Some(qr.cccd.to_string()),
                    answer: Ok(proto::VerifyQrResponse {
                        verdict: proto_verdict as i32,
                        mismatched_fields,
                        expiry_date,
                        address_problem,
                        withheld_fields: disclosure.withheld(),
                    }),
                }
            }
        };
        self.finish("VerifyQr", &agency, &context, outcome).await
    }

    /// The caller as resolved from its certificate. No role check (an auditor may ask who it
    /// is), no request context, no store access and no audit record: the cheapest answer the
    /// server gives, which makes it the baseline for load tests.
    async fn who_am_i(
        &self,
        request: Request<proto::WhoAmIRequest>,
    ) -> Result<Response<proto::WhoAmIResponse>, Status> {
        let agency = self.authn.identify(&request).map_err(ApiError::from)?;
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

fn qr_label(verdict: proto::QrVerdict) -> &'static str {
    match verdict {
        proto::QrVerdict::Unspecified => "unspecified",
        proto::QrVerdict::Valid => "valid",
        proto::QrVerdict::Mismatch => "mismatch",
        proto::QrVerdict::CardExpired => "card_expired",
        proto::QrVerdict::CardRevoked => "card_revoked",
        proto::QrVerdict::CitizenDeceased => "citizen_deceased",
        proto::QrVerdict::UnknownNumber => "unknown_number",
    }
}
