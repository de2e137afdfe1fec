//! DG13's personal data that the population record does not hold: the parents' and spouse's names
//! and the personal identification features (đặc điểm nhân dạng) noted when the card was issued.
//!
//! They are derived from the population seed and the CCCD number (see
//! [`crate::population::derive_bytes`]), so they are the same every time, for the chip the
//! helper produces and for the database side of the comparison.

use chrono::Datelike;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{
    domain::{Citizen, Sex},
    population::{
        derive_bytes,
        names::{Name, Parent},
        tables::{Cohort, Tables},
    },
};

/// What DG13 holds beyond the population record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalData {
    pub father_name: String,
    pub mother_name: String,
    /// `None` if unmarried.
    pub spouse_name: Option<String>,
    pub identification_features: String,
}

/// The marks officers note, the distance and where.
const MARKS: [&str; 3] = ["Nốt ruồi", "Sẹo chấm", "Sẹo"];
const POSITIONS: [&str; 4] = ["trên trước", "dưới trước", "trên sau", "dưới sau"];
const LANDMARKS: [&str; 6] = [
    "đầu mày phải",
    "đuôi mắt trái",
    "cánh mũi phải",
    "mép trái",
    "đuôi lông mày trái",
    "cằm",
];

/// The personal data of `citizen` in the population of `seed`. Parents and spouse are named as
/// the citizen's ethnic group names people (in the province where the birth was registered);
/// the family name comes from the father, or from the mother in matrilineal groups (Ê Đê, Gia
/// Rai).
pub(crate) fn personal_data(seed: u64, citizen: &Citizen) -> PersonalData {
    let mut rng = ChaCha8Rng::from_seed(derive_bytes(seed, "chip/dg13-personal", citizen.cccd));
    let tables = Tables::get();
    let parents = Cohort::of(citizen.date_of_birth.year() - 28);
    // A recorded group the census does not list (a fixture's typo) is named as Kinh.
    let group = tables.ethnic.group(&citizen.ethnicity).unwrap_or(0);
    let province = citizen.cccd.province();
    let name = |rng: &mut ChaCha8Rng, sex: Sex, cohort: Cohort| {
        tables
            .naming
            .draw(rng, tables, group, province, sex, cohort)
    };
    let (family, from) = tables
        .naming
        .family_name(&citizen.full_name, group, province);
    let named = |name: Name, parent: Parent| match family {
        Some(family) if from == parent => {
            let full = name.with_surname("").full();
            if name.surname_last() {
                format!("{full} {family}")
            } else {
                format!("{family} {full}")
            }
        }
        _ => name.full(),
    };
    let father_name = named(name(&mut rng, Sex::Male, parents), Parent::Father);
    let mother_name = named(name(&mut rng, Sex::Female, parents), Parent::Mother);
    let adult = citizen.date_of_birth.year() <= 2004;
    let spouse_sex = match citizen.sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    };
    let spouse_name = (adult && rng.random_bool(0.7)).then(|| {
        name(
            &mut rng,
            spouse_sex,
            Cohort::of(citizen.date_of_birth.year()),
        )
        .full()
    });
    let identification_features = format!(
        "{} C:{}cm {} {}",
        MARKS[rng.random_range(0..MARKS.len())],
        rng.random_range(1..=4),
        POSITIONS[rng.random_range(0..POSITIONS.len())],
        LANDMARKS[rng.random_range(0..LANDMARKS.len())],
    );
    PersonalData {
        father_name,
        mother_name,
        spouse_name,
        identification_features,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::CccdNumber, population::builtin_fixtures};

    #[test]
    fn same_seed_same_data_and_fathers_give_the_family_name() {
        let an = &builtin_fixtures()[0];
        let a = personal_data(2026, an);
        assert_eq!(a, personal_data(2026, an));
        assert!(a.father_name.starts_with("Nguyễn "), "{}", a.father_name);
        assert_ne!(a, personal_data(2027, an));
        // A Mông citizen's father is of the same clan, their mother of a Mông clan too.
        let mut mong = an.clone();
        (mong.full_name, mong.ethnicity) = ("Giàng A Páo".into(), "Mông".into());
        mong.cccd = CccdNumber::parse("002090012345").unwrap();
        let parents = personal_data(2026, &mong);
        assert!(parents.father_name.starts_with("Giàng "), "{parents:?}");
        let clan = parents.mother_name.split(' ').next().unwrap();
        assert!(
            [
                "Giàng", "Thào", "Vàng", "Sùng", "Lý", "Mùa", "Vừ", "Hầu", "Lầu", "Hờ", "Hạng",
                "Chá", "Tráng", "Cứ", "Mua", "Phàng", "Lò", "Cháng", "Thò"
            ]
            .contains(&clan),
            "{parents:?}"
        );
        // An Ê Đê citizen takes the mother's clan name, written last.
        let mut ede = an.clone();
        (ede.full_name, ede.ethnicity) = ("H'Hen Niê".into(), "Ê Đê".into());
        ede.cccd = CccdNumber::parse("066090012345").unwrap();
        let parents = personal_data(2026, &ede);
        assert!(
            parents.mother_name.starts_with("H'") && parents.mother_name.ends_with(" Niê"),
            "{parents:?}"
        );
        assert!(parents.father_name.starts_with("Y "), "{parents:?}");
        let child = builtin_fixtures()
            .into_iter()
            .find(|c| c.date_of_birth.year() > 2010)
            .unwrap();
        assert_eq!(personal_data(2026, &child).spouse_name, None);
    }
}
