//! The 63 three-digit province codes that open a CCCD number (the place where the birth was
//! registered; Circular 07/2016/TT-BCA, Appendix 1), embedded from `data/provinces.csv`.
//!
//! The 2025 merger into 34 provinces changed no existing number, so all 63 codes stay valid.

use std::{fmt, sync::LazyLock};

/// A province code as it appears in the first three digits of a CCCD number, e.g. `001` Hà Nội.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProvinceCode(u16);

/// One province or centrally-run city.
#[derive(Debug)]
pub struct Province {
    /// Its 3-digit birth-registration code (the first digits of a CCCD number).
    pub code: ProvinceCode,
    /// Vietnamese name, e.g. "Hồ Chí Minh".
    pub name: &'static str,
    /// 2019 census population in thousands (approximate); weights the synthetic population.
    pub population_thousands: u32,
    /// The two digits that legacy 9-digit CMND numbers issued there begin with.
    pub cmnd_prefix: u8,
}

static PROVINCES: LazyLock<Vec<Province>> = LazyLock::new(|| {
    include_str!("../../../../data/provinces.csv")
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            let number = |i: usize| -> u32 {
                cols.get(i)
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or_else(|| panic!("data/provinces.csv: bad column {i} in {line:?}"))
            };
            Province {
                code: ProvinceCode(number(0) as u16),
                name: cols[1].trim(),
                population_thousands: number(2),
                cmnd_prefix: number(3) as u8,
            }
        })
        .collect()
});

impl ProvinceCode {
    /// The code if it is one of the 63 official ones.
    pub fn new(code: u16) -> Option<Self> {
        Province::all()
            .iter()
            .any(|p| p.code.0 == code)
            .then_some(ProvinceCode(code))
    }

    /// The numeric value, 1 to 96.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The province this code belongs to.
    pub fn province(self) -> &'static Province {
        let all = Province::all();
        // The table is sorted by code (a unit test checks it).
        all.binary_search_by_key(&self, |p| p.code)
            .map(|i| &all[i])
            .expect("a ProvinceCode is only built from the embedded table")
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl Province {
    /// All 63 provinces, in code order.
    pub fn all() -> &'static [Province] {
        &PROVINCES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_all_63_provinces_with_unique_codes() {
        let all = Province::all();
        assert_eq!(all.len(), 63);
        let mut codes: Vec<u16> = all.iter().map(|p| p.code.get()).collect();
        codes.dedup();
        assert_eq!(codes.len(), 63, "codes must be sorted and unique");
        assert!(all.iter().all(|p| p.population_thousands > 0));
    }

    #[test]
    fn knows_the_well_known_codes() {
        assert_eq!(ProvinceCode::new(1).unwrap().province().name, "Hà Nội");
        assert_eq!(
            ProvinceCode::new(79).unwrap().province().name,
            "Hồ Chí Minh"
        );
        assert!(ProvinceCode::new(3).is_none(), "003 is not a province code");
        assert!(ProvinceCode::new(0).is_none());
        assert_eq!(ProvinceCode::new(1).unwrap().to_string(), "001");
    }
}
