//! A province scenario as written (`data/scenario.toml`, or `--scenario FILE`): periods with
//! exact totals and the units that receive them; and the [`RunIdentity`] a run of it has.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

/// A province scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub seed: u64,
    pub procedures: Vec<String>,
    pub online_share: f64,
    pub period: Vec<Period>,
    pub unit: Vec<Unit>,
    /// The first bytes of the SHA-256 of the scenario's text, in hex: part of the run id, so
    /// that two different scenarios never share event ids.
    #[serde(skip)]
    pub fingerprint: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub dossiers: u64,
    pub lookups: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub district: String,
    pub officers: u32,
    pub weight: f64,
    /// Per period.
    pub lookup_probability: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {0}: {1}")]
    Read(String, std::io::Error),
    #[error("scenario is not valid: {0}")]
    Invalid(String),
    #[error("--run-label {0:?}: use 1 to 32 letters, digits, '.', '_' or '-'")]
    Label(String),
}

impl Scenario {
    /// The bundled scenario reproducing the published figures.
    pub fn bundled() -> Self {
        Self::parse(include_str!("../../data/scenario.toml"))
            .expect("the bundled scenario is valid")
    }

    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::Read(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let mut scenario: Scenario =
            toml::from_str(text).map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        // The planning rules' version too: the same file planned by other rules is another run.
        let mut fingerprinted = format!("{}\n", super::plan::PLAN_VERSION).into_bytes();
        fingerprinted.extend_from_slice(text.as_bytes());
        let digest = ring::digest::digest(&ring::digest::SHA256, &fingerprinted);
        scenario.fingerprint = crate::ids::hex(&digest.as_ref()[..4]);
        let invalid = |m: String| Err(ScenarioError::Invalid(m));
        if scenario.unit.is_empty() || scenario.procedures.is_empty() {
            return invalid("needs at least one unit and one procedure".into());
        }
        for (i, p) in scenario.period.iter().enumerate() {
            if p.to < p.from || p.lookups > p.dossiers {
                return invalid(format!(
                    "period {i}: needs from <= to and lookups <= dossiers"
                ));
            }
        }
        for u in &scenario.unit {
            if u.officers == 0
                || u.weight <= 0.0
                || u.lookup_probability.len() != scenario.period.len()
            {
                return invalid(format!(
                    "unit {}: needs officers > 0, weight > 0 and one lookup_probability per period",
                    u.district
                ));
            }
            if u.lookup_probability
                .iter()
                .any(|p| !(0.0..=1.0).contains(p))
            {
                return invalid(format!(
                    "unit {}: probabilities must be within 0..1",
                    u.district
                ));
            }
        }
        if scenario.period.iter().enumerate().any(|(i, p)| {
            p.lookups > 0 && scenario.unit.iter().all(|u| u.lookup_probability[i] == 0.0)
        }) {
            return invalid(
                "a period with lookups needs a unit with a lookup probability above 0".into(),
            );
        }
        Ok(scenario)
    }
}

impl Scenario {
    /// Where its units are: the one old province (of the 63) all its districts belonged to, and
    /// the current province that now contains it ("Hòa Bình", "Phú Thọ"), when the district names
    /// say so unambiguously. The scenario keeps the districts of its time; auditors group by
    /// current province to compare it with what was received since.
    pub fn province(&self) -> Option<(&'static str, &'static str)> {
        use crate::domain::geography::{self, CurrentProvince};
        let mut olds = self
            .unit
            .iter()
            .map(|u| geography::district_province(&u.district, None));
        let first = olds.next()??;
        if !olds.all(|o| o == Some(first)) {
            return None;
        }
        Some((
            first.province().name,
            CurrentProvince::containing(first).name,
        ))
    }
}

/// A run of `scenario` against the population of `population_seed`, optionally labelled to tell
/// it from another run of the same scenario. Its event ids, and its dossier ids, are a function
/// of these alone: running it again reports the same events, which the server acknowledges as
/// duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    /// The client's run id, the prefix of every event id.
    pub id: String,
    pub label: Option<String>,
}

impl RunIdentity {
    pub fn new(
        scenario: &Scenario,
        population_seed: u64,
        label: Option<&str>,
    ) -> Result<Self, ScenarioError> {
        let mut id = format!(
            "sim-{}-{}-{population_seed}",
            scenario.fingerprint, scenario.seed
        );
        if let Some(label) = label {
            let valid = (1..=32).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid {
                return Err(ScenarioError::Label(label.to_owned()));
            }
            id.push('-');
            id.push_str(label);
        }
        Ok(RunIdentity {
            id,
            label: label.map(str::to_owned),
        })
    }

    /// The dossier id of this run for a planned one: labelled runs have their own dossiers.
    pub(crate) fn dossier_id(&self, planned: &str) -> String {
        match &self.label {
            Some(label) => format!("{planned}-{label}"),
            None => planned.to_owned(),
        }
    }
}
