//! The verification rules: comparing what an applicant declared, or what a card's QR code says,
//! with the stored record. Pure functions, so they are tested without a server.

use chrono::NaiveDate;

use super::scope::{qr_part, Disclosure};
use crate::{
    domain::{
        matching::{compare_addresses, compare_names, Match},
        CardState, Citizen, CitizenStatus, QrPayload, Sex,
    },
    security::ScopeField,
};

/// What an applicant declared (any subset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    pub full_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub address: Option<String>,
}

impl Declared {
    /// The declared inputs and the scope field each would reveal a match result about.
    pub(crate) fn scope_fields(&self) -> Vec<(&'static str, ScopeField)> {
        [
            (
                self.full_name.is_some(),
                "declared.full_name",
                ScopeField::FullName,
            ),
            (
                self.date_of_birth.is_some(),
                "declared.date_of_birth",
                ScopeField::DateOfBirth,
            ),
            (self.sex.is_some(), "declared.sex", ScopeField::Sex),
            (
                self.address.is_some(),
                "declared.address",
                ScopeField::PermanentAddress,
            ),
        ]
        .into_iter()
        .filter(|(declared, ..)| *declared)
        .map(|(_, input, field)| (input, field))
        .collect()
    }
}

/// The outcome of a demographic verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemographicsVerdict {
    /// (field, result), in the order full_name, date_of_birth, sex, address.
    pub fields: Vec<(&'static str, Match)>,
    /// Weighted score 0–100.
    pub score: u32,
    /// Every declared field matched.
    pub matched: bool,
}

/// Minimum address similarity that still counts towards an overall match.
const ADDRESS_MATCH_MIN: u32 = 80;

fn exact(equal: bool) -> Match {
    if equal {
        Match::Exact
    } else {
        Match::NoMatch
    }
}

/// Compares declared data with the record. Weights: name 40, date of birth 30, address 20, sex 10.
pub fn verify_demographics(declared: &Declared, citizen: &Citizen) -> DemographicsVerdict {
    let mut fields = Vec::new();
    if let Some(name) = &declared.full_name {
        fields.push(("full_name", 40, compare_names(name, &citizen.full_name)));
    }
    if let Some(date) = declared.date_of_birth {
        fields.push(("date_of_birth", 30, exact(date == citizen.date_of_birth)));
    }
    if let Some(sex) = declared.sex {
        fields.push(("sex", 10, exact(sex == citizen.sex)));
    }
    if let Some(address) = &declared.address {
        let stored = citizen.permanent_address.to_string();
        fields.push(("address", 20, compare_addresses(address, &stored)));
    }
    let weight: u32 = fields.iter().map(|(_, w, _)| w).sum();
    let weighted: u32 = fields.iter().map(|(_, w, m)| w * m.score()).sum();
    let matched = fields.iter().all(|(_, _, m)| match m {
        Match::Exact | Match::DiacriticInsensitive => true,
        Match::Partial(score) => *score >= ADDRESS_MATCH_MIN,
        Match::NoMatch => false,
    });
    DemographicsVerdict {
        fields: fields.iter().map(|(f, _, m)| (*f, *m)).collect(),
        score: weighted.checked_div(weight).unwrap_or(0),
        matched,
    }
}

/// The outcome of checking a card's QR code against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrVerdict {
    Valid,
    /// The QR parts that differ from the record.
    Mismatch(Vec<&'static str>),
    CardExpired,
    CardRevoked,
    CitizenDeceased,
    UnknownNumber,
}

/// Checks a parsed QR code against the record of its number (`None`: no such citizen), comparing
/// only what `disclosure` shows (the rest is withheld, see `scope`).
///
/// A mismatch wins over status: altered data is the strongest signal of a forged card. A name or
/// address that differs only in diacritics or case is not a mismatch (card readers drop marks).
pub fn verify_qr(
    qr: &QrPayload,
    citizen: Option<&Citizen>,
    today: NaiveDate,
    disclosure: &mut Disclosure,
) -> QrVerdict {
    let Some(citizen) = citizen else {
        return QrVerdict::UnknownNumber;
    };
    let address = || compare_addresses(&qr.address, &citizen.permanent_address.to_string());
    let stored_issue = citizen.card.as_ref().map(|c| c.issued);
    let parts: [(&'static str, bool, &dyn Fn() -> bool); 6] = [
        ("cmnd_number", qr.cmnd.is_some(), &|| {
            qr.cmnd != citizen.cmnd
        }),
        ("full_name", true, &|| {
            compare_names(&qr.full_name, &citizen.full_name) == Match::NoMatch
        }),
        ("date_of_birth", true, &|| {
            qr.date_of_birth != citizen.date_of_birth
        }),
        ("sex", true, &|| qr.sex != citizen.sex),
        ("address", true, &|| {
            !matches!(address(), Match::Exact | Match::DiacriticInsensitive)
        }),
        ("issue_date", qr.issue_date.is_some(), &|| {
            qr.issue_date != stored_issue
        }),
    ];
    let mut mismatched = Vec::new();
    for (part, present, differs) in parts {
        if disclosure.shows(qr_part(part), present) && present && differs() {
            mismatched.push(part);
        }
    }
    if !mismatched.is_empty() {
        return QrVerdict::Mismatch(mismatched);
    }
    if citizen.status == CitizenStatus::Deceased {
        return QrVerdict::CitizenDeceased;
    }
    if !disclosure.shows(ScopeField::Card, true) {
        return QrVerdict::Valid;
    }
    match citizen.card_state(today) {
        Some(CardState::Revoked) => QrVerdict::CardRevoked,
        Some(CardState::Expired) => QrVerdict::CardExpired,
        Some(CardState::Valid) => QrVerdict::Valid,
        // A QR code for someone who holds no card: the card cannot be genuine.
        None => QrVerdict::Mismatch(vec!["issue_date"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::builtin_fixtures;

    fn fixture(number: &str) -> Citizen {
        builtin_fixtures()
            .into_iter()
            .find(|c| c.cccd.to_string() == number)
            .unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn demographics_score_and_match() {
        let an = fixture("001090012345");
        let declared = Declared {
            full_name: Some("NGUYEN VAN AN".into()),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 3, 15),
            sex: Some(Sex::Male),
            address: None,
        };
        let verdict = verify_demographics(&declared, &an);
        assert!(verdict.matched);
        assert_eq!(
            verdict.fields[0],
            ("full_name", Match::DiacriticInsensitive)
        );
        assert_eq!(verdict.score, (40 * 95 + 30 * 100 + 10 * 100) / 80);

        let wrong = Declared {
            date_of_birth: NaiveDate::from_ymd_opt(1990, 3, 16),
            ..declared
        };
        let verdict = verify_demographics(&wrong, &an);
        assert!(!verdict.matched);
        assert_eq!(verdict.fields[1], ("date_of_birth", Match::NoMatch));
    }

    fn verify_qr(qr: &QrPayload, citizen: Option<&Citizen>, today: NaiveDate) -> QrVerdict {
        super::verify_qr(
            qr,
            citizen,
            today,
            &mut Disclosure::new(crate::security::FieldScope::all()),
        )
    }

    #[test]
    fn qr_compares_only_the_scope() {
        let an = fixture("001090012345");
        let mut qr = QrPayload::of(&an);
        qr.date_of_birth = NaiveDate::from_ymd_opt(1990, 3, 16).unwrap();
        let scope = [ScopeField::FullName].into_iter().collect();
        let mut disclosure = Disclosure::new(scope);
        assert_eq!(
            super::verify_qr(&qr, Some(&an), today(), &mut disclosure),
            QrVerdict::Valid
        );
        assert_eq!(
            disclosure.withheld(),
            [
                "cmnd_number",
                "date_of_birth",
                "sex",
                "permanent_address",
                "card"
            ]
        );
    }

    #[test]
    fn qr_verdicts() {
        let an = fixture("001090012345");
        let qr = QrPayload::of(&an);
        assert_eq!(verify_qr(&qr, Some(&an), today()), QrVerdict::Valid);
        assert_eq!(verify_qr(&qr, None, today()), QrVerdict::UnknownNumber);

        let mut tampered = qr.clone();
        tampered.full_name = "Nguyễn Văn Ân Hận".into();
        tampered.issue_date = NaiveDate::from_ymd_opt(2022, 1, 1);
        assert_eq!(
            verify_qr(&tampered, Some(&an), today()),
            QrVerdict::Mismatch(vec!["full_name", "issue_date"])
        );

        let expired = fixture("001098005555");
        assert_eq!(
            verify_qr(&QrPayload::of(&expired), Some(&expired), today()),
            QrVerdict::CardExpired
        );
        let revoked = fixture("048188004321");
        assert_eq!(
            verify_qr(&QrPayload::of(&revoked), Some(&revoked), today()),
            QrVerdict::CardRevoked
        );
        let deceased = fixture("036050000777");
        assert_eq!(
            verify_qr(&QrPayload::of(&deceased), Some(&deceased), today()),
            QrVerdict::CitizenDeceased
        );
    }
}
