//! Vietnam's administrative geography as it is now, and as it was before 1 July 2025.
//!
//! Since the 2025 reform there are two levels of local government: 34 provinces and
//! centrally-run cities, and 3,321 commune-level units (xã, phường, đặc khu); districts are
//! abolished. Before, an address named a ward, a district and one of 63 provinces. The tables,
//! embedded from `data/provinces_2025.csv`, `data/communes_2025.csv`, `data/province_merger.csv`
//! and `data/wards_2024.csv` (derived from published datasets: see `data/README.md`), give:
//!
//! - [`CurrentProvince`] and [`Commune`] (by [`CommuneCode`]): the units in force;
//! - [`CurrentProvince::containing`]: where each of the 63 old provinces went;
//! - [`OldWard`]: every pre-2025 ward with the current unit(s) that contain it (a ward split
//!   between several new units lists them all);
//! - [`parse`](parse::parse): a one-line address in either form, resolved to current units;
//! - [`commune`], [`current_province`], [`district_province`]: one unit named on its own (the
//!   agency directory, audit reports).
//!
//! Each table is parsed once, on first use; the name indexes used to read addresses are built
//! separately, so generating a population never pays for them.

mod era;
mod parse;
mod units;

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::LazyLock,
};

use chrono::NaiveDate;

pub use era::EraMix;
pub use parse::{parse, AddressProblem, ParsedAddress, ParsedForm};
pub use units::{commune, current_province, district_province, CommuneProblem};

use parse::unit_key;

use super::{folding::canonical, ProvinceCode};

/// The day the two-level local government took effect (1 July 2025).
pub fn reform_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).expect("a calendar date")
}

/// A province or centrally-run city in force since 1 July 2025.
#[derive(Debug)]
pub struct CurrentProvince {
    /// The official code (the GSO code; it is the code of the old province whose name it kept).
    pub code: u16,
    /// The short name, e.g. "Phú Thọ", "Hà Nội".
    pub name: &'static str,
    /// The name with its type, as addresses write it: "Tỉnh Phú Thọ", "Thành phố Hà Nội".
    pub full_name: &'static str,
    /// Its communes, in code order.
    communes: Vec<CommuneCode>,
}

/// An official 5-digit commune-level code, e.g. `00070` Phường Hoàn Kiếm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommuneCode(u32);

/// A commune-level unit (xã, phường or đặc khu) in force since 1 July 2025.
#[derive(Debug)]
pub struct Commune {
    /// Its 5-digit official code.
    pub code: CommuneCode,
    /// The code of its [`CurrentProvince`].
    pub province: u16,
    /// The name with its type: "Phường Hoàn Kiếm", "Xã Mai Châu", "Đặc khu Côn Đảo".
    pub name: &'static str,
}

/// A ward, commune or township as it stood on 30 June 2025, and where it is now.
#[derive(Debug, PartialEq, Eq)]
pub struct OldWard {
    /// One of the 63 old provinces.
    pub province: ProvinceCode,
    /// The district, with its type: "Quận Hoàn Kiếm", "Huyện Mai Châu".
    pub district: &'static str,
    /// The ward with its type ("Phường Hàng Bạc"); empty for the five island districts that had
    /// none.
    pub ward: &'static str,
    targets: [Option<CommuneCode>; MAX_TARGETS],
}

/// The most current units one old ward was split between (checked when the table is read).
const MAX_TARGETS: usize = 3;

struct Tables {
    provinces: Vec<CurrentProvince>,
    /// Sorted by code.
    communes: Vec<Commune>,
    /// Indexed by the old province code (1–96).
    merger: Vec<u16>,
    /// Sorted by old province code, then district and ward.
    old_wards: Vec<OldWard>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::load);

fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').collect())
}

fn number(file: &str, text: &str) -> u32 {
    text.parse()
        .unwrap_or_else(|_| panic!("{file}: {text:?} is not a number"))
}

impl Tables {
    fn load() -> Tables {
        let mut provinces: Vec<CurrentProvince> =
            rows(include_str!("../../../../../data/provinces_2025.csv"))
                .map(|c| CurrentProvince {
                    code: number("provinces_2025.csv", c[0]) as u16,
                    name: c[1],
                    full_name: c[2],
                    communes: Vec::new(),
                })
                .collect();
        let communes: Vec<Commune> = rows(include_str!("../../../../../data/communes_2025.csv"))
            .map(|c| Commune {
                code: CommuneCode(number("communes_2025.csv", c[0])),
                province: number("communes_2025.csv", c[1]) as u16,
                name: c[2],
            })
            .collect();
        for commune in &communes {
            let province = provinces
                .iter_mut()
                .find(|p| p.code == commune.province)
                .expect("communes_2025.csv: every commune's province is listed");
            province.communes.push(commune.code);
        }
        let mut merger = vec![0; 100];
        for c in rows(include_str!("../../../../../data/province_merger.csv")) {
            merger[number("province_merger.csv", c[0]) as usize] =
                number("province_merger.csv", c[1]) as u16;
        }
        let old_wards = rows(include_str!("../../../../../data/wards_2024.csv"))
            .map(|c| {
                let code = number("wards_2024.csv", c[0]) as u16;
                let mut targets = [None; MAX_TARGETS];
                for (i, t) in c[3].split(' ').enumerate() {
                    assert!(i < MAX_TARGETS, "wards_2024.csv: too many targets in {c:?}");
                    targets[i] = Some(CommuneCode(number("wards_2024.csv", t)));
                }
                OldWard {
                    province: ProvinceCode::new(code)
                        .unwrap_or_else(|| panic!("wards_2024.csv: unknown province {code}")),
                    district: c[1],
                    ward: c[2],
                    targets,
                }
            })
            .collect();
        Tables {
            provinces,
            communes,
            merger,
            old_wards,
        }
    }
}

impl CurrentProvince {
    /// All 34, in code order.
    pub fn all() -> &'static [CurrentProvince] {
        &TABLES.provinces
    }

    /// The province with this official code, if it is one of the 34.
    pub fn by_code(code: u16) -> Option<&'static CurrentProvince> {
        Self::all().iter().find(|p| p.code == code)
    }

    /// The current province that contains the old province `old` (Hòa Bình → Phú Thọ).
    pub fn containing(old: ProvinceCode) -> &'static CurrentProvince {
        let code = TABLES.merger[usize::from(old.get())];
        Self::by_code(code).expect("province_merger.csv maps every old province")
    }

    /// The code as vnpop writes province codes: three digits, "025".
    pub fn code_text(&self) -> String {
        format!("{:03}", self.code)
    }

    /// Its commune-level unit called `name` (compared folded, type abbreviations expanded); the
    /// error says whether the name is unknown or belongs to another province.
    pub fn commune_named(&'static self, name: &str) -> Result<CommuneCode, AddressProblem> {
        parse::two_level(self, name)
    }

    /// Its commune-level units, in code order.
    pub fn communes(&self) -> &[CommuneCode] {
        &self.communes
    }
}

impl CommuneCode {
    /// The code if it is one of the 3,321.
    pub fn new(code: u32) -> Option<Self> {
        TABLES
            .communes
            .binary_search_by_key(&code, |c| c.code.0)
            .ok()
            .map(|_| CommuneCode(code))
    }

    /// The unit this code names.
    pub fn commune(self) -> &'static Commune {
        let all = &TABLES.communes;
        all.binary_search_by_key(&self, |c| c.code)
            .map(|i| &all[i])
            .expect("a CommuneCode is only built from the embedded table")
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for CommuneCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}", self.0)
    }
}

impl Commune {
    /// All 3,321, in code order.
    pub fn all() -> &'static [Commune] {
        &TABLES.communes
    }

    /// The province it belongs to.
    pub fn province(&self) -> &'static CurrentProvince {
        CurrentProvince::by_code(self.province).expect("checked when the table is read")
    }
}

impl OldWard {
    /// Every pre-2025 ward, sorted by old province, district and ward.
    pub fn all() -> &'static [OldWard] {
        &TABLES.old_wards
    }

    /// The wards of one old province.
    #[cfg(test)]
    pub(crate) fn in_province(province: ProvinceCode) -> &'static [OldWard] {
        let all = Self::all();
        let start = all.partition_point(|w| w.province < province);
        let end = all.partition_point(|w| w.province <= province);
        &all[start..end]
    }

    /// The current units containing (part of) this ward: one, or several if it was split.
    pub fn targets(&self) -> impl Iterator<Item = CommuneCode> + '_ {
        self.targets.iter().map_while(|t| *t)
    }

    /// The ward named `ward` in `district` of `province`, compared folded (case, spacing and
    /// diacritics ignored), so "phuong hang bac" finds "Phường Hàng Bạc".
    pub fn find(province: ProvinceCode, district: &str, ward: &str) -> Option<&'static OldWard> {
        let key = (province.get(), unit_key(district), unit_key(ward));
        let candidates = NAMES.old_wards.get(&key)?;
        let all = Self::all();
        // Names that fold alike ("Xã Văn Lang", "Xã Vân Lăng"): the one spelt as given, if any.
        let spelt = |i: &&usize| {
            let w = &all[**i];
            canonical(w.ward) == canonical(ward) && canonical(w.district) == canonical(district)
        };
        let i = candidates.iter().find(spelt).unwrap_or(&candidates[0]);
        Some(&all[*i])
    }
}

/// Folded-name indexes for reading addresses, built on first use.
struct Names {
    /// (old province, folded district, folded ward) → indexes in `OldWard::all()` (several when
    /// names differ only in diacritics).
    old_wards: HashMap<(u16, String, String), Vec<usize>>,
    /// (old province, folded district).
    old_districts: HashSet<(u16, String)>,
    /// Folded district → the old provinces that had a district of that name.
    district_provinces: HashMap<String, Vec<ProvinceCode>>,
    /// (current province, folded commune name) → codes (several when names differ only in
    /// diacritics).
    communes: HashMap<(u16, String), Vec<CommuneCode>>,
    /// Folded commune name → every code with that name (for "wrong province" answers).
    commune_names: HashMap<String, Vec<CommuneCode>>,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| {
    let mut names = Names {
        old_wards: HashMap::new(),
        old_districts: HashSet::new(),
        district_provinces: HashMap::new(),
        communes: HashMap::new(),
        commune_names: HashMap::new(),
    };
    // Wards are sorted by province and district: each district is keyed once.
    let mut district = (0, "", String::new());
    for (i, w) in OldWard::all().iter().enumerate() {
        if (district.0, district.1) != (w.province.get(), w.district) {
            district = (w.province.get(), w.district, unit_key(w.district));
            names.old_districts.insert((district.0, district.2.clone()));
            names
                .district_provinces
                .entry(district.2.clone())
                .or_default()
                .push(w.province);
        }
        names
            .old_wards
            .entry((district.0, district.2.clone(), unit_key(w.ward)))
            .or_default()
            .push(i);
    }
    for c in Commune::all() {
        let key = unit_key(c.name);
        names
            .communes
            .entry((c.province, key.clone()))
            .or_default()
            .push(c.code);
        names.commune_names.entry(key).or_default().push(c.code);
    }
    names
});

impl Names {
    /// The commune of `province` called `name`: the one spelt so if names fold alike.
    fn commune(&self, province: u16, name: &str) -> Option<CommuneCode> {
        let candidates = self.communes.get(&(province, unit_key(name)))?;
        let spelt = candidates
            .iter()
            .find(|c| canonical(c.commune().name) == canonical(name));
        Some(*spelt.unwrap_or(&candidates[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Province;

    /// Names as published, tidied once by data/derive_geography.py: single spaces, hyphens
    /// and apostrophes as the official lists write them, tone marks placed one way.
    #[test]
    fn every_name_is_tidy() {
        let names = CurrentProvince::all()
            .iter()
            .flat_map(|p| [p.name, p.full_name])
            .chain(Commune::all().iter().map(|c| c.name))
            .chain(OldWard::all().iter().flat_map(|w| [w.district, w.ward]));
        for name in names {
            assert_eq!(name.split_whitespace().collect::<Vec<_>>().join(" "), name);
            assert!(
                !name.contains(['\u{2013}', '\u{2014}', '\u{2018}', '\u{2019}']),
                "{name}"
            );
            // The official placement: canonical form and the name agree (case aside).
            assert_eq!(
                crate::domain::folding::canonical(name),
                name.to_lowercase(),
                "{name}"
            );
        }
    }

    #[test]
    fn counts_34_provinces_and_3321_communes() {
        assert_eq!(CurrentProvince::all().len(), 34);
        assert_eq!(Commune::all().len(), 3321);
        let per_province: usize = CurrentProvince::all()
            .iter()
            .map(|p| p.communes().len())
            .sum();
        assert_eq!(per_province, 3321);
        let cities = CurrentProvince::all()
            .iter()
            .filter(|p| p.full_name.starts_with("Thành phố"))
            .count();
        assert_eq!(
            cities, 6,
            "Hà Nội, Hải Phòng, Huế, Đà Nẵng, Cần Thơ, Hồ Chí Minh"
        );
    }

    #[test]
    fn every_old_province_and_ward_maps_to_current_units() {
        for old in Province::all() {
            let current = CurrentProvince::containing(old.code);
            let wards = OldWard::in_province(old.code);
            assert!(wards.len() >= 10, "{} has {} wards", old.name, wards.len());
            for ward in wards {
                let targets: Vec<_> = ward.targets().collect();
                assert!(!targets.is_empty(), "{} has no target", ward.ward);
                for t in targets {
                    assert_eq!(t.commune().province, current.code, "{}", ward.ward);
                }
            }
        }
        let in_provinces: usize = Province::all()
            .iter()
            .map(|p| OldWard::in_province(p.code).len())
            .sum();
        assert_eq!(in_provinces, OldWard::all().len());
        assert!(OldWard::all().len() > 10_000);
        assert!(OldWard::all().iter().any(|w| w.targets().count() > 1));
    }

    #[test]
    fn every_unit_is_found_by_its_own_name() {
        for ward in OldWard::all() {
            let found = OldWard::find(ward.province, ward.district, ward.ward);
            assert!(found.is_some_and(|f| std::ptr::eq(f, ward)), "{ward:?}");
        }
        for commune in Commune::all() {
            assert_eq!(
                commune.province().commune_named(commune.name),
                Ok(commune.code)
            );
        }
    }

    #[test]
    fn known_conversions() {
        let code = |n| ProvinceCode::new(n).unwrap();
        assert_eq!(CurrentProvince::containing(code(17)).name, "Phú Thọ");
        assert_eq!(CurrentProvince::containing(code(35)).name, "Ninh Bình");
        assert_eq!(CurrentProvince::containing(code(74)).name, "Hồ Chí Minh");
        assert_eq!(
            CurrentProvince::containing(code(1)).full_name,
            "Thành phố Hà Nội"
        );

        let hang_bac = OldWard::find(code(1), "Quận Hoàn Kiếm", "phuong hang bac").unwrap();
        let target: Vec<_> = hang_bac.targets().map(|t| t.commune().name).collect();
        assert_eq!(target, ["Phường Hoàn Kiếm"]);
        let mai_chau = OldWard::find(code(17), "Huyện Mai Châu", "Thị trấn Mai Châu").unwrap();
        let target = mai_chau.targets().next().unwrap().commune();
        assert_eq!(
            (target.name, target.province().full_name),
            ("Xã Mai Châu", "Tỉnh Phú Thọ")
        );
        assert_eq!(CommuneCode::new(70).unwrap().to_string(), "00070");
        assert!(CommuneCode::new(71).is_none());
    }
}
