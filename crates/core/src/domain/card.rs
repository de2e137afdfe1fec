//! Identity cards and when they expire.
//!
//! A card must be renewed when its holder turns 25, 40 and 60 (and, for a card issued to a child
//! under the 2023 Identity Law, 14). A card issued or renewed in the two years before one of those
//! ages stays valid until the next one, and a card issued at 58 or later never expires.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The ages at which a card must be renewed (14 only for cards issued to children).
const RENEWAL_AGES: [u32; 4] = [14, 25, 40, 60];

/// Which card the citizen holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// Căn cước công dân gắn chip (2021 – 30 June 2024).
    ChipCccd,
    /// Thẻ căn cước (from 1 July 2024).
    IdentityCard2024,
}

impl CardKind {
    /// The first day this kind of card was issued.
    pub fn first_issue_date(self) -> NaiveDate {
        match self {
            CardKind::ChipCccd => NaiveDate::from_ymd_opt(2021, 1, 1),
            CardKind::IdentityCard2024 => NaiveDate::from_ymd_opt(2024, 7, 1),
        }
        .expect("valid constant date")
    }

    /// The kind of card issued on a given date (from 2021 on).
    pub fn issued_on(date: NaiveDate) -> Self {
        if date >= CardKind::IdentityCard2024.first_issue_date() {
            CardKind::IdentityCard2024
        } else {
            CardKind::ChipCccd
        }
    }
}

/// Whether a card can be used today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardState {
    /// Issued, not expired, not revoked.
    Valid,
    /// Past its expiry date.
    Expired,
    /// Revoked (lost, replaced or withdrawn).
    Revoked,
}

/// An identity card as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCard {
    /// Which generation of card.
    pub kind: CardKind,
    /// The issue date printed on it.
    pub issued: NaiveDate,
    /// `None` for a card that never expires.
    pub expires: Option<NaiveDate>,
}

impl IdentityCard {
    /// A card issued on `issued` to someone born on `date_of_birth`, with the legal expiry.
    pub fn issue(date_of_birth: NaiveDate, issued: NaiveDate) -> Self {
        IdentityCard {
            kind: CardKind::issued_on(issued),
            issued,
            expires: card_expiry(date_of_birth, issued),
        }
    }

    /// Valid or expired on `today` (revocation is a citizen status, see `Citizen::card_state`).
    pub(crate) fn state_on(&self, today: NaiveDate) -> CardState {
        match self.expires {
            Some(expiry) if today >= expiry => CardState::Expired,
            _ => CardState::Valid,
        }
    }
}

/// The date a card issued on `issued` to someone born on `date_of_birth` stops being valid: the
/// birthday of the next renewal age, skipping one that is less than two years away; `None` if no
/// renewal age is left (issued at 58 or later).
pub fn card_expiry(date_of_birth: NaiveDate, issued: NaiveDate) -> Option<NaiveDate> {
    let birthday = |age: u32| date_of_birth.checked_add_months(Months::new(12 * age));
    let under_14 = birthday(14).is_some_and(|d| issued < d);
    if under_14 {
        return birthday(14);
    }
    RENEWAL_AGES[1..].iter().find_map(|&age| {
        let due = birthday(age)?;
        let grace_start = due
            .with_year(due.year() - 2)
            .unwrap_or(due - Months::new(24));
        (issued < grace_start).then_some(due)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn expires_at_the_next_renewal_age() {
        let born = d(2000, 5, 10);
        assert_eq!(card_expiry(born, d(2021, 3, 1)), Some(d(2025, 5, 10)));
        // Issued within two years before 25: valid until 40.
        assert_eq!(card_expiry(born, d(2023, 6, 1)), Some(d(2040, 5, 10)));
        assert_eq!(card_expiry(born, d(2026, 1, 1)), Some(d(2040, 5, 10)));
    }

    #[test]
    fn children_renew_at_14_and_late_cards_never_expire() {
        assert_eq!(
            card_expiry(d(2015, 1, 2), d(2024, 8, 1)),
            Some(d(2029, 1, 2))
        );
        assert_eq!(card_expiry(d(1960, 1, 2), d(2021, 8, 1)), None);
        // Issued at 58 and two months: within two years of 60, so it never expires either.
        assert_eq!(card_expiry(d(1963, 6, 1), d(2021, 8, 1)), None);
        // Issued at 57 and two months: renewed at 60.
        assert_eq!(
            card_expiry(d(1964, 6, 1), d(2021, 8, 1)),
            Some(d(2024, 6, 1))
        );
        // Issued at 55: valid until 60.
        assert_eq!(
            card_expiry(d(1966, 6, 1), d(2021, 8, 1)),
            Some(d(2026, 6, 1))
        );
    }

    #[test]
    fn a_leap_day_birthday_renews_on_the_last_day_of_february() {
        assert_eq!(
            card_expiry(d(2004, 2, 29), d(2022, 1, 1)),
            Some(d(2029, 2, 28))
        );
    }

    #[test]
    fn card_kind_follows_the_issue_date() {
        assert_eq!(CardKind::issued_on(d(2024, 6, 30)), CardKind::ChipCccd);
        assert_eq!(
            CardKind::issued_on(d(2024, 7, 1)),
            CardKind::IdentityCard2024
        );
        let card = IdentityCard::issue(d(1998, 7, 20), d(2021, 3, 1));
        assert_eq!(card.state_on(d(2023, 7, 19)), CardState::Valid);
        assert_eq!(card.state_on(d(2023, 7, 20)), CardState::Expired);
    }
}
