//! Real citizens for testers: `count` generated citizens matching a [`Filter`] (current
//! province, birth years or age, sex, ethnicity, card state, VNeID level), drawn in an order that
//! depends only on the population's size and a draw seed, so the same flags always give the same
//! citizens. Citizens are computed in parallel in chunks along that order until enough match.

#[cfg(test)]
use std::collections::HashMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

use super::{generate, Population};
use crate::domain::{
    geography::CurrentProvince, matching::fold, CardState, Citizen, Sex, VneidLevel,
};

/// A card state to filter on, or no card at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFilter {
    /// The card's state on the day.
    State(CardState),
    /// No card issued.
    None,
}

/// What a sampled citizen must be; every field set must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Lives (permanent address) in this province of the 34.
    pub province: Option<&'static CurrentProvince>,
    /// Born in one of these years.
    pub born: Option<RangeInclusive<i32>>,
    /// Aged this many full years on the day.
    pub age: Option<RangeInclusive<u32>>,
    /// Of this sex.
    pub sex: Option<Sex>,
    /// Of this ethnic group (as recorded, e.g. "Kinh", "Mông").
    pub ethnicity: Option<String>,
    /// Whose card is in this state on the day (or who has none).
    pub card: Option<CardFilter>,
    /// With this VNeID account level.
    pub vneid: Option<VneidLevel>,
}

impl Filter {
    /// Whether `citizen` is one the filter asks for, on `today`.
    pub fn accepts(&self, citizen: &Citizen, today: NaiveDate) -> bool {
        let born = citizen.date_of_birth;
        self.province
            .is_none_or(|p| citizen.permanent_address.province().code == p.code)
            && self.born.as_ref().is_none_or(|r| r.contains(&born.year()))
            && self
                .age
                .as_ref()
                .is_none_or(|r| today.years_since(born).is_some_and(|age| r.contains(&age)))
            && self.sex.is_none_or(|s| citizen.sex == s)
            && self
                .ethnicity
                .as_deref()
                .is_none_or(|e| fold(e) == fold(&citizen.ethnicity))
            && self
                .card
                .is_none_or(|card| match (card, citizen.card_state(today)) {
                    (CardFilter::None, state) => state.is_none(),
                    (CardFilter::State(wanted), Some(state)) => wanted == state,
                    (CardFilter::State(_), None) => false,
                })
            && self.vneid.is_none_or(|level| citizen.vneid == level)
    }
}

/// Citizens computed at once, in parallel, before the matches are counted.
const CHUNK: u64 = 1 << 15;

/// Up to `count` citizens of `population` that `filter` accepts on `today`, in the draw order of
/// `draw_seed` (see [`draw_order`]); fewer when the population holds fewer.
pub fn sample(
    population: &Population,
    filter: &Filter,
    count: usize,
    draw_seed: u64,
    today: NaiveDate,
) -> Vec<Citizen> {
    let size = population.len();
    let (start, stride) = draw_order(size, draw_seed);
    let spec = population.spec();
    let (seed, reference_date) = (spec.seed, spec.reference_date);
    let mut found = Vec::with_capacity(count.min(1 << 20));
    let mut next = 0;
    while found.len() < count && next < size {
        let end = (next + CHUNK).min(size);
        let mut matched: Vec<Citizen> = (next..end)
            .into_par_iter()
            .filter_map(|k| {
                let index = nth(start, stride, size, k);
                // Who they are and where they live, from the stream's first draws: most
                // citizens are left out by an ethnicity or province filter before being
                // generated.
                if let Some(wanted) = &filter.ethnicity {
                    let (ethnicity, _) = generate::ethnicity(seed, index, reference_date);
                    if fold(ethnicity) != fold(wanted) {
                        return None;
                    }
                }
                if let Some(province) = filter.province {
                    let old = generate::residence_province(seed, index, reference_date);
                    if CurrentProvince::containing(old).code != province.code {
                        return None;
                    }
                }
                let citizen = population.citizen(index);
                filter.accepts(&citizen, today).then_some(citizen)
            })
            .collect();
        matched.truncate(count - found.len());
        found.append(&mut matched);
        next = end;
    }
    found
}

/// The `k`-th index of the draw order `(start, stride)` over `0..size`.
pub(crate) fn nth(start: u64, stride: u64, size: u64, k: u64) -> u64 {
    (start + (u128::from(k) * u128::from(stride) % u128::from(size)) as u64) % size
}

/// How many of the first `count` citizens of the draw order of `draw_seed` are of each ethnic
/// group, by the province where their birth was registered (the province their group was drawn
/// for): from the stream's first draws only, in parallel. What the census share tests count.
#[cfg(test)]
pub(crate) fn ethnic_tally(
    population: &Population,
    count: u64,
    draw_seed: u64,
) -> HashMap<(crate::domain::ProvinceCode, &'static str), u64> {
    let size = population.len();
    let (start, stride) = draw_order(size, draw_seed);
    let spec = population.spec();
    (0..count.min(size))
        .into_par_iter()
        .fold(HashMap::new, |mut tally, k| {
            let index = nth(start, stride, size, k);
            let (ethnicity, province) = generate::ethnicity(spec.seed, index, spec.reference_date);
            *tally.entry((province, ethnicity)).or_insert(0) += 1;
            tally
        })
        .reduce(HashMap::new, |mut a, b| {
            for (key, n) in b {
                *a.entry(key).or_insert(0) += n;
            }
            a
        })
}

/// The draw order over `0..size`: index `(start + k × stride) mod size` for k = 0, 1, …, with a
/// stride coprime to `size`, so every citizen comes once; both from `draw_seed` and `size` only.
pub fn draw_order(size: u64, draw_seed: u64) -> (u64, u64) {
    if size <= 1 {
        return (0, 1);
    }
    // SplitMix64 of the seed: a start and a large odd stride, moved to the next coprime.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let start = mix(draw_seed) % size;
    let mut stride = (mix(draw_seed ^ 0x5EED) % size).max(1);
    while gcd(stride, size) != 1 {
        stride = stride % (size - 1) + 1;
    }
    (start, stride)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::{builtin_fixtures, PopulationSpec};

    fn population_of(size: usize) -> Population {
        let spec = PopulationSpec {
            seed: 2026,
            size,
            reference_date: PopulationSpec::default_reference_date(),
        };
        Population::new(spec, &builtin_fixtures()).unwrap()
    }

    #[test]
    fn the_draw_order_visits_everyone_once() {
        for (size, seed) in [(1, 0), (2, 7), (10, 3), (97, 1), (1000, 42), (4096, 9)] {
            let (start, stride) = draw_order(size, seed);
            let mut seen: Vec<u64> = (0..size).map(|k| (start + k * stride) % size).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len() as u64, size, "{size} {seed}");
        }
    }

    #[test]
    fn samples_match_their_filter_and_repeat_for_a_seed() {
        let population = population_of(50_000);
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let filter = Filter {
            province: crate::domain::geography::current_province("Lai Châu"),
            born: Some(1990..=1999),
            ..Filter::default()
        };
        let sampled = sample(&population, &filter, 20, 1, today);
        assert_eq!(sampled.len(), 20);
        for citizen in &sampled {
            assert!(filter.accepts(citizen, today));
            assert_eq!(citizen.permanent_address.province().name, "Lai Châu");
            // A real citizen: the population finds them by number.
            assert_eq!(population.get(citizen.cccd).as_ref(), Some(citizen));
        }
        let again = sample(&population, &filter, 20, 1, today);
        assert_eq!(sampled, again);
        let other = sample(&population, &filter, 20, 2, today);
        assert_ne!(sampled, other);
        // Asking for more than there are gives what there is.
        let everyone = Filter::default();
        assert_eq!(
            sample(&population_of(30), &everyone, 100, 0, today).len(),
            30
        );
    }
}
