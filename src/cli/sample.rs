//! `vnpop citizen sample`: DEVELOPMENT ONLY, real citizens of the synthetic population for
//! testers — `--count` of them matching the filters, as a table, CSV or JSON lines, with their
//! CCCD numbers. The same flags (population and `--draw`) always give the same citizens.

use std::ops::RangeInclusive;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{
    messages::{citizen::Citizen as Says, serve::Serve, Message},
    output::{print, ListFormat, RecordWriter, Records},
};
use crate::{
    config::PopulationArgs,
    domain::{geography, CardState, Citizen, Sex, VneidLevel},
    population::sample::{sample, CardFilter, Filter},
    server,
};

/// The flags of `vnpop citizen sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// How many citizens (fewer if the population holds fewer that match).
    #[arg(long, default_value_t = 10)]
    count: usize,
    /// Living in this province (one of the 34, by name or code: "Lai Châu", "012").
    #[arg(long)]
    province: Option<String>,
    /// Born in these years: "1990-1999", or one year.
    #[arg(long, value_parser = parse_range::<i32>)]
    born: Option<RangeInclusive<i32>>,
    /// Aged this many full years on --today: "30-39", or one age.
    #[arg(long, value_parser = parse_range::<u32>)]
    age: Option<RangeInclusive<u32>>,
    /// Of this sex.
    #[arg(long, value_enum)]
    sex: Option<SexArg>,
    /// Of this ethnic group, e.g. "Kinh", "Mông" (diacritics optional).
    #[arg(long)]
    ethnicity: Option<String>,
    /// Whose card is in this state on --today, or who has none.
    #[arg(long, value_enum)]
    card: Option<CardArg>,
    /// With this VNeID account level: none, 1 or 2.
    #[arg(long, value_enum)]
    vneid: Option<VneidArg>,
    /// Which draw: another number gives other citizens matching the same filters.
    #[arg(long, env = "VNPOP_SAMPLE_DRAW", default_value_t = 0)]
    draw: u64,
    /// table (aligned columns), csv (with its header) or json (one object a line).
    #[arg(long, value_enum, default_value = "table")]
    format: SampleFormat,
    #[command(flatten)]
    population: PopulationArgs,
}

/// `--sex`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SexArg {
    Male,
    Female,
}

/// `--card`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CardArg {
    Valid,
    Expired,
    Revoked,
    None,
}

/// `--vneid`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum VneidArg {
    None,
    #[value(name = "1")]
    One,
    #[value(name = "2")]
    Two,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SampleFormat {
    Table,
    Csv,
    Json,
}

/// The columns printed, in order.
const COLUMNS: &[&str] = &[
    "cccd_number",
    "full_name",
    "date_of_birth",
    "sex",
    "ethnicity",
    "province",
    "card",
    "vneid_level",
];

/// "1990-1999" or "1990".
fn parse_range<T: std::str::FromStr + PartialOrd + Copy>(
    text: &str,
) -> Result<RangeInclusive<T>, String> {
    let number = |t: &str| {
        t.trim()
            .parse::<T>()
            .map_err(|_| format!("{t:?} is not a number"))
    };
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (number(low)?, number(high)?),
        None => (number(text)?, number(text)?),
    };
    if low > high {
        return Err("the first bound is after the second".into());
    }
    Ok(low..=high)
}

/// Prints the citizens `args` asks for.
pub fn run(args: SampleArgs) -> Result<(), String> {
    let province = match &args.province {
        Some(name) => Some(geography::current_province(name).ok_or_else(|| {
            Says::UnknownProvince {
                typed: crate::error::quote(name),
            }
            .text()
        })?),
        None => None,
    };
    let filter = Filter {
        province,
        born: args.born.clone(),
        age: args.age.clone(),
        sex: args.sex.map(|s| match s {
            SexArg::Male => Sex::Male,
            SexArg::Female => Sex::Female,
        }),
        ethnicity: args.ethnicity.clone(),
        card: args.card.map(|c| match c {
            CardArg::Valid => CardFilter::State(CardState::Valid),
            CardArg::Expired => CardFilter::State(CardState::Expired),
            CardArg::Revoked => CardFilter::State(CardState::Revoked),
            CardArg::None => CardFilter::None,
        }),
        vneid: args.vneid.map(|v| match v {
            VneidArg::None => VneidLevel::None,
            VneidArg::One => VneidLevel::Level1,
            VneidArg::Two => VneidLevel::Level2,
        }),
    };
    let today = args
        .population
        .today
        .unwrap_or_else(|| crate::serving::Clock::System.today());
    let store =
        server::build_store(&args.population).map_err(|error| Serve::Start { error }.text())?;
    let citizens = sample(store.population(), &filter, args.count, args.draw, today);
    let records: Vec<serde_json::Value> = citizens.iter().map(|c| record(c, today)).collect();
    match args.format {
        SampleFormat::Table => print(&table(&records)),
        SampleFormat::Csv | SampleFormat::Json => {
            let format = if args.format == SampleFormat::Csv {
                ListFormat::Csv
            } else {
                ListFormat::Json
            };
            let mut writer = RecordWriter::start(COLUMNS, format, Records::Citizens)?;
            for record in &records {
                writer.write(record)?;
            }
            writer.finish().map(|_| ())
        }
    }
}

/// One citizen's columns.
fn record(citizen: &Citizen, today: chrono::NaiveDate) -> serde_json::Value {
    json!({
        "cccd_number": citizen.cccd.to_string(),
        "full_name": citizen.full_name,
        "date_of_birth": citizen.date_of_birth.to_string(),
        "sex": match citizen.sex { Sex::Male => "male", Sex::Female => "female" },
        "ethnicity": citizen.ethnicity,
        "province": citizen.permanent_address.province().name,
        "card": match citizen.card_state(today) {
            Some(CardState::Valid) => "valid",
            Some(CardState::Expired) => "expired",
            Some(CardState::Revoked) => "revoked",
            None => "none",
        },
        "vneid_level": match citizen.vneid {
            VneidLevel::None => "none",
            VneidLevel::Level1 => "1",
            VneidLevel::Level2 => "2",
        },
    })
}

/// The records as aligned columns under their names (widths in characters).
fn table(records: &[serde_json::Value]) -> String {
    let cell = |record: &serde_json::Value, column: &str| {
        record[column].as_str().unwrap_or_default().to_owned()
    };
    let widths: Vec<usize> = COLUMNS
        .iter()
        .map(|column| {
            records
                .iter()
                .map(|r| cell(r, column).chars().count())
                .chain([column.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(COLUMNS.iter().map(|c| c.to_string()).collect());
    for record in records {
        out.push_str(&line(COLUMNS.iter().map(|c| cell(record, c)).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_written() {
        assert_eq!(parse_range::<i32>("1990-1999"), Ok(1990..=1999));
        assert_eq!(parse_range::<u32>("30"), Ok(30..=30));
        assert!(parse_range::<u32>("40-30").is_err());
        assert!(parse_range::<u32>("x").is_err());
    }
}
