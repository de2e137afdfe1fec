//! `vnpop certs`: a directory that already holds certificates, the files written, and the
//! warning that they are for development only.

use super::{catalogue, Message};
use crate::security::AgencyError;

catalogue! {
    /// What `vnpop certs` prints.
    pub(crate) enum Certs {
        /// `--out` already holds certificates or keys (`held`: one of them) and `--force` was not
        /// given.
        AlreadyHeld { out: String, held: String },
        /// A file written.
        Wrote { path: String },
        /// The last line: these keys are not secret.
        DevelopmentOnly,
        /// `--agencies` cannot be used.
        Agencies { error: AgencyError },
    }
}

impl Message for Certs {
    fn english(&self) -> String {
        match self {
            Certs::AlreadyHeld { out, held } => format!(
                "{out} already holds certificates ({held} …): writing would replace them, and a \
                 server or client using them would then fail. Give --out NEW_DIRECTORY, or \
                 --force to replace them"
            ),
            Certs::Wrote { path } => format!("wrote {path}"),
            Certs::DevelopmentOnly => {
                "These are DEVELOPMENT certificates: their private keys are not secret.".into()
            }
            Certs::Agencies { error } => error.to_string(),
        }
    }

    fn vietnamese(&self) -> String {
        match self {
            Certs::AlreadyHeld { out, held } => format!(
                "thư mục {out} đã có chứng thư số ({held} …): ghi vào sẽ thay thế chúng, và máy \
                 chủ hoặc ứng dụng đang dùng chúng sẽ không kết nối được. Hãy chỉ định --out \
                 THƯ_MỤC_MỚI, hoặc thêm --force để thay thế"
            ),
            Certs::Wrote { path } => format!("Đã ghi {path}"),
            Certs::DevelopmentOnly => "Đây là chứng thư số CHỈ DÙNG ĐỂ PHÁT TRIỂN: khóa bí mật \
                                       của chúng được công bố, không được giữ bí mật."
                .into(),
            Certs::Agencies { error } => super::serve::agencies(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_written_in_both_languages() {
        let examples = [
            Certs::AlreadyHeld {
                out: "certs".into(),
                held: "agency-a.key".into(),
            },
            Certs::Wrote {
                path: "vnpop-certs/ca.pem".into(),
            },
            Certs::DevelopmentOnly,
            Certs::Agencies {
                error: AgencyError::Invalid {
                    path: "agencies.toml".into(),
                    message: "dòng 3, cột 1".into(),
                },
            },
        ];
        super::super::tests::check(&examples, Certs::VARIANTS, Certs::variant);
    }
}
