//! The `vnpop.v1.QaAdministration` service: fault rules and runtime fixtures, for QA harnesses.
//! Only agencies with role `admin` may call it.

mod runtime_fixtures;

use std::sync::Arc;

use chrono::NaiveDate;
use tonic::{Request, Response, Status};

pub use runtime_fixtures::{Changed, RuntimeFixtures};

use crate::{
    domain::CccdNumber,
    error::ApiError,
    faults::{
        Distribution, ErrorRates, FaultInjector, FaultPlan, LatencySpec, OverloadSpec, RuleSpec,
    },
    population,
    proto::{self, qa_administration_server::QaAdministration},
    security::{Agency, Authenticator, Role},
};

/// The admin service over the fault injector and the store.
#[derive(Debug, Clone)]
pub struct AdminService {
    authn: Arc<Authenticator>,
    faults: Arc<FaultInjector>,
    fixtures: Arc<RuntimeFixtures>,
}

impl AdminService {
    pub fn new(
        authn: Arc<Authenticator>,
        faults: Arc<FaultInjector>,
        fixtures: Arc<RuntimeFixtures>,
    ) -> Self {
        AdminService {
            authn,
            faults,
            fixtures,
        }
    }

    /// The caller, if its role is admin.
    fn admin<T>(&self, request: &Request<T>, rpc: &'static str) -> Result<Arc<Agency>, ApiError> {
        let agency = self.authn.identify(request)?;
        if agency.role != Role::Admin {
            return Err(ApiError::RoleNotAllowed {
                agency: agency.id.clone(),
                role: agency.role.name().to_owned(),
                rpc,
            });
        }
        Ok(agency)
    }
}

/// The fault rules of a request, as the fault module reads them.
pub fn rules_from_proto(config: proto::FaultConfig) -> Vec<RuleSpec> {
    config
        .rules
        .into_iter()
        .map(|rule| RuleSpec {
            name: rule.name,
            rpc: rule.rpc,
            agency: rule.agency,
            active: rule.active,
            latency: rule.latency.map(|l| LatencySpec {
                distribution: match proto::latency_fault::Distribution::try_from(l.distribution) {
                    Ok(proto::latency_fault::Distribution::Uniform) => Distribution::Uniform,
                    Ok(proto::latency_fault::Distribution::Lognormal) => Distribution::Lognormal,
                    _ => Distribution::Fixed,
                },
                mean_ms: l.mean_ms,
                min_ms: l.min_ms,
                max_ms: l.max_ms,
                stddev_ms: l.stddev_ms,
            }),
            errors: rule
                .errors
                .map_or_else(ErrorRates::default, |e| ErrorRates {
                    unavailable: e.unavailable,
                    deadline_exceeded: e.deadline_exceeded,
                    resource_exhausted: e.resource_exhausted,
                    internal: e.internal,
                }),
            overload: rule.overload.map(|o| OverloadSpec {
                capacity: o.capacity,
                service_time_ms: o.service_time_ms,
                max_queue: o.max_queue,
                max_queue_wait_ms: o.max_queue_wait_ms,
            }),
        })
        .collect()
}

/// The rules of a plan, as the admin service answers them.
pub fn rules_to_proto(plan: &FaultPlan) -> proto::FaultConfig {
    proto::FaultConfig {
        rules: plan
            .specs()
            .into_iter()
            .map(|rule| proto::FaultRule {
                name: rule.name,
                rpc: rule.rpc,
                agency: rule.agency,
                active: rule.active,
                latency: rule.latency.map(|l| proto::LatencyFault {
                    distribution: match l.distribution {
                        Distribution::Fixed => proto::latency_fault::Distribution::Fixed,
                        Distribution::Uniform => proto::latency_fault::Distribution::Uniform,
                        Distribution::Lognormal => proto::latency_fault::Distribution::Lognormal,
                    } as i32,
                    mean_ms: l.mean_ms,
                    min_ms: l.min_ms,
                    max_ms: l.max_ms,
                    stddev_ms: l.stddev_ms,
                }),
                errors: (rule.errors != ErrorRates::default()).then_some(proto::ErrorRates {
                    unavailable: rule.errors.unavailable,
                    deadline_exceeded: rule.errors.deadline_exceeded,
                    resource_exhausted: rule.errors.resource_exhausted,
                    internal: rule.errors.internal,
                }),
                overload: rule.overload.map(|o| proto::OverloadFault {
                    capacity: o.capacity,
                    service_time_ms: o.service_time_ms,
                    max_queue: o.max_queue,
                    max_queue_wait_ms: o.max_queue_wait_ms,
                }),
            })
            .collect(),
    }
}

fn parse_cccd(text: &str) -> Result<CccdNumber, ApiError> {
    CccdNumber::parse(text).map_err(|error| ApiError::InvalidCccd {
        field: "cccd_number",
        error,
    })
}

fn changed(cccd: CccdNumber, changed: Changed) -> Response<proto::CitizenChanged> {
    Response::new(proto::CitizenChanged {
        cccd_masked: cccd.masked(),
        existed: changed.existed,
    })
}

#[tonic::async_trait]
impl QaAdministration for AdminService {
    async fn get_faults(
        &self,
        request: Request<proto::GetFaultsRequest>,
    ) -> Result<Response<proto::FaultConfig>, Status> {
        self.admin(&request, "GetFaults")?;
        Ok(Response::new(rules_to_proto(&self.faults.plan())))
    }

    async fn set_faults(
        &self,
        request: Request<proto::FaultConfig>,
    ) -> Result<Response<proto::FaultConfig>, Status> {
        let agency = self.admin(&request, "SetFaults")?;
        let rules = rules_from_proto(request.into_inner());
        let plan = self
            .faults
            .replace(rules)
            .map_err(|e| ApiError::FaultRuleInvalid {
                field: e.field,
                message: e.message,
            })?;
        tracing::info!(agency = %agency.id, rules = plan.rules().len(), "fault rules replaced");
        Ok(Response::new(rules_to_proto(&plan)))
    }

    async fn clear_faults(
        &self,
        request: Request<proto::ClearFaultsRequest>,
    ) -> Result<Response<proto::FaultConfig>, Status> {
        let agency = self.admin(&request, "ClearFaults")?;
        let plan = self
            .faults
            .replace(Vec::new())
            .map_err(|e| ApiError::FaultRuleInvalid {
                field: e.field,
                message: e.message,
            })?;
        tracing::info!(agency = %agency.id, "fault rules cleared");
        Ok(Response::new(rules_to_proto(&plan)))
    }

    async fn put_citizen(
        &self,
        request: Request<proto::PutCitizenRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "PutCitizen")?;
        let json = request.into_inner().citizen_json;
        let citizen = population::parse_fixture_citizen(&json).map_err(|(field, message)| {
            ApiError::FixtureInvalid {
                field: if field == "citizen_json" {
                    field.to_owned()
                } else {
                    format!("citizen_json.{field}")
                },
                message,
            }
        })?;
        let cccd = citizen.cccd;
        let result = self.fixtures.put(citizen)?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), existed = result.existed, "fixture citizen put");
        Ok(changed(cccd, result))
    }

    async fn remove_citizen(
        &self,
        request: Request<proto::RemoveCitizenRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "RemoveCitizen")?;
        let cccd = parse_cccd(&request.into_inner().cccd_number)?;
        let result = self.fixtures.remove(cccd)?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "fixture citizen removed");
        Ok(changed(cccd, result))
    }

    async fn revoke_card(
        &self,
        request: Request<proto::RevokeCardRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "RevokeCard")?;
        let cccd = parse_cccd(&request.into_inner().cccd_number)?;
        let result = self.fixtures.revoke_card(cccd)?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "card revoked");
        Ok(changed(cccd, result))
    }

    async fn mark_deceased(
        &self,
        request: Request<proto::MarkDeceasedRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "MarkDeceased")?;
        let request = request.into_inner();
        let cccd = parse_cccd(&request.cccd_number)?;
        let died = request
            .date_of_death
            .and_then(|d| {
                NaiveDate::from_ymd_opt(
                    d.year,
                    u32::try_from(d.month).ok()?,
                    u32::try_from(d.day).ok()?,
                )
            })
            .ok_or_else(|| ApiError::FixtureInvalid {
                field: "date_of_death".into(),
                message: "required: a calendar date".into(),
            })?;
        let result = self.fixtures.mark_deceased(cccd, died)?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "citizen marked deceased");
        Ok(changed(cccd, result))
    }

    async fn reset_population(
        &self,
        request: Request<proto::ResetPopulationRequest>,
    ) -> Result<Response<proto::ResetPopulationResponse>, Status> {
        let agency = self.admin(&request, "ResetPopulation")?;
        let restored = self.fixtures.reset();
        tracing::info!(agency = %agency.id, restored, "population reset");
        Ok(Response::new(proto::ResetPopulationResponse {
            restored: restored as u64,
        }))
    }
}
