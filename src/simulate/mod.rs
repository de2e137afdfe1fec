//! `vnpop simulate`: drives the client library against a server with a province scenario, so the
//! auditor's figures can be reproduced end to end.
//!
//! The scenario (`data/scenario.toml`, or `--scenario FILE`) fixes each period's dossier and
//! lookup totals exactly; [`plan`] turns it into a deterministic list of dossiers, and [`run`]
//! opens each through an [`AgencyClient`] at its simulated time and makes its lookup, then waits
//! for the outbox to drain. Event times are simulated times, not the wall clock.

use std::{path::Path, sync::Arc, time::Duration};

use chrono::{Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::{
    client::{AgencyClient, ClientError, DossierChannel, DossierInfo},
    domain::CccdNumber,
    population::{self, PopulationSpec},
};

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
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
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
    fn dossier_id(&self, planned: &str) -> String {
        match &self.label {
            Some(label) => format!("{planned}-{label}"),
            None => planned.to_owned(),
        }
    }
}

/// One simulated dossier.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDossier {
    pub info: DossierInfo,
    /// Looked up, and when (Unix ms), if so.
    pub lookup_at_ms: Option<i64>,
}

/// Splits `total` among `weights` exactly (largest remainder).
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut shares: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = total - shares.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        shares[i] += 1;
    }
    shares
}

fn vietnam_ms(date: NaiveDate, seconds_into_day: u32) -> i64 {
    crate::domain::vietnam::instant_ms(date, seconds_into_day)
}

/// Dossier numbers open with the province's code (Hòa Bình: 17), as in the one-stop-shop system.
const DOSSIER_PREFIX: &str = "H17";

/// A unit's name as the start of its officers' ids: "Huyện Mai Châu" becomes "huyen-mai-chau"
/// (unique per district, unlike its last word: Lạc Sơn and Lương Sơn).
fn slug(district: &str) -> String {
    crate::domain::matching::fold(district).replace(' ', "-")
}

/// The deterministic list of dossiers of the scenario, period after period.
pub fn plan(scenario: &Scenario) -> Vec<PlannedDossier> {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed);
    // Each officer's own probability: the unit's, ±40%.
    let spread: Vec<Vec<f64>> = scenario
        .unit
        .iter()
        .map(|u| {
            (0..u.officers)
                .map(|_| rng.random_range(0.6..1.4))
                .collect()
        })
        .collect();
    let weights: Vec<f64> = scenario.unit.iter().map(|u| u.weight).collect();
    let officer_slugs: Vec<String> = scenario.unit.iter().map(|u| slug(&u.district)).collect();
    let mut planned = Vec::new();
    for (p, period) in scenario.period.iter().enumerate() {
        let days = (period.to - period.from).num_days() as u64 + 1;
        let start = planned.len();
        let mut lookup_weights = Vec::new();
        for (u, (unit, count)) in scenario
            .unit
            .iter()
            .zip(apportion(period.dossiers, &weights))
            .enumerate()
        {
            for n in 0..count {
                let officer = (n % u64::from(unit.officers)) as usize;
                let day = period.from + Days::new(rng.random_range(0..days));
                // Office hours: 07:30 to 17:00.
                let received = vietnam_ms(day, rng.random_range(27_000..61_200));
                let channel = if rng.random_bool(scenario.online_share) {
                    DossierChannel::Online
                } else {
                    DossierChannel::Desk
                };
                let procedure =
                    &scenario.procedures[rng.random_range(0..scenario.procedures.len())];
                let mut info = DossierInfo::new(
                    format!(
                        "{DOSSIER_PREFIX}.{u:02}-{}-{:06}",
                        day.format("%y%m%d"),
                        planned.len()
                    ),
                    procedure.clone(),
                    unit.district.clone(),
                    format!("{}-cb{:02}", officer_slugs[u], officer + 1),
                    channel,
                );
                info.received_at_ms = Some(received);
                planned.push(PlannedDossier {
                    info,
                    lookup_at_ms: None,
                });
                lookup_weights.push(unit.lookup_probability[p] * spread[u][officer]);
            }
        }
        // Exactly `lookups` dossiers, drawn without replacement with the officers' probabilities
        // as weights (Efraimidis–Spirakis keys: the largest u^(1/w) win).
        let mut keys: Vec<(f64, usize)> = lookup_weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, w)| (rng.random::<f64>().ln() / w, start + i))
            .collect();
        keys.sort_by(|a, b| b.0.total_cmp(&a.0));
        for &(_, i) in keys.iter().take(period.lookups as usize) {
            let received = planned[i].info.received_at_ms.expect("set above");
            planned[i].lookup_at_ms = Some(received + rng.random_range(60_000..1_800_000));
        }
    }
    planned
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimulationReport {
    pub dossiers: u64,
    pub lookups: u64,
    /// Lookups the server did not answer with a citizen (still recorded).
    pub failed_lookups: u64,
    /// Dossiers (and their lookups) that an earlier run of the same identity had already put in
    /// the log: their receipts were acknowledged as duplicates and nothing was done again.
    pub already_logged: u64,
    pub already_logged_lookups: u64,
}

/// Runs the scenario through `client` (opened with `run.id` as its run id), `concurrency`
/// dossiers at a time, looking up citizens of the default population (the first 1,000 of
/// `population_seed`, which every server with that seed holds), then waits for the outbox to
/// drain. A dossier the log already holds from an earlier run of the same identity is skipped,
/// so re-running changes no figure and an interrupted run resumes.
pub async fn run(
    client: &AgencyClient,
    scenario: &Scenario,
    identity: &RunIdentity,
    concurrency: usize,
    population_seed: u64,
    mut progress: impl FnMut(u64, u64),
) -> Result<SimulationReport, ClientError> {
    let spec = PopulationSpec {
        seed: population_seed,
        size: 1_000,
        reference_date: PopulationSpec::default_reference_date(),
    };
    let citizens: Arc<Vec<CccdNumber>> = Arc::new(
        population::generate(spec, &population::builtin_fixtures())
            .iter()
            .map(|c| c.cccd)
            .collect(),
    );
    let mut planned = plan(scenario);
    for p in &mut planned {
        p.info.id = identity.dossier_id(&p.info.id);
    }
    let total = planned.len() as u64;
    let (tx, rx) = tokio::sync::mpsc::channel::<PlannedDossier>(concurrency * 2);
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::unbounded_channel::<Result<Done, ClientError>>();
    let receiver = Arc::new(tokio::sync::Mutex::new(rx));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, receiver, done, citizens) = (
                client.clone(),
                Arc::clone(&receiver),
                done_tx.clone(),
                Arc::clone(&citizens),
            );
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(planned) = next else { break };
                    let result = async {
                        let Some(mut dossier) =
                            client.open_dossier_once(planned.info.clone()).await?
                        else {
                            return Ok(Done::AlreadyLogged {
                                looked_up: planned.lookup_at_ms.is_some(),
                            });
                        };
                        let Some(at) = planned.lookup_at_ms else {
                            return Ok(Done::Now {
                                looked_up: false,
                                answered: false,
                            });
                        };
                        dossier.set_event_time(at);
                        let cccd = citizens[(at as usize / 1000) % citizens.len()].to_string();
                        let answered = match dossier
                            .lookup_by_cccd("kiểm tra thông tin công dân", &cccd)
                            .await
                        {
                            Ok(_) => true,
                            Err(ClientError::Rpc(_)) => false,
                            Err(other) => return Err(other),
                        };
                        Ok(Done::Now {
                            looked_up: true,
                            answered,
                        })
                    }
                    .await;
                    if done.send(result).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(done_tx);
    let feeder = tokio::spawn(async move {
        for p in planned {
            if tx.send(p).await.is_err() {
                break;
            }
        }
    });
    let mut report = SimulationReport::default();
    while let Some(result) = done_rx.recv().await {
        match result? {
            Done::Now {
                looked_up,
                answered,
            } => {
                report.dossiers += 1;
                report.lookups += u64::from(looked_up);
                report.failed_lookups += u64::from(looked_up && !answered);
            }
            Done::AlreadyLogged { looked_up } => {
                report.already_logged += 1;
                report.already_logged_lookups += u64::from(looked_up);
            }
        }
        let seen = report.dossiers + report.already_logged;
        if seen % 5_000 == 0 || seen == total {
            progress(seen, total);
        }
    }
    let _ = feeder.await;
    for worker in workers {
        let _ = worker.await;
    }
    client.flush(Duration::from_secs(600)).await?;
    Ok(report)
}

/// What became of one planned dossier.
enum Done {
    /// Done in this run.
    Now { looked_up: bool, answered: bool },
    /// An earlier run of the same identity had done it.
    AlreadyLogged { looked_up: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_plan_has_the_published_totals() {
        let scenario = Scenario::bundled();
        let planned = plan(&scenario);
        for period in &scenario.period {
            let start = vietnam_ms(period.from, 0);
            let end = vietnam_ms(period.to + Days::new(1), 0);
            let in_period: Vec<_> = planned
                .iter()
                .filter(|p| (start..end).contains(&p.info.received_at_ms.unwrap()))
                .collect();
            assert_eq!(in_period.len() as u64, period.dossiers);
            assert_eq!(
                in_period
                    .iter()
                    .filter(|p| p.lookup_at_ms.is_some())
                    .count() as u64,
                period.lookups
            );
        }
        assert_eq!(plan(&scenario), planned, "deterministic");
    }

    #[test]
    fn the_bundled_units_are_hoa_binhs_districts() {
        let tables = crate::population::tables::Tables::get();
        let hoa_binh = tables.districts(crate::domain::ProvinceCode::new(17).unwrap());
        let scenario = Scenario::bundled();
        assert_eq!(scenario.unit.len(), hoa_binh.len(), "every district, once");
        for unit in &scenario.unit {
            assert!(
                hoa_binh.contains(&unit.district.as_str()),
                "{} is not a district of Hòa Bình (017)",
                unit.district
            );
        }
        let officers: std::collections::HashSet<_> = plan(&scenario)
            .into_iter()
            .map(|p| p.info.officer_id)
            .collect();
        let expected: u32 = scenario.unit.iter().map(|u| u.officers).sum();
        assert_eq!(officers.len() as u32, expected, "officer ids are unique");
        assert_eq!(slug("Huyện Lạc Sơn"), "huyen-lac-son");
        assert_eq!(scenario.province(), Some(("Hòa Bình", "Phú Thọ")));
    }

    #[test]
    fn run_identities_depend_on_the_scenario_the_seed_and_the_label() {
        let bundled = Scenario::bundled();
        let a = RunIdentity::new(&bundled, 2026, None).unwrap();
        assert_eq!(
            a,
            RunIdentity::new(&Scenario::bundled(), 2026, None).unwrap()
        );
        assert_ne!(a.id, RunIdentity::new(&bundled, 7, None).unwrap().id);
        let labelled = RunIdentity::new(&bundled, 2026, Some("again-2")).unwrap();
        assert_ne!(a.id, labelled.id);
        assert_eq!(
            labelled.dossier_id("H35.00-221201-000000"),
            "H35.00-221201-000000-again-2"
        );
        assert_eq!(a.dossier_id("H35.00-221201-000000"), "H35.00-221201-000000");
        let text = include_str!("../../data/scenario.toml").replace("seed =", "seed = 1 #");
        let other = Scenario::parse(&text).unwrap();
        assert_ne!(other.fingerprint, bundled.fingerprint);
        for bad in ["", "a b", "é", &"x".repeat(33)] {
            assert!(
                RunIdentity::new(&bundled, 2026, Some(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn apportionment_is_exact() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), [4, 3, 3]);
        assert_eq!(
            apportion(300_000, &[30.0, 16.0, 14.0, 13.0, 13.0, 14.0])
                .iter()
                .sum::<u64>(),
            300_000
        );
    }
}
