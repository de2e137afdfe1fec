//! Reading a one-line address in either form: two-level ("8 Hàng Bạc, Phường Hoàn Kiếm, Thành
//! phố Hà Nội") or pre-2025 ("8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội").
//!
//! Parts are separated by commas and read from the end: the province, then a district if the
//! address names one, then the ward or commune; what comes before is the street or hamlet.
//! Names are compared folded (case, spacing, diacritics ignored), and the usual abbreviations of
//! the type words are expanded ("P." Phường, "Q." Quận, "TP" Thành phố, "TT" Thị trấn).

use std::{collections::HashMap, fmt, sync::LazyLock};

use super::{era, CommuneCode, CurrentProvince, EraMix, OldWard, NAMES};
use crate::domain::{folding::fold, Province, ProvinceCode};

/// A one-line address resolved against the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAddress {
    /// What comes before the administrative units (house number and street, or hamlet).
    pub street: String,
    /// The form and the unit it names.
    pub form: ParsedForm,
    /// How the address mixes the units of two eras, when it does (it names the unit `form`
    /// says all the same).
    pub mixed: Option<EraMix>,
}

/// Which form the address was written in, and the unit it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedForm {
    /// Two-level: a commune-level unit in force.
    Current(CommuneCode),
    /// Pre-2025: an old ward, district and province.
    PreReform(&'static OldWard),
}

impl ParsedForm {
    /// The current units the address denotes (several for an old ward that was split).
    pub fn communes(&self) -> Vec<CommuneCode> {
        match self {
            ParsedForm::Current(code) => vec![*code],
            ParsedForm::PreReform(ward) => ward.targets().collect(),
        }
    }
}

/// Why an address that names administrative units does not denote a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressProblem {
    /// The last part is not a province, old or current.
    UnknownProvince(String),
    /// A district was named with a commune-level unit that only exists since the reform
    /// abolished districts.
    DistrictAfterReform {
        /// The district as written.
        district: String,
        /// The commune's name.
        commune: &'static str,
    },
    /// A district that the (old) province did not have.
    UnknownDistrict {
        /// The district as written.
        district: String,
        /// The province's name.
        province: &'static str,
    },
    /// A pre-2025 ward that the district did not have.
    UnknownWard {
        /// The ward as written.
        ward: String,
        /// The district's name.
        district: String,
    },
    /// No commune of that name anywhere.
    UnknownCommune {
        /// The commune as written.
        commune: String,
        /// The province's name.
        province: &'static str,
    },
    /// A commune of that name exists, but in another province.
    CommuneInOtherProvince {
        /// The commune as written.
        commune: String,
        /// The province the address names.
        province: &'static str,
        /// The province the commune is in.
        actual: &'static str,
    },
}

impl AddressProblem {
    /// The part of the address at fault: "province", "district", "ward" or "commune".
    pub fn part(&self) -> &'static str {
        match self {
            AddressProblem::UnknownProvince(_) => "province",
            AddressProblem::DistrictAfterReform { .. } | AddressProblem::UnknownDistrict { .. } => {
                "district"
            }
            AddressProblem::UnknownWard { .. } => "ward",
            AddressProblem::UnknownCommune { .. }
            | AddressProblem::CommuneInOtherProvince { .. } => "commune",
        }
    }
}

impl fmt::Display for AddressProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressProblem::UnknownProvince(p) => {
                write!(f, "province: {p:?} is none of the 34 provinces (nor of the 63 before 1 July 2025)")
            }
            AddressProblem::DistrictAfterReform { district, commune } => write!(
                f,
                "district: {district:?} named with {commune}, a unit created on 1 July 2025 when districts were abolished"
            ),
            AddressProblem::UnknownDistrict { district, province } => {
                write!(f, "district: {province} had no district {district:?}")
            }
            AddressProblem::UnknownWard { ward, district } => {
                write!(f, "ward: {district} had no ward {ward:?}")
            }
            AddressProblem::UnknownCommune { commune, province } => {
                write!(f, "commune: {province} has no commune-level unit {commune:?}")
            }
            AddressProblem::CommuneInOtherProvince {
                commune,
                province,
                actual,
            } => write!(f, "commune: {commune:?} is in {actual}, not {province}"),
        }
    }
}

/// Abbreviated type words and what they stand for, folded.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("p", "phuong"),
    ("x", "xa"),
    ("tt", "thi tran"),
    ("q", "quan"),
    ("h", "huyen"),
    ("tx", "thi xa"),
    ("tp", "thanh pho"),
    ("dk", "dac khu"),
];

/// A unit name as the indexes key it: folded, punctuation as spaces, type abbreviation expanded.
pub(super) fn unit_key(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let folded = fold(&spaced);
    let (first, rest) = folded.split_once(' ').unwrap_or((&folded, ""));
    match ABBREVIATIONS.iter().find(|(short, _)| *short == first) {
        Some((_, long)) if !rest.is_empty() => format!("{long} {rest}"),
        _ => folded,
    }
}

fn has_type(key: &str, types: &[&str]) -> bool {
    types
        .iter()
        .any(|t| key.starts_with(t) && key[t.len()..].starts_with(' '))
}

const DISTRICT_TYPES: &[&str] = &["quan", "huyen", "thi xa", "thanh pho"];
const COMMUNE_TYPES: &[&str] = &["phuong", "xa", "thi tran", "dac khu"];

/// A province name reduced to its letters: "Tỉnh Bà Rịa - Vũng Tàu" → "bariavungtau".
fn province_key(name: &str) -> String {
    let key = unit_key(name);
    let key = ["thanh pho ", "tinh "]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(&key);
    let key: String = key.split(' ').collect();
    match key.as_str() {
        "hcm" | "hochiminhcity" => "hochiminh".to_owned(),
        _ => key,
    }
}

/// The provinces a name can denote: an old one, a current one, or both ("Hà Nội").
pub(super) fn provinces(name: &str) -> (Option<ProvinceCode>, Option<&'static CurrentProvince>) {
    /// Province key → the old and the current province of that name.
    type Index = HashMap<String, (Option<ProvinceCode>, Option<&'static CurrentProvince>)>;
    static INDEX: LazyLock<Index> = LazyLock::new(|| {
        let mut index = Index::new();
        for p in Province::all() {
            index.entry(province_key(p.name)).or_default().0 = Some(p.code);
        }
        for p in CurrentProvince::all() {
            index.entry(province_key(p.name)).or_default().1 = Some(p);
        }
        index
    });
    INDEX.get(&province_key(name)).copied().unwrap_or_default()
}

/// Resolves a one-line address. `None` when it does not name administrative units in a form
/// this reads (fewer than two comma-separated parts, or no unit type before the province): the
/// caller then compares it as text.
pub fn parse(text: &str) -> Option<Result<ParsedAddress, AddressProblem>> {
    let parts: Vec<&str> = text
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let (province_part, units) = parts.split_last()?;
    let (last_unit, before) = units.split_last()?;
    let last_key = unit_key(last_unit);
    let is_district = has_type(&last_key, DISTRICT_TYPES);
    if !is_district && !has_type(&last_key, COMMUNE_TYPES) {
        return None;
    }
    let (old, current) = provinces(province_part);
    // A province that is no longer one (merged on 1 July 2025).
    let only_old = current.is_none();
    let current = match (old, current) {
        (_, Some(current)) => current,
        (Some(old), None) => CurrentProvince::containing(old),
        (None, None) => {
            return Some(Err(AddressProblem::UnknownProvince(
                province_part.to_string(),
            )))
        }
    };
    let street = |parts: &[&str]| parts.join(", ");
    Some(if is_district {
        pre_reform(old, current, last_unit, before, street).or_else(|problem| {
            // Not a district of the province as written: one of another old province now in
            // the (current) province written, with the era's ward or today's commune.
            let Some(was) = old_province_of(last_unit, current).filter(|_| !only_old) else {
                return Err(problem);
            };
            let mut parsed = pre_reform(Some(was), current, last_unit, before, street)?;
            parsed.mixed.get_or_insert(EraMix::CurrentProvince {
                district: last_unit.to_string(),
                province: province_part.to_string(),
                was: was.province().name,
            });
            Ok(parsed)
        })
    } else {
        two_level(current, last_unit).map(|code| ParsedAddress {
            street: street(before),
            form: ParsedForm::Current(code),
            mixed: only_old.then(|| EraMix::MergedProvince {
                commune: code.commune().name,
                province: province_part.to_string(),
                now: current.full_name,
            }),
        })
    })
}

/// The old province of `district` among those merged into `current`.
fn old_province_of(district: &str, current: &'static CurrentProvince) -> Option<ProvinceCode> {
    super::district_province(district, Some(current))
        .filter(|old| CurrentProvince::containing(*old).code == current.code)
}

fn pre_reform(
    old: Option<ProvinceCode>,
    current: &'static CurrentProvince,
    district: &str,
    before: &[&str],
    street: impl Fn(&[&str]) -> String,
) -> Result<ParsedAddress, AddressProblem> {
    let ward_part = before.last().copied();
    let district_is_old =
        old.is_some_and(|o| NAMES.old_districts.contains(&(o.get(), unit_key(district))));
    // A current commune with a district: written in neither form. It still denotes the commune
    // when the commune lies in the district's area (a mix of eras), else nothing.
    if let Some(ward) = ward_part {
        let named_now = NAMES.commune(current.code, ward);
        let ward_existed = old.is_some_and(|o| OldWard::find(o, district, ward).is_some());
        if let (Some(code), false) = (named_now, ward_existed) {
            if old.is_some_and(|o| district_is_old && era::in_district(code, o, district)) {
                return Ok(ParsedAddress {
                    street: street(&before[..before.len() - 1]),
                    form: ParsedForm::Current(code),
                    mixed: Some(EraMix::AbolishedDistrict {
                        district: district.to_owned(),
                        commune: code.commune().name,
                    }),
                });
            }
            return Err(AddressProblem::DistrictAfterReform {
                district: district.to_owned(),
                commune: code.commune().name,
            });
        }
    }
    let Some(old) = old.filter(|_| district_is_old) else {
        return Err(AddressProblem::UnknownDistrict {
            district: district.to_owned(),
            province: old.map_or(current.full_name, |o| o.province().name),
        });
    };
    if let Some(ward) = ward_part.and_then(|w| OldWard::find(old, district, w)) {
        return Ok(ParsedAddress {
            street: street(&before[..before.len() - 1]),
            form: ParsedForm::PreReform(ward),
            mixed: None,
        });
    }
    if let Some(island) = OldWard::find(old, district, "") {
        return Ok(ParsedAddress {
            street: street(before),
            form: ParsedForm::PreReform(island),
            mixed: None,
        });
    }
    Err(AddressProblem::UnknownWard {
        ward: ward_part.unwrap_or_default().to_owned(),
        district: district.to_owned(),
    })
}

pub(super) fn two_level(
    province: &'static CurrentProvince,
    commune: &str,
) -> Result<CommuneCode, AddressProblem> {
    let key = unit_key(commune);
    if let Some(code) = NAMES.commune(province.code, commune) {
        return Ok(code);
    }
    match NAMES
        .commune_names
        .get(&key)
        .and_then(|codes| codes.first())
    {
        Some(elsewhere) => Err(AddressProblem::CommuneInOtherProvince {
            commune: commune.to_owned(),
            province: province.full_name,
            actual: elsewhere.commune().province().full_name,
        }),
        None => Err(AddressProblem::UnknownCommune {
            commune: commune.to_owned(),
            province: province.full_name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune_names(text: &str) -> Vec<&'static str> {
        parse(text)
            .unwrap()
            .unwrap()
            .form
            .communes()
            .into_iter()
            .map(|c| c.commune().name)
            .collect()
    }

    #[test]
    fn reads_both_forms() {
        let now = parse("8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội")
            .unwrap()
            .unwrap();
        assert_eq!(now.street, "8 Hàng Bạc");
        assert_eq!(
            commune_names("8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"),
            ["Phường Hoàn Kiếm"]
        );
        let old = parse("8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội")
            .unwrap()
            .unwrap();
        assert_eq!(old.street, "8 Hàng Bạc");
        assert!(matches!(old.form, ParsedForm::PreReform(w) if w.ward == "Phường Hàng Bạc"));
        assert_eq!(
            commune_names("so 8 hang bac, P. Hang Bac, Q. Hoan Kiem, TP Ha Noi"),
            ["Phường Hoàn Kiếm"]
        );
        assert_eq!(
            commune_names("Thôn 2, Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Hòa Bình"),
            ["Xã Mai Châu"]
        );
        assert_eq!(
            commune_names("Tiểu khu 3, Xã Mai Châu, Tỉnh Phú Thọ"),
            ["Xã Mai Châu"]
        );
    }

    #[test]
    fn addresses_mixing_two_eras_name_the_place_and_the_mix() {
        let mixed = |text: &str| {
            let parsed = parse(text).unwrap().unwrap();
            let names: Vec<&str> = parsed
                .form
                .communes()
                .into_iter()
                .map(|c| c.commune().name)
                .collect();
            (names, parsed.mixed.as_ref().map(EraMix::part))
        };
        for (text, part) in [
            // A commune of today with the province merged away on 1 July 2025.
            ("Tiểu khu 3, Xã Mai Châu, Tỉnh Hòa Bình", "province"),
            // A commune of today with its abolished district, whatever the province.
            ("Xã Mai Châu, Huyện Mai Châu, Tỉnh Phú Thọ", "district"),
            ("Xã Mai Châu, Huyện Mai Châu, Tỉnh Hòa Bình", "district"),
            // An old ward and district with the province they are in today.
            (
                "Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Phú Thọ",
                "province",
            ),
        ] {
            assert_eq!(mixed(text), (vec!["Xã Mai Châu"], Some(part)), "{text}");
        }
        assert_eq!(
            mixed("8 Hàng Bạc, Phường Hoàn Kiếm, Quận Hoàn Kiếm, Thành phố Hà Nội"),
            (vec!["Phường Hoàn Kiếm"], Some("district"))
        );
        // Written in one form: no mix.
        for text in [
            "Thôn 2, Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Hòa Bình",
            "Tiểu khu 3, Xã Mai Châu, Tỉnh Phú Thọ",
            "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
        ] {
            assert_eq!(mixed(text).1, None, "{text}");
        }
        // A commune of today with a district it is not in denotes nothing.
        let elsewhere = parse("8 Hàng Bạc, Phường Hoàn Kiếm, Quận Ba Đình, Thành phố Hà Nội")
            .unwrap()
            .unwrap_err();
        assert_eq!(elsewhere.part(), "district");
    }

    #[test]
    fn free_text_is_left_to_word_comparison() {
        assert_eq!(parse("12 Le Loi Q1 HCM"), None);
        assert_eq!(parse("12 Lê Lợi, Hồ Chí Minh"), None);
    }

    #[test]
    fn names_the_wrong_part() {
        let problem = |text| parse(text).unwrap().unwrap_err();
        assert_eq!(
            problem("8 Hàng Bạc, Phường Hoàn Kiếm, Quận Ba Đình, Thành phố Hà Nội").part(),
            "district"
        );
        assert_eq!(
            problem("1 Lê Lợi, Phường Không Có, Thành phố Hà Nội").part(),
            "commune"
        );
        let wrong = problem("8 Hàng Bạc, Phường Hoàn Kiếm, Tỉnh Phú Thọ");
        assert_eq!(wrong.part(), "commune");
        assert!(wrong.to_string().contains("Thành phố Hà Nội"), "{wrong}");
        assert_eq!(
            problem("1 Lê Lợi, Phường Bến Nghé, Tỉnh Sài Gòn").part(),
            "province"
        );
        assert_eq!(
            problem("1 Lê Lợi, Phường Xyz, Quận 1, Hồ Chí Minh").part(),
            "ward"
        );
        assert_eq!(
            problem("1 Lê Lợi, Phường Bến Nghé, Quận 99, Hồ Chí Minh").part(),
            "district"
        );
    }
}
