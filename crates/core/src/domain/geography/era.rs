//! Addresses that mix the units of two eras: a commune-level unit in force since 1 July 2025
//! named with an abolished district, or with a province that was merged away; a pre-2025 ward
//! and district named with the province they belong to now. Such an address still denotes a
//! place (`super::parse` resolves it), but it is written in neither form, so it matches a record
//! only partly, with the mix as the reason (`crate::domain::matching`), whichever way it mixes.

use std::fmt;

use super::{parse::unit_key, CommuneCode, OldWard};
use crate::domain::ProvinceCode;

/// How an address mixes the units of the two eras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraMix {
    /// A commune-level unit in force since 1 July 2025 named with a district, which the reform
    /// abolished: "Phường Hoàn Kiếm, Quận Hoàn Kiếm, Thành phố Hà Nội".
    AbolishedDistrict {
        /// The district as written.
        district: String,
        /// The commune's name.
        commune: &'static str,
    },
    /// A commune-level unit in force since 1 July 2025 named with a province merged into
    /// another on that day: "Xã Mai Châu, Tỉnh Hòa Bình" (now in Phú Thọ).
    MergedProvince {
        /// The commune's name.
        commune: &'static str,
        /// The province as written.
        province: String,
        /// The province it is in since the reform.
        now: &'static str,
    },
    /// A pre-2025 district named with the province it belongs to since the reform:
    /// "Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Phú Thọ" (Mai Châu was Hòa Bình's).
    CurrentProvince {
        /// The district as written.
        district: String,
        /// The province as written (a current one).
        province: String,
        /// The province the district belonged to.
        was: &'static str,
    },
}

impl EraMix {
    /// The part of the address that belongs to the other era: "district" or "province".
    pub fn part(&self) -> &'static str {
        match self {
            EraMix::AbolishedDistrict { .. } => "district",
            EraMix::MergedProvince { .. } | EraMix::CurrentProvince { .. } => "province",
        }
    }
}

impl fmt::Display for EraMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EraMix::AbolishedDistrict { district, commune } => write!(
                f,
                "district: {district:?} was abolished on 1 July 2025 and {commune} exists only \
                 since: the address mixes two eras (write it without the district, or with the \
                 ward and district of before)"
            ),
            EraMix::MergedProvince {
                commune,
                province,
                now,
            } => write!(
                f,
                "province: {commune} exists only since 1 July 2025, when {province:?} was merged \
                 into {now}: the address mixes two eras (write {now})"
            ),
            EraMix::CurrentProvince {
                district,
                province,
                was,
            } => write!(
                f,
                "province: {district:?} was a district of {was}, not of {province:?}, before 1 \
                 July 2025: the address mixes two eras (write {was} with the district, or the \
                 commune of today with {province:?})"
            ),
        }
    }
}

/// Whether the commune `code` lies (at least in part) where an old ward of `district` in `old`
/// was: a current unit named with that district denotes a place in the district's area.
pub(super) fn in_district(code: CommuneCode, old: ProvinceCode, district: &str) -> bool {
    let key = unit_key(district);
    OldWard::all()
        .iter()
        .filter(|w| w.province == old && unit_key(w.district) == key)
        .any(|w| w.targets().any(|t| t == code))
}
