//! Names as each ethnic group gives them: `data/naming_patterns.csv` says which pattern a group
//! follows (by province where it differs: the Muslim Chăm of the south are named apart from the
//! Chăm of Ninh Thuận), in which order the parts are written and from which parent the family
//! name comes; `data/names_by_ethnicity.csv` lists each pattern's family, middle and given names
//! with weights. Mông clan names with "A" or "Thị" ("Giàng A Páo", "Thào Thị Mai"), Khmer names
//! without a middle name ("Sơn Pha", "Thạch Thị Sa Rươne"), Ê Đê names written given name first
//! ("Y Blin Niê", "H'Hen Niê"), …; groups without a pattern, Kinh first, take the Kinh tables
//! (`surnames.csv`, `given_names.csv`).
//!
//! In a pattern's lists, `*` stands for a name drawn from the Kinh table of that part (many
//! minority names mix both) and `-` for no name in that part. Drawing a name costs three or four
//! weighted picks, like a Kinh name.

use rand::Rng;

use super::{
    ethnic::Group,
    tables::{rows, Cohort, Tables, Weighted},
};
use crate::domain::{Province, ProvinceCode, Sex};

/// Province codes run from 1 to 96.
const CODES: usize = 100;

/// A name as drawn: its parts, any of them possibly empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    pub surname: &'static str,
    pub middle: &'static str,
    pub given: &'static str,
    /// Written "middle given surname" (Ê Đê) rather than "surname middle given".
    surname_last: bool,
}

impl Name {
    /// The full name as written, parts separated by one space.
    pub(crate) fn full(&self) -> String {
        let parts = if self.surname_last {
            [self.middle, self.given, self.surname]
        } else {
            [self.surname, self.middle, self.given]
        };
        let mut full = String::with_capacity(32);
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            if !full.is_empty() {
                full.push(' ');
            }
            full.push_str(part);
        }
        full
    }

    /// Whether the family name is written last (Ê Đê).
    pub(crate) fn surname_last(&self) -> bool {
        self.surname_last
    }

    /// The same name with another family name (empty: none).
    pub(crate) fn with_surname(self, surname: &'static str) -> Name {
        Name { surname, ..self }
    }
}

/// Which parent a child's family name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    Father,
    /// Matrilineal groups (Ê Đê, Gia Rai): the child takes the mother's clan name.
    Mother,
}

/// One naming pattern; a part without rows uses the Kinh table.
struct Pattern {
    surname_last: bool,
    family_from: Parent,
    surnames: Option<Weighted<&'static str>>,
    /// By sex (`Sex as usize`).
    middle: [Option<Weighted<&'static str>>; 2],
    given: [Option<Weighted<&'static str>>; 2],
}

/// Every naming pattern and which one applies to each group in each province.
pub(crate) struct Naming {
    patterns: Vec<Pattern>,
    /// Per `code * groups + group`: the pattern's index plus one, or 0 for the Kinh tables.
    pattern_at: Vec<u8>,
    groups: usize,
}

impl Naming {
    /// Parses the embedded tables for the census's `groups`.
    ///
    /// # Panics
    /// If a table is malformed or names an unknown group (the unit tests load them).
    pub(crate) fn load(groups: &[&'static str]) -> Naming {
        let names: Vec<Vec<&'static str>> =
            rows(include_str!("../../data/names_by_ethnicity.csv")).collect();
        let mut patterns = Vec::new();
        let mut pattern_names: Vec<&str> = Vec::new();
        let mut rules: Vec<(Group, &str, u8)> = Vec::new();
        for cols in rows(include_str!("../../data/naming_patterns.csv")) {
            let (group, provinces, pattern, order, family) =
                (cols[0], cols[1], cols[2], cols[3], cols[4]);
            let group = groups
                .iter()
                .position(|g| *g == group)
                .unwrap_or_else(|| panic!("naming_patterns.csv: unknown group {group}"));
            let at = match pattern_names.iter().position(|p| *p == pattern) {
                Some(at) => at,
                None => {
                    pattern_names.push(pattern);
                    patterns.push(Pattern::load(&names, pattern, order, family));
                    patterns.len() - 1
                }
            };
            rules.push((
                group,
                provinces,
                u8::try_from(at + 1).expect("few patterns"),
            ));
        }
        let mut pattern_at = vec![0u8; CODES * groups.len()];
        for province in Province::all() {
            let code = province.code;
            let listed = |provinces: &str| {
                provinces
                    .split_whitespace()
                    .any(|c| c.parse::<u16>().ok() == Some(code.get()))
            };
            for group in 0..groups.len() {
                let rule = rules
                    .iter()
                    .find(|(g, p, _)| *g == group && listed(p))
                    .or_else(|| rules.iter().find(|(g, p, _)| *g == group && *p == "*"));
                if let Some((_, _, pattern)) = rule {
                    pattern_at[usize::from(code.get()) * groups.len() + group] = *pattern;
                }
            }
        }
        Naming {
            patterns,
            pattern_at,
            groups: groups.len(),
        }
    }

    fn pattern(&self, group: Group, province: ProvinceCode) -> Option<&Pattern> {
        match self.pattern_at[usize::from(province.get()) * self.groups + group] {
            0 => None,
            at => Some(&self.patterns[usize::from(at - 1)]),
        }
    }

    /// A name for someone of `group` registered in `province`, of `sex` and born in `cohort`.
    pub(crate) fn draw<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        tables: &Tables,
        group: Group,
        province: ProvinceCode,
        sex: Sex,
        cohort: Cohort,
    ) -> Name {
        let kinh = tables.names(sex, cohort);
        let Some(pattern) = self.pattern(group, province) else {
            return Name {
                surname: tables.surnames.pick(rng),
                middle: kinh.middle.pick(rng),
                given: kinh.given.pick(rng),
                surname_last: false,
            };
        };
        let mut part =
            |own: &Option<Weighted<&'static str>>, table: &Weighted<&'static str>| match own
                .as_ref()
                .map(|own| *own.pick(rng))
            {
                None | Some("*") => *table.pick(rng),
                Some("-") => "",
                Some(name) => name,
            };
        let sex = sex as usize;
        Name {
            surname: part(&pattern.surnames, &tables.surnames),
            middle: part(&pattern.middle[sex], &kinh.middle),
            given: part(&pattern.given[sex], &kinh.given),
            surname_last: pattern.surname_last,
        }
    }

    /// The family name within `full_name` of someone of `group` registered in `province` (one of
    /// the pattern's family names where it has them, else the first word, or the last where the
    /// family name is written last), and the parent it comes from.
    pub(crate) fn family_name<'a>(
        &self,
        full_name: &'a str,
        group: Group,
        province: ProvinceCode,
    ) -> (Option<&'a str>, Parent) {
        let Some(pattern) = self.pattern(group, province) else {
            return (full_name.split_whitespace().next(), Parent::Father);
        };
        let own = pattern.surnames.as_ref().and_then(|surnames| {
            (0..surnames.len())
                .map(|i| *surnames.item(i))
                .filter(|s| *s != "*" && *s != "-")
                .filter(|s| {
                    if pattern.surname_last {
                        full_name
                            .strip_suffix(s)
                            .is_some_and(|rest| rest.ends_with(' '))
                    } else {
                        full_name
                            .strip_prefix(s)
                            .is_some_and(|rest| rest.starts_with(' '))
                    }
                })
                .max_by_key(|s| s.len())
        });
        let family = match own {
            Some(s) if pattern.surname_last => Some(&full_name[full_name.len() - s.len()..]),
            Some(s) => Some(&full_name[..s.len()]),
            None if pattern.surnames.as_ref().is_some_and(|s| *s.item(0) == "-") => None,
            None if pattern.surname_last => full_name.split_whitespace().last(),
            None => full_name.split_whitespace().next(),
        };
        (family, pattern.family_from)
    }
}

impl Pattern {
    fn load(names: &[Vec<&'static str>], pattern: &str, order: &str, family: &str) -> Pattern {
        let pool = |part: &str, sex: &str| {
            let items: Vec<(&'static str, f64)> = names
                .iter()
                .filter(|c| c[0] == pattern && c[1] == part && (c[2] == sex || c[2] == "any"))
                .map(|c| {
                    let weight = c[4].parse().unwrap_or_else(|_| {
                        panic!("names_by_ethnicity.csv: weight {:?} of {}", c[4], c[3])
                    });
                    (c[3], weight)
                })
                .collect();
            (!items.is_empty()).then(|| Weighted::new(items))
        };
        let by_sex = |part: &str| [pool(part, "male"), pool(part, "female")];
        Pattern {
            surname_last: match order {
                "surname middle given" => false,
                "middle given surname" => true,
                other => panic!("naming_patterns.csv: order {other:?}"),
            },
            family_from: match family {
                "father" => Parent::Father,
                "mother" => Parent::Mother,
                other => panic!("naming_patterns.csv: family name from {other:?}"),
            },
            surnames: pool("surname", "any"),
            middle: by_sex("middle"),
            given: by_sex("given"),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn names(group: &str, province: u16, sex: Sex, n: usize) -> Vec<String> {
        let tables = Tables::get();
        let group = tables.ethnic.group(group).unwrap();
        let province = ProvinceCode::new(province).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..n)
            .map(|_| {
                let cohort = Cohort::of(1990);
                let name = tables
                    .naming
                    .draw(&mut rng, tables, group, province, sex, cohort);
                let full = name.full();
                assert!(!full.contains("  ") && full == full.trim(), "{full:?}");
                assert_eq!(
                    tables.naming.family_name(&full, group, province).0,
                    (!name.surname.is_empty()).then_some(name.surname),
                    "{full}"
                );
                full
            })
            .collect()
    }

    const MONG_CLANS: [&str; 19] = [
        "Giàng", "Thào", "Vàng", "Sùng", "Lý", "Mùa", "Vừ", "Hầu", "Lầu", "Hờ", "Hạng", "Chá",
        "Tráng", "Cứ", "Mua", "Phàng", "Lò", "Cháng", "Thò",
    ];

    #[test]
    fn mong_names_are_clan_names() {
        let men = names("Mông", 2, Sex::Male, 2_000);
        let women = names("Mông", 2, Sex::Female, 2_000);
        for name in men.iter().chain(&women) {
            let clan = name.split(' ').next().unwrap();
            assert!(MONG_CLANS.contains(&clan), "{name}");
        }
        let with = |names: &[String], middle: &str| {
            names
                .iter()
                .filter(|n| n.split(' ').nth(1) == Some(middle))
                .count()
        };
        assert!(with(&men, "A") > 500, "{}", with(&men, "A"));
        assert!(with(&women, "Thị") > 1_400);
    }

    #[test]
    fn every_pattern_writes_its_own_names() {
        // Ê Đê: given name first, women with H'.
        let women = names("Ê Đê", 66, Sex::Female, 500);
        assert!(women.iter().all(|n| n.starts_with("H'")), "{women:?}");
        assert!(names("Ê Đê", 66, Sex::Male, 500)
            .iter()
            .all(|n| n.starts_with("Y ")));
        // Khmer: Khmer family names, many without a middle name.
        let khmer = names("Khmer", 94, Sex::Male, 1_000);
        assert!(khmer.iter().filter(|n| n.starts_with("Thạch ")).count() > 100);
        assert!(khmer.iter().filter(|n| !n.contains(" Văn ")).count() > 500);
        // The Muslim Chăm of An Giang, not those of Ninh Thuận.
        assert!(names("Chăm", 89, Sex::Female, 500)
            .iter()
            .all(|n| !n.contains("Thị")));
        assert!(names("Chăm", 58, Sex::Female, 500)
            .iter()
            .any(|n| n.starts_with("Đàng Thị ")));
        // Kinh, and groups without a pattern of their own, take the Kinh tables.
        let kinh = names("Kinh", 1, Sex::Male, 2_000);
        let nguyen = kinh.iter().filter(|n| n.starts_with("Nguyễn ")).count();
        assert!((600..1_000).contains(&nguyen), "{nguyen}");
        assert!(names("La Hủ", 12, Sex::Male, 200)
            .iter()
            .all(|n| n.split(' ').count() >= 3));
    }

    #[test]
    fn matrilineal_groups_take_the_mothers_family_name() {
        let tables = Tables::get();
        let gia_rai = tables.ethnic.group("Gia Rai").unwrap();
        let province = ProvinceCode::new(64).unwrap();
        let (family, parent) = tables
            .naming
            .family_name("Rơ Châm H'Luih", gia_rai, province);
        assert_eq!((family, parent), (Some("Rơ Châm"), Parent::Mother));
        let kinh = tables.naming.family_name("Nguyễn Văn An", 0, province);
        assert_eq!(kinh, (Some("Nguyễn"), Parent::Father));
    }
}
