//! Vietnam's civil time: UTC+7 all year (no daylight saving). Dates of receipt, card expiry,
//! audit days and fault windows are all Vietnam dates, whatever the machine's time zone.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime, Utc};

const OFFSET_SECONDS: i32 = 7 * 3600;
const OFFSET_MS: i64 = OFFSET_SECONDS as i64 * 1000;
const DAY_MS: i64 = 86_400_000;

/// UTC+7.
pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(OFFSET_SECONDS).expect("UTC+7 is a valid offset")
}

/// Today's date in Vietnam.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&offset()).date_naive()
}

/// The time of day in Vietnam now.
pub fn time_of_day() -> NaiveTime {
    Utc::now().with_timezone(&offset()).time()
}

/// `seconds` after midnight starting `date` in Vietnam, Unix milliseconds. Defined for every
/// date chrono holds (the offset is applied by arithmetic, never by a conversion that can fail).
pub fn instant_ms(date: NaiveDate, seconds: u32) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - OFFSET_MS
        + i64::from(seconds) * 1000
}

/// Midnight at the start of `date` in Vietnam, Unix milliseconds.
pub fn midnight_ms(date: NaiveDate) -> i64 {
    instant_ms(date, 0)
}

/// The Vietnam day (days since 1970-01-01) of a Unix-ms instant.
pub fn day_of(ms: i64) -> i64 {
    ms.saturating_add(OFFSET_MS).div_euclid(DAY_MS)
}

/// The month holding Vietnam day `day`, numbered year × 12 + month − 1 (so months sort and
/// subtract as numbers).
pub fn month_number(day: i64) -> i64 {
    let date = NaiveDate::from_num_days_from_ce_opt(days_from_ce(day)).unwrap_or(NaiveDate::MIN);
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// 1970-01-01 counted in days from 0001-01-01 (chrono's common era day 1).
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// A day number (days since 1970-01-01) in chrono's days from the common era, clamped to i32.
fn days_from_ce(day: i64) -> i32 {
    day.saturating_add(EPOCH_DAYS_FROM_CE)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Whether a Unix-ms instant is a midnight in Vietnam.
pub fn is_midnight(ms: i64) -> bool {
    ms.saturating_add(OFFSET_MS).rem_euclid(DAY_MS) == 0
}

/// A Unix-ms instant as RFC 3339 in Vietnam time ("2023-12-02T00:00:00+07:00"); empty if out of
/// range.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&offset()).to_rfc3339())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_numbered_in_order() {
        let day = |y, m, d| {
            i64::from(NaiveDate::from_ymd_opt(y, m, d).unwrap().num_days_from_ce())
                - EPOCH_DAYS_FROM_CE
        };
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(month_number(day(2024, 2, 29)), 2024 * 12 + 1);
        assert_eq!(month_number(day(2024, 3, 1)), 2024 * 12 + 2);
        assert_eq!(month_number(day(2024, 12, 31)), 2024 * 12 + 11);
        assert_eq!(month_number(day(2025, 1, 1)), 2025 * 12);
        assert_eq!(month_number(-1), 1969 * 12 + 11);
    }

    #[test]
    fn days_and_midnights_are_vietnamese() {
        let new_year = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        // 2024-01-01T00:00:00+07:00 is 2023-12-31T17:00:00Z.
        assert_eq!(midnight_ms(new_year), 1_704_042_000_000);
        assert!(is_midnight(midnight_ms(new_year)));
        assert!(!is_midnight(midnight_ms(new_year) + 1));
        assert_eq!(
            day_of(midnight_ms(new_year)),
            day_of(midnight_ms(new_year) - 1) + 1
        );
        assert_eq!(instant_ms(new_year, 90), midnight_ms(new_year) + 90_000);
        assert_eq!(rfc3339(midnight_ms(new_year)), "2024-01-01T00:00:00+07:00");
    }

    #[test]
    fn edge_dates_and_instants_never_panic() {
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let ms = instant_ms(date, 86_399);
            assert_eq!(day_of(midnight_ms(date)), day_of(ms));
        }
        for ms in [i64::MIN, i64::MAX, 0] {
            let _ = (day_of(ms), is_midnight(ms), rfc3339(ms));
        }
    }
}
