//! Naming one unit on its own, as the agency directory and audit reports do: a commune-level
//! unit by its code or name, a current province by its name or code, and the province a
//! pre-2025 district belonged to (district names repeat across provinces, so a province known
//! from elsewhere narrows the search).

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use super::{parse::provinces, unit_key, CommuneCode, CurrentProvince, NAMES};
use crate::domain::ProvinceCode;

/// The current province called `name` ("Phú Thọ", "Tỉnh Phú Thọ", "tinh phu tho") or coded so
/// ("025"). An old province's name ("Hòa Bình") is not a current province.
pub fn current_province(name: &str) -> Option<&'static CurrentProvince> {
    let name = name.trim();
    if !name.is_empty() && name.len() <= 3 && name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse().ok().and_then(CurrentProvince::by_code);
    }
    provinces(name).1
}

/// Why a commune named on its own does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommuneProblem {
    /// Five digits, but no unit in force has that code.
    #[error("{0:?} is not one of the 3,321 commune-level codes in force since 1 July 2025")]
    UnknownCode(String),
    /// No unit of that name in the province given.
    #[error("no commune-level unit is called {commune:?} in {province}")]
    NotInProvince {
        /// The name as written.
        commune: String,
        /// The province's name.
        province: &'static str,
    },
    /// No unit of that name anywhere.
    #[error("no commune-level unit in force is called {0:?}")]
    Unknown(String),
    /// Units of that name in several provinces, and none was given.
    #[error("{commune:?} names a unit in {} provinces ({}); write it as \"{commune}, PROVINCE\" or give its 5-digit code", .provinces.len(), .provinces.join(", "))]
    Ambiguous {
        /// The name as written.
        commune: String,
        /// The provinces that have one.
        provinces: Vec<&'static str>,
    },
    /// The province given is not one of the 34 in force.
    #[error("{0:?} is not a province in force since 1 July 2025")]
    UnknownProvince(String),
}

/// The commune-level unit `text` names: its 5-digit code ("04930"), "NAME, PROVINCE"
/// ("Xã Mai Châu, Phú Thọ"), or a name, looked for in `within` when given, else among
/// `candidates`, else in the whole country (where it must be unique).
pub fn commune(
    text: &str,
    within: Option<&'static CurrentProvince>,
    candidates: &[CommuneCode],
) -> Result<CommuneCode, CommuneProblem> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .ok()
            .and_then(CommuneCode::new)
            .ok_or_else(|| CommuneProblem::UnknownCode(text.to_owned()));
    }
    if let Some((name, province)) = text.rsplit_once(',') {
        let province = current_province(province)
            .ok_or_else(|| CommuneProblem::UnknownProvince(province.trim().to_owned()))?;
        return in_province(name.trim(), province);
    }
    if let Some(province) = within {
        return in_province(text, province);
    }
    let key = unit_key(text);
    if let Some(code) = candidates
        .iter()
        .find(|c| unit_key(c.commune().name) == key)
    {
        return Ok(*code);
    }
    match NAMES.commune_names.get(&key).map(Vec::as_slice) {
        None | Some([]) => Err(CommuneProblem::Unknown(text.to_owned())),
        Some([code]) => Ok(*code),
        Some(codes) => Err(CommuneProblem::Ambiguous {
            commune: text.to_owned(),
            provinces: codes.iter().map(|c| c.commune().province().name).collect(),
        }),
    }
}

fn in_province(
    name: &str,
    province: &'static CurrentProvince,
) -> Result<CommuneCode, CommuneProblem> {
    NAMES
        .commune(province.code, name)
        .ok_or_else(|| CommuneProblem::NotInProvince {
            commune: name.to_owned(),
            province: province.full_name,
        })
}

/// The old province (one of the 63) whose district was called `district` ("Huyện Mai Châu"),
/// among those now part of `within` when given; `None` when no old province, or more than one,
/// had a district of that name. Asked for every reported event, so answers are remembered by
/// the text as given (a few thousand at most: directories and reports name few districts).
pub fn district_province(
    district: &str,
    within: Option<&'static CurrentProvince>,
) -> Option<ProvinceCode> {
    /// (current province code or 0) → district as given → answer.
    type Known = HashMap<u16, HashMap<Box<str>, Option<ProvinceCode>>>;
    const KNOWN_LIMIT: usize = 4_096;
    static KNOWN: LazyLock<Mutex<(Known, usize)>> = LazyLock::new(Mutex::default);
    let key = within.map_or(0, |p| p.code);
    if let Some(known) = KNOWN
        .lock()
        .ok()
        .and_then(|k| k.0.get(&key).and_then(|m| m.get(district)).copied())
    {
        return known;
    }
    let found = look_up_district(district, within);
    if let Ok(mut known) = KNOWN.lock() {
        if known.1 < KNOWN_LIMIT {
            known.1 += 1;
            known
                .0
                .entry(key)
                .or_default()
                .insert(district.into(), found);
        }
    }
    found
}

fn look_up_district(
    district: &str,
    within: Option<&'static CurrentProvince>,
) -> Option<ProvinceCode> {
    let found = NAMES.district_provinces.get(&unit_key(district))?;
    let mut matching = found.iter().filter(|old| {
        within.is_none_or(|current| CurrentProvince::containing(**old).code == current.code)
    });
    match (matching.next(), matching.next()) {
        (Some(old), None) => Some(*old),
        _ => None,
    }
}

impl CommuneCode {
    /// "Xã Mai Châu, Phú Thọ": the unit's name with its province's (names repeat across
    /// provinces).
    pub fn label(self) -> String {
        let commune = self.commune();
        format!("{}, {}", commune.name, commune.province().name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_by_code_name_and_province() {
        let phu_tho = current_province("Phú Thọ").unwrap();
        assert_eq!(current_province("tinh phu tho").unwrap().code, phu_tho.code);
        assert_eq!(current_province("025").unwrap().code, 25);
        assert!(
            current_province("Hòa Bình").is_none(),
            "merged into Phú Thọ"
        );
        let mai_chau = commune("Xã Mai Châu", Some(phu_tho), &[]).unwrap();
        assert_eq!(mai_chau.label(), "Xã Mai Châu, Phú Thọ");
        assert_eq!(commune(&mai_chau.to_string(), None, &[]).unwrap(), mai_chau);
        assert_eq!(
            commune("xa mai chau, phu tho", None, &[]).unwrap(),
            mai_chau
        );
        assert_eq!(commune("xa mai chau", None, &[mai_chau]).unwrap(), mai_chau);
        assert!(matches!(
            commune("99999", None, &[]),
            Err(CommuneProblem::UnknownCode(_))
        ));
        assert!(matches!(
            commune("Phường Hoàn Kiếm", Some(phu_tho), &[]),
            Err(CommuneProblem::NotInProvince { .. })
        ));
        assert!(matches!(
            commune("Xã Không Có", None, &[]),
            Err(CommuneProblem::Unknown(_))
        ));
        assert!(matches!(
            commune("Xã Mai Châu, Hòa Bình", None, &[]),
            Err(CommuneProblem::UnknownProvince(_))
        ));
    }

    #[test]
    fn districts_map_to_their_old_province() {
        let hoa_binh = ProvinceCode::new(17).unwrap();
        assert_eq!(district_province("Huyện Mai Châu", None), Some(hoa_binh));
        let phu_tho = current_province("Phú Thọ");
        assert_eq!(district_province("huyen mai chau", phu_tho), Some(hoa_binh));
        assert_eq!(
            district_province("Huyện Mai Châu", current_province("Hà Nội")),
            None
        );
        assert_eq!(
            district_province("Quận Ba Đình", None),
            ProvinceCode::new(1)
        );
        assert_eq!(district_province("Huyện Không Có", None), None);
    }
}
