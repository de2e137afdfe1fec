//! Rules validated into a [`FaultPlan`], and [`FaultPlan::decide`]: the pure, seedable
//! decision for one call (added latency, an injected error, the capacity limits it goes through).

use std::time::Duration;

use chrono::NaiveTime;
use rand::Rng;

use super::{
    overload::Overload,
    spec::{
        DailyWindow, Distribution, InjectedError, LatencySpec, RuleError, RuleSpec, MAX_DELAY_MS,
    },
};
use crate::methods::Method;

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
    pub(crate) fn is_clean(&self) -> bool {
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
    pub(crate) fn compile(
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
    pub(crate) fn needs_agency(&self) -> bool {
        self.needs_agency
    }

    /// Whether a rule has a daily window (so the time of day is needed).
    pub(crate) fn needs_clock(&self) -> bool {
        self.needs_clock
    }

    /// The rules as written.
    pub(crate) fn specs(&self) -> Vec<RuleSpec> {
        self.rules.iter().map(|r| r.spec.clone()).collect()
    }

    /// What happens to a call of `method` by `agency` at `time` (Vietnam time of day; `None` makes
    /// windowed rules not match). Draws from `rng` only for the rules that match.
    pub(crate) fn decide<'a>(
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::faults::FaultFile;
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
        assert!(!hit(lookup(), Some("one-stop-phuong-ba-dinh"), at(9)));
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
