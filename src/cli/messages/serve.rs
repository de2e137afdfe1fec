//! `vnpop serve` and `vnpop load`: the warning of a server without TLS, and what a load test
//! says when Ctrl-C ends it.

use super::{catalogue, Message};

catalogue! {
    /// What `vnpop serve` and `vnpop load` print besides their logs and report.
    pub(crate) enum Serve {
        /// `serve --insecure`: plaintext, every caller one agency.
        Insecure { agency: String },
        /// Ctrl-C could not be caught.
        CannotCatchCtrlC { error: std::io::Error },
        /// `load`: the first Ctrl-C ends the run.
        LoadEnding,
    }
}

impl Message for Serve {
    fn english(&self) -> String {
        match self {
            Serve::Insecure { agency } => format!(
                "WARNING: --insecure serves plaintext without TLS; every caller is treated as \
                 agency {agency:?}. Never use it outside local debugging."
            ),
            Serve::CannotCatchCtrlC { error } => format!("cannot catch Ctrl-C: {error}"),
            Serve::LoadEnding => {
                "vnpop: Ctrl-C: ending the run; the report follows (Ctrl-C again to exit at once)"
                    .into()
            }
        }
    }

    fn vietnamese(&self) -> String {
        match self {
            Serve::Insecure { agency } => format!(
                "CẢNH BÁO: --insecure phục vụ dữ liệu không mã hóa, không dùng TLS; mọi bên gọi \
                 đều được coi là cơ quan {agency:?}. Chỉ dùng khi gỡ lỗi trên máy cục bộ."
            ),
            Serve::CannotCatchCtrlC { error } => {
                format!("không bắt được tín hiệu Ctrl-C: {error}")
            }
            Serve::LoadEnding => "vnpop: Ctrl-C: đang kết thúc lượt chạy, báo cáo in ngay sau \
                                  đây (nhấn Ctrl-C lần nữa để thoát ngay)"
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_written_in_both_languages() {
        let examples = [
            Serve::Insecure {
                agency: "one-stop-phuong-ba-dinh".into(),
            },
            Serve::CannotCatchCtrlC {
                error: std::io::Error::other("mã lỗi 22"),
            },
            Serve::LoadEnding,
        ];
        super::super::tests::check(&examples, Serve::VARIANTS, Serve::variant);
    }
}
