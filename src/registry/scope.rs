//! The field-scope table: what each RPC reveals to an agency, field by field. Every service asks
//! here; nothing else decides what a scope lets through. The README ("Field scopes") shows the
//! same table, and `tests/scope.rs` checks it row by row.
//!
//! One rule per kind of disclosure:
//!
//! - **Values in an answer** (a lookup's citizen, `date_of_death` included): a field outside the
//!   scope is absent and named in `withheld_fields`.
//! - **Card dates and state** (a lookup's `card`, VerifyQr's `expiry_date` and card verdicts, the
//!   chip's `card_state` check): the same — not given, not checked, `card` in `withheld_fields`.
//! - **Inputs naming a scoped field** (LookupByCmnd's `cmnd_number`, VerifyDemographics' declared
//!   fields): refused with PERMISSION_DENIED naming the field (`FIELD_OUT_OF_SCOPE`), since the
//!   answer would be a match result about that field.
//! - **Comparisons with a presented card** (VerifyQr, VerifyChipRead): only fields in the scope
//!   are compared; the others are named in `withheld_fields`. A chip read is compared with the
//!   database only once its certificate chain, signature and data-group hashes have verified, so
//!   an unsigned read cannot be used to test guesses.
//! - `cccd_number` and `status` are always visible.

use crate::{
    error::ApiError,
    security::{Agency, FieldScope, ScopeField},
};

/// Refuses an input that would reveal `field` to an agency whose scope lacks it; `input` is the
/// request field that names it.
pub(crate) fn require(
    agency: &Agency,
    field: ScopeField,
    input: &'static str,
) -> Result<(), ApiError> {
    if agency.scope.allows(field) {
        Ok(())
    } else {
        Err(ApiError::FieldOutOfScope {
            agency: agency.id.clone(),
            field: field.name(),
            input,
        })
    }
}

/// Decides field by field what an answer may show, and collects the names it withholds.
#[derive(Debug)]
pub struct Disclosure {
    scope: FieldScope,
    withheld: Vec<String>,
}

impl Disclosure {
    pub fn new(scope: FieldScope) -> Self {
        Disclosure {
            scope,
            withheld: Vec::new(),
        }
    }

    /// Whether `field` may be shown; a field that exists (`present`) but may not is withheld.
    pub fn shows(&mut self, field: ScopeField, present: bool) -> bool {
        let allowed = self.scope.allows(field);
        if present && !allowed && !self.withheld.iter().any(|w| w == field.name()) {
            self.withheld.push(field.name().to_owned());
        }
        allowed
    }

    /// The names of the withheld fields, in the order first met.
    pub fn withheld(self) -> Vec<String> {
        self.withheld
    }
}

/// The scope field a VerifyQr comparison part reveals.
pub(crate) fn qr_part(part: &str) -> ScopeField {
    match part {
        "cmnd_number" => ScopeField::CmndNumber,
        "full_name" => ScopeField::FullName,
        "date_of_birth" => ScopeField::DateOfBirth,
        "sex" => ScopeField::Sex,
        "address" => ScopeField::PermanentAddress,
        _ => ScopeField::Card,
    }
}

/// The scope field a chip data-group field ("dg1.full_name", "dg13.father_name") reveals;
/// `None` for what the card itself states and every scope may compare (document type and
/// number, issuing state).
pub(crate) fn chip_field(path: &str) -> Option<ScopeField> {
    let name = path.rsplit('.').next().unwrap_or(path);
    Some(match name {
        "document_type" | "issuing_state" | "document_number" => return None,
        "full_name" => ScopeField::FullName,
        "date_of_birth" => ScopeField::DateOfBirth,
        "sex" => ScopeField::Sex,
        "nationality" if path.starts_with("dg1.") => return None,
        "nationality" => ScopeField::Nationality,
        "ethnicity" => ScopeField::Ethnicity,
        "religion" => ScopeField::Religion,
        "place_of_origin" => ScopeField::PlaceOfOrigin,
        "place_of_residence" => ScopeField::PermanentAddress,
        "issue_date" | "expiry_date" => ScopeField::Card,
        "legacy_number" => ScopeField::CmndNumber,
        // father_name, mother_name, spouse_name, personal_identification_features, and any
        // field added later: only what the chip holds.
        _ => ScopeField::Family,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_fields_map_to_scopes() {
        assert_eq!(chip_field("dg1.document_number"), None);
        assert_eq!(chip_field("dg1.nationality"), None);
        assert_eq!(
            chip_field("dg13.nationality"),
            Some(ScopeField::Nationality)
        );
        assert_eq!(chip_field("dg13.religion"), Some(ScopeField::Religion));
        assert_eq!(chip_field("dg13.father_name"), Some(ScopeField::Family));
        assert_eq!(chip_field("dg1.expiry_date"), Some(ScopeField::Card));
    }

    #[test]
    fn withheld_once_each() {
        let mut d = Disclosure::new([ScopeField::FullName].into_iter().collect());
        assert!(d.shows(ScopeField::FullName, true));
        assert!(!d.shows(ScopeField::Religion, true));
        assert!(!d.shows(ScopeField::Religion, true));
        assert!(!d.shows(ScopeField::CmndNumber, false));
        assert_eq!(d.withheld(), vec!["religion"]);
    }
}
