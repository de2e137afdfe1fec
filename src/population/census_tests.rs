//! The generated population against the 2019 census: the ethnic shares of a 1,000,000-citizen
//! sample (the draw order `vnpop citizen sample` uses, over a 100,000,000-citizen population)
//! by the census's six regions and nationally, and what citizens of a group are called and
//! believe.
//!
//! A citizen's group is drawn for the province where the birth was registered (the CCCD
//! number's first digits), so the sample is counted by that province; the census counts
//! residents, and the generator's birth provinces are weighted by the census's populations.
//!
//! Tolerances: a region's share of a group (every group with at least 0.5% of its region, Kinh
//! first) within 0.6 percentage points of the census's; the national Kinh share within 0.25. The
//! smallest region (Tây Nguyên, 6.1% of the country) has about 60,000 citizens in the sample,
//! where one standard error of a 62% share is 0.2 points: the tolerances are three standard
//! errors.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{
    builtin_fixtures,
    sample::{ethnic_tally, sample, Filter},
    tables::{rows, Tables},
    Population, PopulationSpec,
};
use crate::domain::{Province, ProvinceCode};

/// Sample size of the share test.
const SAMPLE: u64 = 1_000_000;
/// A region's share of a group: largest difference from the census, in percentage points.
const REGION_TOLERANCE: f64 = 0.6;
/// Groups checked in a region: those with at least this share of it (percent).
const CHECKED_FROM: f64 = 0.5;
/// The national Kinh share: largest difference from the census, in percentage points.
const NATIONAL_TOLERANCE: f64 = 0.25;

fn population() -> Population {
    let spec = PopulationSpec {
        seed: 2026,
        size: 100_000_000,
        reference_date: PopulationSpec::default_reference_date(),
    };
    Population::new(spec, &builtin_fixtures()).unwrap()
}

/// The census region of each of the 63 pre-2025 provinces (`data/regions.csv`).
fn regions() -> HashMap<ProvinceCode, &'static str> {
    rows(include_str!("../../data/regions.csv"))
        .map(|cols| {
            let code = ProvinceCode::new(cols[0].parse().unwrap()).unwrap();
            (code, cols[1])
        })
        .collect()
}

/// Persons by (region, group) and by region.
type Counts = (
    HashMap<(&'static str, &'static str), f64>,
    HashMap<&'static str, f64>,
);

fn census_by_region(regions: &HashMap<ProvinceCode, &'static str>) -> Counts {
    let ethnic = &Tables::get().ethnic;
    let (mut by_group, mut totals) = (HashMap::new(), HashMap::new());
    for province in Province::all() {
        let region = regions[&province.code];
        for (group, name) in ethnic.groups().iter().enumerate() {
            let persons = ethnic.persons(province.code, group);
            *by_group.entry((region, *name)).or_insert(0.0) += persons;
            *totals.entry(region).or_insert(0.0) += persons;
        }
    }
    (by_group, totals)
}

#[test]
fn a_million_citizens_have_the_census_ethnic_shares_by_region_and_nationally() {
    let regions = regions();
    let (census, census_totals) = census_by_region(&regions);
    let tally = ethnic_tally(&population(), SAMPLE, 1);
    let (mut sampled, mut sampled_totals) = (HashMap::new(), HashMap::new());
    for ((province, group), n) in &tally {
        let region = regions[province];
        *sampled.entry((region, *group)).or_insert(0.0) += *n as f64;
        *sampled_totals.entry(region).or_insert(0.0) += *n as f64;
    }
    assert_eq!(sampled_totals.values().sum::<f64>() as u64, SAMPLE);

    let mut report = String::new();
    let mut off = Vec::new();
    let mut names: Vec<&str> = census_totals.keys().copied().collect();
    names.sort_unstable();
    for region in names {
        let mut groups: Vec<(&str, f64)> = census
            .iter()
            .filter(|((r, _), _)| *r == region)
            .map(|((_, g), persons)| (*g, 100.0 * persons / census_totals[region]))
            .filter(|(g, share)| *share >= CHECKED_FROM || *g == "Kinh")
            .collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1));
        report += &format!("{region} ({} sampled):", sampled_totals[region]);
        for (group, expected) in groups {
            let got =
                100.0 * sampled.get(&(region, group)).unwrap_or(&0.0) / sampled_totals[region];
            report += &format!(" {group} {got:.2} (census {expected:.2})");
            if (got - expected).abs() > REGION_TOLERANCE {
                off.push(format!(
                    "{region}, {group}: {got:.2}% against {expected:.2}%"
                ));
            }
        }
        report += "\n";
    }
    let kinh: f64 = sampled
        .iter()
        .filter(|((_, g), _)| *g == "Kinh")
        .map(|(_, n)| n)
        .sum();
    let kinh = 100.0 * kinh / SAMPLE as f64;
    let census_kinh: f64 = rows(include_str!("../../data/ethnicities.csv"))
        .find(|cols| cols[0] == "Kinh")
        .map(|cols| cols[1].parse().unwrap())
        .unwrap();
    report += &format!("Việt Nam: Kinh {kinh:.2} (census {census_kinh:.2})\n");
    println!("{report}");
    assert!(off.is_empty(), "{off:#?}\n{report}");
    assert!(
        (kinh - census_kinh).abs() <= NATIONAL_TOLERANCE,
        "national Kinh share {kinh:.2}% against the census's {census_kinh}%"
    );
}

#[test]
fn citizens_registered_in_a_province_look_like_it() {
    let population = population();
    let tally = ethnic_tally(&population, 300_000, 2);
    let share = |code: u16, group: &str| {
        let code = ProvinceCode::new(code).unwrap();
        let all: u64 = tally
            .iter()
            .filter(|((p, _), _)| *p == code)
            .map(|(_, n)| n)
            .sum();
        tally.get(&(code, group)).copied().unwrap_or(0) as f64 / all as f64
    };
    // The complaints: Hà Nội ~99% Kinh, Hoa in Hồ Chí Minh City, Mông in Hà Giang,
    // Khmer in Sóc Trăng.
    assert!(share(1, "Kinh") > 0.97, "Hà Nội Kinh {}", share(1, "Kinh"));
    assert!(share(79, "Hoa") > 0.03, "HCMC Hoa {}", share(79, "Hoa"));
    assert!(
        share(2, "Mông") > 0.25,
        "Hà Giang Mông {}",
        share(2, "Mông")
    );
    assert!(
        share(94, "Khmer") > 0.25,
        "Sóc Trăng Khmer {}",
        share(94, "Khmer")
    );
}

#[test]
fn mong_citizens_have_mong_names_and_khmer_citizens_are_buddhists() {
    let population = population();
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let of = |group: &str| Filter {
        ethnicity: Some(group.to_owned()),
        ..Filter::default()
    };
    let mong = sample(&population, &of("Mông"), 300, 3, today);
    assert_eq!(mong.len(), 300);
    let clans = [
        "Giàng", "Thào", "Vàng", "Sùng", "Lý", "Mùa", "Vừ", "Hầu", "Lầu", "Hờ", "Hạng", "Chá",
        "Tráng", "Cứ", "Mua", "Phàng", "Lò", "Cháng", "Thò",
    ];
    for citizen in &mong {
        assert_eq!(citizen.ethnicity, "Mông");
        let clan = citizen.full_name.split(' ').next().unwrap();
        assert!(clans.contains(&clan), "{}", citizen.full_name);
    }
    // Registered where the Mông live: the northern mountains, Thanh Hóa and Nghệ An, the Central
    // Highlands (99% of the census's Mông).
    let homeland = [
        2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 38, 40, 64, 66, 67, 68, 70,
    ];
    let at_home = mong
        .iter()
        .filter(|c| homeland.contains(&c.cccd.province().get()))
        .count();
    assert!(
        at_home >= 290,
        "{at_home} of 300 Mông registered in their provinces"
    );
    let khmer = sample(&population, &of("Khmer"), 300, 3, today);
    let buddhists = khmer.iter().filter(|c| c.religion == "Phật giáo").count();
    assert!(buddhists > 220, "{buddhists} of 300 Khmer are Buddhists");
    let kinh_surnames = ["Nguyễn", "Trần", "Lê", "Phạm", "Vũ", "Võ"];
    let khmer_with_kinh = khmer
        .iter()
        .filter(|c| kinh_surnames.contains(&c.full_name.split(' ').next().unwrap()))
        .count();
    assert!(
        khmer_with_kinh < 30,
        "{khmer_with_kinh} Khmer with Kinh surnames"
    );
}
