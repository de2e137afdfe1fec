//! The statistics the generator draws from, embedded from `data/*.csv` at compile time and parsed
//! once on first use. See `data/README.md` for sources.

use std::sync::LazyLock;

use rand::{distr::weighted::WeightedIndex, prelude::Distribution, Rng};

use super::{ethnic::Ethnic, names::Naming};
use crate::domain::{geography::OldWard, Province, ProvinceCode, Sex};

/// Items with relative weights, sampled in O(log n).
pub(crate) struct Weighted<T> {
    items: Vec<T>,
    index: WeightedIndex<f64>,
}

impl<T> Weighted<T> {
    /// Items with their relative weights (at least one positive).
    ///
    /// # Panics
    /// If no weight is positive or one is negative (embedded tables are checked by tests).
    pub(crate) fn new(pairs: Vec<(T, f64)>) -> Self {
        let index = WeightedIndex::new(pairs.iter().map(|(_, w)| *w))
            .expect("embedded tables have positive weights");
        Weighted {
            items: pairs.into_iter().map(|(item, _)| item).collect(),
            index,
        }
    }

    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &T {
        &self.items[self.index.sample(rng)]
    }

    /// How many items there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The item at `position`.
    pub(crate) fn item(&self, position: usize) -> &T {
        &self.items[position]
    }

    /// Each item's weight (as given, up to floating-point rounding).
    pub(crate) fn weight_of(&self, position: usize) -> f64 {
        self.index.weight(position).unwrap_or(0.0)
    }
}

/// Rows of an embedded CSV file, header skipped, columns split on commas.
pub(crate) fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(str::trim).collect())
}

fn number(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| panic!("embedded table: {text:?} is not a number"))
}

/// A birth cohort, for names whose popularity changed over time.
#[derive(Clone, Copy)]
pub(crate) enum Cohort {
    /// Born before 1975.
    Old,
    /// Born 1975–1995.
    Middle,
    /// Born after 1995.
    Young,
}

impl Cohort {
    pub fn of(birth_year: i32) -> Self {
        match birth_year {
            ..1975 => Cohort::Old,
            1975..=1995 => Cohort::Middle,
            _ => Cohort::Young,
        }
    }

    /// How much more (or less) often a name of the given era is chosen in this cohort.
    fn factor(self, era: &str) -> f64 {
        match (self, era) {
            (_, "any") => 1.0,
            (Cohort::Old, "old") => 2.5,
            (Cohort::Old, _) => 0.05,
            (Cohort::Middle, _) => 0.6,
            (Cohort::Young, "young") => 3.0,
            (Cohort::Young, _) => 0.3,
        }
    }
}

/// Middle and given names for one sex and cohort.
pub(crate) struct NamePool {
    pub middle: Weighted<&'static str>,
    pub given: Weighted<&'static str>,
}

/// Every table the generator uses.
pub(crate) struct Tables {
    pub surnames: Weighted<&'static str>,
    /// Indexed by `[sex][cohort]`.
    names: [[NamePool; 3]; 2],
    /// Where births are registered: by population.
    pub birth_provinces: Weighted<ProvinceCode>,
    /// Where people live when they moved away: by population, with the big cities' pull.
    pub migration_targets: Weighted<ProvinceCode>,
    /// Ethnic groups by province and religions by group and province (2019 census).
    pub ethnic: Ethnic,
    /// Names as each ethnic group gives them.
    pub naming: Naming,
    /// Districts of each province, indexed by province code.
    districts: Vec<Vec<&'static str>>,
    /// Pre-2025 wards, communes and townships people live in, indexed by old province code.
    wards: Vec<Vec<&'static OldWard>>,
    pub streets: Vec<&'static str>,
    /// Share of the population in each five-year age band (0–4, 5–9, … 95–99).
    pub age_bands: Weighted<u32>,
}

/// Approximate age structure of Vietnam (2019 census), percent per five-year band.
const AGE_PYRAMID: [f64; 20] = [
    8.0, 8.6, 7.6, 6.9, 6.9, 8.1, 8.3, 7.9, 7.3, 6.6, 5.9, 5.3, 4.3, 3.1, 1.9, 1.3, 1.0, 0.6, 0.3,
    0.1,
];

/// How strongly the biggest destinations of internal migration attract movers.
const MIGRATION_PULL: [(u16, f64); 4] = [(79, 3.0), (74, 3.0), (1, 2.0), (75, 1.5)];

impl Tables {
    pub fn get() -> &'static Tables {
        static TABLES: LazyLock<Tables> = LazyLock::new(Tables::load);
        &TABLES
    }

    pub fn names(&self, sex: Sex, cohort: Cohort) -> &NamePool {
        &self.names[sex as usize][cohort as usize]
    }

    pub fn districts(&self, province: ProvinceCode) -> &[&'static str] {
        &self.districts[usize::from(province.get())]
    }

    /// The residential wards of an old province as they stood on 30 June 2025 (from
    /// `data/wards_2024.csv`; units without a ward type, such as a military training area, are
    /// left out).
    pub fn wards(&self, province: ProvinceCode) -> &[&'static OldWard] {
        &self.wards[usize::from(province.get())]
    }

    fn load() -> Tables {
        let weighted_names =
            |csv| Weighted::new(rows(csv).map(|cols| (cols[0], number(cols[1]))).collect());
        let name_rows: Vec<Vec<&str>> = rows(include_str!("../../data/given_names.csv")).collect();
        let pool = |sex: &str, part: &str, cohort: Cohort| {
            Weighted::new(
                name_rows
                    .iter()
                    .filter(|c| c[0] == sex && c[1] == part)
                    .map(|c| (c[2], number(c[3]) * cohort.factor(c[4])))
                    .collect(),
            )
        };
        let pools = |sex: &str| {
            [Cohort::Old, Cohort::Middle, Cohort::Young].map(|cohort| NamePool {
                middle: pool(sex, "middle", cohort),
                given: pool(sex, "given", cohort),
            })
        };
        let by_population = |pull: &dyn Fn(u16) -> f64| {
            Weighted::new(
                Province::all()
                    .iter()
                    .map(|p| {
                        let weight = f64::from(p.population_thousands) * pull(p.code.get());
                        (p.code, weight)
                    })
                    .collect(),
            )
        };
        let mut districts = vec![Vec::new(); 100];
        for cols in rows(include_str!("../../data/districts.csv")) {
            districts[number(cols[0]) as usize].push(cols[1]);
        }
        let mut wards = vec![Vec::new(); 100];
        for ward in OldWard::all() {
            if ["Phường ", "Xã ", "Thị trấn "]
                .iter()
                .any(|kind| ward.ward.starts_with(kind))
            {
                wards[usize::from(ward.province.get())].push(ward);
            }
        }
        let single_column = |csv| rows(csv).map(|cols| cols[0]).collect();
        let ethnic = Ethnic::load();
        let naming = Naming::load(ethnic.groups());
        Tables {
            surnames: weighted_names(include_str!("../../data/surnames.csv")),
            names: [pools("male"), pools("female")],
            birth_provinces: by_population(&|_| 1.0),
            migration_targets: by_population(&|code| {
                MIGRATION_PULL
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map_or(1.0, |(_, pull)| *pull)
            }),
            ethnic,
            naming,
            districts,
            wards,
            streets: single_column(include_str!("../../data/streets.csv")),
            age_bands: Weighted::new(
                (0..20)
                    .map(|band| (band * 5, AGE_PYRAMID[band as usize]))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_has_districts() {
        let tables = Tables::get();
        for province in Province::all() {
            assert!(
                tables.districts(province.code).len() >= 5,
                "province {} has too few districts",
                province.code
            );
        }
        for province in Province::all() {
            assert!(
                tables.wards(province.code).len() >= 10,
                "province {} has too few wards",
                province.code
            );
        }
        assert!(tables.streets.len() > 50);
    }

    /// Places of origin are districts as they stood before the reform (30 June 2025), spelt as
    /// the ward list spells them: every one has wards there.
    #[test]
    fn every_place_of_origin_is_a_pre_reform_district() {
        let tables = Tables::get();
        for province in Province::all() {
            for district in tables.districts(province.code) {
                assert!(
                    OldWard::all()
                        .iter()
                        .any(|w| w.province == province.code && w.district == *district),
                    "districts.csv: {district} ({}) was no district on 30 June 2025",
                    province.code
                );
            }
        }
    }
}
