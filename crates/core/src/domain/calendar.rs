//! The working calendar of Vietnam's state offices: which days they work (Monday to Friday, less
//! public holidays, plus make-up Saturdays) and when (a morning and an afternoon session).
//!
//! Holidays are embedded from `data/holidays.csv` (the Government's announced schedules for the
//! years it lists); a date of another year is a working day when it is a weekday. The one-stop
//! desks' sessions vary by province: these are the usual ones.

use std::{collections::HashMap, sync::OnceLock};

use chrono::{Datelike, NaiveDate, Weekday};

/// A working session: from and to, in seconds after midnight (Vietnam time).
pub type Session = (u32, u32);

/// The morning and afternoon sessions: 07:30–11:30 and 13:30–17:00.
pub const SESSIONS: [Session; 2] = [
    (7 * 3600 + 1800, 11 * 3600 + 1800),
    (13 * 3600 + 1800, 17 * 3600),
];

/// What the embedded table says of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// A public holiday (or its compensatory or swapped day off): offices are closed.
    Off(&'static str),
    /// A Saturday worked to make up for a swapped day.
    Workday(&'static str),
}

/// The embedded table, by date.
fn table() -> &'static HashMap<NaiveDate, Special> {
    static TABLE: OnceLock<HashMap<NaiveDate, Special>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../../../../data/holidays.csv")
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut fields = line.splitn(3, ',');
                let (date, kind, name) = (
                    fields.next().expect("a date"),
                    fields.next().expect("a kind"),
                    fields.next().expect("a name"),
                );
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("an ISO date");
                let special = match kind {
                    "off" => Special::Off(name),
                    "workday" => Special::Workday(name),
                    other => panic!("data/holidays.csv: unknown kind {other:?}"),
                };
                (date, special)
            })
            .collect()
    })
}

/// What the table says of `date`, if anything.
pub fn special(date: NaiveDate) -> Option<Special> {
    table().get(&date).copied()
}

/// Whether state offices work on `date`.
pub fn is_working_day(date: NaiveDate) -> bool {
    match special(date) {
        Some(Special::Off(_)) => false,
        Some(Special::Workday(_)) => true,
        None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
    }
}

/// Whether `seconds` after midnight falls in a working session.
pub fn in_session(seconds: u32) -> bool {
    SESSIONS
        .iter()
        .any(|&(from, to)| (from..to).contains(&seconds))
}

/// The session of the day holding `seconds`, if any.
pub fn session_of(seconds: u32) -> Option<Session> {
    SESSIONS
        .iter()
        .copied()
        .find(|&(from, to)| (from..to).contains(&seconds))
}

/// The working seconds of a day, in both sessions.
pub fn session_seconds() -> u32 {
    SESSIONS.iter().map(|(from, to)| to - from).sum()
}

/// The second of the day that is the `n`-th working second (`n` < [`session_seconds`]): a
/// uniform working second from a uniform `n`.
pub fn working_second(n: u32) -> u32 {
    let mut n = n % session_seconds();
    for (from, to) in SESSIONS {
        if n < to - from {
            return from + n;
        }
        n -= to - from;
    }
    unreachable!("n is below the sessions' total")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn offices_close_on_weekends_and_public_holidays_and_work_make_up_saturdays() {
        assert!(is_working_day(date("2023-12-01"))); // a Friday
        assert!(!is_working_day(date("2023-12-02"))); // a Saturday
        for holiday in [
            "2023-01-02",
            "2023-01-23",
            "2023-05-03",
            "2023-09-04",
            "2024-02-12",
            "2024-09-02",
        ] {
            assert!(!is_working_day(date(holiday)), "{holiday}");
        }
        assert!(is_working_day(date("2024-05-04")), "a make-up Saturday");
        assert!(
            matches!(special(date("2024-02-10")), Some(Special::Off(name)) if name.contains("Tết"))
        );
        // Every listed day off is in the table, and the table parses.
        assert!(table().len() > 30);
    }

    #[test]
    fn working_seconds_are_the_sessions_only() {
        assert_eq!(session_seconds(), 4 * 3600 + 3 * 3600 + 1800);
        assert_eq!(working_second(0), 7 * 3600 + 1800);
        assert_eq!(working_second(4 * 3600 - 1), 11 * 3600 + 1799);
        assert_eq!(working_second(4 * 3600), 13 * 3600 + 1800);
        for n in (0..session_seconds()).step_by(997) {
            assert!(in_session(working_second(n)));
        }
        assert!(!in_session(12 * 3600));
        assert_eq!(session_of(9 * 3600), Some(SESSIONS[0]));
        assert_eq!(session_of(18 * 3600), None);
    }
}
