//! What every citizen-facing service shares (CitizenRegistry, ChipVerification,
//! VneidAuthentication): the caller and its role check, the request context, the clock, the
//! field scope, and the audit record of every call answered — made first, and the only way to
//! answer.
//!
//! A handler asks [`Serving::begin`] for a [`Call`] (the caller identified, its role allowed to
//! verify citizens, the request context checked). From then on its answer can only come out of
//! [`Call::answer`], which records the call's [`Outcome`] in the audit log, durably, and only then
//! turns it into an [`Answered`] response; a refusal of the request's input is an `Outcome` too,
//! so it is recorded like any answer. The handler's own error type, [`Refused`], cannot be made
//! from an [`ApiError`] with `?`: a refusal that is not recorded is named as such
//! ([`Call::deny`], for the caller's scope) or comes from [`Serving::begin`], before there is a
//! call to record.
//!
//! Invariants: no citizen-facing answer leaves the server without its audit record; the records
//! of refusals after the context was read are in the trail too (so an honest agency's report of
//! a refused call is `served`); refusals before it — an unknown caller, a role or scope that
//! does not allow the call, an incomplete context — are not, as clients record them as never
//! having reached the server ([`Outcome::reaches_server`](crate::vocabulary::Outcome::reaches_server)).

mod context;

use std::sync::Arc;

use chrono::NaiveDate;
use tonic::{Request, Response, Status};

pub use context::RequestContext;

use crate::{
    audit::recorder::{ServedCall, ServedRecorder},
    domain::{vietnam, CccdNumber},
    error::ApiError,
    proto,
    security::{Agency, Authenticator, FieldScope},
    vocabulary::{self, Rpc},
};

/// Where "today" comes from, for card expiry and addresses of the day.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The calendar date in Vietnam (UTC+7).
    System,
    /// A fixed date, for reproducible tests and demos.
    Fixed(NaiveDate),
}

impl Clock {
    /// Today's date by this clock.
    pub fn today(self) -> NaiveDate {
        match self {
            Clock::Fixed(date) => date,
            Clock::System => vietnam::today(),
        }
    }
}

/// The caller check, the clock and the recorder, shared by the citizen-facing services.
#[derive(Debug, Clone)]
pub struct Serving {
    authn: Arc<Authenticator>,
    recorder: Arc<ServedRecorder>,
    clock: Clock,
}

impl Serving {
    /// Identifies callers with `authn` and records their calls with `recorder`.
    pub fn new(authn: Arc<Authenticator>, recorder: Arc<ServedRecorder>, clock: Clock) -> Self {
        Serving {
            authn,
            recorder,
            clock,
        }
    }

    /// The recorder, for what is recorded outside any dossier (an
    /// [`Action`](crate::audit::recorder::Action)).
    pub(crate) fn recorder(&self) -> &ServedRecorder {
        &self.recorder
    }

    /// The caller of `request`, whatever its role (an answer about the caller itself, not a
    /// citizen: nothing to record).
    pub(crate) fn identify<T>(&self, request: &Request<T>) -> Result<Arc<Agency>, Refused> {
        self.authn
            .identify(request)
            .map_err(|e| Refused::before(e.into()))
    }

    /// The caller of `request`, if its role may verify citizens (`rpc` names the call in a
    /// refusal).
    pub(crate) fn verifier<T>(
        &self,
        request: &Request<T>,
        rpc: &'static str,
    ) -> Result<Arc<Agency>, Refused> {
        let agency = self.identify(request)?;
        if !agency.role.may_look_up() {
            return Err(Refused::before(ApiError::RoleNotAllowed {
                agency: agency.id.clone(),
                role: agency.role.name().to_owned(),
                rpc,
            }));
        }
        Ok(agency)
    }

    /// Begins serving `rpc` (a verification) for the caller of `request`: identified, its role
    /// allowed to verify citizens, and the request context (taken out of the request by
    /// `context`) checked.
    pub(crate) fn begin<T>(
        &self,
        request: Request<T>,
        rpc: Rpc,
        context: impl FnOnce(&mut T) -> Option<proto::RequestContext>,
    ) -> Result<(Call<'_>, T), Refused> {
        let agency = self.verifier(&request, rpc.known_str().unwrap_or("?"))?;
        let mut request = request.into_inner();
        let context =
            RequestContext::from_proto(context(&mut request), &agency).map_err(Refused::before)?;
        Ok((
            Call {
                serving: self,
                rpc,
                agency,
                context,
            },
            request,
        ))
    }
}

/// A call being served: the caller identified and allowed, its request context checked. It
/// answers only through [`Call::answer`], which records it first.
#[derive(Debug)]
pub(crate) struct Call<'s> {
    serving: &'s Serving,
    rpc: Rpc,
    agency: Arc<Agency>,
    context: RequestContext,
}

impl Call<'_> {
    /// The calling agency.
    pub(crate) fn agency(&self) -> &Arc<Agency> {
        &self.agency
    }

    /// The request context.
    pub(crate) fn context(&self) -> &RequestContext {
        &self.context
    }

    /// What the calling agency may see.
    pub(crate) fn scope(&self) -> FieldScope {
        self.agency.scope
    }

    /// Today, by the server's clock.
    pub(crate) fn today(&self) -> NaiveDate {
        self.serving.clock.today()
    }

    /// A refusal of the caller's scope (PERMISSION_DENIED), not recorded: clients record it as
    /// never having reached the server, as they do a role the directory does not allow.
    pub(crate) fn deny(&self, error: ApiError) -> Refused {
        debug_assert_eq!(
            error.code(),
            tonic::Code::PermissionDenied,
            "only a permission refusal goes unrecorded"
        );
        Refused(error.into())
    }

    /// Records the call's `outcome` in the audit log (durable when this returns), then answers
    /// it: the only way a served call answers. A call that cannot be recorded is not answered
    /// (AUDIT_UNAVAILABLE).
    pub(crate) async fn answer<T>(self, outcome: Outcome<T>) -> Result<Answered<T>, Refused> {
        let label = outcome.label();
        record(
            &self.serving.recorder,
            &self.rpc,
            &self.agency,
            &self.context,
            outcome.subject.as_deref(),
            &label,
        )
        .await
        .map_err(|e| Refused(e.into()))?;
        match outcome.answer {
            Ok(answer) => Ok(Answered(Response::new(answer))),
            Err(error) => Err(Refused(error.into())),
        }
    }
}

/// What a served call produced: its answer or the refusal of its input, and what the audit
/// trail records of it — the citizen concerned (a CCCD number, recorded as its keyed subject)
/// and the outcome's label.
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    answer: Result<T, ApiError>,
    subject: Option<String>,
    /// `None`: the refusal's gRPC code ([`vocabulary::Outcome::Failed`]), as clients record it.
    label: Option<vocabulary::Outcome>,
}

impl<T> Outcome<T> {
    /// An answer, recorded as `label` (found, match, a verdict …) for `subject`.
    pub(crate) fn answered(
        answer: T,
        subject: Option<String>,
        label: impl Into<vocabulary::Outcome>,
    ) -> Self {
        Outcome {
            answer: Ok(answer),
            subject,
            label: Some(label.into()),
        }
    }

    /// A refusal, recorded under its gRPC code (INVALID_ARGUMENT, NOT_FOUND), as a client
    /// records it.
    pub(crate) fn refused(error: ApiError, subject: Option<String>) -> Self {
        Outcome {
            answer: Err(error),
            subject,
            label: None,
        }
    }

    /// A VNeID refusal, recorded under its `reason` (what the caller is told may say less).
    pub(crate) fn refused_as(
        error: ApiError,
        subject: Option<String>,
        reason: crate::reason::Reason,
    ) -> Self {
        Outcome {
            answer: Err(error),
            subject,
            label: Some(vocabulary::Outcome::VneidRefused(reason)),
        }
    }

    fn label(&self) -> vocabulary::Outcome {
        match (&self.label, &self.answer) {
            (Some(label), _) => label.clone(),
            (None, Err(error)) => vocabulary::Outcome::Failed(error.code()),
            (None, Ok(_)) => vocabulary::Outcome::OK,
        }
    }
}

/// A served call's answer, recorded: made only by [`Call::answer`].
#[derive(Debug)]
pub(crate) struct Answered<T>(Response<T>);

impl<T> Answered<T> {
    /// The response tonic sends.
    pub(crate) fn into_response(self) -> Response<T> {
        self.0
    }
}

/// Why a served call did not answer: a refusal before there was a call to record
/// ([`Serving::begin`]), a scope refusal ([`Call::deny`]), a recorded refusal of the input, or a
/// record that could not be made. Not made from an [`ApiError`] by `?`.
#[derive(Debug)]
pub(crate) struct Refused(Status);

impl Refused {
    /// A refusal before the call's context is known: nothing to record it against.
    fn before(error: ApiError) -> Self {
        Refused(error.into())
    }
}

impl From<Refused> for Status {
    fn from(refused: Refused) -> Status {
        refused.0
    }
}

/// The tonic result of a handler's [`Answered`] or [`Refused`].
pub(crate) fn respond<T>(served: Result<Answered<T>, Refused>) -> Result<Response<T>, Status> {
    served.map(Answered::into_response).map_err(Status::from)
}

/// Logs a served call (the number masked) and records it durably in the audit log.
async fn record(
    recorder: &ServedRecorder,
    rpc: &Rpc,
    agency: &Agency,
    context: &RequestContext,
    cccd: Option<&str>,
    outcome: &vocabulary::Outcome,
) -> Result<(), ApiError> {
    // The masked number is computed only when debug logging is on: no allocation per call
    // otherwise.
    tracing::debug!(
        %rpc,
        agency = %agency.id,
        dossier = %context.dossier_id,
        officer = %context.officer_id,
        subject = %cccd
            .and_then(|c| CccdNumber::parse(c).ok())
            .map_or_else(|| "-".to_owned(), CccdNumber::masked),
        %outcome,
        "served"
    );
    let at = crate::ids::now_ms();
    // The unit of the day: since the reform the agency's commune and province.
    let unit = agency.unit_at(at);
    let call = ServedCall {
        agency_id: &agency.id,
        district: &unit.district,
        commune: unit.commune.map(|c| c.get()),
        province: unit.province,
        dossier_id: &context.dossier_id,
        officer_id: &context.officer_id,
        purpose: &context.purpose,
        load_test: context.load_test,
        rpc,
        cccd,
        outcome,
        call_id: context.call_id.as_deref(),
    };
    recorder
        .record(call, at)
        .await
        .map_err(ApiError::AuditUnavailable)
}
