//! A person as the population database records them.

use std::{borrow::Cow, fmt};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    card::IdentityCard,
    geography::{reform_date, Commune, CommuneCode, CurrentProvince},
    CardState, CccdNumber, CmndNumber, ProvinceCode,
};

/// Text that is usually one of a few thousand table entries (a district, an ethnicity) and so
/// is borrowed from the embedded tables, but may be owned (a fixture's own value).
pub type Text = Cow<'static, str>;

/// Sex as printed on the card: Nam (male) or Nữ (female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Nam.
    Male,
    /// Nữ.
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
    /// Alive, card (if any) valid.
    #[default]
    Active,
    /// Recorded as deceased: lookups say so, VNeID refuses the account.
    Deceased,
    /// The card was revoked: the VNeID account is suspended.
    CardRevoked,
}

/// A province and district (the place of origin, quê quán).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The province (one of the 63 birth-registration codes).
    pub province: ProvinceCode,
    /// The district, as written.
    pub district: Text,
}

impl Place {
    /// The pre-2025 form: "Huyện Giao Thủy, Nam Định" (the district and one of the 63).
    pub fn pre_reform_line(&self) -> String {
        format!("{}, {}", self.district, self.province.province().name)
    }

    /// The province of the place since 1 July 2025 (one of the 34; districts were abolished,
    /// so the two-level form of a district-level place of origin names the province only).
    pub fn current_province(&self) -> &'static CurrentProvince {
        CurrentProvince::containing(self.province)
    }
}

/// The place of origin as an answer gives it on a day: see [`Citizen::origin_on`].
#[derive(Debug, Clone, Copy)]
pub enum OriginForm<'a> {
    /// Before 1 July 2025: the district and one of the 63 provinces.
    PreReform(&'a Place),
    /// Since: the province (one of the 34) the place is in.
    Current(&'static CurrentProvince),
}

/// An address of permanent residence (nơi thường trú) in the two-level form in force since
/// 1 July 2025: street, commune-level unit, province (one of 34). The province follows from the
/// commune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// House number and street, or hamlet.
    pub street: String,
    /// The commune-level unit (xã, phường, đặc khu).
    pub commune: CommuneCode,
}

impl Address {
    /// The commune-level unit.
    pub fn commune(&self) -> &'static Commune {
        self.commune.commune()
    }

    /// The province (one of the 34).
    pub fn province(&self) -> &'static CurrentProvince {
        self.commune().province()
    }
}

impl fmt::Display for Address {
    /// The one-line form: `8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let commune = self.commune();
        write!(
            f,
            "{}, {}, {}",
            self.street,
            commune.name,
            commune.province().full_name
        )
    }
}

/// Where a permanent address was before 1 July 2025: ward, district and one of the 63 provinces.
/// The street did not change with the reform, so it is the current address's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreReformAddress {
    /// One of the 63 provinces before the reform.
    pub province: ProvinceCode,
    /// District-level unit, e.g. "Quận Hoàn Kiếm".
    pub district: Text,
    /// Ward, commune or township, e.g. "Phường Hàng Bạc" (empty for the island districts that
    /// had none).
    pub ward: Text,
}

impl PreReformAddress {
    /// The one-line form printed on cards issued before the reform:
    /// `8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội`.
    pub fn line(&self, street: &str) -> String {
        self.shown_with(street).to_string()
    }

    /// [`Self::line`] as a value that displays it, to compare or write without a string.
    pub fn shown_with<'a>(&'a self, street: &'a str) -> PreReformLine<'a> {
        PreReformLine {
            address: self,
            street,
        }
    }
}

/// A pre-2025 address's one-line form ([`PreReformAddress::line`]), written when displayed.
#[derive(Debug, Clone, Copy)]
pub struct PreReformLine<'a> {
    address: &'a PreReformAddress,
    street: &'a str,
}

impl fmt::Display for PreReformLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (old, street) = (self.address, self.street);
        let province = old.province.province().name;
        if old.ward.is_empty() {
            write!(f, "{street}, {}, {province}", old.district)
        } else {
            write!(f, "{street}, {}, {}, {province}", old.ward, old.district)
        }
    }
}

/// Everything the population database holds for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    /// The 12-digit personal identification number (số định danh cá nhân).
    pub cccd: CccdNumber,
    /// The legacy 9-digit CMND number, for citizens who had one.
    pub cmnd: Option<CmndNumber>,
    /// Full name with diacritics, family name first: "Nguyễn Văn An".
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex, as printed on the card.
    pub sex: Sex,
    /// Nationality (quốc tịch), "Việt Nam" for all but a few.
    pub nationality: Text,
    /// Ethnic group (dân tộc), e.g. "Kinh".
    pub ethnicity: Text,
    /// Religion (tôn giáo), "Không" for none.
    pub religion: Text,
    /// Place of origin (quê quán).
    pub place_of_origin: Place,
    /// The permanent address in the two-level form (the population database converted every
    /// address on 1 July 2025).
    pub permanent_address: Address,
    /// The same address as it was written before 1 July 2025, kept as history when the card the
    /// citizen holds was issued before the reform and so prints it (or when the population's
    /// reference date is before the reform).
    pub pre_reform_address: Option<PreReformAddress>,
    /// The card currently issued, if any.
    pub card: Option<IdentityCard>,
    /// The citizen's VNeID account level (none, 1 or 2).
    pub vneid: VneidLevel,
    /// Alive, deceased, or card revoked.
    pub status: CitizenStatus,
    /// The date of death, when the citizen is deceased and the date is recorded (generated
    /// deceased citizens have none).
    pub date_of_death: Option<NaiveDate>,
}

impl Citizen {
    /// The permanent address as the citizen's card prints it (QR code and chip): the pre-2025
    /// form on a card issued before 1 July 2025 when it is kept, else the current form.
    pub fn card_address(&self) -> String {
        match (&self.pre_reform_address, &self.card) {
            (Some(old), Some(card)) if card.issued < reform_date() => {
                old.line(&self.permanent_address.street)
            }
            _ => self.permanent_address.to_string(),
        }
    }

    /// The pre-2025 form of the permanent address when it is the form in force on `today`
    /// (before 1 July 2025, and the record keeps it); `None` when the two-level form is. The
    /// server's answers and `vnpop citizen show` both follow it.
    pub fn pre_reform_form_on(&self, today: NaiveDate) -> Option<&PreReformAddress> {
        self.pre_reform_address
            .as_ref()
            .filter(|_| today < reform_date())
    }

    /// The permanent address on one line in the form in force on `today` (see
    /// [`Citizen::pre_reform_form_on`]).
    pub fn address_line_on(&self, today: NaiveDate) -> String {
        match self.pre_reform_form_on(today) {
            Some(old) => old.line(&self.permanent_address.street),
            None => self.permanent_address.to_string(),
        }
    }

    /// The place of origin in the form in force on `today`, as addresses are: the pre-2025 form
    /// (district, old province) before 1 July 2025, the province of today since.
    pub fn origin_on(&self, today: NaiveDate) -> OriginForm<'_> {
        if today < reform_date() {
            OriginForm::PreReform(&self.place_of_origin)
        } else {
            OriginForm::Current(self.place_of_origin.current_province())
        }
    }

    /// Whether the citizen's card prints the pre-2025 forms (issued before 1 July 2025): the
    /// answers then keep them beside the forms of the day.
    pub fn card_prints_pre_reform_forms(&self) -> bool {
        self.card
            .as_ref()
            .is_some_and(|card| card.issued < reform_date())
    }

    /// The state of the citizen's card on `today`, if they have one. A deceased holder's card
    /// no longer has effect: it is revoked from the day of death (from any day when the date is
    /// not recorded), never valid, so no answer pairs a death with a valid card. (Revoked rather
    /// than a state of its own: the card's state is in the `card` field scope, a death in
    /// `date_of_death`.)
    pub fn card_state(&self, today: NaiveDate) -> Option<CardState> {
        let card = self.card.as_ref()?;
        let dead = self.status == CitizenStatus::Deceased
            && self.date_of_death.is_none_or(|died| died <= today);
        Some(if self.status == CitizenStatus::CardRevoked || dead {
            CardState::Revoked
        } else {
            card.state_on(today)
        })
    }
}
