//! `vnpop citizen show|sample` and `vnpop chip read`: a number refused or not found (masked), a
//! province filter that names none of the 34, and the record `citizen show` prints — its labels
//! ([`Label`]) and the sentences among its values, in the words of the card and the population
//! register (số định danh cá nhân, quê quán, nơi thường trú).

use chrono::NaiveDate;

use super::{catalogue, Message};
use crate::{
    cli::audit::report::Lang,
    domain::{CardKind, CardState, CccdError, CitizenStatus},
};

catalogue! {
    /// What the citizen commands print besides their data.
    pub(crate) enum Citizen {
        /// The number given is not a CCCD number (`typed` quoted).
        NotACccdNumber { typed: String, error: CccdError },
        /// No citizen of the population has this number (masked).
        NotFound { masked: String },
        /// `vnpop citizen NUMBER` (or `chip NUMBER`): the command meant (`command`, in full).
        UseSubcommand { command: String },
        /// The number was typed grouped (`typed` quoted), and is taken without its spaces or
        /// dashes.
        Ungrouped { typed: String },
        /// `--province` names none of the 34 provinces (`typed` quoted).
        UnknownProvince { typed: String },
        /// The record's first line.
        Heading { seed: u64 },
        /// The pre-reform form printed on the card, after its label.
        PrintedOnCard { line: String },
        /// The card: its kind, issue and expiry, and its state on `today`.
        Card { kind: CardKind, issued: NaiveDate, expires: Option<NaiveDate>, state: CardState, today: NaiveDate },
        /// No card issued.
        NoCard,
        /// The citizen's status.
        Status { status: CitizenStatus },
        /// The chip's DG13 extras.
        Dg13 { father: String, mother: String, spouse: String, features: String },
        /// No VNeID account.
        NoVneid,
        /// A VNeID account of this level.
        VneidLevel { level: u8 },
        /// The heading of the test credentials.
        TestCredentials,
        /// The TOTP secret and its parameters.
        TotpSecret { secret: String },
        /// The current one-time code and how long it lasts.
        CurrentCode { code: String, seconds: u64 },
    }
}

impl Message for Citizen {
    fn english(&self) -> String {
        match self {
            Citizen::NotACccdNumber { typed, error } => {
                format!("{typed} is not a valid CCCD number: {error}")
            }
            Citizen::NotFound { masked } => format!("no citizen has CCCD number {masked}"),
            Citizen::Ungrouped { typed } => {
                format!("{typed}: taken as a CCCD number without its spaces or dashes")
            }
            Citizen::UseSubcommand { command } => format!("to see this citizen, use '{command}'"),
            Citizen::UnknownProvince { typed } => {
                format!("--province: {typed} is none of the 34 provinces")
            }
            Citizen::Heading { seed } => format!("Citizen (synthetic population, seed {seed})"),
            Citizen::PrintedOnCard { line } => format!("{line} (printed on the card)"),
            Citizen::Card {
                kind,
                issued,
                expires,
                state,
                today,
            } => format!(
                "{} issued {issued}, {} ({state:?} on {today})",
                match kind {
                    CardKind::ChipCccd => "chip CCCD",
                    CardKind::IdentityCard2024 => "identity card (2024)",
                },
                expires.map_or("never expires".into(), |d| format!("expires {d}")),
            ),
            Citizen::NoCard => "none".into(),
            Citizen::Status { status } => format!("{status:?}"),
            Citizen::Dg13 {
                father,
                mother,
                spouse,
                features,
            } => format!("father {father}; mother {mother}; spouse {spouse}; features {features}"),
            Citizen::NoVneid => "none".into(),
            Citizen::VneidLevel { level } => format!("level {level}"),
            Citizen::TestCredentials => "TEST CREDENTIALS — DEVELOPMENT ONLY (derived from the seed; anyone with the seed has them)".into(),
            Citizen::TotpSecret { secret } => format!("{secret} (base32; SHA-1, 6 digits, 30 s)"),
            Citizen::CurrentCode { code, seconds } => format!("{code} (for another {seconds} s)"),
        }
    }

    fn vietnamese(&self) -> String {
        let date = |d: &NaiveDate| Lang::Vi.date(*d);
        match self {
            Citizen::NotACccdNumber { typed, error } => format!(
                "{typed} không phải số định danh cá nhân hợp lệ: {}",
                crate::lang::messages::cccd_error(error)
            ),
            Citizen::NotFound { masked } => {
                format!("không tìm thấy công dân có số định danh cá nhân {masked}")
            }
            Citizen::Ungrouped { typed } => {
                format!("{typed}: đã bỏ dấu cách, dấu gạch ngang để lấy số định danh cá nhân")
            }
            Citizen::UseSubcommand { command } => {
                format!("để xem công dân này, dùng lệnh '{command}'")
            }
            Citizen::UnknownProvince { typed } => format!(
                "--province: {typed} không phải tên hoặc mã của tỉnh, thành phố nào trong 34 tỉnh, thành phố"
            ),
            Citizen::Heading { seed } => {
                format!("Công dân (dân cư giả lập, --seed {seed})")
            }
            Citizen::PrintedOnCard { line } => format!("{line} (ghi trên thẻ)"),
            Citizen::Card {
                kind,
                issued,
                expires,
                state,
                today,
            } => format!(
                "{} cấp ngày {}, {} ({} vào ngày {})",
                match kind {
                    CardKind::ChipCccd => "thẻ Căn cước công dân gắn chip",
                    CardKind::IdentityCard2024 => "thẻ Căn cước (mẫu 2024)",
                },
                date(issued),
                expires.map_or("không thời hạn".into(), |d| format!(
                    "có giá trị đến ngày {}",
                    date(&d)
                )),
                match state {
                    CardState::Valid => "còn giá trị sử dụng",
                    CardState::Expired => "đã hết hạn",
                    CardState::Revoked => "đã bị thu hồi",
                },
                date(today),
            ),
            Citizen::NoCard => "chưa được cấp thẻ".into(),
            Citizen::Status { status } => match status {
                CitizenStatus::Active => "còn sống, thẻ (nếu có) còn giá trị",
                CitizenStatus::Deceased => "đã chết",
                CitizenStatus::CardRevoked => "thẻ đã bị thu hồi",
            }
            .into(),
            Citizen::Dg13 {
                father,
                mother,
                spouse,
                features,
            } => format!(
                "họ tên cha {father}; họ tên mẹ {mother}; họ tên vợ hoặc chồng {spouse}; đặc điểm nhân dạng {features}"
            ),
            Citizen::NoVneid => "chưa có".into(),
            Citizen::VneidLevel { level } => format!("mức độ {level}"),
            Citizen::TestCredentials => "THÔNG TIN ĐĂNG NHẬP THỬ NGHIỆM — CHỈ DÙNG ĐỂ PHÁT TRIỂN (suy ra từ --seed; ai biết seed đều có được)".into(),
            Citizen::TotpSecret { secret } => {
                format!("{secret} (base32; SHA-1, 6 chữ số, 30 giây)")
            }
            Citizen::CurrentCode { code, seconds } => {
                format!("{code} (còn hiệu lực {seconds} giây)")
            }
        }
    }
}

catalogue! {
    /// The labels of the record `citizen show` prints, in the order it prints them.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Label {
        Cccd,
        Cmnd,
        FullName,
        DateOfBirth,
        Sex,
        Nationality,
        Ethnicity,
        Religion,
        PlaceOfOrigin,
        BeforeReform,
        PermanentAddress,
        Card,
        Status,
        Dg13,
        Vneid,
        Passcode,
        TotpSecret,
        CurrentCode,
        OtpauthUri,
    }
}

impl Label {
    /// Every label.
    const ALL: [Label; 19] = [
        Label::Cccd,
        Label::Cmnd,
        Label::FullName,
        Label::DateOfBirth,
        Label::Sex,
        Label::Nationality,
        Label::Ethnicity,
        Label::Religion,
        Label::PlaceOfOrigin,
        Label::BeforeReform,
        Label::PermanentAddress,
        Label::Card,
        Label::Status,
        Label::Dg13,
        Label::Vneid,
        Label::Passcode,
        Label::TotpSecret,
        Label::CurrentCode,
        Label::OtpauthUri,
    ];

    /// The label in the CLI's language, padded so that the values line up (19 characters in
    /// English, as before; the longest Vietnamese label and a space in Vietnamese).
    pub(crate) fn padded(self) -> String {
        let language = crate::cli::language::language();
        let width = Label::ALL
            .iter()
            .map(|l| l.in_language(language).chars().count() + 1)
            .max()
            .unwrap_or(0)
            .max(19);
        let text = self.in_language(language);
        let pad = width.saturating_sub(text.chars().count()).max(1);
        format!("{text}{}", " ".repeat(pad))
    }
}

impl Message for Label {
    fn english(&self) -> String {
        match self {
            Label::Cccd => "CCCD number",
            Label::Cmnd => "CMND number",
            Label::FullName => "Full name",
            Label::DateOfBirth => "Date of birth",
            Label::Sex => "Sex",
            Label::Nationality => "Nationality",
            Label::Ethnicity => "Ethnicity",
            Label::Religion => "Religion",
            Label::PlaceOfOrigin => "Place of origin",
            Label::BeforeReform => "Before 1 July 2025",
            Label::PermanentAddress => "Permanent address",
            Label::Card => "Card",
            Label::Status => "Status",
            Label::Dg13 => "Chip DG13 extras",
            Label::Vneid => "VNeID account",
            Label::Passcode => "Passcode",
            Label::TotpSecret => "TOTP secret",
            Label::CurrentCode => "Current code",
            Label::OtpauthUri => "otpauth URI",
        }
        .into()
    }

    fn vietnamese(&self) -> String {
        match self {
            Label::Cccd => "Số định danh cá nhân",
            Label::Cmnd => "Số CMND",
            Label::FullName => "Họ, chữ đệm và tên",
            Label::DateOfBirth => "Ngày, tháng, năm sinh",
            Label::Sex => "Giới tính",
            Label::Nationality => "Quốc tịch",
            Label::Ethnicity => "Dân tộc",
            Label::Religion => "Tôn giáo",
            Label::PlaceOfOrigin => "Quê quán",
            Label::BeforeReform => "Trước ngày 01/7/2025",
            Label::PermanentAddress => "Nơi thường trú",
            Label::Card => "Thẻ",
            Label::Status => "Tình trạng",
            Label::Dg13 => "Dữ liệu chip DG13",
            Label::Vneid => "Tài khoản VNeID",
            Label::Passcode => "Mật khẩu",
            Label::TotpSecret => "Khóa bí mật TOTP",
            Label::CurrentCode => "Mã hiện tại",
            Label::OtpauthUri => "Đường dẫn otpauth",
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CccdNumber;

    fn examples() -> Vec<Citizen> {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let masked = CccdNumber::parse("001090012345").unwrap().masked();
        vec![
            Citizen::NotACccdNumber {
                typed: "\"00109001234O\"".into(),
                error: CccdNumber::parse("00109001234O").unwrap_err(),
            },
            Citizen::NotFound { masked },
            Citizen::Ungrouped {
                typed: "\"001 090 012345\"".into(),
            },
            Citizen::UseSubcommand {
                command: "vnpop citizen show NUMBER".into(),
            },
            Citizen::UnknownProvince {
                typed: "\"Hòa Bình\"".into(),
            },
            Citizen::Heading { seed: 2026 },
            Citizen::PrintedOnCard {
                line: "Xã Mai Hạ, Huyện Mai Châu, Tỉnh Hòa Bình".into(),
            },
            Citizen::Card {
                kind: CardKind::IdentityCard2024,
                issued: day(2024, 7, 1),
                expires: Some(day(2039, 7, 1)),
                state: CardState::Valid,
                today: day(2026, 11, 23),
            },
            Citizen::NoCard,
            Citizen::Status {
                status: CitizenStatus::Deceased,
            },
            Citizen::Dg13 {
                father: "Nguyễn Văn Bình".into(),
                mother: "Trần Thị Hoa".into(),
                spouse: "-".into(),
                features: "Nốt ruồi cách 2 cm dưới mép trái".into(),
            },
            Citizen::NoVneid,
            Citizen::VneidLevel { level: 2 },
            Citizen::TestCredentials,
            Citizen::TotpSecret {
                secret: "JBSWY3DPEHPK3PXP".into(),
            },
            Citizen::CurrentCode {
                code: "123456".into(),
                seconds: 17,
            },
        ]
    }

    #[test]
    fn every_message_and_label_is_written_in_both_languages() {
        use super::super::tests::check;
        check(&examples(), Citizen::VARIANTS, Citizen::variant);
        check(&Label::ALL, Label::VARIANTS, Label::variant);
    }

    #[test]
    fn a_malformed_number_says_which_part_in_vietnamese() {
        let message = Citizen::NotACccdNumber {
            typed: "\"00109001234O\"".into(),
            error: CccdNumber::parse("00109001234O").unwrap_err(),
        };
        assert!(
            message
                .vietnamese()
                .contains("dãy số ngẫu nhiên (chữ số 7-12) có ký tự 'O'"),
            "{}",
            message.vietnamese()
        );
    }

    #[test]
    fn english_labels_keep_their_column() {
        assert_eq!(Label::Passcode.padded(), "Passcode           ");
        assert_eq!(Label::Vneid.padded(), "VNeID account      ");
    }
}
