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

pub mod layer;
mod overload;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use chrono::NaiveTime;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tonic::Code;

pub use overload::{Overload, Shed};

use crate::{methods::Method, metrics::Metrics, security::Authenticator};

/// The longest delay a rule may add, and the cap of log-normal samples.
pub const MAX_DELAY_MS: u32 = 60_000;

/// A fault file (`--faults FILE`, TOML or JSON) or the admin service's fault configuration,
/// as written; [`FaultPlan::compile`] validates it.
///
/// ```toml
/// [[rule]]
/// name = "flaky-lookups"
/// rpc = "LookupByCccd"
/// errors = { unavailable = 0.3 }
///
/// [[rule]]
/// name = "morning-peak"
/// active = "08:00-10:00"
/// latency = { distribution = "lognormal", mean_ms = 120, stddev_ms = 80 }
/// overload = { capacity = 200, service_time_ms = 40, max_queue = 500, max_queue_wait_ms = 2000 }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    #[serde(default, rename = "rule", alias = "rules")]
    pub rules: Vec<RuleSpec>,
}

impl FaultFile {
    /// Parses a fault file: JSON if the text starts with `{`, TOML otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string())
        }
    }
}

/// One rule as written. Every field but `name` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// "*" or empty: every citizen-facing RPC; a method name ("LookupByCccd"); or a full method
    /// ("/vnpop.v1.CitizenRegistry/LookupByCccd").
    #[serde(default)]
    pub rpc: String,
    /// An agency id; empty: every agency.
    #[serde(default)]
    pub agency: String,
    /// "HH:MM-HH:MM" in Vietnam time (UTC+7); empty: always.
    #[serde(default)]
    pub active: String,
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    #[serde(default)]
    pub errors: ErrorRates,
    #[serde(default)]
    pub overload: Option<OverloadSpec>,
}

/// How added latency is distributed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Always `mean_ms`.
    #[default]
    Fixed,
    /// Uniform in `min_ms..=max_ms`.
    Uniform,
    /// Log-normal with mean `mean_ms` and standard deviation `stddev_ms`: mostly near the mean with
    /// a long right tail, like real service times. Capped at [`MAX_DELAY_MS`].
    Lognormal,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    #[serde(default)]
    pub distribution: Distribution,
    #[serde(default)]
    pub mean_ms: u32,
    #[serde(default)]
    pub min_ms: u32,
    #[serde(default)]
    pub max_ms: u32,
    #[serde(default)]
    pub stddev_ms: u32,
}

/// Probabilities of answering with an injected error, checked in this order. Their sum is at
/// most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRates {
    #[serde(default)]
    pub unavailable: f64,
    #[serde(default)]
    pub deadline_exceeded: f64,
    #[serde(default)]
    pub resource_exhausted: f64,
    #[serde(default)]
    pub internal: f64,
}

impl ErrorRates {
    fn rates(&self) -> [(InjectedError, f64); 4] {
        [
            (InjectedError::Unavailable, self.unavailable),
            (InjectedError::DeadlineExceeded, self.deadline_exceeded),
            (InjectedError::ResourceExhausted, self.resource_exhausted),
            (InjectedError::Internal, self.internal),
        ]
    }
}

/// A capacity limit with a queue in front (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadSpec {
    /// Calls served at once; at least 1.
    pub capacity: u32,
    /// How long each call holds its slot before it is handled.
    #[serde(default)]
    pub service_time_ms: u32,
    /// Calls that may wait for a slot; 0: none wait, calls beyond capacity are shed at once.
    #[serde(default)]
    pub max_queue: u32,
    /// How long a call waits in the queue before it is shed; 0: no limit (the queue bound alone
    /// sheds).
    #[serde(default)]
    pub max_queue_wait_ms: u32,
}

/// The status codes a rule can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectedError {
    Unavailable,
    DeadlineExceeded,
    ResourceExhausted,
    Internal,
}

impl InjectedError {
    pub fn code(self) -> Code {
        match self {
            InjectedError::Unavailable => Code::Unavailable,
            InjectedError::DeadlineExceeded => Code::DeadlineExceeded,
            InjectedError::ResourceExhausted => Code::ResourceExhausted,
            InjectedError::Internal => Code::Internal,
        }
    }

    /// The name used in logs, metrics and error metadata.
    pub fn name(self) -> &'static str {
        match self {
            InjectedError::Unavailable => "unavailable",
            InjectedError::DeadlineExceeded => "deadline_exceeded",
            InjectedError::ResourceExhausted => "resource_exhausted",
            InjectedError::Internal => "internal",
        }
    }
}

/// A rule that does not validate: the field (e.g. `rules[2].errors.unavailable`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

/// A daily window of Vietnam time; `from > to` wraps midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl DailyWindow {
    /// Parses "HH:MM-HH:MM".
    pub fn parse(text: &str) -> Result<Self, String> {
        let (from, to) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a window such as \"08:00-10:00\""))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("{t:?} is not a time of day such as \"08:00\""))
        };
        let window = DailyWindow {
            from: time(from)?,
            to: time(to)?,
        };
        if window.from == window.to {
            return Err("the window is empty: from and to are the same time".into());
        }
        Ok(window)
    }

    pub fn contains(self, time: NaiveTime) -> bool {
        if self.from < self.to {
            self.from <= time && time < self.to
        } else {
            time >= self.from || time < self.to
        }
    }
}

/// Which calls a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RpcFilter {
    AnyCitizenFacing,
    Method(&'static Method),
}

/// A validated rule, ready to apply.
#[derive(Debug)]
pub struct FaultRule {
    spec: RuleSpec,
    rpc: RpcFilter,
    agency: Option<String>,
    active: Option<DailyWindow>,
    latency: Option<LatencySpec>,
    errors: [(InjectedError, f64); 4],
    overload: Option<Overload>,
}

impl FaultRule {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    pub fn overload(&self) -> Option<&Overload> {
        self.overload.as_ref()
    }

    fn matches(&self, method: &Method, agency: Option<&str>, time: Option<NaiveTime>) -> bool {
        let rpc = match self.rpc {
            RpcFilter::AnyCitizenFacing => method.citizen_facing,
            RpcFilter::Method(m) => std::ptr::eq(m, method) || m.path == method.path,
        };
        let agency_matches = match &self.agency {
            None => true,
            Some(wanted) => agency == Some(wanted.as_str()),
        };
        let in_window = match (self.active, time) {
            (None, _) => true,
            (Some(window), Some(time)) => window.contains(time),
            (Some(_), None) => false,
        };
        rpc && agency_matches && in_window
    }

    /// Validates `spec` (the `index`th rule). `known_agency` says whether an agency id exists.
    fn compile(
        index: usize,
        spec: RuleSpec,
        known_agency: &dyn Fn(&str) -> bool,
    ) -> Result<Self, RuleError> {
        let field = |name: &str| format!("rules[{index}].{name}");
        let invalid = |name: &str, message: String| RuleError {
            field: field(name),
            message,
        };
        if spec.name.trim().is_empty() {
            return Err(invalid("name", "required: name the rule".into()));
        }
        let rpc = match spec.rpc.trim() {
            "" | "*" => RpcFilter::AnyCitizenFacing,
            name => RpcFilter::Method(crate::methods::citizen_facing(name).ok_or_else(|| {
                invalid(
                    "rpc",
                    format!(
                        "{name:?} is not a citizen-facing RPC; use \"*\" or one of {}",
                        crate::methods::citizen_facing_names().join(", ")
                    ),
                )
            })?),
        };
        let agency = match spec.agency.trim() {
            "" => None,
            id if known_agency(id) => Some(id.to_owned()),
            id => return Err(invalid("agency", format!("no agency has id {id:?}"))),
        };
        let active = match spec.active.trim() {
            "" => None,
            text => Some(DailyWindow::parse(text).map_err(|m| invalid("active", m))?),
        };
        if let Some(latency) = &spec.latency {
            validate_latency(latency)
                .map_err(|(name, m)| invalid(&format!("latency.{name}"), m))?;
        }
        let errors = spec.errors.rates();
        for (kind, p) in errors {
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid(
                    &format!("errors.{}", kind.name()),
                    format!("{p} is not a probability between 0 and 1"),
                ));
            }
        }
        let total: f64 = errors.iter().map(|(_, p)| p).sum();
        if total > 1.0 + 1e-9 {
            return Err(invalid(
                "errors",
                format!("the probabilities add up to {total}, more than 1"),
            ));
        }
        let overload = match spec.overload {
            None => None,
            Some(o) => {
                if o.capacity == 0 {
                    return Err(invalid("overload.capacity", "must be at least 1".into()));
                }
                for (name, ms) in [
                    ("overload.service_time_ms", o.service_time_ms),
                    ("overload.max_queue_wait_ms", o.max_queue_wait_ms),
                ] {
                    if ms > MAX_DELAY_MS {
                        return Err(invalid(name, format!("at most {MAX_DELAY_MS} ms")));
                    }
                }
                Some(Overload::new(o))
            }
        };
        Ok(FaultRule {
            rpc,
            agency,
            active,
            latency: spec.latency,
            errors,
            overload,
            spec,
        })
    }

    /// A latency sample of this rule.
    fn sample_latency(&self, rng: &mut impl Rng) -> Duration {
        let Some(l) = self.latency else {
            return Duration::ZERO;
        };
        let ms = match l.distribution {
            Distribution::Fixed => f64::from(l.mean_ms),
            Distribution::Uniform => {
                f64::from(l.min_ms) + rng.random::<f64>() * f64::from(l.max_ms - l.min_ms)
            }
            Distribution::Lognormal => {
                let mean = f64::from(l.mean_ms);
                let sd = f64::from(l.stddev_ms);
                let sigma2 = (1.0 + (sd * sd) / (mean * mean)).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                (mu + sigma2.sqrt() * standard_normal(rng)).exp()
            }
        };
        Duration::from_secs_f64(ms.clamp(0.0, f64::from(MAX_DELAY_MS)) / 1000.0)
    }
}

/// A standard normal sample (Box–Muller), so no extra distribution crate is needed.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    // 1 - u is in (0, 1], so its logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn validate_latency(l: &LatencySpec) -> Result<(), (&'static str, String)> {
    let capped = |name: &'static str, ms: u32| {
        if ms > MAX_DELAY_MS {
            Err((name, format!("at most {MAX_DELAY_MS} ms")))
        } else {
            Ok(())
        }
    };
    capped("mean_ms", l.mean_ms)?;
    capped("min_ms", l.min_ms)?;
    capped("max_ms", l.max_ms)?;
    capped("stddev_ms", l.stddev_ms)?;
    match l.distribution {
        Distribution::Fixed if l.mean_ms == 0 => {
            Err(("mean_ms", "a fixed latency needs mean_ms > 0".into()))
        }
        Distribution::Uniform if l.min_ms > l.max_ms => Err((
            "max_ms",
            format!("max_ms {} is below min_ms {}", l.max_ms, l.min_ms),
        )),
        Distribution::Uniform if l.max_ms == 0 => {
            Err(("max_ms", "a uniform latency needs max_ms > 0".into()))
        }
        Distribution::Lognormal if l.mean_ms == 0 => {
            Err(("mean_ms", "a log-normal latency needs mean_ms > 0".into()))
        }
        _ => Ok(()),
    }
}

/// What the rules decided for one call.
#[derive(Debug)]
pub struct Decision<'a> {
    /// Added latency, summed over the matching rules, and the rules that added it.
    pub latency: Duration,
    pub latency_rules: Vec<&'a FaultRule>,
    /// The injected error, if a rule drew one (the first in rule order), and its rule.
    pub error: Option<(InjectedError, &'a FaultRule)>,
    /// The matching rules with a capacity limit, in order.
    pub overloads: Vec<&'a FaultRule>,
}

impl Decision<'_> {
    pub fn is_clean(&self) -> bool {
        self.latency_rules.is_empty() && self.error.is_none() && self.overloads.is_empty()
    }
}

/// A validated set of rules.
#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
    needs_agency: bool,
    needs_clock: bool,
}

impl FaultPlan {
    /// Validates every rule; the first invalid one rejects the set.
    pub fn compile(
        specs: Vec<RuleSpec>,
        known_agency: &dyn Fn(&str) -> bool,
    ) -> Result<Self, RuleError> {
        let mut rules: Vec<FaultRule> = Vec::with_capacity(specs.len());
        for (index, spec) in specs.into_iter().enumerate() {
            if rules.iter().any(|r| r.spec.name == spec.name) {
                return Err(RuleError {
                    field: format!("rules[{index}].name"),
                    message: format!("another rule is already named {:?}", spec.name),
                });
            }
            rules.push(FaultRule::compile(index, spec, known_agency)?);
        }
        Ok(FaultPlan {
            needs_agency: rules.iter().any(|r| r.agency.is_some()),
            needs_clock: rules.iter().any(|r| r.active.is_some()),
            rules,
        })
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a rule is restricted to an agency (so the caller must be identified).
    pub fn needs_agency(&self) -> bool {
        self.needs_agency
    }

    /// Whether a rule has a daily window (so the time of day is needed).
    pub fn needs_clock(&self) -> bool {
        self.needs_clock
    }

    /// The rules as written.
    pub fn specs(&self) -> Vec<RuleSpec> {
        self.rules.iter().map(|r| r.spec.clone()).collect()
    }

    /// What happens to a call of `method` by `agency` at `time` (Vietnam time of day; `None` makes
    /// windowed rules not match). Draws from `rng` only for the rules that match.
    pub fn decide<'a>(
        &'a self,
        method: &Method,
        agency: Option<&str>,
        time: Option<NaiveTime>,
        rng: &mut impl Rng,
    ) -> Decision<'a> {
        let mut decision = Decision {
            latency: Duration::ZERO,
            latency_rules: Vec::new(),
            error: None,
            overloads: Vec::new(),
        };
        for rule in self
            .rules
            .iter()
            .filter(|r| r.matches(method, agency, time))
        {
            if rule.latency.is_some() {
                decision.latency += rule.sample_latency(rng);
                decision.latency_rules.push(rule);
            }
            if decision.error.is_none() && rule.errors.iter().any(|(_, p)| *p > 0.0) {
                let draw = rng.random::<f64>();
                let mut threshold = 0.0;
                for (kind, p) in rule.errors {
                    threshold += p;
                    if draw < threshold {
                        decision.error = Some((kind, rule));
                        break;
                    }
                }
            }
            if rule.overload.is_some() {
                decision.overloads.push(rule);
            }
        }
        decision
    }
}

/// The fault plan in force, shared by the tower layer and the admin service.
#[derive(Debug)]
pub struct FaultInjector {
    plan: RwLock<Arc<FaultPlan>>,
    /// False while the plan is empty: the layer's fast path.
    active: AtomicBool,
    /// With a seed, the n-th call's random draws are the same on every run (`--fault-seed`).
    seed: u64,
    calls: AtomicU64,
    authn: Arc<Authenticator>,
    metrics: Option<Arc<Metrics>>,
}

impl FaultInjector {
    /// An injector with no rules. `seed: None` seeds from the operating system.
    pub fn new(
        authn: Arc<Authenticator>,
        metrics: Option<Arc<Metrics>>,
        seed: Option<u64>,
    ) -> Self {
        let seed = seed.unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            // Without OS randomness, a fixed seed is still a valid (if repeatable) choice.
            let _ = getrandom::fill(&mut bytes);
            u64::from_le_bytes(bytes)
        });
        FaultInjector {
            plan: RwLock::new(Arc::new(FaultPlan::default())),
            active: AtomicBool::new(false),
            seed,
            calls: AtomicU64::new(0),
            authn,
            metrics,
        }
    }

    /// Validates `specs` against the agency directory and, if every rule is valid, puts them in
    /// force at once, replacing the previous set.
    pub fn replace(&self, specs: Vec<RuleSpec>) -> Result<Arc<FaultPlan>, RuleError> {
        let plan = self.compile(specs)?;
        self.install(Arc::clone(&plan));
        Ok(plan)
    }

    /// Validates `specs` against the agency directory into a plan, without putting it in force
    /// (the admin service records the change first).
    pub fn compile(&self, specs: Vec<RuleSpec>) -> Result<Arc<FaultPlan>, RuleError> {
        let directory = self.authn.directory();
        Ok(Arc::new(FaultPlan::compile(specs, &|id| {
            directory.by_id(id).is_some()
        })?))
    }

    /// Puts a compiled plan in force at once, replacing the previous set.
    pub fn install(&self, plan: Arc<FaultPlan>) {
        {
            let mut current = self.plan.write().unwrap_or_else(|e| e.into_inner());
            *current = Arc::clone(&plan);
            self.active.store(!plan.is_empty(), Ordering::Release);
        }
        for rule in plan.rules() {
            tracing::info!(rule = rule.name(), spec = ?rule.spec(), "fault rule in force");
        }
        if plan.is_empty() {
            tracing::info!("fault injection off: no rules");
        }
    }

    /// The plan in force, or `None` when there are no rules (one atomic load).
    pub fn current(&self) -> Option<Arc<FaultPlan>> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let plan = self.plan.read().unwrap_or_else(|e| e.into_inner());
        Some(Arc::clone(&plan))
    }

    /// The plan in force, even when empty.
    pub fn plan(&self) -> Arc<FaultPlan> {
        Arc::clone(&self.plan.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// A fast generator for one call: ChaCha8 on its own stream of the injector's seed.
    pub fn call_rng(&self) -> rand_chacha::ChaCha8Rng {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(self.calls.fetch_add(1, Ordering::Relaxed));
        rng
    }

    pub fn authn(&self) -> &Authenticator {
        &self.authn
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::methods;

    fn plan(toml: &str) -> Result<FaultPlan, RuleError> {
        let file = FaultFile::parse(toml).expect("syntax");
        FaultPlan::compile(file.rules, &|id| id == "hospital-bach-mai")
    }

    fn lookup() -> &'static Method {
        methods::citizen_facing("LookupByCccd").unwrap()
    }

    #[test]
    fn parses_toml_and_json_with_every_field() {
        let toml = r#"
            [[rule]]
            name = "peak"
            rpc = "/vnpop.v1.CitizenRegistry/LookupByCccd"
            agency = "hospital-bach-mai"
            active = "22:00-02:00"
            latency = { distribution = "uniform", min_ms = 5, max_ms = 10 }
            errors = { unavailable = 0.25, internal = 0.05 }
            overload = { capacity = 4, service_time_ms = 20, max_queue = 8, max_queue_wait_ms = 100 }
        "#;
        let plan = plan(toml).unwrap();
        assert_eq!(plan.rules().len(), 1);
        assert!(plan.needs_agency() && plan.needs_clock());
        let json = serde_json::to_string(&FaultFile {
            rules: plan.specs(),
        })
        .unwrap();
        let again = FaultFile::parse(&json).unwrap();
        assert_eq!(again.rules, plan.specs());
    }

    #[test]
    fn invalid_rules_name_the_field() {
        let field = |toml: &str| plan(toml).unwrap_err().field;
        assert_eq!(field("[[rule]]\nname = ' '"), "rules[0].name");
        assert_eq!(
            field("[[rule]]\nname = 'a'\n[[rule]]\nname = 'b'\nrpc = 'Ingest'"),
            "rules[1].rpc"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nagency = 'nobody'"),
            "rules[0].agency"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nactive = '8-10'"),
            "rules[0].active"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nerrors = { unavailable = 1.5 }"),
            "rules[0].errors.unavailable"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nerrors = { unavailable = 0.6, internal = 0.6 }"),
            "rules[0].errors"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nerrors = { internal = nan }"),
            "rules[0].errors.internal"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nlatency = { distribution = 'uniform', min_ms = 9, max_ms = 3 }"),
            "rules[0].latency.max_ms"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\nlatency = { mean_ms = 70000 }"),
            "rules[0].latency.mean_ms"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\noverload = { capacity = 0 }"),
            "rules[0].overload.capacity"
        );
        assert_eq!(
            field("[[rule]]\nname = 'a'\n[[rule]]\nname = 'a'"),
            "rules[1].name"
        );
        assert!(FaultFile::parse("[[rule]]\nname = 'a'\nlatncy = 3").is_err());
    }

    #[test]
    fn error_rates_are_drawn_at_the_configured_rate_and_seeded() {
        let plan = plan("[[rule]]\nname = 'flaky'\nerrors = { unavailable = 0.3, internal = 0.1 }")
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut unavailable = 0;
        let mut internal = 0;
        for _ in 0..20_000 {
            match plan.decide(lookup(), None, None, &mut rng).error {
                Some((InjectedError::Unavailable, _)) => unavailable += 1,
                Some((InjectedError::Internal, _)) => internal += 1,
                Some(other) => panic!("unexpected {other:?}"),
                None => {}
            }
        }
        assert!((5_600..6_400).contains(&unavailable), "{unavailable}");
        assert!((1_700..2_300).contains(&internal), "{internal}");
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..50)
                .map(|_| plan.decide(lookup(), None, None, &mut rng).error.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn rules_match_by_rpc_agency_and_window() {
        let plan = plan(
            "[[rule]]\nname = 'h'\nrpc = 'LookupByCccd'\nagency = 'hospital-bach-mai'\nactive = '08:00-10:00'\nerrors = { internal = 1.0 }",
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let at = |h| NaiveTime::from_hms_opt(h, 30, 0);
        let hit = |method, agency, time| {
            plan.decide(method, agency, time, &mut ChaCha8Rng::seed_from_u64(1))
                .error
                .is_some()
        };
        assert!(hit(lookup(), Some("hospital-bach-mai"), at(9)));
        assert!(!hit(lookup(), Some("one-stop-ba-dinh"), at(9)));
        assert!(!hit(lookup(), None, at(9)));
        assert!(!hit(lookup(), Some("hospital-bach-mai"), at(10)));
        assert!(!hit(lookup(), Some("hospital-bach-mai"), None));
        let qr = methods::citizen_facing("VerifyQr").unwrap();
        assert!(!hit(qr, Some("hospital-bach-mai"), at(9)));
        let wrap = DailyWindow::parse("22:00-02:00").unwrap();
        assert!(wrap.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(wrap.contains(NaiveTime::from_hms_opt(1, 0, 0).unwrap()));
        assert!(!wrap.contains(NaiveTime::from_hms_opt(12, 0, 0).unwrap()));
        // A clean call draws nothing that changes it.
        let decision = plan.decide(qr, None, None, &mut rng);
        assert!(decision.is_clean());
    }

    #[test]
    fn latency_distributions_have_the_configured_shape() {
        let sample = |latency: &str| {
            let plan = plan(&format!("[[rule]]\nname = 'l'\nlatency = {latency}")).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            (0..10_000)
                .map(|_| {
                    plan.decide(lookup(), None, None, &mut rng)
                        .latency
                        .as_secs_f64()
                        * 1000.0
                })
                .collect::<Vec<_>>()
        };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let fixed = sample("{ mean_ms = 25 }");
        assert!(fixed.iter().all(|&ms| (ms - 25.0).abs() < 1e-6));
        let uniform = sample("{ distribution = 'uniform', min_ms = 10, max_ms = 30 }");
        assert!(uniform.iter().all(|&ms| (10.0..=30.0).contains(&ms)));
        assert!((mean(&uniform) - 20.0).abs() < 0.5);
        let lognormal = sample("{ distribution = 'lognormal', mean_ms = 100, stddev_ms = 50 }");
        let m = mean(&lognormal);
        let sd = (lognormal.iter().map(|x| (x - m).powi(2)).sum::<f64>() / lognormal.len() as f64)
            .sqrt();
        assert!((m - 100.0).abs() < 4.0, "mean {m}");
        assert!((sd - 50.0).abs() < 6.0, "stddev {sd}");
        assert!(lognormal.iter().all(|&ms| ms > 0.0));
    }
}
