//! Who people are by place: each province's ethnic composition (the 2019 census's table of the
//! population by ethnic group and province, `data/census_2019_ethnicity.csv`) and religion by
//! ethnic group and province (`data/religion_by_group.csv`, estimated and calibrated to the
//! census's national shares; see `data/README.md`).
//!
//! A citizen's ethnic group is drawn from the shares of the province where the birth was
//! registered (the first digits of the CCCD number), so a citizen registered in Hà Nội is Kinh
//! about 98.7% of the time and one registered in Hà Giang about 12%; weighted by the provinces'
//! populations, the national shares are the census's (Kinh 85.3%). Religion is drawn from the
//! group's shares in that same province.

use rand::Rng;

use super::tables::{rows, Weighted};
use crate::domain::{Province, ProvinceCode};

/// An ethnic group, by its position in the census table (`Kinh` is 0).
pub(crate) type Group = usize;

/// Province codes run from 1 to 96: tables indexed by code have this many rows.
const CODES: usize = 100;

/// The census's ethnic composition of every province and the religions drawn by group and place.
pub(crate) struct Ethnic {
    /// The 54 groups' names, in the census table's order.
    groups: Vec<&'static str>,
    /// Per province code, the groups counted there, weighted by persons (the census's counts).
    by_province: Vec<Option<Weighted<Group>>>,
    /// The religion distributions of `data/religion_by_group.csv`, one per (group, provinces) key.
    religions: Vec<Weighted<&'static str>>,
    /// Per `code * groups + group`, the index in `religions` that applies there.
    religion_at: Vec<u16>,
}

impl Ethnic {
    /// Parses the embedded tables.
    ///
    /// # Panics
    /// If a table is malformed (the unit tests load them).
    pub(crate) fn load() -> Ethnic {
        let codes: Vec<ProvinceCode> = include_str!("../../data/census_2019_ethnicity.csv")
            .lines()
            .next()
            .expect("a header")
            .split(',')
            .skip(1)
            .map(code_of)
            .collect();
        let mut groups = Vec::new();
        let mut persons: Vec<Vec<(Group, f64)>> = vec![Vec::new(); CODES];
        for cols in rows(include_str!("../../data/census_2019_ethnicity.csv")) {
            let group = groups.len();
            groups.push(cols[0]);
            assert_eq!(cols.len(), codes.len() + 1, "census table: {}", cols[0]);
            for (code, cell) in codes.iter().zip(&cols[1..]) {
                if let Ok(count) = cell.parse::<u32>() {
                    persons[usize::from(code.get())].push((group, f64::from(count)));
                }
            }
        }
        assert_eq!(groups.first(), Some(&"Kinh"), "census table: Kinh first");
        let by_province = persons
            .into_iter()
            .map(|counts| (!counts.is_empty()).then(|| Weighted::new(counts)))
            .collect();

        // Religion: rows grouped by (group, provinces); each key one distribution.
        let mut keys: Vec<(&str, &str)> = Vec::new();
        let mut shares: Vec<Vec<(&'static str, f64)>> = Vec::new();
        for cols in rows(include_str!("../../data/religion_by_group.csv")) {
            let key = (cols[0], cols[1]);
            let at = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                keys.push(key);
                shares.push(Vec::new());
                keys.len() - 1
            });
            let percent = cols[3]
                .parse()
                .expect("religion_by_group.csv: a percentage");
            shares[at].push((cols[2], percent));
        }
        // Most specific first: the group in a listed province, the group anywhere, any group in
        // a listed province, any group anywhere.
        let find = |group: &str, code: ProvinceCode| {
            let listed = |provinces: &str| {
                provinces
                    .split_whitespace()
                    .any(|c| c != "*" && code_of(c) == code)
            };
            let matching = |wanted: &str, specific: bool| {
                keys.iter().position(|(g, provinces)| {
                    *g == wanted
                        && if specific {
                            listed(provinces)
                        } else {
                            *provinces == "*"
                        }
                })
            };
            matching(group, true)
                .or_else(|| matching(group, false))
                .or_else(|| matching("*", true))
                .or_else(|| matching("*", false))
                .expect("religion_by_group.csv has a `*,*` default")
        };
        let mut religion_at = vec![0u16; CODES * groups.len()];
        for province in Province::all() {
            for (group, name) in groups.iter().enumerate() {
                let at = find(name, province.code);
                religion_at[usize::from(province.code.get()) * groups.len() + group] =
                    u16::try_from(at).expect("fewer than 65,536 religion keys");
            }
        }
        Ethnic {
            groups,
            by_province,
            religions: shares.into_iter().map(Weighted::new).collect(),
            religion_at,
        }
    }

    /// The ethnic group of someone whose birth was registered in `province`.
    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R, province: ProvinceCode) -> Group {
        *self.counts(province).pick(rng)
    }

    /// The group's name as recorded ("Kinh", "Mông", …).
    pub(crate) fn name(&self, group: Group) -> &'static str {
        self.groups[group]
    }

    /// The group of this name, if it is one of the 54.
    pub(crate) fn group(&self, name: &str) -> Option<Group> {
        self.groups.iter().position(|g| *g == name)
    }

    /// Every group's name, in the census table's order.
    pub(crate) fn groups(&self) -> &[&'static str] {
        &self.groups
    }

    /// The religion of someone of `group` registered in `province`.
    pub(crate) fn religion<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        group: Group,
        province: ProvinceCode,
    ) -> &'static str {
        let at = self.religion_at[usize::from(province.get()) * self.groups.len() + group];
        self.religions[usize::from(at)].pick(rng)
    }

    /// The persons of `group` the census counted in `province`.
    #[cfg(test)]
    pub(crate) fn persons(&self, province: ProvinceCode, group: Group) -> f64 {
        let counts = self.counts(province);
        (0..counts.len())
            .find(|&i| *counts.item(i) == group)
            .map_or(0.0, |i| counts.weight_of(i))
    }

    fn counts(&self, province: ProvinceCode) -> &Weighted<Group> {
        self.by_province[usize::from(province.get())]
            .as_ref()
            .expect("the census table counts every province")
    }
}

/// A province code of the tables' headers and lists.
fn code_of(text: &str) -> ProvinceCode {
    text.trim()
        .parse()
        .ok()
        .and_then(ProvinceCode::new)
        .unwrap_or_else(|| panic!("embedded table: {text:?} is no province code"))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::population::tables::Tables;

    fn code(n: u16) -> ProvinceCode {
        ProvinceCode::new(n).unwrap()
    }

    #[test]
    fn every_province_has_its_census_composition() {
        let ethnic = &Tables::get().ethnic;
        assert_eq!(ethnic.groups().len(), 54);
        for province in Province::all() {
            let total: f64 = (0..54).map(|g| ethnic.persons(province.code, g)).sum();
            let expected = f64::from(province.population_thousands) * 1000.0;
            // Foreign residents are counted in the province but in no group.
            assert!((total - expected).abs() <= 2000.0, "{}", province.code);
        }
        let kinh_share = |n| {
            let total: f64 = (0..54).map(|g| ethnic.persons(code(n), g)).sum();
            ethnic.persons(code(n), 0) / total
        };
        assert!(kinh_share(1) > 0.98, "Hà Nội {}", kinh_share(1));
        assert!(kinh_share(2) < 0.15, "Hà Giang {}", kinh_share(2));
        let mong = ethnic.group("Mông").unwrap();
        assert!(ethnic.persons(code(2), mong) > 290_000.0);
    }

    #[test]
    fn religion_follows_group_and_place() {
        let tables = Tables::get();
        let ethnic = &tables.ethnic;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let share = |rng: &mut ChaCha8Rng, group: &str, province: u16, religion: &str| {
            let group = ethnic.group(group).unwrap();
            let n = 20_000;
            let hits = (0..n)
                .filter(|_| ethnic.religion(rng, group, code(province)) == religion)
                .count();
            hits as f64 / f64::from(n)
        };
        // Khmer in Sóc Trăng: Theravada Buddhists, most of them.
        assert!(share(&mut rng, "Khmer", 94, "Phật giáo") > 0.8);
        // Chăm: Brahmanist or Bani in Ninh Thuận, Muslim in An Giang.
        assert!(share(&mut rng, "Chăm", 58, "Bà La Môn") > 0.5);
        assert!(share(&mut rng, "Chăm", 89, "Hồi giáo") > 0.9);
        // Catholic Nam Định, Hòa Hảo An Giang, Cao Đài Tây Ninh; Hà Nội mostly none.
        assert!(share(&mut rng, "Kinh", 36, "Công giáo") > 0.1);
        assert!(share(&mut rng, "Kinh", 89, "Phật giáo Hòa Hảo") > 0.2);
        assert!(share(&mut rng, "Kinh", 72, "Cao Đài") > 0.1);
        assert!(share(&mut rng, "Kinh", 1, "Không") > 0.9);
        // Protestant Ê Đê; a group without its own row draws the minorities' default.
        assert!(share(&mut rng, "Ê Đê", 66, "Tin Lành") > 0.25);
        assert!(share(&mut rng, "La Hủ", 12, "Không") > 0.95);
    }
}
