//! [`plan`]: a scenario as a deterministic list of dossiers, each period's totals exact.
//!
//! Dossiers arrive on the offices' working days only (weekdays less public holidays, plus
//! make-up Saturdays: [`calendar`]) and in their working sessions (morning and afternoon); each
//! is looked up, if at all, later in the same session. A dossier is numbered as the national
//! public-service portal numbers them: the receiving unit's code, the date, and a serial per unit
//! and day in order of receipt (`000.00.03.H17-240105-0012`).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scenario::Scenario;
use crate::{
    client::{DossierChannel, DossierInfo},
    domain::calendar,
};

/// The version of the planning rules: part of a scenario's fingerprint, so a plan made by other
/// rules is another run (its dossiers and event ids differ).
pub(crate) const PLAN_VERSION: &str = "plan-2: working days and sessions, portal numbers";

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

/// The seconds after midnight (Vietnam time) of the instant `ms`.
fn seconds_into_day(ms: i64) -> u32 {
    (ms + 7 * 3_600_000).rem_euclid(86_400_000) as u32 / 1000
}

/// The province part of a receiving unit's portal code (Hòa Bình: H17).
const PROVINCE_CODE: &str = "H17";

/// The portal's number of the `serial`-th dossier (from 1) that unit `unit` (from 0) received on
/// `day`.
fn dossier_number(unit: usize, day: NaiveDate, serial: usize) -> String {
    format!(
        "000.00.{:02}.{PROVINCE_CODE}-{}-{serial:04}",
        unit + 1,
        day.format("%y%m%d")
    )
}

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
        let working: Vec<NaiveDate> = (0..days)
            .map(|d| period.from + Days::new(d))
            .filter(|&day| calendar::is_working_day(day))
            .collect();
        assert!(!working.is_empty(), "a period without a working day");
        let start = planned.len();
        // Each unit's dossiers of each day, to be numbered in order of receipt.
        let mut by_unit_day: BTreeMap<(usize, NaiveDate), Vec<usize>> = BTreeMap::new();
        let mut lookup_weights = Vec::new();
        for (u, (unit, count)) in scenario
            .unit
            .iter()
            .zip(apportion(period.dossiers, &weights))
            .enumerate()
        {
            for n in 0..count {
                let officer = (n % u64::from(unit.officers)) as usize;
                let day = working[rng.random_range(0..working.len())];
                let second =
                    calendar::working_second(rng.random_range(0..calendar::session_seconds()));
                let received = vietnam_ms(day, second);
                let channel = if rng.random_bool(scenario.online_share) {
                    DossierChannel::Online
                } else {
                    DossierChannel::Desk
                };
                let procedure =
                    &scenario.procedures[rng.random_range(0..scenario.procedures.len())];
                by_unit_day.entry((u, day)).or_default().push(planned.len());
                let mut info = DossierInfo::new(
                    String::new(), // numbered below, once the day's receipts are known
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
        for ((unit, day), mut received) in by_unit_day {
            received.sort_by_key(|&i| planned[i].info.received_at_ms);
            for (serial, i) in received.into_iter().enumerate() {
                planned[i].info.id = dossier_number(unit, day, serial + 1);
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
            // One to thirty minutes later, within the same session (sooner when it is ending).
            let second = seconds_into_day(received);
            let left_ms = calendar::session_of(second)
                .map_or(60_000, |(_, end)| i64::from(end - second) * 1000);
            let latest = left_ms.min(1_800_000);
            let earliest = 60_000.min(latest / 2);
            planned[i].lookup_at_ms =
                Some(received + rng.random_range(earliest..latest.max(earliest + 1)));
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
    fn dossiers_arrive_on_working_days_in_sessions_and_are_numbered_per_unit_and_day() {
        let planned = plan(&Scenario::bundled());
        let mut serials: std::collections::HashMap<String, usize> = Default::default();
        let mut weekdays = [0u64; 7];
        for p in &planned {
            let at = p.info.received_at_ms.unwrap();
            let day = chrono::DateTime::from_timestamp_millis(at)
                .unwrap()
                .with_timezone(&crate::domain::vietnam::offset())
                .date_naive();
            assert!(calendar::is_working_day(day), "{} on {day}", p.info.id);
            assert!(calendar::in_session(seconds_into_day(at)), "{}", p.info.id);
            weekdays[chrono::Datelike::weekday(&day).num_days_from_monday() as usize] += 1;
            if let Some(lookup) = p.lookup_at_ms {
                assert!(
                    lookup > at
                        && calendar::session_of(seconds_into_day(lookup))
                            == calendar::session_of(seconds_into_day(at))
                );
            }
            // 000.00.UU.H17-YYMMDD-NNNN, the serial counting the unit's receipts of the day.
            let (unit_day, serial) = p.info.id.rsplit_once('-').unwrap();
            assert!(
                unit_day.starts_with("000.00.") && unit_day.contains(".H17-"),
                "{}",
                p.info.id
            );
            assert!(
                unit_day.ends_with(&day.format("%y%m%d").to_string()),
                "{}",
                p.info.id
            );
            *serials.entry(unit_day.to_owned()).or_default() += 1;
            assert!(serial.len() >= 4 && serial.parse::<usize>().unwrap() >= 1);
        }
        // Serials run 1..=n per unit and day: the ids are unique.
        let ids: std::collections::HashSet<_> = planned.iter().map(|p| &p.info.id).collect();
        assert_eq!(ids.len(), planned.len());
        assert_eq!(weekdays[6], 0, "no Sunday");
        // Saturdays only where one is made up (4 May 2024 is outside the bundled periods).
        assert_eq!(weekdays[5], 0, "no Saturday");
        // Tết 2023 and 2024: nothing received.
        assert!(planned
            .iter()
            .all(|p| !p.info.id.contains("-230123-") && !p.info.id.contains("-240212-")));
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
