//! [`plan`]: a scenario as a deterministic list of dossiers, each period's totals exact.

use chrono::{Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scenario::Scenario;
use crate::client::{DossierChannel, DossierInfo};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::RunIdentity;

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
