//! The Vietnamese message of each error the server answers: the catalogue's message of its
//! reason ([`Reason::vietnamese`]) with the details the English message gives — the masked
//! number (never a whole one), the field, the attempts left, the seconds to wait — written into
//! the sentence where an official would write them.

use crate::{
    domain::{CccdError, CccdPart, CmndError},
    error::ApiError,
    reason::Reason,
};

/// `error`'s message in Vietnamese.
pub(crate) fn vietnamese(error: &ApiError) -> String {
    match error {
        ApiError::ContextIncomplete { missing } => format!(
            "Yêu cầu thiếu thông tin bắt buộc: {} (mỗi lần tra cứu phải ghi rõ mã hồ sơ, mục đích tra cứu và cán bộ thực hiện).",
            missing.join(", ")
        ),
        ApiError::ContextTooLong { field, max } => {
            format!("Trường {field} dài quá mức cho phép: tối đa {max} ký tự.")
        }
        ApiError::InvalidCccd { field, error } => format!(
            "Số định danh cá nhân ({field}) không hợp lệ: {}. Đề nghị kiểm tra lại với người nộp hồ sơ.",
            cccd_error(error)
        ),
        ApiError::InvalidCmnd { field, error } => format!(
            "Số chứng minh nhân dân ({field}) không hợp lệ: {}.",
            match error {
                CmndError::Length(n) => format!("số phải gồm 9 chữ số, số đã nhập có {n} ký tự"),
                CmndError::NotADigit(c) => format!("số chỉ gồm chữ số, số đã nhập có ký tự '{c}'"),
            }
        ),
        ApiError::FieldTooLong { field, len, max } => {
            format!("Trường {field} dài quá mức cho phép: {len} byte, tối đa {max} byte.")
        }
        ApiError::EventRefused { index, refusal } => with_field(
            &refusal.reason(),
            &format!("events[{index}].{}", refusal.field()),
        ),
        ApiError::IngestQuotaExceeded {
            agency,
            per_minute,
            retry_after,
        } => format!(
            "Cơ quan {agency} đã dùng hết hạn mức {per_minute} bản ghi nhật ký mỗi phút; chưa lưu bản ghi nào của lô này, đề nghị gửi lại sau {} giây.",
            retry_after.as_secs().max(1)
        ),
        ApiError::BatchTooLarge { count, max } => format!(
            "Mỗi lần gửi tối đa {max} bản ghi nhật ký, lô này có {count}; đề nghị chia nhỏ lô."
        ),
        ApiError::CitizenNotFound { masked } => format!(
            "Không tìm thấy công dân có số định danh cá nhân {masked}; đề nghị kiểm tra lại số với người nộp hồ sơ."
        ),
        ApiError::CmndNotFound { masked } => format!(
            "Không tìm thấy công dân gắn với số chứng minh nhân dân {masked}; đề nghị người nộp hồ sơ cung cấp số định danh cá nhân."
        ),
        ApiError::RoleNotAllowed { agency, role, rpc } => format!(
            "Cơ quan {agency} (vai trò {role}) không được phân quyền thực hiện chức năng {rpc}."
        ),
        ApiError::FieldOutOfScope {
            agency,
            field,
            input,
        } => format!(
            "Cơ quan {agency} không được sử dụng {input}: phạm vi dữ liệu được phân quyền không gồm {field}."
        ),
        ApiError::VneidNoAccount { masked } => format!(
            "Công dân có số định danh cá nhân {masked} chưa có tài khoản định danh điện tử; đề nghị công dân đăng ký trên ứng dụng VNeID."
        ),
        ApiError::VneidLevelTooLow {
            masked,
            account,
            requested,
        } => format!(
            "Tài khoản định danh điện tử của công dân {masked} ở mức {account}, yêu cầu mức {requested} (tài khoản mức 2 được kích hoạt tại cơ quan Công an với thẻ căn cước gắn chip)."
        ),
        ApiError::VneidCitizenDeceased { masked } => format!(
            "Công dân có số định danh cá nhân {masked} đã được ghi nhận là đã chết; không sử dụng được tài khoản định danh điện tử."
        ),
        ApiError::VneidCardRevoked { masked } => format!(
            "Thẻ căn cước của công dân {masked} đã bị thu hồi; tài khoản định danh điện tử đang bị tạm khóa."
        ),
        ApiError::VneidRefused { masked } => format!(
            "Công dân {masked} không xác thực được bằng tài khoản định danh điện tử ở mức yêu cầu; phạm vi dữ liệu của cơ quan không cho phép nêu lý do."
        ),
        ApiError::VneidAccountLocked { masked, unlocks_in } => format!(
            "Tài khoản định danh điện tử của công dân {masked} bị tạm khóa do nhập sai nhiều lần; đề nghị thực hiện lại sau {} giây.",
            unlocks_in.as_secs().max(1)
        ),
        ApiError::VneidChallengeQuota { agency, max } => format!(
            "Cơ quan {agency} đã có {max} phiên xác thực đang chờ, mức tối đa; đề nghị hoàn tất hoặc chờ các phiên hết hạn."
        ),
        ApiError::VneidPasscodeWrong { attempts_left } => format!(
            "Mật khẩu tài khoản định danh điện tử không đúng (còn {attempts_left} lần thử trước khi tài khoản bị tạm khóa)."
        ),
        ApiError::VneidCodeWrong { attempts_left } => format!(
            "Mã xác thực một lần (OTP) không đúng hoặc đã hết hiệu lực (còn {attempts_left} lần thử trước khi tài khoản bị tạm khóa)."
        ),
        ApiError::MessageTooLarge { limit, size } => format!(
            "Dữ liệu yêu cầu có {size} byte, vượt quá dung lượng {limit} byte chức năng này cho phép."
        ),
        ApiError::CitizenHasNoCard { masked } => format!(
            "Công dân có số định danh cá nhân {masked} chưa được cấp thẻ căn cước nên không có thẻ để thu hồi."
        ),
        ApiError::FaultInjected { rule, rpc, kind } => format!(
            "LỖI GIẢ LẬP, không phải sự cố thật: quy tắc kiểm thử (QA) {rule:?} cố ý trả lỗi {} cho {rpc}.",
            kind.name().to_uppercase()
        ),
        ApiError::Overloaded { rule, rpc, .. } => format!(
            "Cơ sở dữ liệu quốc gia về dân cư đang quá tải; đề nghị thực hiện lại sau (GIẢ LẬP bởi quy tắc kiểm thử {rule:?} cho {rpc})."
        ),
        ApiError::InvalidField { field, .. } => with_field(&error.reason(), field),
        ApiError::CleaningJobInvalid { field, .. } => with_field(&error.reason(), field),
        ApiError::CleaningBatchTooLarge { count, max } => format!(
            "Mỗi lần gửi tối đa {max} bản ghi làm sạch dữ liệu, lô này có {count}; đề nghị chia nhỏ lô."
        ),
        ApiError::ChipReadMalformed { field, .. }
        | ApiError::FaultRuleInvalid { field, .. }
        | ApiError::FixtureInvalid { field, .. } => with_field(&error.reason(), field),
        _ => error
            .reason()
            .vietnamese()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The catalogue's message of `reason`, naming the field concerned.
fn with_field(reason: &Reason, field: &str) -> String {
    let message = reason.vietnamese().unwrap_or_default();
    let sentence = message.strip_suffix('.').unwrap_or(message);
    format!("{sentence} (trường {field}).")
}

/// What is wrong with a CCCD number, in Vietnamese.
pub(crate) fn cccd_error(error: &CccdError) -> String {
    match error {
        CccdError::Length(n) => format!("số phải gồm 12 chữ số, số đã nhập có {n} ký tự"),
        CccdError::Grouped => {
            "số gồm 12 chữ số viết liền: đề nghị bỏ dấu cách hoặc dấu gạch ngang".into()
        }
        CccdError::NotADigit { part, found } => {
            format!("{} có ký tự '{found}', không phải chữ số", part_name(*part))
        }
        CccdError::UnknownProvince(code) => format!(
            "mã {code:03} không phải mã tỉnh, thành phố nơi đăng ký khai sinh (63 mã theo quy định)"
        ),
        CccdError::CenturyInFuture {
            digit,
            century_start,
        } => format!(
            "chữ số thứ 4 là {digit}, chỉ năm sinh từ {century_start} đến {}, chưa đến",
            century_start + 99
        ),
        CccdError::BirthYearInFuture { year, .. } => {
            format!("năm sinh thể hiện trong số là {year}, sau năm hiện tại")
        }
    }
}

/// A part of a CCCD number, in Vietnamese.
fn part_name(part: CccdPart) -> &'static str {
    match part {
        CccdPart::Province => "mã tỉnh (chữ số 1-3)",
        CccdPart::GenderCentury => "mã thế kỷ và giới tính (chữ số 4)",
        CccdPart::BirthYear => "năm sinh (chữ số 5-6)",
        CccdPart::Serial => "dãy số ngẫu nhiên (chữ số 7-12)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_number_is_in_the_vietnamese_message_and_the_whole_one_never() {
        let masked = crate::domain::CccdNumber::parse("001090012345")
            .unwrap()
            .masked();
        let message = vietnamese(&ApiError::CitizenNotFound {
            masked: masked.clone(),
        });
        assert!(message.contains(&masked), "{message}");
        assert!(!message.contains("001090012345"), "{message}");
        assert!(message.starts_with("Không tìm thấy công dân"), "{message}");
    }

    #[test]
    fn a_malformed_number_says_which_part_in_vietnamese() {
        let message = vietnamese(&ApiError::InvalidCccd {
            field: "cccd_number",
            error: CccdError::NotADigit {
                part: CccdPart::Serial,
                found: 'O',
            },
        });
        assert!(
            message.contains("dãy số ngẫu nhiên (chữ số 7-12) có ký tự 'O'"),
            "{message}"
        );
        let field = vietnamese(&ApiError::InvalidField {
            field: "declared.date_of_birth",
            message: "no such day".into(),
        });
        assert!(
            field.ends_with("(trường declared.date_of_birth)."),
            "{field}"
        );
    }
}
