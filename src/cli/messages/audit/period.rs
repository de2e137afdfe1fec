//! `vnpop audit … --from --to`: a day that is not one, a period wider than an audit answers, a
//! period that ends before it starts.

use chrono::NaiveDate;

use super::super::{catalogue, Message};
use crate::{
    cli::audit::report::Lang,
    error::{quote, ApiError},
};

catalogue! {
    /// What the audit commands print of a period they refuse.
    // The variants keep the names they had in the audit commands' one catalogue.
    #[allow(clippy::enum_variant_names)]
    pub(crate) enum Period {
        /// `report`: a day that is not one (`typed` as given).
        BadDay { flag: String, typed: String, error: ApiError },
        /// `report`: a period wider than an audit answers.
        TooWide { flag: String, from: NaiveDate, to: NaiveDate, error: ApiError },
        /// `report`: the period ends before it starts.
        EmptyPeriod { from_flag: String, from: String, to_flag: String, to: String },
    }
}

/// A flag's bad value, as the audit answers word it.
fn flag_error(flag: &str, error: &ApiError) -> String {
    match error {
        ApiError::InvalidField { message, .. } => format!("{flag} {message}"),
        other => format!("{flag}: {other}"),
    }
}

impl Message for Period {
    fn english(&self) -> String {
        match self {
            Period::BadDay { flag, error, .. } | Period::TooWide { flag, error, .. } => {
                flag_error(flag, error)
            }
            Period::EmptyPeriod {
                from_flag,
                from,
                to_flag,
                to,
            } => format!("empty period: {to_flag} {to} is before {from_flag} {from}"),
        }
    }

    fn vietnamese(&self) -> String {
        let date = |d: &NaiveDate| Lang::Vi.date(*d);
        match self {
            Period::BadDay { flag, typed, .. } => format!(
                "{flag} {}: không phải ngày hợp lệ của kỳ kiểm tra (viết theo dạng YYYY-MM-DD, \
                 năm từ {} đến {})",
                quote(typed),
                crate::audit::answers::YEARS.start(),
                crate::audit::answers::YEARS.end()
            ),
            Period::TooWide { flag, from, to, .. } => format!(
                "{flag}: kỳ từ {} đến {} dài hơn {} năm; hãy chọn kỳ ngắn hơn",
                date(from),
                date(to),
                crate::audit::answers::MAX_PERIOD_YEARS
            ),
            Period::EmptyPeriod {
                from_flag,
                from,
                to_flag,
                to,
            } => format!("kỳ báo cáo rỗng: {to_flag} {to} trước {from_flag} {from}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Period> {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        vec![
            Period::BadDay {
                flag: "--from".into(),
                typed: "2023-13-01".into(),
                error: crate::audit::answers::parse_day("from", "2023-13-01").unwrap_err(),
            },
            Period::TooWide {
                flag: "--to".into(),
                from: day(2000, 1, 1),
                to: day(2023, 12, 31),
                error: crate::audit::answers::days("2000-01-01", "2023-12-31").unwrap_err(),
            },
            Period::EmptyPeriod {
                from_flag: "--from".into(),
                from: "2023-12-31".into(),
                to_flag: "--to".into(),
                to: "2023-01-01".into(),
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::super::tests::check(&examples(), Period::VARIANTS, Period::variant);
    }
}
