//! The synthetic population: a deterministic, realistic set of citizens generated from a seed,
//! plus the fixture citizens that examples and tests rely on.
//!
//! Same seed, size and reference date → the same people, on any machine. Realism comes from the
//! embedded tables (surname, middle- and given-name frequencies by sex and birth cohort, province
//! populations, the age pyramid; each province's ethnic composition from the 2019 census,
//! religions by ethnic group and province, names as each group gives them) and from the card
//! rules in
//! [`crate::domain`]: cards issued at 14 or later and only once the card type existed, expiring at
//! the legal ages. A small share of deceased citizens, revoked and expired cards is kept for
//! negative tests.

#[cfg(test)]
mod census_tests;
mod ethnic;
mod fixtures;
mod generate;
mod layout;
#[cfg(test)]
mod matching_tests;
pub(crate) mod names;
pub mod sample;
pub(crate) mod tables;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

pub use fixtures::{builtin_fixtures, load_fixtures_file, parse_fixture_citizen, FixtureError};

use crate::domain::{CccdNumber, Citizen, CmndNumber};

/// 32 bytes that depend only on the population seed, a purpose label and a CCCD number: HMAC-SHA256
/// keyed by the seed. Everything vnpop derives per citizen beyond the generated record (VNeID test
/// credentials, the chip's DG13-only personal data) comes from here, so a tester can reproduce it
/// from the seed and the number alone, and one purpose reveals nothing about another.
pub(crate) fn derive_bytes(seed: u64, purpose: &str, cccd: CccdNumber) -> [u8; 32] {
    use ring::hmac;
    let mut key_material = b"vnpop/per-citizen-derivation/v1/".to_vec();
    key_material.extend_from_slice(&seed.to_be_bytes());
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_material);
    let mut context = hmac::Context::with_key(&key);
    context.update(purpose.as_bytes());
    context.update(b"/");
    context.update(cccd.to_string().as_bytes());
    let tag = context.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopulationSpec {
    pub seed: u64,
    /// Number of generated citizens (fixtures come on top).
    pub size: usize,
    /// The "today" of the generated world: nobody is born and no card is issued after it.
    pub reference_date: NaiveDate,
}

impl PopulationSpec {
    /// The default reference date: fixed, so that the default population never changes.
    pub fn default_reference_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid constant date")
    }
}

/// Why a population cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopulationError {
    #[error("--population must be at least 1")]
    Empty,
    #[error(
        "--population {size} is more than the CCCD number space holds: at most {max} citizens fit \
         the 63 provinces' million serials per sex and birth year with this age pyramid{fixtures}"
    )]
    TooLarge {
        size: u64,
        max: u64,
        /// Explains a lower limit when fixtures take serials of a full block.
        fixtures: &'static str,
    },
    #[error(
        "the reference date's year must be {first}-{last} (birth years a CCCD number encodes)"
    )]
    ReferenceYear { first: i32, last: i32 },
}

/// The largest population the number space holds (without fixtures).
pub(crate) fn max_population() -> u64 {
    layout::max_population(|_| 0)
}

/// Checks a `--population` value: at least one citizen, at most [`max_population`].
pub(crate) fn check_size(size: u64) -> Result<(), PopulationError> {
    let max = max_population();
    match size {
        0 => Err(PopulationError::Empty),
        size if size > max => Err(PopulationError::TooLarge {
            size,
            max,
            fixtures: "",
        }),
        _ => Ok(()),
    }
}

/// A population served without being stored: citizen `i` is generated when asked, and a CCCD or
/// CMND number leads back to its index by arithmetic (see `layout`). Creating one costs
/// microseconds, whatever the size.
///
/// The numbers of `reserved` citizens (fixtures) are skipped: a generated citizen whose place in
/// the number plan falls on a fixture's serial takes the next serial of the plan's order
/// instead, and one whose CMND number is a fixture's has none. Both rules depend only on the
/// fixtures, so they are the same on every run.
#[derive(Debug, Clone)]
pub struct Population {
    spec: PopulationSpec,
    /// Per block, the plan positions of fixtures' serials, sorted.
    reserved: HashMap<u32, Vec<u64>>,
    reserved_cmnd: HashSet<CmndNumber>,
}

impl Population {
    /// The population of `spec`, with the numbers of `reserved` kept free.
    pub fn new(spec: PopulationSpec, reserved: &[Citizen]) -> Result<Self, PopulationError> {
        if !layout::REFERENCE_YEARS.contains(&spec.reference_date.year()) {
            return Err(PopulationError::ReferenceYear {
                first: layout::REFERENCE_YEARS.start,
                last: layout::REFERENCE_YEARS.end - 1,
            });
        }
        let year = spec.reference_date.year();
        let mut blocks: HashMap<u32, Vec<u64>> = HashMap::new();
        for citizen in reserved {
            if let Some(block) = layout::block_of(citizen.cccd, year) {
                let position = layout::position_of_serial(spec.seed, block, citizen.cccd.serial());
                blocks.entry(block).or_default().push(position);
            }
        }
        for positions in blocks.values_mut() {
            positions.sort_unstable();
            positions.dedup();
        }
        let size = spec.size as u64;
        check_size(size)?;
        let max = layout::max_population(|b| blocks.get(&b).map_or(0, |p| p.len() as u64));
        if size > max {
            return Err(PopulationError::TooLarge {
                size,
                max,
                fixtures: " and the fixtures' numbers",
            });
        }
        Ok(Population {
            spec,
            reserved: blocks,
            reserved_cmnd: reserved.iter().filter_map(|c| c.cmnd).collect(),
        })
    }

    pub fn spec(&self) -> PopulationSpec {
        self.spec
    }

    /// Number of generated citizens.
    pub fn len(&self) -> u64 {
        self.spec.size as u64
    }

    pub fn is_empty(&self) -> bool {
        self.spec.size == 0
    }

    /// Citizen `index` (below [`Population::len`]), computed alone: a few microseconds.
    pub fn citizen(&self, index: u64) -> Citizen {
        let spec = self.spec;
        let mut citizen = generate::citizen(spec.seed, index, spec.reference_date);
        let slot = layout::Slot::of(spec.seed, index);
        if let Some(taken) = self.reserved.get(&slot.block) {
            // The rank-th position of the plan's order that no fixture holds.
            let mut position = slot.rank();
            for p in taken {
                if *p <= position {
                    position += 1;
                }
            }
            let serial = layout::serial_at(spec.seed, slot.block, position)
                .expect("Population::new checked that every rank fits");
            citizen.cccd = citizen.cccd.with_serial(serial);
        }
        if citizen
            .cmnd
            .is_some_and(|c| self.reserved_cmnd.contains(&c))
        {
            citizen.cmnd = None;
        }
        citizen
    }

    /// The index of the generated citizen with this CCCD number, if anyone generated has it.
    pub(crate) fn index_of(&self, cccd: CccdNumber) -> Option<u64> {
        let block = layout::block_of(cccd, self.spec.reference_date.year())?;
        let mut rank = layout::position_of_serial(self.spec.seed, block, cccd.serial());
        if let Some(taken) = self.reserved.get(&block) {
            let before = taken.partition_point(|p| *p < rank);
            if taken.get(before) == Some(&rank) {
                return None;
            }
            rank -= before as u64;
        }
        let index = layout::index_of_rank(self.spec.seed, block, rank);
        (index < self.len()).then_some(index)
    }

    /// The generated citizen with this CCCD number.
    pub fn get(&self, cccd: CccdNumber) -> Option<Citizen> {
        self.index_of(cccd).map(|index| self.citizen(index))
    }

    /// The generated citizen linked to this CMND number.
    pub(crate) fn get_by_cmnd(&self, cmnd: CmndNumber) -> Option<Citizen> {
        if self.reserved_cmnd.contains(&cmnd) {
            return None;
        }
        let index = layout::cmnd_index(self.spec.seed, self.spec.reference_date.year(), cmnd)?;
        let citizen = (index < self.len()).then(|| self.citizen(index))?;
        (citizen.cmnd == Some(cmnd)).then_some(citizen)
    }
}

/// Citizen number `index` of the population of `spec` with the built-in fixtures, computed alone
/// (microseconds plus reading the fixtures; use a [`Population`] for many): how a tool knows the
/// server's citizens. Serving file fixtures too can move the few citizens whose numbers they take.
pub(crate) fn citizen_at(spec: PopulationSpec, index: u64) -> Citizen {
    static BUILTIN: std::sync::LazyLock<Vec<Citizen>> = std::sync::LazyLock::new(builtin_fixtures);
    match Population::new(spec, &BUILTIN) {
        Ok(population) => population.citizen(index),
        Err(_) => generate::citizen(spec.seed, index, spec.reference_date),
    }
}

/// Generates every citizen of `spec` (in parallel), keeping the numbers of `reserved` free: for
/// tests, statistics and benchmarks; the server never does this.
///
/// # Panics
/// If `spec` cannot be served (see [`Population::new`]).
pub fn generate(spec: PopulationSpec, reserved: &[Citizen]) -> Vec<Citizen> {
    let population = Population::new(spec, reserved).expect("a population that fits");
    (0..spec.size as u64)
        .into_par_iter()
        .map(|index| population.citizen(index))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CitizenStatus, Sex, VneidLevel};

    fn spec(seed: u64, size: usize) -> PopulationSpec {
        PopulationSpec {
            seed,
            size,
            reference_date: PopulationSpec::default_reference_date(),
        }
    }

    #[test]
    fn same_seed_same_people_different_seed_different_people() {
        let a = generate(spec(7, 2_000), &[]);
        let b = generate(spec(7, 2_000), &[]);
        let c = generate(spec(8, 2_000), &[]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let differing = a.iter().zip(&c).filter(|(x, y)| x != y).count();
        assert!(differing > 1_900, "only {differing} citizens differ");
    }

    #[test]
    fn a_citizen_does_not_depend_on_population_size() {
        let small = generate(spec(7, 100), &[]);
        let large = generate(spec(7, 1_000), &[]);
        assert_eq!(small[..50], large[..50]);
    }

    #[test]
    fn numbers_are_unique_valid_and_agree_with_the_record() {
        let fixtures = builtin_fixtures();
        let people = generate(spec(1, 20_000), &fixtures);
        let mut seen = HashSet::new();
        for p in people.iter().chain(&fixtures) {
            assert!(seen.insert(p.cccd), "duplicate {}", p.cccd);
            assert!(p.cccd.contradictions(p.sex, p.date_of_birth).is_empty());
            let reparsed = crate::domain::CccdNumber::parse_as_of(&p.cccd.to_string(), 2026);
            assert_eq!(reparsed, Ok(p.cccd));
        }
        let cmnds: Vec<_> = people
            .iter()
            .chain(&fixtures)
            .filter_map(|p| p.cmnd)
            .collect();
        assert_eq!(cmnds.iter().collect::<HashSet<_>>().len(), cmnds.len());
    }

    #[test]
    fn the_population_looks_like_vietnam() {
        let reference = PopulationSpec::default_reference_date();
        let people = generate(spec(3, 50_000), &[]);
        let share = |pred: &dyn Fn(&Citizen) -> bool| {
            people.iter().filter(|p| pred(p)).count() as f64 / people.len() as f64
        };
        // `surnames.csv` (Nguyễn 38.4%) names the Kinh and the groups without a naming pattern of
        // their own; the Mông, Thái, Khmer, … are named their own way, so nationally Nguyễn is
        // rarer (about 34%).
        let kinh_people = share(&|p| p.ethnicity == "Kinh");
        let kinh_nguyen =
            share(&|p| p.ethnicity == "Kinh" && p.full_name.starts_with("Nguyễn ")) / kinh_people;
        assert!(
            (0.35..0.42).contains(&kinh_nguyen),
            "Kinh Nguyễn share {kinh_nguyen}"
        );
        let nguyen = share(&|p| p.full_name.starts_with("Nguyễn "));
        assert!((0.31..0.37).contains(&nguyen), "Nguyễn share {nguyen}");
        let female = share(&|p| p.sex == Sex::Female);
        assert!((0.48..0.52).contains(&female), "female share {female}");
        // The census's 85.3%: drawn by birth province, weighted by the provinces' populations
        // (census_tests checks a 1,000,000-citizen sample by region within 0.6 points).
        assert!(
            (0.84..0.87).contains(&kinh_people),
            "Kinh share {kinh_people}"
        );
        let children = share(&|p| p.date_of_birth > reference - chrono::Months::new(12 * 15));
        assert!((0.2..0.28).contains(&children), "under-15 share {children}");
        let deceased = share(&|p| p.status == CitizenStatus::Deceased);
        assert!(
            (0.001..0.03).contains(&deceased),
            "deceased share {deceased}"
        );
        assert!(share(&|p| p.status == CitizenStatus::CardRevoked) > 0.0);
        let level2 = share(&|p| p.vneid == VneidLevel::Level2);
        assert!((0.4..0.6).contains(&level2), "level-2 share {level2}");
        let thi = share(&|p| p.sex == Sex::Female && p.full_name.contains(" Thị "));
        assert!(thi > 0.1, "Thị share {thi}");
    }

    #[test]
    fn cards_follow_the_law() {
        let reference = PopulationSpec::default_reference_date();
        let people = generate(spec(5, 20_000), &[]);
        let mut expired = 0;
        for p in &people {
            let Some(card) = &p.card else { continue };
            assert!(card.issued >= card.kind.first_issue_date(), "{p:?}");
            assert!(card.issued < reference);
            assert_eq!(card.kind, crate::domain::CardKind::issued_on(card.issued));
            assert_eq!(
                card.expires,
                crate::domain::card_expiry(p.date_of_birth, card.issued)
            );
            let age_at_issue = card.issued.years_since(p.date_of_birth).unwrap();
            if card.kind == crate::domain::CardKind::ChipCccd {
                assert!(age_at_issue >= 14, "chip card issued at {age_at_issue}");
            }
            expired += usize::from(card.expires.is_some_and(|e| e <= reference));
        }
        assert!(expired > 0, "some cards must be expired for negative tests");
    }

    #[test]
    fn every_number_leads_back_to_its_citizen_and_others_to_nobody() {
        let population = Population::new(spec(4, 20_000), &builtin_fixtures()).unwrap();
        let mut cmnds = 0;
        for index in 0..20_000 {
            let citizen = population.citizen(index);
            assert_eq!(population.index_of(citizen.cccd), Some(index));
            if let Some(cmnd) = citizen.cmnd {
                cmnds += 1;
                assert_eq!(population.get_by_cmnd(cmnd), Some(citizen));
            }
        }
        assert!(cmnds > 5_000, "{cmnds} CMND holders");
        for fixture in builtin_fixtures() {
            assert_eq!(population.index_of(fixture.cccd), None);
            if let Some(cmnd) = fixture.cmnd {
                assert_eq!(population.get_by_cmnd(cmnd), None);
            }
        }
        // Numbers of people beyond the size (same blocks) belong to nobody.
        let larger = Population::new(spec(4, 40_000), &builtin_fixtures()).unwrap();
        for index in 20_000..21_000 {
            let outsider = larger.citizen(index);
            assert_eq!(population.index_of(outsider.cccd), None);
            assert_eq!(larger.index_of(outsider.cccd), Some(index));
        }
    }

    #[test]
    fn a_fixture_on_a_generated_number_moves_that_citizen_only() {
        let plain = Population::new(spec(4, 5_000), &[]).unwrap();
        let mut fixture = plain.citizen(77);
        fixture.full_name = "Fixture Holder".into();
        let cmnd_holder = (0..5_000)
            .find(|i| plain.citizen(*i).cmnd.is_some())
            .unwrap();
        fixture.cmnd = plain.citizen(cmnd_holder).cmnd;
        let moved = Population::new(spec(4, 5_000), std::slice::from_ref(&fixture)).unwrap();
        let citizen = moved.citizen(77);
        assert_ne!(citizen.cccd, fixture.cccd);
        assert_eq!(moved.index_of(citizen.cccd), Some(77));
        assert_eq!(moved.index_of(fixture.cccd), None);
        assert_eq!(moved.citizen(cmnd_holder).cmnd, None);
        let unchanged = (0..5_000)
            .filter(|i| plain.citizen(*i).cccd == moved.citizen(*i).cccd)
            .count();
        // Only citizen 77 and, at most, later citizens of its block change numbers.
        assert!(unchanged >= 4_990, "{unchanged}");
        for index in 0..5_000 {
            assert_eq!(moved.index_of(moved.citizen(index).cccd), Some(index));
        }
    }

    #[test]
    fn the_ends_and_a_sample_of_a_ten_million_population_agree_with_the_store() {
        let fixtures = builtin_fixtures();
        let spec = spec(2026, 10_000_000);
        let store = crate::store::CitizenStore::new(
            Population::new(spec, &fixtures).unwrap(),
            fixtures.clone(),
        );
        // What a tool computes (load, simulate: `Population` or `citizen_at`) is what the server
        // answers, for a sample spread over the range and at its ends.
        let tool = Population::new(spec, &fixtures).unwrap();
        let stride = 10_000_000 / 100_000;
        let sample = (0..100_000u64).map(|k| k * stride + k % stride);
        let ends = [0, 1, 9_999_998, 9_999_999];
        for index in sample.chain(ends) {
            let citizen = tool.citizen(index);
            assert_eq!(
                store.get(citizen.cccd).as_deref(),
                Some(&citizen),
                "{index}"
            );
            if let Some(cmnd) = citizen.cmnd {
                assert_eq!(store.get_by_cmnd(cmnd).as_deref(), Some(&citizen));
            }
        }
        for index in ends {
            assert_eq!(citizen_at(spec, index), tool.citizen(index));
        }
        assert_eq!(
            store
                .population()
                .index_of(citizen_at(spec, 10_000_000).cccd),
            None
        );
        assert_eq!(store.len(), 10_000_000 + fixtures.len());
    }

    #[test]
    fn sizes_that_do_not_fit_are_refused_naming_the_limit() {
        let max = max_population();
        assert!(max > 1_000_000_000, "{max}");
        assert_eq!(check_size(0), Err(PopulationError::Empty));
        assert!(check_size(100_000_000).is_ok());
        let error = Population::new(spec(1, max as usize + 1), &[]).unwrap_err();
        assert!(error.to_string().contains(&max.to_string()), "{error}");
        assert!(Population::new(spec(1, max as usize), &[]).is_ok());
    }
}
