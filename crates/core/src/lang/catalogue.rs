//! The Vietnamese message of every reason of the error catalogue, as the officer at a one-stop
//! desk reads it: what is wrong and what to do, in the words of the administration (số định danh
//! cá nhân, người nộp hồ sơ, tài khoản định danh điện tử …). The error catalogue (docs/errors.md) shows each
//! beside the English; the server adds the details it knows (the masked number, the field, the
//! attempts left) in `super::messages`.

use crate::reason::Reason;

impl Reason {
    /// The catalogue's Vietnamese message of this reason; `None` for a reason this version does
    /// not know ([`Reason::Other`]).
    pub fn vietnamese(&self) -> Option<&'static str> {
        Some(match self {
            Reason::RequestContextIncomplete => {
                "Yêu cầu thiếu thông tin bắt buộc: mỗi lần tra cứu phải ghi rõ mã hồ sơ, mục đích tra cứu và cán bộ thực hiện."
            }
            Reason::RequestContextTooLong => {
                "Mã hồ sơ, mục đích tra cứu hoặc mã cán bộ dài quá mức cho phép."
            }
            Reason::CccdMalformed => {
                "Số định danh cá nhân không hợp lệ: số phải gồm đủ 12 chữ số. Đề nghị kiểm tra lại với người nộp hồ sơ."
            }
            Reason::CccdUnknownProvince => {
                "Số định danh cá nhân không hợp lệ: ba chữ số đầu không phải mã tỉnh, thành phố nơi đăng ký khai sinh."
            }
            Reason::CccdCenturyInFuture => {
                "Số định danh cá nhân không hợp lệ: chữ số thứ 4 (mã thế kỷ và giới tính) chỉ năm sinh từ năm 2100 trở đi."
            }
            Reason::CccdBirthYearInFuture => {
                "Số định danh cá nhân không hợp lệ: năm sinh thể hiện trong số (chữ số thứ 4 đến thứ 6) sau năm hiện tại."
            }
            Reason::CmndMalformed => "Số chứng minh nhân dân không hợp lệ: số phải gồm đủ 9 chữ số.",
            Reason::QrMalformed => {
                "Không đọc được mã QR trên thẻ: dữ liệu thiếu hoặc sai định dạng. Đề nghị quét lại mã QR."
            }
            Reason::QrInconsistent => {
                "Dữ liệu mã QR không thống nhất: số định danh cá nhân không khớp với ngày sinh hoặc giới tính ghi trong mã."
            }
            Reason::DeclaredEmpty => {
                "Chưa có thông tin kê khai để đối chiếu: cần nhập ít nhất một trong các thông tin họ và tên, ngày sinh, giới tính, nơi thường trú."
            }
            Reason::FieldInvalid => "Thông tin nhập không hợp lệ; trường sai được nêu trong chi tiết lỗi.",
            Reason::FieldTooLong => "Thông tin nhập dài quá mức cho phép.",
            Reason::EventInvalid => {
                "Bản ghi nhật ký thiếu thông tin bắt buộc hoặc có giá trị không hợp lệ."
            }
            Reason::DistrictNotServed => {
                "Bản ghi nhật ký ghi quận, huyện không thuộc phạm vi tiếp nhận hồ sơ của cơ quan."
            }
            Reason::DistrictAbolished => {
                "Cấp huyện đã kết thúc hoạt động từ ngày 01/7/2025: hồ sơ tiếp nhận từ ngày này phải ghi xã, phường, đặc khu tiếp nhận."
            }
            Reason::CommuneUnknown => {
                "Xã, phường, đặc khu ghi trong bản ghi nhật ký không phải đơn vị hành chính hiện hành."
            }
            Reason::CommuneNotServed => {
                "Xã, phường, đặc khu ghi trong bản ghi nhật ký không thuộc phạm vi tiếp nhận hồ sơ của cơ quan."
            }
            Reason::ReportTooLate => "Bản ghi nhật ký đã quá thời hạn được phép báo cáo.",
            Reason::ReportInFuture => {
                "Thời điểm ghi trong bản ghi nhật ký sau giờ của máy chủ quá 5 phút; đề nghị kiểm tra đồng hồ máy tính."
            }
            Reason::LoadTestNotAllowed => {
                "Cơ quan không được phép đánh dấu yêu cầu là thử tải (load test)."
            }
            Reason::IngestQuotaExceeded => {
                "Cơ quan đã gửi vượt hạn mức bản ghi nhật ký trong một phút; chưa lưu bản ghi nào của lô này, đề nghị gửi lại sau."
            }
            Reason::BatchTooLarge => {
                "Lô bản ghi nhật ký vượt quá số lượng cho phép trong một lần gửi; đề nghị chia nhỏ lô."
            }
            Reason::CleaningJobInvalid => {
                "Thông tin đợt làm sạch dữ liệu thiếu hoặc không hợp lệ: mã đợt, mục đích và cán bộ thực hiện phải được ghi ở thông điệp đầu tiên."
            }
            Reason::CleaningBatchTooLarge => {
                "Lô bản ghi làm sạch dữ liệu vượt quá số lượng cho phép trong một lần gửi; đề nghị chia nhỏ lô."
            }
            Reason::CleaningNotAllowed => {
                "Cơ quan chưa được phép làm sạch dữ liệu đối chiếu với Cơ sở dữ liệu quốc gia về dân cư; đề nghị liên hệ đơn vị quản trị hệ thống."
            }
            Reason::CitizenNotFound => {
                "Không tìm thấy công dân có số định danh cá nhân này; đề nghị kiểm tra lại số với người nộp hồ sơ."
            }
            Reason::CmndNotFound => {
                "Không tìm thấy công dân gắn với số chứng minh nhân dân này; đề nghị người nộp hồ sơ cung cấp số định danh cá nhân."
            }
            Reason::ClientCertificateMissing => {
                "Kết nối không kèm chứng thư số của cơ quan; hệ thống yêu cầu xác thực hai chiều (mTLS)."
            }
            Reason::ClientCertificateInvalid => "Không đọc được chứng thư số của cơ quan.",
            Reason::AgencyUnknown => {
                "Chứng thư số hợp lệ nhưng chưa được khai báo cho cơ quan nào; đề nghị liên hệ đơn vị quản trị hệ thống."
            }
            Reason::RoleNotAllowed => "Cơ quan không được phân quyền thực hiện chức năng này.",
            Reason::AuditUnavailable => {
                "Hệ thống chưa ghi được nhật ký tra cứu nên chưa trả kết quả; đề nghị thực hiện lại sau ít phút."
            }
            Reason::FaultInjected => {
                "LỖI GIẢ LẬP, không phải sự cố thật: quy tắc kiểm thử (QA) cố ý trả lỗi cho yêu cầu này."
            }
            Reason::Overloaded => {
                "Cơ sở dữ liệu quốc gia về dân cư đang quá tải (GIẢ LẬP bởi quy tắc kiểm thử); đề nghị thực hiện lại sau."
            }
            Reason::FaultRuleInvalid => "Quy tắc giả lập lỗi không hợp lệ.",
            Reason::FixtureInvalid => "Dữ liệu công dân mẫu có trường không hợp lệ.",
            Reason::CitizenHasNoCard => {
                "Công dân chưa được cấp thẻ căn cước nên không có thẻ để thu hồi."
            }
            Reason::MethodNotFound => "Máy chủ không cung cấp chức năng được gọi.",
            Reason::MessageTooLarge => "Dữ liệu yêu cầu vượt quá dung lượng cho phép.",
            Reason::FieldOutOfScope => {
                "Cơ quan không được sử dụng thông tin này: ngoài phạm vi dữ liệu được phân quyền."
            }
            Reason::ChipReadMalformed => {
                "Không kiểm tra được dữ liệu đọc từ chip thẻ căn cước; đề nghị đọc lại chip."
            }
            Reason::VneidNoAccount => {
                "Công dân chưa có tài khoản định danh điện tử; đề nghị công dân đăng ký trên ứng dụng VNeID."
            }
            Reason::VneidLevelTooLow => {
                "Tài khoản định danh điện tử của công dân chưa đạt mức yêu cầu; tài khoản mức 2 được kích hoạt tại cơ quan Công an với thẻ căn cước gắn chip."
            }
            Reason::VneidCitizenDeceased => {
                "Công dân đã được ghi nhận là đã chết; không sử dụng được tài khoản định danh điện tử."
            }
            Reason::VneidCardRevoked => {
                "Thẻ căn cước của công dân đã bị thu hồi; tài khoản định danh điện tử đang bị tạm khóa."
            }
            Reason::VneidRefused => {
                "Công dân không xác thực được bằng tài khoản định danh điện tử ở mức yêu cầu; phạm vi dữ liệu của cơ quan không cho phép nêu lý do."
            }
            Reason::VneidAccountLocked => {
                "Tài khoản định danh điện tử bị tạm khóa do nhập sai nhiều lần; đề nghị thực hiện lại sau."
            }
            Reason::VneidCapacity => {
                "Hệ thống đang xử lý tối đa số phiên xác thực cho phép; đề nghị thực hiện lại sau ít phút."
            }
            Reason::VneidChallengeQuota => {
                "Cơ quan đã có tối đa số phiên xác thực đang chờ; đề nghị hoàn tất hoặc chờ các phiên hết hạn."
            }
            Reason::VneidChallengeNotFound => {
                "Không tìm thấy phiên xác thực của cơ quan; đề nghị bắt đầu phiên xác thực mới."
            }
            Reason::VneidChallengeExpired => {
                "Phiên xác thực đã hết hạn; đề nghị bắt đầu phiên xác thực mới."
            }
            Reason::VneidPasscodeWrong => "Mật khẩu tài khoản định danh điện tử không đúng.",
            Reason::VneidCodeWrong => "Mã xác thực một lần (OTP) không đúng hoặc đã hết hiệu lực.",
            Reason::VneidCodeReused => {
                "Mã xác thực một lần (OTP) này đã được sử dụng; đề nghị chờ mã tiếp theo."
            }
            Reason::VneidChipRequired => {
                "Xác thực mức 2 cần dữ liệu đọc từ chip thẻ căn cước của công dân."
            }
            Reason::VneidChipRejected => {
                "Dữ liệu chip không qua được kiểm tra, hoặc là thẻ căn cước của người khác."
            }
            Reason::JsonInvalid => {
                "Nội dung yêu cầu không đúng định dạng JSON quy định cho chức năng này."
            }
            Reason::DossierNotOpened => {
                "Hồ sơ chưa được tiếp nhận qua cổng kết nối này; đề nghị tiếp nhận hồ sơ trước khi tra cứu."
            }
            Reason::DossierConflict => {
                "Mã hồ sơ đã được tiếp nhận trước đó với thông tin khác; mỗi hồ sơ phải có mã riêng."
            }
            Reason::ApiKeyMissing => {
                "Cổng kết nối yêu cầu khóa API: gửi kèm `Authorization: Bearer KHÓA` hoặc `x-api-key: KHÓA`."
            }
            Reason::ApiKeyInvalid => "Khóa API không hợp lệ.",
            Reason::RouteNotFound => {
                "Không có chức năng tại đường dẫn này; danh sách chức năng tại /openapi.json."
            }
            Reason::MethodNotAllowed => {
                "Đường dẫn này không hỗ trợ phương thức HTTP đã dùng; xem /openapi.json."
            }
            Reason::ServerUnreachable => {
                "Không kết nối được máy chủ cơ sở dữ liệu quốc gia về dân cư; đề nghị thực hiện lại sau."
            }
            Reason::AuditOutboxFailed => {
                "Không lưu được bản ghi nhật ký vào hàng đợi của cơ quan nên chưa thực hiện yêu cầu."
            }
            Reason::GatewayIndexFailed => "Không lưu được hồ sơ vào danh mục của cổng kết nối.",
            Reason::Other(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::reason::Reason;

    /// Every reason of the catalogue has its Vietnamese message, a sentence in Vietnamese (with
    /// its diacritics), none of them the same as another's.
    #[test]
    fn every_catalogue_reason_has_a_vietnamese_message() {
        let mut seen = std::collections::HashSet::new();
        for reason in Reason::KNOWN {
            let message = reason
                .vietnamese()
                .unwrap_or_else(|| panic!("{reason} has no Vietnamese message"));
            assert!(message.ends_with('.'), "{reason}: {message}");
            assert!(
                message
                    .chars()
                    .any(|c| "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
                        .contains(c.to_lowercase().next().unwrap_or(c))),
                "{reason}: {message} is not written in Vietnamese"
            );
            assert!(seen.insert(message), "{reason} repeats another message");
        }
        assert_eq!(Reason::Other("NEW".into()).vietnamese(), None);
    }

    /// The error catalogue (docs/errors.md) shows each reason's Vietnamese message beside the
    /// English, in the reason's own row, as its last column.
    #[test]
    fn the_error_catalogue_shows_the_vietnamese_messages() {
        let catalogue = include_str!("../../../../docs/errors.md");
        for reason in Reason::KNOWN {
            let message = reason.vietnamese().expect("known");
            let row = catalogue
                .lines()
                .find(|line| line.starts_with(&format!("| `{reason}` |")))
                .unwrap_or_else(|| panic!("docs/errors.md has no row for {reason}"));
            let last = row
                .trim_end_matches('|')
                .rsplit(" | ")
                .next()
                .unwrap_or_default();
            assert_eq!(
                last.trim(),
                message.replace('|', "\\|"),
                "the catalogue's Vietnamese message of {reason}"
            );
        }
    }
}
