//! Draws one synthetic citizen from the tables.
//!
//! Citizen `i` of seed `s` comes from its own ChaCha8 stream (`seed = s`, `stream = i`), so the
//! population can be generated in parallel and is still the same on every machine and thread
//! count. Birth province, sex, birth year and the CCCD/CMND numbers come from the number plan
//! (`layout`), so a number leads back to its citizen by arithmetic. Only numbers that fixtures
//! hold are adjusted afterwards (see `mod.rs`).

use std::borrow::Cow;

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    ethnic::Group,
    layout::{self, Slot},
    names::Name,
    tables::{Cohort, Tables},
};
use crate::domain::{
    geography::reform_date, Address, CardKind, CccdNumber, Citizen, CitizenStatus, IdentityCard,
    Place, PreReformAddress, ProvinceCode, VneidLevel,
};

/// Chance that someone 14 or older holds a chip CCCD or identity card.
const ADULT_CARD_SHARE: f64 = 0.96;
/// Chance that a child under 14 already holds a 2024 identity card.
const CHILD_CARD_SHARE: f64 = 0.04;
/// Chance that an expired card was renewed (the rest stay expired: negative tests).
const RENEWAL_SHARE: f64 = 0.85;
/// Chance that someone who was 14 before CMND issuance ended (2016) had a CMND.
const CMND_SHARE: f64 = 0.85;
/// Chance that a living card holder's card was revoked.
const REVOKED_SHARE: f64 = 0.003;
/// VNeID account shares among card holders: level 2, then level 1.
const VNEID_LEVEL2_SHARE: f64 = 0.65;
const VNEID_LEVEL1_SHARE: f64 = 0.12;
/// Chance of living in the province where the birth was registered.
const STAY_IN_BIRTH_PROVINCE: f64 = 0.8;

/// Generates citizen number `index` for `seed`, as of `reference_date` (nobody is born after it,
/// no card is issued after it).
pub fn citizen(seed: u64, index: u64, reference_date: NaiveDate) -> Citizen {
    let mut rng = stream(seed, index);
    let tables = Tables::get();

    // Birth province, sex, birth year and serial come from the number plan, so that the number
    // leads back to the index; the day of birth and everything else from the stream.
    let slot = Slot::of(seed, index);
    let (sex, age, birth_province) = (slot.sex, slot.age, slot.province);
    let Head {
        date_of_birth,
        group,
        name,
    } = Head::draw(&mut rng, tables, &slot, reference_date.year());

    // Past the last serial only when `index` is beyond every population that fits (see
    // `layout::max_population`); wrapped rather than panicking.
    let serial = layout::serial_at(seed, slot.block, slot.rank() % layout::SERIALS)
        .expect("wrapped below the last serial");
    let cccd = CccdNumber::from_parts(birth_province, sex, date_of_birth.year(), serial);

    let full_name = name.full();

    let (origin_province, residence_province) = provinces(&mut rng, tables, birth_province);
    let place_of_origin = Place {
        province: origin_province,
        district: Cow::Borrowed(pick(&mut rng, tables.districts(origin_province))),
    };
    let (permanent_address, before_reform) = address(&mut rng, tables, residence_province);

    let card = card(&mut rng, date_of_birth, reference_date);
    // The database converted every address on 1 July 2025; the old form stays on record where the
    // card still prints it (or when the reference date is before the reform).
    let pre_reform_address = (reference_date < reform_date()
        || card.as_ref().is_some_and(|c| c.issued < reform_date()))
    .then_some(before_reform);
    let cmnd = (date_of_birth.year() <= layout::LAST_CMND_BIRTH_YEAR
        && rng.random_bool(CMND_SHARE))
    .then(|| layout::cmnd_at(seed, reference_date.year(), &slot))
    .flatten();
    let status = if rng.random_bool(death_share(age)) {
        CitizenStatus::Deceased
    } else if card.is_some() && rng.random_bool(REVOKED_SHARE) {
        CitizenStatus::CardRevoked
    } else {
        CitizenStatus::Active
    };
    let vneid = match (&card, rng.random::<f64>()) {
        (None, _) => VneidLevel::None,
        (Some(_), x) if x < VNEID_LEVEL2_SHARE => VneidLevel::Level2,
        (Some(_), x) if x < VNEID_LEVEL2_SHARE + VNEID_LEVEL1_SHARE => VneidLevel::Level1,
        _ => VneidLevel::None,
    };

    Citizen {
        cccd,
        cmnd,
        full_name,
        date_of_birth,
        sex,
        nationality: Cow::Borrowed("Việt Nam"),
        ethnicity: Cow::Borrowed(tables.ethnic.name(group)),
        // Drawn last, from the group's religions in the birth province.
        religion: Cow::Borrowed(tables.ethnic.religion(&mut rng, group, birth_province)),
        place_of_origin,
        permanent_address,
        pre_reform_address,
        card,
        vneid,
        status,
        date_of_death: None,
    }
}

/// The provinces of origin and of residence (old codes), the stream's draws after the name.
fn provinces<R: Rng>(
    rng: &mut R,
    tables: &Tables,
    birth_province: ProvinceCode,
) -> (ProvinceCode, ProvinceCode) {
    let origin = if rng.random_bool(0.85) {
        birth_province
    } else {
        *tables.birth_provinces.pick(rng)
    };
    let residence = if rng.random_bool(STAY_IN_BIRTH_PROVINCE) {
        birth_province
    } else {
        *tables.migration_targets.pick(rng)
    };
    (origin, residence)
}

/// Citizen `index`'s own random stream.
fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// The stream's first draws, which [`citizen`] and the cheaper replays below share: the day of
/// birth, the ethnic group (from the census shares of the province where the birth was
/// registered) and the name (as that group gives names).
struct Head {
    date_of_birth: NaiveDate,
    group: Group,
    name: Name,
}

impl Head {
    fn draw<R: Rng>(rng: &mut R, tables: &Tables, slot: &Slot, reference_year: i32) -> Head {
        let (date_of_birth, group) = born(rng, tables, slot, reference_year);
        let cohort = Cohort::of(date_of_birth.year());
        let name = tables
            .naming
            .draw(rng, tables, group, slot.province, slot.sex, cohort);
        Head {
            date_of_birth,
            group,
            name,
        }
    }
}

/// The day of birth (in the plan's birth year) and the ethnic group: the stream's first draws.
fn born<R: Rng>(
    rng: &mut R,
    tables: &Tables,
    slot: &Slot,
    reference_year: i32,
) -> (NaiveDate, Group) {
    let birth_year = slot.birth_year(reference_year);
    let january_first = NaiveDate::from_ymd_opt(birth_year, 1, 1).expect("years 1900-2399");
    let days_in_year = (january_first + Months::new(12) - january_first).num_days() as u64;
    let date_of_birth = january_first + Days::new(rng.random_range(0..days_in_year));
    (date_of_birth, tables.ethnic.pick(rng, slot.province))
}

/// The old province citizen `index` lives in, from the stream's first draws only (what
/// [`citizen`] draws before the home, replayed without building anything): a few times cheaper
/// than the citizen, for filtering by province before generating.
pub(crate) fn residence_province(seed: u64, index: u64, reference_date: NaiveDate) -> ProvinceCode {
    let mut rng = stream(seed, index);
    let tables = Tables::get();
    let slot = Slot::of(seed, index);
    Head::draw(&mut rng, tables, &slot, reference_date.year());
    provinces(&mut rng, tables, slot.province).1
}

/// The ethnic group of citizen `index` and the province where their birth was registered, from
/// the stream's first two draws: far cheaper than the citizen, for filtering by ethnicity and
/// for the census share tests.
pub(crate) fn ethnicity(
    seed: u64,
    index: u64,
    reference_date: NaiveDate,
) -> (&'static str, ProvinceCode) {
    let mut rng = stream(seed, index);
    let tables = Tables::get();
    let slot = Slot::of(seed, index);
    let (_, group) = born(&mut rng, tables, &slot, reference_date.year());
    (tables.ethnic.name(group), slot.province)
}

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Share of records at a given age that are of deceased people (kept in the database).
fn death_share(age: u32) -> f64 {
    match age {
        ..40 => 0.001,
        40..60 => 0.005,
        60..75 => 0.02,
        _ => 0.06,
    }
}

/// A permanent address in an old province: a pre-2025 ward, and the current unit that contains
/// the home (one of the ward's targets if it was split). A ward is urban (street and number) or
/// rural (a hamlet: "Thôn" in the north, "Ấp" in the south).
fn address<R: Rng>(
    rng: &mut R,
    tables: &Tables,
    province: ProvinceCode,
) -> (Address, PreReformAddress) {
    let wards = tables.wards(province);
    let ward = wards[rng.random_range(0..wards.len())];
    let street = if ward.ward.starts_with("Phường") {
        format!(
            "{} {}",
            rng.random_range(1..400),
            pick(rng, &tables.streets)
        )
    } else {
        let hamlet = if province.get() >= 70 {
            "Ấp"
        } else {
            "Thôn"
        };
        format!("{hamlet} {}", rng.random_range(1..15))
    };
    let split = ward.targets().count();
    let commune = ward
        .targets()
        .nth(rng.random_range(0..split))
        .expect("every old ward has a target");
    (
        Address { street, commune },
        PreReformAddress {
            province,
            district: Cow::Borrowed(ward.district),
            ward: Cow::Borrowed(ward.ward),
        },
    )
}

/// The card a person holds on `reference_date`, if any: first issued on a random day once they
/// were old enough and the card existed, renewed at the legal ages most of the time.
fn card<R: Rng>(
    rng: &mut R,
    date_of_birth: NaiveDate,
    reference_date: NaiveDate,
) -> Option<IdentityCard> {
    let fourteenth = date_of_birth.checked_add_months(Months::new(12 * 14))?;
    let (earliest, share) = if fourteenth <= reference_date {
        (
            fourteenth.max(CardKind::ChipCccd.first_issue_date()),
            ADULT_CARD_SHARE,
        )
    } else {
        (
            date_of_birth.max(CardKind::IdentityCard2024.first_issue_date()),
            CHILD_CARD_SHARE,
        )
    };
    if earliest >= reference_date || !rng.random_bool(share) {
        return None;
    }
    let span = (reference_date - earliest).num_days() as u64;
    let mut card = IdentityCard::issue(
        date_of_birth,
        earliest + Days::new(rng.random_range(0..span)),
    );
    while let Some(expiry) = card.expires.filter(|e| *e < reference_date) {
        if !rng.random_bool(RENEWAL_SHARE) {
            break;
        }
        let renewed = expiry + Days::new(rng.random_range(0..90));
        if renewed >= reference_date {
            break;
        }
        card = IdentityCard::issue(date_of_birth, renewed);
    }
    Some(card)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::{geography::CurrentProvince, QrPayload};

    fn people(reference: NaiveDate) -> Vec<Citizen> {
        (0..20_000).map(|i| citizen(11, i, reference)).collect()
    }

    #[test]
    fn the_residence_is_the_citizens_own_without_generating_them() {
        let reference = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for index in (0..5_000).map(|i| i * 7_919) {
            let citizen = citizen(2026, index, reference);
            assert_eq!(
                CurrentProvince::containing(residence_province(2026, index, reference)).code,
                citizen.permanent_address.province().code,
                "{index}"
            );
        }
    }

    #[test]
    fn addresses_are_two_level_with_the_old_form_where_the_card_prints_it() {
        let reference = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let people = people(reference);
        let mut provinces = HashSet::new();
        let mut communes = HashSet::new();
        let (mut kept, mut new_cards) = (0, 0);
        for p in &people {
            let address = &p.permanent_address;
            provinces.insert(address.province().code);
            communes.insert(address.commune);
            let pre_reform_card = p.card.as_ref().is_some_and(|c| c.issued < reform_date());
            assert_eq!(p.pre_reform_address.is_some(), pre_reform_card, "{p:?}");
            let qr = QrPayload::of(p);
            match &p.pre_reform_address {
                Some(old) => {
                    kept += 1;
                    // The old ward is in the old province, and now in the current commune.
                    assert_eq!(
                        CurrentProvince::containing(old.province).code,
                        address.province().code
                    );
                    let ward = crate::domain::geography::OldWard::find(
                        old.province,
                        &old.district,
                        &old.ward,
                    )
                    .unwrap();
                    assert!(ward.targets().any(|t| t == address.commune));
                    assert_eq!(qr.address, old.line(&address.street));
                    assert!(qr.address.contains(&*old.district));
                }
                None => {
                    new_cards += usize::from(p.card.is_some());
                    assert_eq!(qr.address, address.to_string());
                }
            }
        }
        assert_eq!(
            provinces.len(),
            34,
            "everyone of the 34 provinces is home to someone"
        );
        assert!(communes.len() > 2_500, "only {} communes", communes.len());
        let share = |n: usize| n as f64 / people.len() as f64;
        assert!(share(kept) > 0.5, "pre-2025 cards {}", share(kept));
        assert!(
            share(new_cards) > 0.01,
            "post-reform cards {}",
            share(new_cards)
        );
        let largest = |code: u16| {
            share(
                people
                    .iter()
                    .filter(|p| p.permanent_address.province().code == code)
                    .count(),
            )
        };
        // Hồ Chí Minh City (with Bình Dương and Bà Rịa–Vũng Tàu) and Hà Nội are the largest.
        assert!((0.11..0.2).contains(&largest(79)), "HCMC {}", largest(79));
        assert!((0.06..0.12).contains(&largest(1)), "Hà Nội {}", largest(1));
    }

    #[test]
    fn before_the_reform_everyone_keeps_the_old_form() {
        let reference = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert!(people(reference)
            .iter()
            .all(|p| p.pre_reform_address.is_some()));
    }
}
