//! A registry row read into the record sent for verification, or the verdict of a row that
//! cannot be: a malformed row gets its own verdict naming the line and the field.

use chrono::NaiveDate;

use super::csv::{Header, Row};
use crate::proto;

/// What a row becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry {
    /// A record to verify.
    Send(proto::CleanRecord),
    /// A row that cannot be sent: its record id (as read) and the field at fault and why.
    Malformed {
        record_id: String,
        field: &'static str,
        problem: String,
    },
}

/// Reads `row` through `header`.
pub(crate) fn entry(header: &Header, row: &Row<'_>) -> Entry {
    let get = |column: usize| header.get(row, column).map(str::trim);
    let record_id = get(0).unwrap_or_default().to_owned();
    let malformed = |field: &'static str, problem: String| Entry::Malformed {
        record_id: record_id.clone(),
        field,
        problem,
    };
    if row.len() < header.width() {
        return malformed(
            "row",
            format!("{} fields, the header names {}", row.len(), header.width()),
        );
    }
    if record_id.is_empty() {
        return malformed("record_id", "required".into());
    }
    let text = |column: usize| get(column).filter(|v| !v.is_empty()).map(str::to_owned);
    let date_of_birth = match get(3).filter(|v| !v.is_empty()).map(parse_date) {
        None => None,
        Some(Ok(date)) => Some(date),
        Some(Err(problem)) => return malformed("date_of_birth", problem),
    };
    let sex = match get(4).filter(|v| !v.is_empty()).map(parse_sex) {
        None => None,
        Some(Ok(sex)) => Some(sex as i32),
        Some(Err(problem)) => return malformed("sex", problem),
    };
    Entry::Send(proto::CleanRecord {
        record_id,
        number: get(1).unwrap_or_default().to_owned(),
        full_name: text(2),
        date_of_birth: date_of_birth.map(|d: NaiveDate| {
            use chrono::Datelike;
            proto::Date {
                year: d.year(),
                month: d.month() as i32,
                day: d.day() as i32,
            }
        }),
        sex,
        address: text(5),
    })
}

/// A date as `YYYY-MM-DD` or, as Vietnamese registries write it, `DD/MM/YYYY`.
pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    // Most dates are written with every digit (10 characters): read without a format string.
    if let Some(date) = ten_characters(text) {
        return Ok(date);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .map_err(|_| {
            format!(
                "{} is not a calendar date as YYYY-MM-DD or DD/MM/YYYY",
                crate::error::quote(text)
            )
        })
}

/// `YYYY-MM-DD` or `DD/MM/YYYY` with every digit written, if `text` is one and a calendar date
/// (anything else is left to chrono's reading, which also takes shorter forms).
fn ten_characters(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = match b {
        [_, _, _, _, b'-', _, _, b'-', _, _] => (number(0..4)?, number(5..7)?, number(8..10)?),
        [_, _, b'/', _, _, b'/', _, _, _, _] => (number(6..10)?, number(3..5)?, number(0..2)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Sex as a registry writes it: Nam/Nữ, male/female, M/F (case ignored).
pub(crate) fn parse_sex(text: &str) -> Result<proto::Sex, String> {
    // The usual spellings without lower-casing a copy.
    match text {
        "Nam" | "nam" | "NAM" => return Ok(proto::Sex::Male),
        "Nữ" | "nữ" | "NỮ" => return Ok(proto::Sex::Female),
        _ => {}
    }
    match text.to_lowercase().as_str() {
        "nam" | "male" | "m" => Ok(proto::Sex::Male),
        "nữ" | "nu" | "female" | "f" => Ok(proto::Sex::Female),
        _ => Err(format!(
            "{} is not Nam/Nữ, male/female or M/F",
            crate::error::quote(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cli::clean::csv::{Rows, COLUMNS};

    /// The entry of the registry row `fields` (none quoted) under the full header.
    fn entry_of(fields: &[&str]) -> Entry {
        let text = format!("{}\n{}\n", COLUMNS.join(","), fields.join(","));
        let mut rows = Rows::new(text.as_bytes());
        let header = Header::parse(&rows.next_row().unwrap().unwrap()).unwrap();
        let row = rows.next_row().unwrap().unwrap();
        entry(&header, &row)
    }

    #[test]
    fn rows_become_records_or_name_their_field() {
        let sent = entry_of(&[
            "R1",
            "001090012345",
            "Nguyễn Văn An",
            "15/03/1990",
            "Nam",
            "",
        ]);
        let Entry::Send(record) = sent else {
            panic!("{sent:?}")
        };
        assert_eq!(record.date_of_birth.unwrap().month, 3);
        assert_eq!(record.sex, Some(proto::Sex::Male as i32));
        assert_eq!(record.address, None);
        let field = |fields: &[&str]| match entry_of(fields) {
            Entry::Malformed { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(&["R1", "1", "n", "1990-15-03", "", ""]),
            "date_of_birth"
        );
        assert_eq!(field(&["R1", "1", "n", "", "x", ""]), "sex");
        assert_eq!(field(&["", "1", "n", "", "", ""]), "record_id");
        assert_eq!(field(&["R1", "1"]), "row");
    }

    proptest! {
        #[test]
        fn any_date_text_is_read_or_refused(text in ".{0,20}") {
            let _ = parse_date(&text);
        }

        /// The quick reading agrees with chrono's on any ten characters of digits and marks.
        #[test]
        fn the_quick_reading_is_chronos(text in "[0-9/-]{10}") {
            if let Some(date) = ten_characters(&text) {
                let chrono = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .or_else(|_| NaiveDate::parse_from_str(&text, "%d/%m/%Y"));
                prop_assert_eq!(Ok(date), chrono);
            }
        }

        #[test]
        fn dates_read_in_both_forms(days in 0i64..60_000) {
            let date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
            prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Ok(date));
            prop_assert_eq!(parse_date(&date.format("%d/%m/%Y").to_string()), Ok(date));
        }
    }
}
