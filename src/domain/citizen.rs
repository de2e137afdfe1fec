//! A person as the population database records them.

use std::{borrow::Cow, fmt};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{card::IdentityCard, CardState, CccdNumber, CmndNumber, ProvinceCode};

/// Text that is usually one of a few thousand table entries (a district, an ethnicity) and so
/// is borrowed from the embedded tables, but may be owned (a fixture's own value).
pub type Text = Cow<'static, str>;

/// Sex as printed on the card: Nam (male) or Nữ (female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The word printed on the card and in the QR code.
    pub fn vietnamese(self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
}

/// The level of the citizen's VNeID electronic identity account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VneidLevel {
    /// No account.
    #[default]
    None,
    /// Level 1: identity data matched against the database.
    #[serde(rename = "1")]
    Level1,
    /// Level 2: also verified in person with the chip card and biometrics.
    #[serde(rename = "2")]
    Level2,
}

/// Whether the person is alive and their card usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CitizenStatus {
    #[default]
    Active,
    Deceased,
    CardRevoked,
}

/// A province and district (the place of origin, quê quán).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub province: ProvinceCode,
    pub district: Text,
}

/// An address of permanent residence (nơi thường trú).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub province: ProvinceCode,
    pub district: Text,
    /// Ward, commune or township.
    pub ward: String,
    /// House number and street, or hamlet.
    pub street: String,
}

impl fmt::Display for Address {
    /// The one-line form printed on the card: `12 Lê Lợi, Phường Bến Nghé, Quận 1, Hồ Chí Minh`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}, {}, {}",
            self.street,
            self.ward,
            self.district,
            self.province.province().name
        )
    }
}

/// Everything the population database holds for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    pub cccd: CccdNumber,
    pub cmnd: Option<CmndNumber>,
    /// Full name with diacritics, family name first: "Nguyễn Văn An".
    pub full_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub nationality: Text,
    pub ethnicity: Text,
    pub religion: Text,
    pub place_of_origin: Place,
    pub permanent_address: Address,
    /// The card currently issued, if any.
    pub card: Option<IdentityCard>,
    pub vneid: VneidLevel,
    pub status: CitizenStatus,
    /// The date of death, when the citizen is deceased and the date is recorded (generated
    /// deceased citizens have none).
    pub date_of_death: Option<NaiveDate>,
}

impl Citizen {
    /// The state of the citizen's card on `today`, if they have one.
    pub fn card_state(&self, today: NaiveDate) -> Option<CardState> {
        let card = self.card.as_ref()?;
        Some(if self.status == CitizenStatus::CardRevoked {
            CardState::Revoked
        } else {
            card.state_on(today)
        })
    }
}
