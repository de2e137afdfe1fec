//! An address written in the pre-2025 form (ward, district, one of the 63 provinces) converted
//! to today's two-level form (street, commune-level unit, one of the 34 provinces), through the
//! geography's tables (`domain::geography`).

use crate::domain::{
    geography::{self, CommuneCode, ParsedForm},
    Citizen,
};

/// `address` in the two-level form, when it is written in the pre-2025 form and denotes a place.
/// An old ward split between several current units is converted to the one the citizen's record
/// names when `citizen` is given (the caller passes it only when the agency's scope shows the
/// address) and it is one of them; otherwise to the first of them.
pub(crate) fn converted(address: &str, citizen: Option<&Citizen>) -> Option<String> {
    let parsed = geography::parse(address)?.ok()?;
    let ParsedForm::PreReform(ward) = parsed.form else {
        return None;
    };
    let targets: Vec<CommuneCode> = ward.targets().collect();
    let recorded = citizen.map(|c| c.permanent_address.commune);
    let commune = recorded
        .filter(|code| targets.contains(code))
        .or_else(|| targets.first().copied())?
        .commune();
    let units = format!("{}, {}", commune.name, commune.province().full_name);
    Some(if parsed.street.is_empty() {
        units
    } else {
        format!("{}, {units}", parsed.street)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_form_is_converted_and_the_new_form_left_alone() {
        assert_eq!(
            converted("8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội", None).as_deref(),
            Some("8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội")
        );
        assert_eq!(
            converted("8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội", None),
            None
        );
        assert_eq!(converted("somewhere", None), None);
    }
}
