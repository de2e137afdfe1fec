//! Fault rules as written: the file format (`--faults FILE`, TOML or JSON) and the admin
//! service's fault configuration, before validation ([`super::plan`] validates them).

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// The longest delay a rule may add, and the cap of log-normal samples.
pub const MAX_DELAY_MS: u32 = 60_000;

/// A fault file (`--faults FILE`, TOML or JSON) or the admin service's fault configuration,
/// as written; [`FaultPlan::compile`](super::FaultPlan::compile) validates it.
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
    pub(crate) fn rates(&self) -> [(InjectedError, f64); 4] {
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

pub use crate::error::InjectedError;

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
