//! DG1 and DG13 as a citizen's chip holds them, and the comparison of read data groups with the
//! database.

use crate::{
    domain::{
        matching::{compare_with_record, Match},
        Citizen,
    },
    proto,
    registry::convert,
};

use super::personal::{personal_data, PersonalData};

/// DG1: the machine-readable-zone identity data.
pub fn dg1(citizen: &Citizen) -> proto::Dg1 {
    proto::Dg1 {
        document_type: "ID".into(),
        issuing_state: "VNM".into(),
        document_number: citizen.cccd.to_string(),
        full_name: citizen.full_name.clone(),
        date_of_birth: Some(convert::date(citizen.date_of_birth)),
        sex: convert::sex(citizen.sex) as i32,
        nationality: "VNM".into(),
        expiry_date: citizen
            .card
            .as_ref()
            .and_then(|c| c.expires)
            .map(convert::date),
    }
}

/// DG13: the Vietnamese personal data.
pub fn dg13(citizen: &Citizen, personal: &PersonalData) -> proto::Dg13 {
    let origin = &citizen.place_of_origin;
    proto::Dg13 {
        document_number: citizen.cccd.to_string(),
        full_name: citizen.full_name.clone(),
        date_of_birth: Some(convert::date(citizen.date_of_birth)),
        sex: convert::sex(citizen.sex) as i32,
        nationality: citizen.nationality.to_string(),
        ethnicity: citizen.ethnicity.to_string(),
        religion: citizen.religion.to_string(),
        place_of_origin: format!("{}, {}", origin.district, origin.province.province().name),
        place_of_residence: citizen.card_address(),
        personal_identification_features: personal.identification_features.clone(),
        issue_date: citizen.card.as_ref().map(|c| convert::date(c.issued)),
        expiry_date: citizen
            .card
            .as_ref()
            .and_then(|c| c.expires)
            .map(convert::date),
        father_name: personal.father_name.clone(),
        mother_name: personal.mother_name.clone(),
        spouse_name: personal.spouse_name.clone().unwrap_or_default(),
        legacy_number: citizen.cmnd.map(|n| n.to_string()).unwrap_or_default(),
    }
}

/// A residence in the other form (pre-2025 or two-level) that names the recorded place and
/// street: a card issued before 1 July 2025 holds the old form, the database the converted one.
fn same_place(residence: &str, citizen: &Citizen) -> bool {
    matches!(
        compare_with_record(residence, citizen).result,
        Match::Exact | Match::DiacriticInsensitive
    )
}

/// Both data groups of `citizen` in the population of `seed`.
pub fn data_groups(seed: u64, citizen: &Citizen) -> (proto::Dg1, proto::Dg13) {
    (dg1(citizen), dg13(citizen, &personal_data(seed, citizen)))
}

/// The fields of the read data groups that differ from what the database says the card holds,
/// as `"dg1.<field>"` / `"dg13.<field>"`, in field order.
pub fn mismatched_fields(
    seed: u64,
    citizen: &Citizen,
    read_dg1: &proto::Dg1,
    read_dg13: &proto::Dg13,
) -> Vec<String> {
    let (db1, db13) = data_groups(seed, citizen);
    let dg1_fields = [
        ("document_type", read_dg1.document_type == db1.document_type),
        ("issuing_state", read_dg1.issuing_state == db1.issuing_state),
        (
            "document_number",
            read_dg1.document_number == db1.document_number,
        ),
        ("full_name", read_dg1.full_name == db1.full_name),
        ("date_of_birth", read_dg1.date_of_birth == db1.date_of_birth),
        ("sex", read_dg1.sex == db1.sex),
        ("nationality", read_dg1.nationality == db1.nationality),
        ("expiry_date", read_dg1.expiry_date == db1.expiry_date),
    ];
    let dg13_fields = [
        (
            "document_number",
            read_dg13.document_number == db13.document_number,
        ),
        ("full_name", read_dg13.full_name == db13.full_name),
        (
            "date_of_birth",
            read_dg13.date_of_birth == db13.date_of_birth,
        ),
        ("sex", read_dg13.sex == db13.sex),
        ("nationality", read_dg13.nationality == db13.nationality),
        ("ethnicity", read_dg13.ethnicity == db13.ethnicity),
        ("religion", read_dg13.religion == db13.religion),
        (
            "place_of_origin",
            read_dg13.place_of_origin == db13.place_of_origin,
        ),
        (
            "place_of_residence",
            read_dg13.place_of_residence == db13.place_of_residence
                || same_place(&read_dg13.place_of_residence, citizen),
        ),
        (
            "personal_identification_features",
            read_dg13.personal_identification_features == db13.personal_identification_features,
        ),
        ("issue_date", read_dg13.issue_date == db13.issue_date),
        ("expiry_date", read_dg13.expiry_date == db13.expiry_date),
        ("father_name", read_dg13.father_name == db13.father_name),
        ("mother_name", read_dg13.mother_name == db13.mother_name),
        ("spouse_name", read_dg13.spouse_name == db13.spouse_name),
        (
            "legacy_number",
            read_dg13.legacy_number == db13.legacy_number,
        ),
    ];
    let differing = |prefix: &str, fields: &[(&str, bool)]| -> Vec<String> {
        fields
            .iter()
            .filter(|(_, same)| !same)
            .map(|(name, _)| format!("{prefix}.{name}"))
            .collect()
    };
    let mut out = differing("dg1", &dg1_fields);
    out.extend(differing("dg13", &dg13_fields));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::builtin_fixtures;

    #[test]
    fn a_citizens_own_data_groups_match_and_a_changed_name_does_not() {
        let an = &builtin_fixtures()[0];
        let (dg1, mut dg13) = data_groups(7, an);
        assert_eq!(
            dg13.place_of_residence,
            "8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"
        );
        assert_eq!(dg13.legacy_number, "012345678");
        assert!(mismatched_fields(7, an, &dg1, &dg13).is_empty());
        dg13.father_name = "Someone Else".into();
        assert_eq!(
            mismatched_fields(7, an, &dg1, &dg13),
            vec!["dg13.father_name"]
        );
    }

    #[test]
    fn residence_in_either_form_of_the_same_place_matches() {
        let an = &builtin_fixtures()[0];
        let (dg1, mut dg13) = data_groups(7, an);
        dg13.place_of_residence = "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội".into();
        assert!(mismatched_fields(7, an, &dg1, &dg13).is_empty());
        dg13.place_of_residence = "8 Hàng Bạc, Phường Ba Đình, Thành phố Hà Nội".into();
        assert_eq!(
            mismatched_fields(7, an, &dg1, &dg13),
            vec!["dg13.place_of_residence"]
        );

        // A card issued since the reform holds the two-level form.
        let mut renewed = an.clone();
        renewed.card.as_mut().unwrap().issued =
            chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let (_, dg13) = data_groups(7, &renewed);
        assert_eq!(
            dg13.place_of_residence,
            "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
        );
    }
}
