//! Fixture citizens: people with fixed numbers that examples, tests and testers can rely on.
//!
//! The built-in set lives in `data/fixtures.json` (documented in docs/population.md). A tester adds or
//! overrides citizens with a file of the same format, given by `--fixtures` / `VNPOP_FIXTURES`:
//!
//! ```json
//! { "citizens": [ { "cccd_number": "001090012345", "full_name": "Nguyễn Văn An",
//!     "date_of_birth": "1990-03-15", "sex": "male",
//!     "place_of_origin": { "province_code": "001", "district": "Huyện Đông Anh" },
//!     "permanent_address": { "province_code": "001", "district": "Quận Hoàn Kiếm",
//!                            "ward": "Phường Hàng Bạc", "street": "8 Hàng Bạc" },
//!                            // or, two-level: { "province_code": "001",
//!                            //   "commune": "Phường Hoàn Kiếm", "street": "8 Hàng Bạc" }
//!     "card": { "issue_date": "2021-03-01" }, "vneid_level": "2", "status": "active" } ] }
//! ```
//!
//! Optional: `cmnd_number`, `nationality` ("Việt Nam"), `ethnicity` ("Kinh"), `religion`
//! ("Không"), `card` (none), `card.type` (from the issue date), `card.expiry_date` (the legal
//! one; give it to make, say, a card that expires today), `vneid_level` ("none"), `status`
//! ("active"), `date_of_death` (with status "deceased"). Every value is checked, and an error names the citizen and the field.
//!
//! The permanent address is given in either form. Two-level (since 1 July 2025): a current
//! province code (one of 34) and `commune`. Pre-2025: the old province code (one of 63),
//! `district` and `ward` as they stood on 30 June 2025; the record then holds the converted
//! address (`commune` picks the unit for a ward that was split, else the first one), and keeps
//! the old form as history when the card was issued before the reform (it prints it).

use std::{borrow::Cow, path::Path};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::{
    card_expiry,
    geography::{reform_date, CurrentProvince, OldWard},
    Address, CardKind, CccdNumber, Citizen, CitizenStatus, CmndNumber, IdentityCard, Place,
    PreReformAddress, ProvinceCode, Sex, VneidLevel,
};

/// A fixture that could not be read or does not describe a valid citizen.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixtures file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("fixtures file {path} is not valid fixture JSON: {source}")]
    Syntax {
        path: String,
        source: serde_json::Error,
    },
    #[error("fixture citizen #{index} ({cccd}): field {field}: {message}")]
    Invalid {
        index: usize,
        cccd: String,
        field: &'static str,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    citizens: Vec<FixtureCitizen>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureCitizen {
    cccd_number: String,
    cmnd_number: Option<String>,
    full_name: String,
    date_of_birth: NaiveDate,
    sex: Sex,
    nationality: Option<String>,
    ethnicity: Option<String>,
    religion: Option<String>,
    place_of_origin: FixturePlace,
    permanent_address: FixtureAddress,
    card: Option<FixtureCard>,
    #[serde(default)]
    vneid_level: VneidLevel,
    #[serde(default)]
    status: CitizenStatus,
    date_of_death: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixturePlace {
    province_code: String,
    district: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureAddress {
    province_code: String,
    street: String,
    commune: Option<String>,
    district: Option<String>,
    ward: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureCard {
    #[serde(rename = "type")]
    kind: Option<CardKind>,
    issue_date: NaiveDate,
    expiry_date: Option<NaiveDate>,
}

/// The built-in fixture citizens (`data/fixtures.json`).
pub fn builtin_fixtures() -> Vec<Citizen> {
    parse(
        "data/fixtures.json",
        include_str!("../../data/fixtures.json"),
    )
    .expect("the built-in fixtures are valid")
}

/// Parses one citizen: a JSON object in the format of one entry of a fixtures file (how the admin
/// service inserts citizens at runtime). The error names the field.
pub fn parse_fixture_citizen(json: &str) -> Result<Citizen, (&'static str, String)> {
    let fixture: FixtureCitizen =
        serde_json::from_str(json).map_err(|e| ("citizen_json", e.to_string()))?;
    fixture.into_citizen()
}

/// Reads a fixtures file.
pub fn load_fixtures_file(path: &Path) -> Result<Vec<Citizen>, FixtureError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
        path: name.clone(),
        source,
    })?;
    parse(&name, &text)
}

fn parse(path: &str, text: &str) -> Result<Vec<Citizen>, FixtureError> {
    let file: FixtureFile = serde_json::from_str(text).map_err(|source| FixtureError::Syntax {
        path: path.to_owned(),
        source,
    })?;
    file.citizens
        .into_iter()
        .enumerate()
        .map(|(index, fixture)| {
            let cccd = fixture.cccd_number.clone();
            fixture
                .into_citizen()
                .map_err(|(field, message)| FixtureError::Invalid {
                    index,
                    cccd,
                    field,
                    message,
                })
        })
        .collect()
}

type FieldError = (&'static str, String);

fn province(field: &'static str, code: &str) -> Result<ProvinceCode, FieldError> {
    code.parse::<u16>()
        .ok()
        .filter(|_| code.len() == 3)
        .and_then(ProvinceCode::new)
        .ok_or((
            field,
            format!("{code:?} is not one of the 63 province codes"),
        ))
}

fn text(field: &'static str, value: String) -> Result<String, FieldError> {
    if value.trim().is_empty() {
        Err((field, "must not be empty".into()))
    } else if value.chars().any(char::is_control) {
        Err((field, "must not contain control characters".into()))
    } else {
        Ok(value.trim().to_owned())
    }
}

impl FixtureCitizen {
    fn into_citizen(self) -> Result<Citizen, FieldError> {
        let cccd =
            CccdNumber::parse(&self.cccd_number).map_err(|e| ("cccd_number", e.to_string()))?;
        if let Some(part) = cccd.contradictions(self.sex, self.date_of_birth).first() {
            return Err((
                "cccd_number",
                format!("the number's {part} contradicts the sex or date of birth"),
            ));
        }
        let cmnd = self
            .cmnd_number
            .map(|n| CmndNumber::parse(&n).map_err(|e| ("cmnd_number", e.to_string())))
            .transpose()?;
        let card = match self.card {
            None => None,
            Some(card) => {
                if card.issue_date < self.date_of_birth {
                    return Err(("card.issue_date", "is before the date of birth".into()));
                }
                let kind = card.kind.unwrap_or(CardKind::issued_on(card.issue_date));
                if card.issue_date < kind.first_issue_date() {
                    return Err((
                        "card.issue_date",
                        format!(
                            "is before this card type was first issued ({})",
                            kind.first_issue_date()
                        ),
                    ));
                }
                Some(IdentityCard {
                    kind,
                    issued: card.issue_date,
                    expires: card
                        .expiry_date
                        .or_else(|| card_expiry(self.date_of_birth, card.issue_date)),
                })
            }
        };
        if let Some(died) = self.date_of_death {
            if died < self.date_of_birth {
                return Err(("date_of_death", "is before the date of birth".into()));
            }
            if self.status != CitizenStatus::Deceased {
                return Err((
                    "date_of_death",
                    "is given but status is not \"deceased\"".into(),
                ));
            }
        }
        let (permanent_address, pre_reform_address) = self.permanent_address.resolve()?;
        Ok(Citizen {
            cccd,
            cmnd,
            full_name: text("full_name", self.full_name)?,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            nationality: Cow::Owned(self.nationality.unwrap_or_else(|| "Việt Nam".into())),
            ethnicity: Cow::Owned(self.ethnicity.unwrap_or_else(|| "Kinh".into())),
            religion: Cow::Owned(self.religion.unwrap_or_else(|| "Không".into())),
            place_of_origin: Place {
                province: province(
                    "place_of_origin.province_code",
                    &self.place_of_origin.province_code,
                )?,
                district: Cow::Owned(text(
                    "place_of_origin.district",
                    self.place_of_origin.district,
                )?),
            },
            permanent_address,
            pre_reform_address: pre_reform_address
                .filter(|_| card.as_ref().is_some_and(|c| c.issued < reform_date())),
            card,
            vneid: self.vneid_level,
            status: self.status,
            date_of_death: self.date_of_death,
        })
    }
}

impl FixtureAddress {
    /// The two-level address, and the pre-2025 one when the fixture gives it.
    fn resolve(self) -> Result<(Address, Option<PreReformAddress>), FieldError> {
        const FIELD: &str = "permanent_address.province_code";
        let street = text("permanent_address.street", self.street)?;
        let (district, ward) = match (self.district, self.ward) {
            (None, None) => {
                let province = self
                    .province_code
                    .parse::<u16>()
                    .ok()
                    .filter(|_| self.province_code.len() == 3)
                    .and_then(CurrentProvince::by_code)
                    .ok_or_else(|| {
                        (
                            FIELD,
                            format!(
                                "{:?} is not one of the 34 current province codes \
                                 (give district and ward for a pre-2025 address)",
                                self.province_code
                            ),
                        )
                    })?;
                let commune = self.commune.ok_or((
                    "permanent_address.commune",
                    "is required (or give the pre-2025 district and ward)".to_owned(),
                ))?;
                let commune = province
                    .commune_named(&commune)
                    .map_err(|e| ("permanent_address.commune", e.to_string()))?;
                return Ok((Address { street, commune }, None));
            }
            (Some(district), Some(ward)) => (district, ward),
            (Some(_), None) => {
                return Err(("permanent_address.ward", "is required with district".into()))
            }
            (None, Some(_)) => {
                return Err(("permanent_address.district", "is required with ward".into()))
            }
        };
        let old = province(FIELD, &self.province_code)?;
        let found = OldWard::find(old, &district, &ward).ok_or_else(|| {
            (
                "permanent_address.ward",
                format!(
                    "{district} of {} had no ward {ward:?} on 30 June 2025",
                    old.province().name
                ),
            )
        })?;
        let targets: Vec<_> = found.targets().collect();
        let commune = match self.commune {
            None => targets[0],
            Some(name) => {
                let code = CurrentProvince::containing(old)
                    .commune_named(&name)
                    .map_err(|e| ("permanent_address.commune", e.to_string()))?;
                if !targets.contains(&code) {
                    let now: Vec<_> = targets.iter().map(|t| t.commune().name).collect();
                    return Err((
                        "permanent_address.commune",
                        format!("{ward} is now in {}, not {name}", now.join(" or ")),
                    ));
                }
                code
            }
        };
        Ok((
            Address { street, commune },
            Some(PreReformAddress {
                province: old,
                district: Cow::Borrowed(found.district),
                ward: Cow::Borrowed(found.ward),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CardState;

    #[test]
    fn builtin_fixtures_cover_the_documented_cases() {
        let fixtures = builtin_fixtures();
        let find = |n: &str| fixtures.iter().find(|c| c.cccd.to_string() == n).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            find("001090012345").card_state(today),
            Some(CardState::Valid)
        );
        assert_eq!(find("036050000777").status, CitizenStatus::Deceased);
        assert_eq!(
            find("048188004321").card_state(today),
            Some(CardState::Revoked)
        );
        assert_eq!(
            find("001098005555").card_state(today),
            Some(CardState::Expired)
        );
        assert_eq!(find("001315000111").card, None);
        assert_eq!(
            find("075205000222").card.as_ref().unwrap().kind,
            CardKind::IdentityCard2024
        );
    }

    #[test]
    fn errors_name_the_citizen_and_field() {
        let good = include_str!("../../data/fixtures.json");
        let err = |from: &str, to: &str| {
            parse("test.json", &good.replacen(from, to, 1))
                .unwrap_err()
                .to_string()
        };
        let e = err("\"sex\": \"male\"", "\"sex\": \"female\"");
        assert!(
            e.contains("#0") && e.contains("cccd_number") && e.contains("gender"),
            "{e}"
        );
        let e = err("\"province_code\": \"001\"", "\"province_code\": \"003\"");
        assert!(e.contains("place_of_origin.province_code"), "{e}");
        let e = err(
            "\"issue_date\": \"2021-03-01\"",
            "\"issue_date\": \"2019-03-01\"",
        );
        assert!(e.contains("card.issue_date"), "{e}");
        let e = err("\"full_name\": \"Nguyễn Văn An\"", "\"full_name\": \" \"");
        assert!(e.contains("full_name"), "{e}");
        let e = err("\"status\": \"active\"", "\"status\": \"alive\"");
        assert!(e.contains("not valid fixture JSON"), "{e}");
    }

    #[test]
    fn addresses_in_either_form_and_their_errors() {
        let an = |address: &str| {
            let json = format!(
                r#"{{ "cccd_number": "001090012345", "full_name": "Nguyễn Văn An",
                "date_of_birth": "1990-03-15", "sex": "male",
                "place_of_origin": {{ "province_code": "001", "district": "Huyện Đông Anh" }},
                "permanent_address": {address}, "card": {{ "issue_date": "2021-03-01" }} }}"#
            );
            parse_fixture_citizen(&json)
        };
        let two_level =
            an(r#"{ "province_code": "025", "commune": "Xã Mai Châu", "street": "Tiểu khu 1" }"#)
                .unwrap();
        assert_eq!(
            two_level.permanent_address.to_string(),
            "Tiểu khu 1, Xã Mai Châu, Tỉnh Phú Thọ"
        );
        assert_eq!(two_level.pre_reform_address, None);
        let old = an(r#"{ "province_code": "017", "district": "Huyện Mai Châu", "ward": "Thị trấn Mai Châu", "street": "Tiểu khu 1" }"#)
            .unwrap();
        assert_eq!(old.permanent_address, two_level.permanent_address);
        assert_eq!(
            old.card_address(),
            "Tiểu khu 1, Thị trấn Mai Châu, Huyện Mai Châu, Hòa Bình"
        );
        // Kim Mã was split between Ba Đình, Giảng Võ and Ngọc Hà.
        let split = r#"{ "province_code": "001", "district": "Quận Ba Đình", "ward": "Phường Kim Mã", "commune": "Phường Giảng Võ", "street": "1 Kim Mã" }"#;
        assert_eq!(
            an(split).unwrap().permanent_address.commune().name,
            "Phường Giảng Võ"
        );
        for (address, field, says) in [
            (
                r#"{ "province_code": "017", "commune": "Xã Mai Châu", "street": "1" }"#,
                "permanent_address.province_code",
                "34 current",
            ),
            (
                r#"{ "province_code": "001", "commune": "Xã Mai Châu", "street": "1" }"#,
                "permanent_address.commune",
                "Tỉnh Phú Thọ",
            ),
            (
                r#"{ "province_code": "001", "commune": "Phường Không Có", "street": "1" }"#,
                "permanent_address.commune",
                "no commune",
            ),
            (
                r#"{ "province_code": "001", "street": "1" }"#,
                "permanent_address.commune",
                "required",
            ),
            (
                r#"{ "province_code": "001", "district": "Quận Ba Đình", "ward": "Phường Không Có", "street": "1" }"#,
                "permanent_address.ward",
                "had no ward",
            ),
            (
                r#"{ "province_code": "001", "district": "Quận Ba Đình", "street": "1" }"#,
                "permanent_address.ward",
                "required",
            ),
            (
                &split.replace("Phường Giảng Võ", "Phường Hoàn Kiếm"),
                "permanent_address.commune",
                "is now in",
            ),
        ] {
            let (f, message) = an(address).unwrap_err();
            assert_eq!(f, field, "{address}: {message}");
            assert!(message.contains(says), "{address}: {message}");
        }
    }
}
