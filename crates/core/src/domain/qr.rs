//! The QR code printed on the chip CCCD and the 2024 identity card.
//!
//! Its text is pipe-separated:
//! `CCCD|CMND-or-empty|Full name|ddmmyyyy birth|Nam/Nữ|permanent address|ddmmyyyy issue`.
//! Readers in the wild accept six or more parts (the issue date is optional), and the 2024 card
//! appends further parts (residence, cancelled numbers, parents' names), which are ignored.

use chrono::NaiveDate;

use super::{
    matching::canonical, CccdError, CccdNumber, CccdPart, Citizen, CmndError, CmndNumber, Sex,
};

/// The parsed content of a card's QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayload {
    /// Part 1: the CCCD number.
    pub cccd: CccdNumber,
    /// Part 2: the legacy CMND number, if printed.
    pub cmnd: Option<CmndNumber>,
    /// Part 3: the full name.
    pub full_name: String,
    /// Part 4: the date of birth.
    pub date_of_birth: NaiveDate,
    /// Part 5: the sex.
    pub sex: Sex,
    /// Part 6: the permanent address, one line.
    pub address: String,
    /// Part 7: the card's issue date, if present.
    pub issue_date: Option<NaiveDate>,
}

/// Why a QR text is not a card's QR payload. [`QrError::part`] names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Fewer than 6 `|`-separated parts (the count is given).
    #[error("a card QR code has at least 6 parts separated by '|', this one has {0}")]
    TooFewParts(usize),
    /// Part 1 is not a CCCD number.
    #[error("part 1 (CCCD number): {0}")]
    Cccd(CccdError),
    /// Part 2 is neither empty nor a CMND number.
    #[error("part 2 (legacy CMND number) must be empty or 9 digits: {0}")]
    Cmnd(CmndError),
    /// Part 3 is empty.
    #[error("part 3 (full name) is empty")]
    EmptyName,
    /// A date part is not `ddmmyyyy`.
    #[error("part {index} ({part}) must be a date written ddmmyyyy, got {value:?}")]
    BadDate {
        /// The part's position (1-based).
        index: usize,
        /// The part's name.
        part: &'static str,
        /// What it holds (cut).
        value: String,
    },
    /// Part 5 is neither "Nam" nor "Nữ".
    #[error("part 5 (sex) must be \"Nam\" or \"Nữ\", got {0:?}")]
    BadSex(String),
    /// Part 6 is empty.
    #[error("part 6 (permanent address) is empty")]
    EmptyAddress,
    /// The number's gender/century or birth-year digits contradict parts 4–5.
    #[error("the CCCD number's {0} contradicts the birth date or sex printed on the same card")]
    Inconsistent(CccdPart),
}

impl QrError {
    /// The name of the QR part at fault, e.g. `"date_of_birth"`.
    pub fn part(&self) -> &'static str {
        match self {
            QrError::TooFewParts(_) => "parts",
            QrError::Cccd(_) | QrError::Inconsistent(_) => "cccd_number",
            QrError::Cmnd(_) => "cmnd_number",
            QrError::EmptyName => "full_name",
            QrError::BadDate { part, .. } => part,
            QrError::BadSex(_) => "sex",
            QrError::EmptyAddress => "address",
        }
    }
}

/// At most 64 characters of a part, as an error quotes it (a QR text is bounded, but an error
/// never echoes a whole input).
fn quoted(value: &str) -> String {
    value.chars().take(64).collect()
}

fn parse_date(index: usize, part: &'static str, value: &str) -> Result<NaiveDate, QrError> {
    let value = value.trim();
    let bad = || QrError::BadDate {
        index,
        part,
        value: quoted(value),
    };
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    NaiveDate::parse_from_str(value, "%d%m%Y").map_err(|_| bad())
}

impl QrPayload {
    /// Parses a QR text, checking every part and that the CCCD number agrees with the birth date
    /// and sex printed beside it.
    pub fn parse(text: &str) -> Result<Self, QrError> {
        let parts: Vec<&str> = text.trim().split('|').collect();
        if parts.len() < 6 {
            return Err(QrError::TooFewParts(parts.len()));
        }
        let cccd = CccdNumber::parse(parts[0]).map_err(QrError::Cccd)?;
        let cmnd = match parts[1].trim() {
            "" => None,
            text => Some(CmndNumber::parse(text).map_err(QrError::Cmnd)?),
        };
        let full_name = parts[2].trim();
        if full_name.is_empty() {
            return Err(QrError::EmptyName);
        }
        let date_of_birth = parse_date(4, "date_of_birth", parts[3])?;
        let sex = match canonical(parts[4]).as_str() {
            "nam" => Sex::Male,
            "nữ" => Sex::Female,
            _ => return Err(QrError::BadSex(quoted(parts[4]))),
        };
        let address = parts[5].trim();
        if address.is_empty() {
            return Err(QrError::EmptyAddress);
        }
        let issue_date = match parts.get(6).map(|p| p.trim()) {
            None | Some("") => None,
            Some(text) => Some(parse_date(7, "issue_date", text)?),
        };
        if let Some(&part) = cccd.contradictions(sex, date_of_birth).first() {
            return Err(QrError::Inconsistent(part));
        }
        Ok(QrPayload {
            cccd,
            cmnd,
            full_name: full_name.to_owned(),
            date_of_birth,
            sex,
            address: address.to_owned(),
            issue_date,
        })
    }

    /// The QR content of the card a citizen holds now.
    pub fn of(citizen: &Citizen) -> Self {
        QrPayload {
            cccd: citizen.cccd,
            cmnd: citizen.cmnd,
            full_name: citizen.full_name.clone(),
            date_of_birth: citizen.date_of_birth,
            sex: citizen.sex,
            address: citizen.card_address(),
            issue_date: citizen.card.as_ref().map(|card| card.issued),
        }
    }

    /// The text encoded in the QR code.
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.cccd,
            self.cmnd.map(|n| n.to_string()).unwrap_or_default(),
            self.full_name,
            self.date_of_birth.format("%d%m%Y"),
            self.sex.vietnamese(),
            self.address,
            self.issue_date
                .map(|d| d.format("%d%m%Y").to_string())
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "035199000123|168123456|Trần Thị Mai|02041999|Nữ|Thôn 2, Xã Liêm Cần, Huyện Thanh Liêm, Hà Nam|15062021";

    #[test]
    fn parses_a_chip_card_qr_and_round_trips() {
        let qr = QrPayload::parse(SAMPLE).unwrap();
        assert_eq!(qr.cccd.to_string(), "035199000123");
        assert_eq!(qr.cmnd.unwrap().to_string(), "168123456");
        assert_eq!(qr.sex, Sex::Female);
        assert_eq!(
            qr.date_of_birth,
            NaiveDate::from_ymd_opt(1999, 4, 2).unwrap()
        );
        assert_eq!(qr.issue_date, NaiveDate::from_ymd_opt(2021, 6, 15));
        assert_eq!(qr.encode(), SAMPLE);
    }

    #[test]
    fn accepts_six_parts_and_extra_trailing_parts() {
        let six = SAMPLE.rsplit_once('|').unwrap().0;
        assert_eq!(QrPayload::parse(six).unwrap().issue_date, None);
        let longer = format!("{SAMPLE}|Hà Nam|034199000001|Trần Văn Bố|Lê Thị Mẹ");
        assert!(QrPayload::parse(&longer).is_ok());
    }

    #[test]
    fn names_the_bad_part() {
        let with = |index: usize, value: &str| {
            let mut parts: Vec<&str> = SAMPLE.split('|').collect();
            parts[index] = value;
            QrPayload::parse(&parts.join("|")).unwrap_err()
        };
        assert_eq!(
            QrPayload::parse("a|b|c").unwrap_err(),
            QrError::TooFewParts(3)
        );
        assert_eq!(with(0, "03519900012").part(), "cccd_number");
        assert_eq!(with(1, "12345").part(), "cmnd_number");
        assert_eq!(with(2, " ").part(), "full_name");
        assert_eq!(with(3, "31021999").part(), "date_of_birth");
        assert_eq!(with(4, "F").part(), "sex");
        assert_eq!(with(5, "").part(), "address");
        assert_eq!(with(6, "2021-06-15").part(), "issue_date");
        assert_eq!(
            with(4, "Nam"),
            QrError::Inconsistent(CccdPart::GenderCentury)
        );
        assert_eq!(
            with(3, "02041998"),
            QrError::Inconsistent(CccdPart::BirthYear)
        );
    }
}
