//! The 12-digit CCCD number (số định danh cá nhân): `PPP G YY NNNNNN`.
//!
//! - `PPP`: the province code where the birth was registered ([`ProvinceCode`]);
//! - `G`: sex and century of birth: 0/1 male/female born 1900–1999, 2/3 2000–2099, 4/5 2100s,
//!   6/7 2200s, 8/9 2300s;
//! - `YY`: the last two digits of the birth year;
//! - `NNNNNN`: six serial digits.
//!
//! Parsing checks each part and says which one is wrong. A well-formed number can still
//! contradict a record (a woman whose number says male); [`CccdNumber::contradictions`] finds that.

use std::fmt;

use chrono::{Datelike, NaiveDate, Utc};

use super::{ProvinceCode, Sex};

/// A structurally valid CCCD number. Stored as an integer: 8 bytes, cheap to hash and copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CccdNumber(u64);

/// The four parts of a CCCD number, used to say which one is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CccdPart {
    /// Digits 1–3.
    Province,
    /// Digit 4.
    GenderCentury,
    /// Digits 5–6.
    BirthYear,
    /// Digits 7–12.
    Serial,
}

impl CccdPart {
    /// A stable lower-case name, used in error details.
    pub fn name(self) -> &'static str {
        match self {
            CccdPart::Province => "province",
            CccdPart::GenderCentury => "gender_century",
            CccdPart::BirthYear => "birth_year",
            CccdPart::Serial => "serial",
        }
    }

    fn of_position(index: usize) -> Self {
        match index {
            0..=2 => CccdPart::Province,
            3 => CccdPart::GenderCentury,
            4..=5 => CccdPart::BirthYear,
            _ => CccdPart::Serial,
        }
    }
}

impl fmt::Display for CccdPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CccdPart::Province => "province code (digits 1-3)",
            CccdPart::GenderCentury => "gender/century digit (digit 4)",
            CccdPart::BirthYear => "birth year (digits 5-6)",
            CccdPart::Serial => "serial (digits 7-12)",
        })
    }
}

/// Why a string is not a CCCD number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CccdError {
    /// Twelve digits with spaces or dashes between them (`001 090 012345`, `001-090-012345`):
    /// the number is written without them.
    #[error("a CCCD number is 12 digits written together: remove the spaces or dashes")]
    Grouped,
    /// Not 12 characters long (the count is given).
    #[error("a CCCD number has 12 digits, this one has {0} characters")]
    Length(usize),
    /// A character that is not a digit, in `part`.
    #[error("the {part} contains '{found}', which is not a digit")]
    NotADigit {
        /// The part of the number it is in.
        part: CccdPart,
        /// The character.
        found: char,
    },
    /// The first three digits are not one of the 63 province codes.
    #[error(
        "the province code {0:03} does not exist (see the list of 63 birth-registration codes)"
    )]
    UnknownProvince(u16),
    /// The gender/century digit (4th) means a century that has not begun.
    #[error("the gender/century digit {digit} means born in {century_start}-{}, which has not begun", century_start + 99)]
    CenturyInFuture {
        /// The 4th digit.
        digit: u8,
        /// The first year of the century it means.
        century_start: i32,
    },
    /// Digits 4–6 mean a birth year after this year.
    #[error("the birth year digits {yy:02} with the gender/century digit mean born in {year}, which is in the future")]
    BirthYearInFuture {
        /// Digits 5–6.
        yy: u8,
        /// The birth year they mean.
        year: i32,
    },
}

impl CccdError {
    /// The part of the number that is wrong; `None` when the length is.
    pub fn part(&self) -> Option<CccdPart> {
        match self {
            CccdError::Length(_) | CccdError::Grouped => None,
            CccdError::NotADigit { part, .. } => Some(*part),
            CccdError::UnknownProvince(_) => Some(CccdPart::Province),
            CccdError::CenturyInFuture { .. } => Some(CccdPart::GenderCentury),
            CccdError::BirthYearInFuture { .. } => Some(CccdPart::BirthYear),
        }
    }
}

/// `text` without the spaces and dashes between its digits, when it has some and is 12 digits
/// without them (`001 090 012345`, `001-090-012345`: the grouping people write a number in).
pub fn ungrouped(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.contains([' ', '-']) {
        return None;
    }
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl CccdNumber {
    /// Parses and validates a number against today's date (a birth year may not be in the future).
    pub fn parse(text: &str) -> Result<Self, CccdError> {
        Self::parse_as_of(text, Utc::now().year())
    }

    /// Parses and validates a number as if the current year were `current_year`.
    pub fn parse_as_of(text: &str, current_year: i32) -> Result<Self, CccdError> {
        let text = text.trim();
        if ungrouped(text).is_some() {
            return Err(CccdError::Grouped);
        }
        let count = text.chars().count();
        if count != 12 {
            return Err(CccdError::Length(count));
        }
        let mut value: u64 = 0;
        for (i, c) in text.chars().enumerate() {
            let digit = c.to_digit(10).ok_or(CccdError::NotADigit {
                part: CccdPart::of_position(i),
                found: c,
            })?;
            value = value * 10 + u64::from(digit);
        }
        let number = CccdNumber(value);
        let province = number.province_digits();
        if ProvinceCode::new(province).is_none() {
            return Err(CccdError::UnknownProvince(province));
        }
        let digit = number.gender_century_digit();
        let century_start = 1900 + 100 * i32::from(digit / 2);
        if century_start > current_year {
            return Err(CccdError::CenturyInFuture {
                digit,
                century_start,
            });
        }
        if number.birth_year() > current_year {
            return Err(CccdError::BirthYearInFuture {
                yy: number.birth_year_digits(),
                year: number.birth_year(),
            });
        }
        Ok(number)
    }

    /// Builds the number of a person from its parts. `birth_year` must be 1900–2399 and
    /// `serial` below 1,000,000.
    pub fn from_parts(province: ProvinceCode, sex: Sex, birth_year: i32, serial: u32) -> Self {
        assert!((1900..2400).contains(&birth_year) && serial < 1_000_000);
        let century = ((birth_year - 1900) / 100) as u64;
        let digit = century * 2 + u64::from(sex == Sex::Female);
        let yy = (birth_year % 100) as u64;
        CccdNumber(
            u64::from(province.get()) * 1_000_000_000
                + digit * 100_000_000
                + yy * 1_000_000
                + u64::from(serial),
        )
    }

    /// The number with its serial replaced (used to resolve collisions deterministically).
    pub fn with_serial(self, serial: u32) -> Self {
        CccdNumber(self.0 - u64::from(self.serial()) + u64::from(serial % 1_000_000))
    }

    /// The province of birth registration (digits 1–3).
    pub fn province(self) -> ProvinceCode {
        ProvinceCode::new(self.province_digits()).expect("validated at construction")
    }

    /// The sex the number encodes.
    pub fn sex(self) -> Sex {
        if self.gender_century_digit().is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The birth year the number encodes (century from digit 4, year from digits 5–6).
    pub fn birth_year(self) -> i32 {
        1900 + 100 * i32::from(self.gender_century_digit() / 2)
            + i32::from(self.birth_year_digits())
    }

    /// The six serial digits as a number.
    pub fn serial(self) -> u32 {
        (self.0 % 1_000_000) as u32
    }

    /// The parts of this number that contradict a record's sex and date of birth.
    pub fn contradictions(self, sex: Sex, date_of_birth: NaiveDate) -> Vec<CccdPart> {
        let mut parts = Vec::new();
        let year = date_of_birth.year();
        if self.sex() != sex || (year - 1900).div_euclid(100) != (self.birth_year() - 1900) / 100 {
            parts.push(CccdPart::GenderCentury);
        }
        if year.rem_euclid(100) != i32::from(self.birth_year_digits()) {
            parts.push(CccdPart::BirthYear);
        }
        parts
    }

    /// The number for logs: the province code and the last three digits, e.g. `001******345`.
    pub fn masked(self) -> String {
        let text = self.to_string();
        format!("{}******{}", &text[..3], &text[9..])
    }

    fn province_digits(self) -> u16 {
        (self.0 / 1_000_000_000) as u16
    }

    fn gender_century_digit(self) -> u8 {
        (self.0 / 100_000_000 % 10) as u8
    }

    fn birth_year_digits(self) -> u8 {
        (self.0 / 1_000_000 % 100) as u8
    }
}

impl fmt::Display for CccdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CccdNumber, CccdError> {
        CccdNumber::parse_as_of(text, 2026)
    }

    #[test]
    fn decodes_the_shared_example() {
        // A woman born in 1999 whose birth was registered in Hà Nam.
        let n = parse("035199000123").unwrap();
        assert_eq!(n.province().province().name, "Hà Nam");
        assert_eq!(n.sex(), Sex::Female);
        assert_eq!(n.birth_year(), 1999);
        assert_eq!(n.serial(), 123);
        assert_eq!(n.to_string(), "035199000123");
        assert_eq!(n.masked(), "035******123");
    }

    #[test]
    fn round_trips_through_parts() {
        let p = ProvinceCode::new(79).unwrap();
        let n = CccdNumber::from_parts(p, Sex::Male, 2005, 42);
        assert_eq!(n.to_string(), "079205000042");
        assert_eq!(parse(&n.to_string()), Ok(n));
        assert_eq!(n.with_serial(999_999).to_string(), "079205999999");
    }

    #[test]
    fn a_grouped_number_is_refused_with_the_way_to_write_it() {
        for grouped in [
            "001 090 012345",
            "001-090-012345",
            " 001090 012345 ",
            "0010-9001-2345",
        ] {
            let error = parse(grouped).unwrap_err();
            assert_eq!(error, CccdError::Grouped, "{grouped}");
            assert!(error.to_string().contains("remove the spaces or dashes"));
            assert_eq!(ungrouped(grouped).as_deref(), Some("001090012345"));
        }
        // Not twelve digits once ungrouped, or nothing to remove: the usual errors.
        assert_eq!(parse("001 090 01234"), Err(CccdError::Length(13)));
        assert_eq!(ungrouped("001090012345"), None);
        assert_eq!(ungrouped("001 090 O12345"), None);
    }

    #[test]
    fn names_the_wrong_part() {
        assert_eq!(parse("00109001234"), Err(CccdError::Length(11)));
        assert_eq!(parse("0010900123456"), Err(CccdError::Length(13)));
        assert_eq!(
            parse("0A1090012345").unwrap_err().part(),
            Some(CccdPart::Province)
        );
        assert_eq!(
            parse("001X90012345").unwrap_err().part(),
            Some(CccdPart::GenderCentury)
        );
        assert_eq!(
            parse("00109001234Z").unwrap_err().part(),
            Some(CccdPart::Serial)
        );
        assert_eq!(parse("003090012345"), Err(CccdError::UnknownProvince(3)));
        assert_eq!(
            parse("001490012345"),
            Err(CccdError::CenturyInFuture {
                digit: 4,
                century_start: 2100
            })
        );
        assert_eq!(
            parse("001230012345"),
            Err(CccdError::BirthYearInFuture { yy: 30, year: 2030 })
        );
        let message = parse("001230012345").unwrap_err().to_string();
        assert!(message.contains("2030"), "{message}");
    }

    #[test]
    fn finds_contradictions_with_a_record() {
        let n = parse("035199000123").unwrap();
        let born = NaiveDate::from_ymd_opt(1999, 4, 2).unwrap();
        assert!(n.contradictions(Sex::Female, born).is_empty());
        assert_eq!(
            n.contradictions(Sex::Male, born),
            vec![CccdPart::GenderCentury]
        );
        let other_year = NaiveDate::from_ymd_opt(1998, 4, 2).unwrap();
        assert_eq!(
            n.contradictions(Sex::Female, other_year),
            vec![CccdPart::BirthYear]
        );
        let other_century = NaiveDate::from_ymd_opt(2099, 4, 2).unwrap();
        assert_eq!(
            n.contradictions(Sex::Female, other_century),
            vec![CccdPart::GenderCentury]
        );
    }
}
