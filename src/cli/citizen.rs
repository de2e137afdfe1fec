//! `vnpop citizen show`: DEVELOPMENT ONLY, one citizen of the synthetic population and their
//! VNeID test credentials.

use std::sync::Arc;

use super::{language::say, output::print};
use crate::{
    chip,
    config::PopulationArgs,
    domain::{CardKind, CccdNumber, Citizen, OriginForm, VneidLevel},
    error::quote,
    server,
    vneid::TestCredentials,
};

/// `vnpop citizen …`.
#[derive(Debug, clap::Subcommand)]
pub enum CitizenCommand {
    /// Print a citizen's record and, DEVELOPMENT ONLY, their VNeID test credentials (passcode, TOTP
    /// secret and the current one-time code). Takes the same population flags as `serve`.
    Show {
        /// The 12-digit CCCD number.
        cccd: String,
        #[command(flatten)]
        population: PopulationArgs,
    },
    /// DEVELOPMENT ONLY: real citizens for testers — `--count` of them matching the filters
    /// (province, birth years or age, sex, ethnicity, card state, VNeID level) with their CCCD
    /// numbers, as a table, CSV or JSON lines. Takes the same population flags as `serve`.
    Sample(super::sample::SampleArgs),
}

/// Runs a `citizen` subcommand.
pub fn run(command: CitizenCommand) -> Result<(), String> {
    match command {
        CitizenCommand::Show { cccd, population } => show(&cccd, &population),
        CitizenCommand::Sample(args) => super::sample::run(args),
    }
}

/// The citizen `cccd` of the population `population` describes.
pub(crate) fn find_citizen(
    cccd: &str,
    population: &PopulationArgs,
) -> Result<Arc<Citizen>, String> {
    let number = CccdNumber::parse(cccd).map_err(|e| {
        say(
            format!("{} is not a valid CCCD number: {e}", quote(cccd)),
            format!(
                "{} không phải số định danh cá nhân hợp lệ ({e})",
                quote(cccd)
            ),
        )
    })?;
    let store = server::build_store(population).map_err(|e| e.to_string())?;
    store.get(number).ok_or_else(|| {
        let masked = number.masked();
        say(
            format!("no citizen has CCCD number {masked}"),
            format!("không tìm thấy công dân có số định danh cá nhân {masked}"),
        )
    })
}

/// Prints the citizen `cccd` of `population` and their VNeID test credentials.
fn show(cccd: &str, population: &PopulationArgs) -> Result<(), String> {
    let citizen = find_citizen(cccd, population)?;
    let personal = chip::personal::personal_data(population.seed, &citizen);
    let today = population
        .today
        .unwrap_or_else(|| crate::serving::Clock::System.today());
    let origin = &citizen.place_of_origin;
    let mut out = String::new();
    outln!(
        out,
        "Citizen (synthetic population, seed {})",
        population.seed
    );
    outln!(out, "  CCCD number        {}", citizen.cccd);
    outln!(
        out,
        "  CMND number        {}",
        citizen.cmnd.map_or("-".into(), |n| n.to_string())
    );
    outln!(out, "  Full name          {}", citizen.full_name);
    outln!(out, "  Date of birth      {}", citizen.date_of_birth);
    outln!(out, "  Sex                {}", citizen.sex.vietnamese());
    outln!(out, "  Nationality        {}", citizen.nationality);
    outln!(out, "  Ethnicity          {}", citizen.ethnicity);
    outln!(out, "  Religion           {}", citizen.religion);
    // The form in force on `today`, as the server answers it; the card's form beside it.
    match citizen.origin_on(today) {
        OriginForm::PreReform(place) => {
            outln!(out, "  Place of origin    {}", place.pre_reform_line())
        }
        OriginForm::Current(province) => {
            outln!(out, "  Place of origin    {}", province.full_name);
            if citizen.card_prints_pre_reform_forms() {
                outln!(
                    out,
                    "  Before 1 July 2025 {} (printed on the card)",
                    origin.pre_reform_line()
                );
            }
        }
    }
    // The form in force on `today`, as the server answers it on that day.
    outln!(
        out,
        "  Permanent address  {}",
        citizen.address_line_on(today)
    );
    if let (Some(old), None) = (
        &citizen.pre_reform_address,
        citizen.pre_reform_form_on(today),
    ) {
        outln!(
            out,
            "  Before 1 July 2025 {} (printed on the card)",
            old.line(&citizen.permanent_address.street)
        );
    }
    match &citizen.card {
        Some(card) => outln!(
            out,
            "  Card               {} issued {}, {} ({:?} on {today})",
            match card.kind {
                CardKind::ChipCccd => "chip CCCD",
                CardKind::IdentityCard2024 => "identity card (2024)",
            },
            card.issued,
            card.expires
                .map_or("never expires".into(), |d| format!("expires {d}")),
            citizen.card_state(today).expect("has a card"),
        ),
        None => outln!(out, "  Card               none"),
    }
    outln!(out, "  Status             {:?}", citizen.status);
    outln!(
        out,
        "  Chip DG13 extras   father {}; mother {}; spouse {}; features {}",
        personal.father_name,
        personal.mother_name,
        personal.spouse_name.as_deref().unwrap_or("-"),
        personal.identification_features
    );
    outln!(out);
    let level = match citizen.vneid {
        VneidLevel::None => {
            outln!(out, "VNeID account      none");
            return print(&out);
        }
        VneidLevel::Level1 => 1,
        VneidLevel::Level2 => 2,
    };
    let credentials = TestCredentials::derive(population.seed, citizen.cccd);
    let now = crate::vneid::credentials::unix_now();
    let step = crate::vneid::credentials::TOTP_STEP;
    outln!(out, "VNeID account      level {level}");
    outln!(out, "TEST CREDENTIALS — DEVELOPMENT ONLY (derived from the seed; anyone with the seed has them)");
    outln!(out, "  Passcode           {}", credentials.passcode);
    outln!(
        out,
        "  TOTP secret        {} (base32; SHA-1, 6 digits, 30 s)",
        credentials.totp_secret_base32()
    );
    outln!(
        out,
        "  Current code       {} (for another {} s)",
        credentials.current_code(),
        step - now % step
    );
    outln!(out,
        "  otpauth URI        otpauth://totp/vnpop:{}?secret={}&issuer=vnpop&algorithm=SHA1&digits=6&period=30",
        citizen.cccd,
        credentials.totp_secret_base32()
    );
    print(&out)
}
