//! Domain → protobuf, through the caller's field scope; and protobuf → domain for inputs.

use chrono::{Datelike, NaiveDate};

use super::{scope::Disclosure, verify::Declared, QrVerdict};
use crate::{
    domain::{
        geography::reform_date, matching::Match, CardKind, CardState, Citizen, CitizenStatus,
        OriginForm, Place, PreReformAddress, Sex, VneidLevel,
    },
    error::ApiError,
    proto,
    security::{FieldScope, ScopeField},
};

pub fn date(d: NaiveDate) -> proto::Date {
    proto::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// A protobuf date as a calendar date; the error names `field`.
pub(crate) fn parse_date(field: &'static str, d: &proto::Date) -> Result<NaiveDate, ApiError> {
    u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
        .ok_or_else(|| ApiError::InvalidField {
            field,
            message: format!(
                "{:04}-{:02}-{:02} is not a calendar date",
                d.year, d.month, d.day
            ),
        })
}

pub fn sex(s: Sex) -> proto::Sex {
    match s {
        Sex::Male => proto::Sex::Male,
        Sex::Female => proto::Sex::Female,
    }
}

pub fn status(s: CitizenStatus) -> proto::CitizenStatus {
    match s {
        CitizenStatus::Active => proto::CitizenStatus::Active,
        CitizenStatus::Deceased => proto::CitizenStatus::Deceased,
        CitizenStatus::CardRevoked => proto::CitizenStatus::CardRevoked,
    }
}

/// The citizen's status as `scope` lets it be told: a revoked card is the card's state, which
/// only the `card` scope sees (without it the citizen is ACTIVE, and `card` is withheld).
pub fn status_for(s: CitizenStatus, scope: FieldScope) -> proto::CitizenStatus {
    match s {
        CitizenStatus::CardRevoked if !scope.allows(ScopeField::Card) => {
            proto::CitizenStatus::Active
        }
        s => status(s),
    }
}

/// The citizen as the caller may see it, and the names of the fields withheld. Every field
/// outside the scope is named in `withheld_fields` for every citizen, whether this one has it or
/// not (a CMND number, a card, a date of death): the list says what the scope hides, never what
/// the citizen lacks. Nothing card-related is derived without the `card` scope (the pre-reform
/// form of the address is the card's, and a revoked card shows in `status` only with it).
pub fn citizen(c: &Citizen, scope: FieldScope, today: NaiveDate) -> (proto::Citizen, Vec<String>) {
    // Every field outside the scope is named, whatever this citizen has (`family` is the
    // chip's alone: a lookup never has it).
    let mut disclosure = Disclosure::new(scope);
    for field in ScopeField::ALL {
        if field != ScopeField::Family {
            disclosure.shows(field, true);
        }
    }
    let shows = |field| scope.allows(field);
    let message = proto::Citizen {
        cccd_number: c.cccd.to_string(),
        cmnd_number: c
            .cmnd
            .filter(|_| shows(ScopeField::CmndNumber))
            .map(|n| n.to_string()),
        full_name: shows(ScopeField::FullName).then(|| c.full_name.clone()),
        date_of_birth: shows(ScopeField::DateOfBirth).then(|| date(c.date_of_birth)),
        sex: shows(ScopeField::Sex).then(|| sex(c.sex) as i32),
        nationality: shows(ScopeField::Nationality).then(|| c.nationality.to_string()),
        ethnicity: shows(ScopeField::Ethnicity).then(|| c.ethnicity.to_string()),
        religion: shows(ScopeField::Religion).then(|| c.religion.to_string()),
        place_of_origin: shows(ScopeField::PlaceOfOrigin).then(|| match c.origin_on(today) {
            OriginForm::PreReform(place) => pre_reform_place(place),
            OriginForm::Current(province) => proto::Place {
                province_code: province.code_text(),
                province_name: province.full_name.to_owned(),
                district: String::new(),
            },
        }),
        // The card's printed form beside it, as for the address.
        pre_reform_place_of_origin: (today >= reform_date()
            && c.card_prints_pre_reform_forms()
            && shows(ScopeField::PlaceOfOrigin)
            && shows(ScopeField::Card))
        .then(|| pre_reform_place(&c.place_of_origin)),
        permanent_address: shows(ScopeField::PermanentAddress).then(|| address_on(c, today)),
        pre_reform_permanent_address: c
            .pre_reform_address
            .as_ref()
            .filter(|_| {
                today >= reform_date()
                    && shows(ScopeField::PermanentAddress)
                    && shows(ScopeField::Card)
            })
            .map(|old| pre_reform_address(old, &c.permanent_address.street)),
        card: c
            .card
            .as_ref()
            .filter(|_| shows(ScopeField::Card))
            .map(|card| proto::IdentityCard {
                r#type: match card.kind {
                    CardKind::ChipCccd => proto::CardType::ChipCccd,
                    CardKind::IdentityCard2024 => proto::CardType::IdentityCard2024,
                } as i32,
                issue_date: Some(date(card.issued)),
                expiry_date: card.expires.map(date),
                state: match c.card_state(today) {
                    Some(CardState::Valid) => proto::CardState::Valid,
                    Some(CardState::Expired) => proto::CardState::Expired,
                    Some(CardState::Revoked) => proto::CardState::Revoked,
                    None => proto::CardState::Unspecified,
                } as i32,
            }),
        vneid_level: shows(ScopeField::VneidLevel).then_some(
            (match c.vneid {
                VneidLevel::None => proto::VneidLevel::None,
                VneidLevel::Level1 => proto::VneidLevel::One,
                VneidLevel::Level2 => proto::VneidLevel::Two,
            }) as i32,
        ),
        status: status_for(c.status, scope) as i32,
        date_of_death: c
            .date_of_death
            .filter(|_| shows(ScopeField::DateOfDeath))
            .map(date),
    };
    (message, disclosure.withheld())
}

/// The permanent address in the form in force on `today`: two-level from 1 July 2025, the
/// pre-2025 form before (when the record keeps it).
fn address_on(c: &Citizen, today: NaiveDate) -> proto::Address {
    let a = &c.permanent_address;
    match c.pre_reform_form_on(today) {
        Some(old) => pre_reform_address(old, &a.street),
        None => {
            let commune = a.commune();
            let province = commune.province();
            proto::Address {
                province_code: province.code_text(),
                province_name: province.full_name.to_owned(),
                district: String::new(),
                ward: commune.name.to_owned(),
                street: a.street.clone(),
                formatted: a.to_string(),
                commune_code: commune.code.to_string(),
            }
        }
    }
}

fn pre_reform_place(place: &Place) -> proto::Place {
    proto::Place {
        province_code: place.province.to_string(),
        province_name: place.province.province().name.to_owned(),
        district: place.district.to_string(),
    }
}

fn pre_reform_address(old: &PreReformAddress, street: &str) -> proto::Address {
    proto::Address {
        province_code: old.province.to_string(),
        province_name: old.province.province().name.to_owned(),
        district: old.district.to_string(),
        ward: old.ward.to_string(),
        street: street.to_owned(),
        formatted: old.line(street),
        commune_code: String::new(),
    }
}

/// The longest declared name looked at (bytes of UTF-8).
const MAX_DECLARED_NAME_BYTES: usize = 256;
/// The longest declared address looked at.
const MAX_DECLARED_ADDRESS_BYTES: usize = 512;

/// The declared data of a VerifyDemographics request.
pub fn declared(d: Option<proto::Declared>) -> Result<Declared, ApiError> {
    let d = d.unwrap_or_default();
    let sex = match d.sex.map(proto::Sex::try_from) {
        None => None,
        Some(Ok(proto::Sex::Male)) => Some(Sex::Male),
        Some(Ok(proto::Sex::Female)) => Some(Sex::Female),
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "declared.sex",
                message: "must be SEX_MALE or SEX_FEMALE".into(),
            })
        }
    };
    let text = |field: &'static str, value: Option<String>, max: usize| match value {
        Some(v) if v.len() > max => Err(ApiError::FieldTooLong {
            field,
            len: v.len(),
            max,
        }),
        Some(v) if v.trim().is_empty() => Err(ApiError::InvalidField {
            field,
            message: "is set but empty; leave it unset to skip it".into(),
        }),
        other => Ok(other),
    };
    let declared = Declared {
        full_name: text("declared.full_name", d.full_name, MAX_DECLARED_NAME_BYTES)?,
        date_of_birth: d
            .date_of_birth
            .as_ref()
            .map(|x| parse_date("declared.date_of_birth", x))
            .transpose()?,
        sex,
        address: text("declared.address", d.address, MAX_DECLARED_ADDRESS_BYTES)?,
    };
    if declared == Declared::default() {
        return Err(ApiError::NothingDeclared);
    }
    Ok(declared)
}

pub(crate) fn match_result(m: Match) -> proto::MatchResult {
    match m {
        Match::Exact => proto::MatchResult::Exact,
        Match::DiacriticInsensitive => proto::MatchResult::DiacriticInsensitive,
        Match::Partial(_) => proto::MatchResult::Partial,
        Match::NoMatch => proto::MatchResult::NoMatch,
    }
}

pub(crate) fn qr_verdict(v: &QrVerdict) -> proto::QrVerdict {
    match v {
        QrVerdict::Valid => proto::QrVerdict::Valid,
        QrVerdict::Mismatch(_) => proto::QrVerdict::Mismatch,
        QrVerdict::CardExpired => proto::QrVerdict::CardExpired,
        QrVerdict::CardRevoked => proto::QrVerdict::CardRevoked,
        QrVerdict::CitizenDeceased => proto::QrVerdict::CitizenDeceased,
        QrVerdict::UnknownNumber => proto::QrVerdict::UnknownNumber,
    }
}
