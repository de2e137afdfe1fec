//! The `vnpop.v1.QaAdministration` service: fault rules and runtime fixtures, for QA harnesses.
//! Only agencies with role `admin` may call it.
//!
//! Every change is an audited action (see [`Action`]): checked first, then recorded in the audit
//! trail (a fixture change under the citizen's keyed subject, so it shows in their access log),
//! and only then made; when the log cannot take the record the change is refused
//! (AUDIT_UNAVAILABLE) and nothing changes. Changes are serialised, so the log's order is the
//! order they took effect.

mod runtime_fixtures;

use std::sync::Arc;

use chrono::NaiveDate;
use tonic::{Request, Response, Status};

pub use runtime_fixtures::{Change, Changed, RuntimeFixtures};

use crate::{
    audit::recorder::{Action, ServedRecorder},
    domain::CccdNumber,
    error::ApiError,
    faults::{
        Distribution, ErrorRates, FaultInjector, FaultPlan, LatencySpec, OverloadSpec, RuleSpec,
    },
    population,
    proto::{self, qa_administration_server::QaAdministration},
    security::{Agency, Authenticator, Role},
    vocabulary::{Answer, Rpc},
};

/// The admin service over the fault injector and the store.
#[derive(Debug, Clone)]
pub(crate) struct AdminService {
    authn: Arc<Authenticator>,
    faults: Arc<FaultInjector>,
    fixtures: Arc<RuntimeFixtures>,
    recorder: Arc<ServedRecorder>,
    /// Held from a change's check to its effect, across its record.
    changes: Arc<tokio::sync::Mutex<()>>,
}

/// The longest description of an action recorded (the purpose's bound).
const MAX_DETAIL_CHARS: usize = crate::reporting::MAX_PURPOSE_CHARS;

impl AdminService {
    pub fn new(
        authn: Arc<Authenticator>,
        faults: Arc<FaultInjector>,
        fixtures: Arc<RuntimeFixtures>,
        recorder: Arc<ServedRecorder>,
    ) -> Self {
        AdminService {
            authn,
            faults,
            fixtures,
            recorder,
            changes: Arc::default(),
        }
    }

    /// Records a change about to be made; durable when this returns.
    async fn record(
        &self,
        agency: &Agency,
        rpc: Rpc,
        cccd: Option<CccdNumber>,
        detail: &str,
    ) -> Result<(), ApiError> {
        let number = cccd.map(|c| c.to_string());
        let detail: String = detail.chars().take(MAX_DETAIL_CHARS).collect();
        let unit = agency.unit_at(crate::ids::now_ms());
        self.recorder
            .record_action(Action {
                agency_id: &agency.id,
                district: &unit.district,
                commune: unit.commune.map(|c| c.get()),
                province: unit.province,
                rpc: &rpc,
                cccd: number.as_deref(),
                outcome: &Answer::Applied.into(),
                detail: &detail,
            })
            .await
            .map_err(ApiError::AuditUnavailable)
    }

    /// Records then makes a prepared fixture change (the caller holds `changes`).
    async fn change(
        &self,
        agency: &Agency,
        rpc: Rpc,
        change: Change,
        detail: &str,
    ) -> Result<Response<proto::CitizenChanged>, ApiError> {
        let cccd = change.cccd;
        self.record(agency, rpc, Some(cccd), detail).await?;
        Ok(changed(cccd, self.fixtures.apply(change)))
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
pub(crate) fn rules_from_proto(config: proto::FaultConfig) -> Vec<RuleSpec> {
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
pub(crate) fn rules_to_proto(plan: &FaultPlan) -> proto::FaultConfig {
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
        let _serial = self.changes.lock().await;
        let plan = self
            .faults
            .compile(rules)
            .map_err(|e| ApiError::FaultRuleInvalid {
                field: e.field,
                message: e.message,
            })?;
        let names: Vec<&str> = plan.rules().iter().map(|r| r.name()).collect();
        let detail = format!("fault rules set: {} ({})", names.len(), names.join(", "));
        self.record(&agency, Rpc::SetFaults, None, &detail).await?;
        self.faults.install(Arc::clone(&plan));
        tracing::info!(agency = %agency.id, rules = plan.rules().len(), "fault rules replaced");
        Ok(Response::new(rules_to_proto(&plan)))
    }

    async fn clear_faults(
        &self,
        request: Request<proto::ClearFaultsRequest>,
    ) -> Result<Response<proto::FaultConfig>, Status> {
        let agency = self.admin(&request, "ClearFaults")?;
        let _serial = self.changes.lock().await;
        let plan = self
            .faults
            .compile(Vec::new())
            .map_err(|e| ApiError::FaultRuleInvalid {
                field: e.field,
                message: e.message,
            })?;
        self.record(&agency, Rpc::ClearFaults, None, "fault rules cleared")
            .await?;
        self.faults.install(Arc::clone(&plan));
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
        let _serial = self.changes.lock().await;
        let change = self.fixtures.prepare_put(citizen)?;
        let detail = if change.existed {
            "fixture citizen put: record replaced"
        } else {
            "fixture citizen put: new citizen"
        };
        let answer = self
            .change(&agency, Rpc::PutCitizen, change, detail)
            .await?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), existed = answer.get_ref().existed, "fixture citizen put");
        Ok(answer)
    }

    async fn remove_citizen(
        &self,
        request: Request<proto::RemoveCitizenRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "RemoveCitizen")?;
        let cccd = parse_cccd(&request.into_inner().cccd_number)?;
        let _serial = self.changes.lock().await;
        let change = self.fixtures.prepare_remove(cccd)?;
        let answer = self
            .change(&agency, Rpc::RemoveCitizen, change, "citizen removed")
            .await?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "fixture citizen removed");
        Ok(answer)
    }

    async fn revoke_card(
        &self,
        request: Request<proto::RevokeCardRequest>,
    ) -> Result<Response<proto::CitizenChanged>, Status> {
        let agency = self.admin(&request, "RevokeCard")?;
        let cccd = parse_cccd(&request.into_inner().cccd_number)?;
        let _serial = self.changes.lock().await;
        let change = self.fixtures.prepare_revoke_card(cccd)?;
        let answer = self
            .change(&agency, Rpc::RevokeCard, change, "card revoked")
            .await?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "card revoked");
        Ok(answer)
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
        let _serial = self.changes.lock().await;
        let change = self.fixtures.prepare_mark_deceased(cccd, died)?;
        let detail = format!("marked deceased on {died}");
        let answer = self
            .change(&agency, Rpc::MarkDeceased, change, &detail)
            .await?;
        tracing::info!(agency = %agency.id, citizen = %cccd.masked(), "citizen marked deceased");
        Ok(answer)
    }

    async fn reset_population(
        &self,
        request: Request<proto::ResetPopulationRequest>,
    ) -> Result<Response<proto::ResetPopulationResponse>, Status> {
        let agency = self.admin(&request, "ResetPopulation")?;
        let _serial = self.changes.lock().await;
        let detail = format!(
            "population reset: {} changed citizens restored",
            self.fixtures.changed_count()
        );
        self.record(&agency, Rpc::ResetPopulation, None, &detail)
            .await?;
        let restored = self.fixtures.reset();
        tracing::info!(agency = %agency.id, restored, "population reset");
        Ok(Response::new(proto::ResetPopulationResponse {
            restored: restored as u64,
        }))
    }
}
