//! Fault injection for QA: make the citizen-facing services slow, failing or overloaded on purpose,
//! the way the real population database behaves at peak, so agencies can test their retries,
//! timeouts and backoff.
//!
//! A [`FaultPlan`] is a list of [`FaultRule`]s, validated from [`RuleSpec`]s (the startup file,
//! `--faults FILE`, or the admin service's `SetFaults`). Every rule that matches a call applies to
//! it, in order:
//!
//! 1. **latency** — a fixed, uniform or log-normal delay before anything else;
//! 2. **errors** — with the configured probability per status code, the call is answered with an
//!    injected error (reason `FAULT_INJECTED`) instead of being served;
//! 3. **overload** — a capacity limit: each call holds one of `capacity` slots for
//!    `service_time_ms` plus its real handling; calls beyond wait in a bounded queue for a bounded
//!    time, and the others are shed with RESOURCE_EXHAUSTED (reason `OVERLOADED`).
//!
//! The decision for one call ([`FaultPlan::decide`]) is a pure function of the plan, the call,
//! the time of day and a random number generator, so unit tests seed it. The [`FaultInjector`]
//! holds the plan in force and is shared by the tower layer ([`layer`]) and the admin service.
//! With no rules (the default) the layer costs one atomic load per call.
//!
//! Modules: `spec` (rules as written: the file format), `plan` (validation into a [`FaultPlan`]
//! and the decision), `injector` (the plan in force), `overload` (capacity slots and their
//! queue), [`layer`] (the tower layer).

mod injector;
pub mod layer;
mod overload;
mod plan;
mod spec;

pub use injector::FaultInjector;
pub use overload::{Overload, Shed};
pub use plan::{Decision, FaultPlan, FaultRule};
pub use spec::{
    DailyWindow, Distribution, ErrorRates, FaultFile, InjectedError, LatencySpec, OverloadSpec,
    RuleError, RuleSpec, MAX_DELAY_MS,
};
