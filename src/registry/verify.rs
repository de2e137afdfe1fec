//! The verification rules: comparing what an applicant declared, or what a card's QR code says,
//! with the stored record. Pure functions, so they are tested without a server.

use chrono::NaiveDate;

use super::scope::{qr_part, Disclosure};
use crate::{
    domain::{
        matching::{compare_names, compare_with_record, Match},
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
    /// Why the declared address is not the recorded place, naming the part (see
    /// [`compare_with_record`]).
    pub address_problem: Option<String>,
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
    let mut address_problem = None;
    if let Some(address) = &declared.address {
        let verdict = compare_with_record(address, citizen);
        address_problem = verdict.problem;
        fields.push(("address", 20, verdict.result));
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
        address_problem,
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

/// The verdict on a QR code, and why its address is not the recorded place when it names
/// administrative units that are wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCheck {
    pub verdict: QrVerdict,
    pub address_problem: Option<String>,
}

/// Checks a parsed QR code against the record of its number (`None`: no such citizen), comparing
/// only what `disclosure` shows (the rest is withheld, see `scope`).
///
/// A mismatch wins over status: altered data is the strongest signal of a forged card. A name or
/// address that differs only in diacritics or case is not a mismatch (card readers drop marks),
/// nor is an address in the pre-2025 form that denotes the recorded place (cards issued before
/// 1 July 2025 print it).
pub fn verify_qr(
    qr: &QrPayload,
    citizen: Option<&Citizen>,
    today: NaiveDate,
    disclosure: &mut Disclosure,
) -> QrCheck {
    let Some(citizen) = citizen else {
        return QrCheck {
            verdict: QrVerdict::UnknownNumber,
            address_problem: None,
        };
    };
    let address = compare_with_record(&qr.address, citizen);
    let verdict = qr_verdict(qr, citizen, address.result, today, disclosure);
    let address_problem = match &verdict {
        QrVerdict::Mismatch(parts) if parts.contains(&"address") => address.problem,
        _ => None,
    };
    QrCheck {
        verdict,
        address_problem,
    }
}

fn qr_verdict(
    qr: &QrPayload,
    citizen: &Citizen,
    address: Match,
    today: NaiveDate,
    disclosure: &mut Disclosure,
) -> QrVerdict {
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
            !matches!(address, Match::Exact | Match::DiacriticInsensitive)
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

    fn verify_qr(qr: &QrPayload, citizen: Option<&Citizen>, today: NaiveDate) -> QrCheck {
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
            super::verify_qr(&qr, Some(&an), today(), &mut disclosure).verdict,
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
        assert_eq!(verify_qr(&qr, Some(&an), today()).verdict, QrVerdict::Valid);
        assert_eq!(
            verify_qr(&qr, None, today()).verdict,
            QrVerdict::UnknownNumber
        );

        let mut tampered = qr.clone();
        tampered.full_name = "Nguyễn Văn Ân Hận".into();
        tampered.issue_date = NaiveDate::from_ymd_opt(2022, 1, 1);
        assert_eq!(
            verify_qr(&tampered, Some(&an), today()).verdict,
            QrVerdict::Mismatch(vec!["full_name", "issue_date"])
        );

        let expired = fixture("001098005555");
        assert_eq!(
            verify_qr(&QrPayload::of(&expired), Some(&expired), today()).verdict,
            QrVerdict::CardExpired
        );
        let revoked = fixture("048188004321");
        assert_eq!(
            verify_qr(&QrPayload::of(&revoked), Some(&revoked), today()).verdict,
            QrVerdict::CardRevoked
        );
        let deceased = fixture("036050000777");
        assert_eq!(
            verify_qr(&QrPayload::of(&deceased), Some(&deceased), today()).verdict,
            QrVerdict::CitizenDeceased
        );
    }

    #[test]
    fn a_2023_card_with_the_old_address_is_valid_against_the_converted_record() {
        let an = fixture("001090012345");
        assert_eq!(
            an.permanent_address.to_string(),
            "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
        );
        let qr = QrPayload::of(&an);
        assert_eq!(
            qr.address, "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
            "a card issued in 2021 prints the pre-2025 address"
        );
        // A card issued in 2023, and a record that kept no history: the mapping decides.
        let mut without_history = an.clone();
        without_history.pre_reform_address = None;
        without_history.card.as_mut().unwrap().issued =
            NaiveDate::from_ymd_opt(2023, 5, 2).unwrap();
        let mut qr_2023 = qr.clone();
        qr_2023.issue_date = NaiveDate::from_ymd_opt(2023, 5, 2);
        for citizen in [&an, &without_history] {
            let mut card = qr_2023.clone();
            if citizen.pre_reform_address.is_some() {
                card.issue_date = qr.issue_date;
            }
            assert_eq!(
                verify_qr(&card, Some(citizen), today()).verdict,
                QrVerdict::Valid
            );
            let mut current = card.clone();
            current.address = "8 hang bac, P. Hoan Kiem, TP Ha Noi".into();
            assert_eq!(
                verify_qr(&current, Some(citizen), today()).verdict,
                QrVerdict::Valid
            );
        }
    }

    #[test]
    fn a_wrong_ward_or_commune_is_a_mismatch_naming_the_part() {
        let an = fixture("001090012345");
        let mut without_history = an.clone();
        without_history.pre_reform_address = None;
        let check = |citizen: &Citizen, address: &str| {
            let mut qr = QrPayload::of(&an);
            qr.address = address.into();
            verify_qr(&qr, Some(citizen), today())
        };
        // Hàng Đào is now in Phường Hoàn Kiếm too, but it is not the ward the card printed.
        let neighbour = check(&an, "8 Hàng Bạc, Phường Hàng Đào, Quận Hoàn Kiếm, Hà Nội");
        assert_eq!(neighbour.verdict, QrVerdict::Mismatch(vec!["address"]));
        assert!(neighbour.address_problem.unwrap().starts_with("ward:"));
        // Phường Kim Mã (Ba Đình) is elsewhere now, whatever the history.
        for citizen in [&an, &without_history] {
            let other = check(citizen, "8 Hàng Bạc, Phường Kim Mã, Quận Ba Đình, Hà Nội");
            assert_eq!(other.verdict, QrVerdict::Mismatch(vec!["address"]));
            let other = check(citizen, "8 Hàng Bạc, Phường Ba Đình, Thành phố Hà Nội");
            assert_eq!(other.verdict, QrVerdict::Mismatch(vec!["address"]));
            assert!(other.address_problem.unwrap().starts_with("commune:"));
        }
        let wrong_province = check(&an, "8 Hàng Bạc, Phường Hoàn Kiếm, Tỉnh Phú Thọ");
        assert_eq!(wrong_province.verdict, QrVerdict::Mismatch(vec!["address"]));
        assert!(wrong_province
            .address_problem
            .unwrap()
            .contains("Thành phố Hà Nội"));
        let district_now = check(
            &an,
            "8 Hàng Bạc, Phường Hoàn Kiếm, Quận Hoàn Kiếm, Thành phố Hà Nội",
        );
        assert!(district_now
            .address_problem
            .unwrap()
            .starts_with("district:"));
        let unknown = check(&an, "8 Hàng Bạc, Phường Không Có, Thành phố Hà Nội");
        assert!(unknown.address_problem.unwrap().starts_with("commune:"));
        let street = check(&an, "99 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội");
        assert_eq!(street.verdict, QrVerdict::Mismatch(vec!["address"]));
    }

    /// Issue 30's cases: an address mixing the units of two eras is a partial match with the
    /// mix as the reason, whichever way it mixes; an address in one form matches.
    #[test]
    fn an_address_mixing_two_eras_is_a_partial_match_with_a_reason() {
        use crate::domain::{geography, PreReformAddress, ProvinceCode};
        let phu_tho = geography::current_province("Phú Thọ").unwrap();
        let mut citizen = fixture("001090012345");
        citizen.permanent_address.street = "Tiểu khu 3".into();
        citizen.permanent_address.commune =
            geography::commune("Xã Mai Châu", Some(phu_tho), &[]).unwrap();
        citizen.pre_reform_address = Some(PreReformAddress {
            province: ProvinceCode::new(17).unwrap(),
            district: "Huyện Mai Châu".into(),
            ward: "Thị trấn Mai Châu".into(),
        });
        let declared = |address: &str| Declared {
            address: Some(address.into()),
            ..Declared::default()
        };
        for one_form in [
            "Tiểu khu 3, Xã Mai Châu, Tỉnh Phú Thọ",
            "Tiểu khu 3, Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Hòa Bình",
        ] {
            let verdict = verify_demographics(&declared(one_form), &citizen);
            assert!(verdict.matched, "{one_form}: {verdict:?}");
            assert_eq!(verdict.address_problem, None, "{one_form}");
        }
        for (mixed, part) in [
            ("Tiểu khu 3, Xã Mai Châu, Tỉnh Hòa Bình", "province:"),
            (
                "Tiểu khu 3, Xã Mai Châu, Huyện Mai Châu, Tỉnh Phú Thọ",
                "district:",
            ),
            (
                "Tiểu khu 3, Xã Mai Châu, Huyện Mai Châu, Tỉnh Hòa Bình",
                "district:",
            ),
            (
                "Tiểu khu 3, Thị trấn Mai Châu, Huyện Mai Châu, Tỉnh Phú Thọ",
                "province:",
            ),
        ] {
            let verdict = verify_demographics(&declared(mixed), &citizen);
            assert!(!verdict.matched, "{mixed}: {verdict:?}");
            assert_eq!(
                verdict.fields[0],
                (
                    "address",
                    Match::Partial(crate::domain::matching::MIXED_ERAS_SCORE)
                ),
                "{mixed}"
            );
            let problem = verdict.address_problem.unwrap();
            assert!(problem.starts_with(part), "{mixed}: {problem}");
            assert!(problem.contains("mixes two eras"), "{mixed}: {problem}");
        }
    }

    #[test]
    fn demographics_accept_either_form_of_the_same_place() {
        let an = fixture("001090012345");
        let declared = |address: &str| Declared {
            address: Some(address.into()),
            ..Declared::default()
        };
        for same in [
            "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội",
            "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
            "8 Hang Bac, P. Hoan Kiem, Ha Noi",
        ] {
            let verdict = verify_demographics(&declared(same), &an);
            assert!(verdict.matched, "{same}: {verdict:?}");
        }
        let verdict = verify_demographics(&declared("8 Hàng Bạc, Xã Mai Châu, Tỉnh Phú Thọ"), &an);
        assert!(!verdict.matched);
        assert_eq!(verdict.fields[0], ("address", Match::NoMatch));
        assert!(verdict.address_problem.unwrap().starts_with("commune:"));
    }
}
