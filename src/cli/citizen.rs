//! `vnpop citizen show`: DEVELOPMENT ONLY, one citizen of the synthetic population and their
//! VNeID test credentials.

use std::sync::Arc;

use super::{
    audit::report::Lang,
    failure::Failure,
    language::language,
    messages::{
        citizen::{Citizen as Says, Label},
        serve::Serve,
        Message,
    },
    output::print,
};
use crate::{
    chip,
    config::PopulationArgs,
    domain::{CccdNumber, Citizen, OriginForm, VneidLevel},
    error::quote,
    lang::Language,
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
pub fn run(command: CitizenCommand) -> Result<(), Failure> {
    match command {
        CitizenCommand::Show { cccd, population } => show(&cccd, &population),
        CitizenCommand::Sample(args) => Ok(super::sample::run(args)?),
    }
}

/// A CCCD number as typed on the command line: written with the usual grouping (`001 090
/// 012345`, `001-090-012345`) it is taken without its spaces or dashes, saying so on stderr;
/// otherwise as typed, for the command to check.
pub(crate) fn typed_cccd(typed: &str) -> String {
    match crate::domain::ungrouped(typed) {
        Some(number) => {
            eprintln!(
                "{}",
                Says::Ungrouped {
                    typed: quote(typed)
                }
                .text()
            );
            number
        }
        None => typed.to_owned(),
    }
}

/// The citizen `cccd` of the population `population` describes; a number that is not a CCCD
/// number is a usage error.
pub(crate) fn find_citizen(
    cccd: &str,
    population: &PopulationArgs,
) -> Result<Arc<Citizen>, Failure> {
    let typed = cccd;
    let cccd = typed_cccd(typed);
    let number = CccdNumber::parse(&cccd).map_err(|error| {
        Failure::Usage(
            Says::NotACccdNumber {
                typed: quote(typed),
                error,
            }
            .text(),
        )
    })?;
    let store = server::build_store(population).map_err(|error| Serve::Start { error }.text())?;
    store.get(number).ok_or_else(|| {
        Failure::Failed(
            Says::NotFound {
                masked: number.masked(),
            }
            .text(),
        )
    })
}

/// Prints the citizen `cccd` of `population` and their VNeID test credentials: labels and
/// sentences in the CLI's language, the values as the population holds them (dates in the
/// language's way).
fn show(cccd: &str, population: &PopulationArgs) -> Result<(), Failure> {
    let citizen = find_citizen(cccd, population)?;
    let personal = chip::personal::personal_data(population.seed, &citizen);
    let today = population
        .today
        .unwrap_or_else(|| crate::serving::Clock::System.today());
    let date = |d: chrono::NaiveDate| match language() {
        Language::Vietnamese => Lang::Vi.date(d),
        _ => d.to_string(),
    };
    let origin = &citizen.place_of_origin;
    let mut out = String::new();
    outln!(
        out,
        "{}",
        Says::Heading {
            seed: population.seed
        }
        .text()
    );
    let mut row = |label: Label, value: &dyn std::fmt::Display| {
        outln!(out, "  {}{value}", label.padded());
    };
    row(Label::Cccd, &citizen.cccd);
    row(
        Label::Cmnd,
        &citizen.cmnd.map_or("-".into(), |n| n.to_string()),
    );
    row(Label::FullName, &citizen.full_name);
    row(Label::DateOfBirth, &date(citizen.date_of_birth));
    row(Label::Sex, &citizen.sex.vietnamese());
    row(Label::Nationality, &citizen.nationality);
    row(Label::Ethnicity, &citizen.ethnicity);
    row(Label::Religion, &citizen.religion);
    let printed = |line: String| Says::PrintedOnCard { line }.text();
    // The form in force on `today`, as the server answers it; the card's form beside it.
    match citizen.origin_on(today) {
        OriginForm::PreReform(place) => row(Label::PlaceOfOrigin, &place.pre_reform_line()),
        OriginForm::Current(province) => {
            row(Label::PlaceOfOrigin, &province.full_name);
            if citizen.card_prints_pre_reform_forms() {
                row(Label::BeforeReform, &printed(origin.pre_reform_line()));
            }
        }
    }
    // The form in force on `today`, as the server answers it on that day.
    row(Label::PermanentAddress, &citizen.address_line_on(today));
    if let (Some(old), None) = (
        &citizen.pre_reform_address,
        citizen.pre_reform_form_on(today),
    ) {
        row(
            Label::BeforeReform,
            &printed(old.line(&citizen.permanent_address.street)),
        );
    }
    let card = match &citizen.card {
        Some(card) => Says::Card {
            kind: card.kind,
            issued: card.issued,
            expires: card.expires,
            state: citizen.card_state(today).expect("has a card"),
            today,
        },
        None => Says::NoCard,
    };
    row(Label::Card, &card.text());
    row(
        Label::Status,
        &Says::Status {
            status: citizen.status,
        }
        .text(),
    );
    row(
        Label::Dg13,
        &Says::Dg13 {
            father: personal.father_name.clone(),
            mother: personal.mother_name.clone(),
            spouse: personal.spouse_name.clone().unwrap_or_else(|| "-".into()),
            features: personal.identification_features.clone(),
        }
        .text(),
    );
    outln!(out);
    let level = match citizen.vneid {
        VneidLevel::None => {
            outln!(out, "{}{}", Label::Vneid.padded(), Says::NoVneid.text());
            return Ok(print(&out)?);
        }
        VneidLevel::Level1 => 1,
        VneidLevel::Level2 => 2,
    };
    let credentials = TestCredentials::derive(population.seed, citizen.cccd);
    let now = crate::vneid::credentials::unix_now();
    let step = crate::vneid::credentials::TOTP_STEP;
    outln!(
        out,
        "{}{}",
        Label::Vneid.padded(),
        Says::VneidLevel { level }.text()
    );
    outln!(out, "{}", Says::TestCredentials.text());
    let mut row = |label: Label, value: &dyn std::fmt::Display| {
        outln!(out, "  {}{value}", label.padded());
    };
    row(Label::Passcode, &credentials.passcode);
    row(
        Label::TotpSecret,
        &Says::TotpSecret {
            secret: credentials.totp_secret_base32(),
        }
        .text(),
    );
    row(
        Label::CurrentCode,
        &Says::CurrentCode {
            code: credentials.current_code().to_string(),
            seconds: step - now % step,
        }
        .text(),
    );
    row(
        Label::OtpauthUri,
        &format!(
            "otpauth://totp/vnpop:{}?secret={}&issuer=vnpop&algorithm=SHA1&digits=6&period=30",
            citizen.cccd,
            credentials.totp_secret_base32()
        ),
    );
    Ok(print(&out)?)
}
