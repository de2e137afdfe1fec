//! The synthetic population: a deterministic, realistic set of citizens generated from a seed,
//! plus the fixture citizens that examples and tests rely on.
//!
//! Same seed, size and reference date → the same people, on any machine. Realism comes from the
//! embedded tables (surname, middle- and given-name frequencies by sex and birth cohort, province
//! populations, the age pyramid, ethnic groups, religions) and from the card rules in
//! [`crate::domain`]: cards issued at 14 or later and only once the card type existed, expiring at
//! the legal ages. A small share of deceased citizens, revoked and expired cards is kept for
//! negative tests.

mod fixtures;
mod generate;
pub(crate) mod tables;

use std::collections::HashSet;

use chrono::NaiveDate;
use rayon::prelude::*;

pub use fixtures::{builtin_fixtures, load_fixtures_file, parse_fixture_citizen, FixtureError};

use crate::domain::{CccdNumber, Citizen};

/// 32 bytes that depend only on the population seed, a purpose label and a CCCD number: HMAC-SHA256
/// keyed by the seed. Everything vnpop derives per citizen beyond the generated record (VNeID test
/// credentials, the chip's DG13-only personal data) comes from here, so a tester can reproduce it
/// from the seed and the number alone, and one purpose reveals nothing about another.
pub fn derive_bytes(seed: u64, purpose: &str, cccd: CccdNumber) -> [u8; 32] {
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

/// Citizen number `index` of the population of `spec`, computed alone (microseconds), without
/// generating the others: how a load generator knows the server's citizens. It is the citizen
/// the server stores, except in the rare case that its number collided with an earlier citizen's
/// or a fixture's, when the store has it under the next free serial (see [`generate`]).
pub fn citizen_at(spec: PopulationSpec, index: u64) -> Citizen {
    generate::citizen(spec.seed, index, spec.reference_date)
}

/// Generates the population of `spec`. CCCD and CMND numbers are unique: a collision (two people
/// drawing the same serial, or someone drawing a fixture's number) is resolved by taking the next
/// free serial, in index order, so the result stays deterministic. `reserved` are the fixture
/// citizens that will be added on top; nobody generated takes their numbers.
pub fn generate(spec: PopulationSpec, reserved: &[Citizen]) -> Vec<Citizen> {
    let mut citizens: Vec<Citizen> = (0..spec.size as u64)
        .into_par_iter()
        .map(|index| generate::citizen(spec.seed, index, spec.reference_date))
        .collect();

    let mut cccd_taken: HashSet<_> = reserved.iter().map(|c| c.cccd).collect();
    let mut cmnd_taken: HashSet<_> = reserved.iter().filter_map(|c| c.cmnd).collect();
    cccd_taken.reserve(citizens.len());
    cmnd_taken.reserve(citizens.len());
    for citizen in &mut citizens {
        while !cccd_taken.insert(citizen.cccd) {
            citizen.cccd = citizen.cccd.with_serial(citizen.cccd.serial() + 1);
        }
        if let Some(mut cmnd) = citizen.cmnd {
            while !cmnd_taken.insert(cmnd) {
                cmnd = cmnd.next_serial();
            }
            citizen.cmnd = Some(cmnd);
        }
    }
    citizens
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
        let nguyen = share(&|p| p.full_name.starts_with("Nguyễn "));
        assert!((0.35..0.42).contains(&nguyen), "Nguyễn share {nguyen}");
        let female = share(&|p| p.sex == Sex::Female);
        assert!((0.48..0.52).contains(&female), "female share {female}");
        let kinh = share(&|p| p.ethnicity == "Kinh");
        assert!((0.83..0.88).contains(&kinh), "Kinh share {kinh}");
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
}
