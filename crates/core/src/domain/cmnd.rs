//! The legacy 9-digit CMND number (chứng minh nhân dân), whose first two digits name the issuing
//! province. The population database links it to the citizen's CCCD record.

use std::fmt;

/// A well-formed legacy CMND number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CmndNumber(u32);

/// Why a string is not a CMND number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmndError {
    /// Not 9 characters long (the count is given).
    #[error("a CMND number has 9 digits, this one has {0} characters")]
    Length(usize),
    /// A character that is not a digit.
    #[error("a CMND number has only digits, this one contains '{0}'")]
    NotADigit(char),
}

impl CmndNumber {
    /// Reads a CMND number (surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<Self, CmndError> {
        let text = text.trim();
        let count = text.chars().count();
        if count != 9 {
            return Err(CmndError::Length(count));
        }
        let mut value = 0u32;
        for c in text.chars() {
            value = value * 10 + c.to_digit(10).ok_or(CmndError::NotADigit(c))?;
        }
        Ok(CmndNumber(value))
    }

    /// Builds a number from the issuing prefix (two digits) and seven serial digits.
    pub fn from_parts(prefix: u8, serial: u32) -> Self {
        CmndNumber(u32::from(prefix % 100) * 10_000_000 + serial % 10_000_000)
    }

    /// The issuing prefix (two digits) and the seven serial digits.
    pub fn parts(self) -> (u8, u32) {
        ((self.0 / 10_000_000) as u8, self.0 % 10_000_000)
    }

    /// The number with the serial advanced by one, wrapping within the prefix.
    #[cfg(test)]
    pub(crate) fn next_serial(self) -> Self {
        Self::from_parts((self.0 / 10_000_000) as u8, self.0 % 10_000_000 + 1)
    }

    /// The number for logs, e.g. `01*****78`.
    pub fn masked(self) -> String {
        let text = self.to_string();
        format!("{}*****{}", &text[..2], &text[7..])
    }
}

impl fmt::Display for CmndNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let n = CmndNumber::parse("012345678").unwrap();
        assert_eq!(n.to_string(), "012345678");
        assert_eq!(n.masked(), "01*****78");
        assert_eq!(CmndNumber::parse("01234567"), Err(CmndError::Length(8)));
        assert_eq!(
            CmndNumber::parse("01234567x"),
            Err(CmndError::NotADigit('x'))
        );
        assert_eq!(
            CmndNumber::from_parts(2, 9_999_999)
                .next_serial()
                .to_string(),
            "020000000"
        );
    }
}
