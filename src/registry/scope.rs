//! The field-scope table: what each RPC reveals to an agency, field by field. Every service asks
//! here; nothing else decides what a scope lets through. docs/operating.md ("Field scopes") shows the
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
//! - **VNeID refusals** ([`vneid_refusal`]): why a citizen cannot authenticate is told only as
//!   far as the scope allows — the account (none, its level) with `vneid_level`, a revoked or
//!   expired card with `card`, a death with `date_of_death`; otherwise one generic refusal,
//!   `VNEID_REFUSED`, the same for every such reason.
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

/// A VNeID refusal as `scope` lets it be told: one that would reveal the citizen's account, card
/// or death to an agency whose scope lacks the field becomes `VNEID_REFUSED` (no metadata); a
/// level-2 chip rejection for the card's state or a death keeps only that the chip was rejected.
/// Refusals about the login itself (a wrong factor, a lock, a challenge) pass as they are.
pub(crate) fn vneid_refusal(scope: FieldScope, error: ApiError) -> ApiError {
    let needs = match &error {
        ApiError::VneidNoAccount { .. } | ApiError::VneidLevelTooLow { .. } => {
            ScopeField::VneidLevel
        }
        ApiError::VneidCardRevoked { .. } => ScopeField::Card,
        ApiError::VneidCitizenDeceased { .. } => ScopeField::DateOfDeath,
        ApiError::VneidChipRejected { verdict, .. } => {
            let needs = match *verdict {
                "CHIP_VERDICT_CARD_EXPIRED" | "CHIP_VERDICT_CARD_REVOKED" => ScopeField::Card,
                "CHIP_VERDICT_CITIZEN_DECEASED" => ScopeField::DateOfDeath,
                _ => return error,
            };
            if scope.allows(needs) {
                return error;
            }
            return ApiError::VneidChipRejected {
                verdict: "CHIP_VERDICT_REJECTED",
                detail: "the chip read does not authenticate this citizen".into(),
            };
        }
        _ => return error,
    };
    if scope.allows(needs) {
        return error;
    }
    let masked = match error {
        ApiError::VneidNoAccount { masked }
        | ApiError::VneidLevelTooLow { masked, .. }
        | ApiError::VneidCardRevoked { masked }
        | ApiError::VneidCitizenDeceased { masked } => masked,
        _ => unreachable!("only the refusals matched above get here"),
    };
    ApiError::VneidRefused { masked }
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
    fn vneid_refusals_tell_only_what_the_scope_allows() {
        let masked = || "001******345".to_owned();
        let reason = |scope: FieldScope, error: ApiError| vneid_refusal(scope, error).reason();
        let nothing: FieldScope = std::iter::empty().collect();
        for error in [
            ApiError::VneidNoAccount { masked: masked() },
            ApiError::VneidLevelTooLow {
                masked: masked(),
                account: 1,
                requested: 2,
            },
            ApiError::VneidCardRevoked { masked: masked() },
            ApiError::VneidCitizenDeceased { masked: masked() },
        ] {
            assert_eq!(reason(nothing, error), crate::reason::Reason::VneidRefused);
        }
        let all = FieldScope::all();
        assert_eq!(
            reason(all, ApiError::VneidNoAccount { masked: masked() }),
            crate::reason::Reason::VneidNoAccount
        );
        let expired = || ApiError::VneidChipRejected {
            verdict: "CHIP_VERDICT_CARD_EXPIRED",
            detail: "the card has expired".into(),
        };
        let told = vneid_refusal(nothing, expired());
        assert!(
            matches!(
                told,
                ApiError::VneidChipRejected {
                    verdict: "CHIP_VERDICT_REJECTED",
                    ..
                }
            ),
            "{told}"
        );
        // Nor does its message tell the card's state.
        assert!(!told.to_string().contains("expired"), "{told}");
        assert!(vneid_refusal(all, expired())
            .to_string()
            .contains("expired"));
        // A wrong passcode is about the login, not the citizen: told to everyone.
        assert_eq!(
            reason(nothing, ApiError::VneidPasscodeWrong { attempts_left: 2 }),
            crate::reason::Reason::VneidPasscodeWrong
        );
    }

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
