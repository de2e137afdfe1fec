//! The [`FaultInjector`]: the fault plan in force, shared by the tower layer and the admin
//! service, and each call's random generator.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc, RwLock,
};

use super::{
    plan::FaultPlan,
    spec::{RuleError, RuleSpec},
};
use crate::{metrics::Metrics, security::Authenticator};

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
    pub(crate) fn compile(&self, specs: Vec<RuleSpec>) -> Result<Arc<FaultPlan>, RuleError> {
        let directory = self.authn.directory();
        Ok(Arc::new(FaultPlan::compile(specs, &|id| {
            directory.by_id(id).is_some()
        })?))
    }

    /// Puts a compiled plan in force at once, replacing the previous set.
    pub(crate) fn install(&self, plan: Arc<FaultPlan>) {
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
    pub(crate) fn call_rng(&self) -> rand_chacha::ChaCha8Rng {
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
