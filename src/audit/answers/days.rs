//! An auditor's period: days written YYYY-MM-DD in [`YEARS`], at most [`MAX_PERIOD_YEARS`]
//! apart, as every answer checks them.

use std::ops::RangeInclusive;

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::{domain::vietnam::midnight_ms as vietnam_midnight_ms, error::ApiError};

/// The years an auditor's date may fall in: anything else is a typo (year 0, 20233).
pub const YEARS: RangeInclusive<i32> = 1900..=9999;
/// The widest period a query covers, in years.
pub const MAX_PERIOD_YEARS: u32 = 20;

/// A date written YYYY-MM-DD (a real calendar day in [`YEARS`]); the error names `field`.
pub fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    let quoted = crate::error::quote(text);
    let day =
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| ApiError::InvalidField {
            field,
            message: format!("{quoted} is not a date written YYYY-MM-DD"),
        })?;
    if !YEARS.contains(&day.year()) {
        return Err(ApiError::InvalidField {
            field,
            message: format!(
                "{quoted} is not a date an audit covers (years {} to {})",
                YEARS.start(),
                YEARS.end()
            ),
        });
    }
    Ok(day)
}

/// The days `[from, to]` (inclusive), checked: real dates, `to` not before `from`, at most
/// [`MAX_PERIOD_YEARS`] apart. The error names the bad field.
pub fn days(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = (parse_day("from", from)?, parse_day("to", to)?);
    if to < from {
        return Err(ApiError::InvalidField {
            field: "to",
            message: format!("{to} is before from ({from})"),
        });
    }
    let widest = from
        .checked_add_months(Months::new(12 * MAX_PERIOD_YEARS))
        .unwrap_or(NaiveDate::MAX);
    if to >= widest {
        return Err(ApiError::InvalidField {
            field: "to",
            message: format!(
                "the period {from} to {to} is wider than {MAX_PERIOD_YEARS} years; ask for a shorter one"
            ),
        });
    }
    Ok((from, to))
}

/// `[from, to]` (inclusive days, checked by [`days`]) as `[from_ms, to_ms)`.
pub fn period(from: &str, to: &str) -> Result<(i64, i64), ApiError> {
    let (from, to) = days(from, to)?;
    Ok((
        vietnam_midnight_ms(from),
        vietnam_midnight_ms(to + Days::new(1)),
    ))
}
