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

/// The personal data of `citizen` in the population of `seed`.
pub(crate) fn personal_data(seed: u64, citizen: &Citizen) -> PersonalData {
    let mut rng = ChaCha8Rng::from_seed(derive_bytes(seed, "chip/dg13-personal", citizen.cccd));
    let tables = Tables::get();
    let parents = Cohort::of(citizen.date_of_birth.year() - 28);
    let name = |rng: &mut ChaCha8Rng, surname: Option<&str>, sex: Sex, cohort: Cohort| {
        let pool = tables.names(sex, cohort);
        let surname = surname.unwrap_or_else(|| *tables.surnames.pick(rng));
        format!(
            "{} {} {}",
            surname,
            pool.middle.pick(rng),
            pool.given.pick(rng)
        )
    };
    // Children take their father's family name.
    let family = citizen.full_name.split_whitespace().next();
    let father_name = name(&mut rng, family, Sex::Male, parents);
    let mother_name = name(&mut rng, None, Sex::Female, parents);
    let adult = citizen.date_of_birth.year() <= 2004;
    let spouse_sex = match citizen.sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    };
    let spouse_name = (adult && rng.random_bool(0.7)).then(|| {
        name(
            &mut rng,
            None,
            spouse_sex,
            Cohort::of(citizen.date_of_birth.year()),
        )
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
    use crate::population::builtin_fixtures;

    #[test]
    fn same_seed_same_data_and_fathers_give_the_family_name() {
        let an = &builtin_fixtures()[0];
        let a = personal_data(2026, an);
        assert_eq!(a, personal_data(2026, an));
        assert!(a.father_name.starts_with("Nguyễn "), "{}", a.father_name);
        assert_ne!(a, personal_data(2027, an));
        let child = builtin_fixtures()
            .into_iter()
            .find(|c| c.date_of_birth.year() > 2010)
            .unwrap();
        assert_eq!(personal_data(2026, &child).spouse_name, None);
    }
}
