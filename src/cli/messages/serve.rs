//! `vnpop serve` and `vnpop load`: the warning of a server without TLS, why a server (or the
//! population `citizen` and `chip` build) could not start, and what a load test says when
//! Ctrl-C ends it.

use super::{catalogue, vi_io, Message};
use crate::{security::AgencyError, server::StartError};

catalogue! {
    /// What `vnpop serve` and `vnpop load` print besides their logs and report.
    pub(crate) enum Serve {
        /// `serve --insecure`: plaintext, every caller one agency.
        Insecure { agency: String },
        /// Ctrl-C could not be caught.
        CannotCatchCtrlC { error: std::io::Error },
        /// `load`: the first Ctrl-C ends the run.
        LoadEnding,
        /// The server, or the population, could not start: the flags' own refusals in words,
        /// any other cause (a file's contents, the storage) in the words of the part that
        /// refused it.
        Start { error: StartError },
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
            Serve::Start { error } => error.to_string(),
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
            Serve::Start { error } => match error {
                StartError::UnknownInsecureAgency(agency) => {
                    format!("--insecure-agency {agency:?} không phải cơ quan đã khai báo")
                }
                StartError::InsecureOffLoopback(addr) => format!(
                    "--insecure phục vụ không mã hóa và tin mọi bên gọi: chỉ được dùng trên địa \
                     chỉ loopback, không được dùng trên {addr}"
                ),
                StartError::InsecureRole { agency, role } => format!(
                    "--insecure không được nhận danh nghĩa cơ quan {agency:?}: vai trò của cơ quan \
                     này là {role}; hãy chọn một cơ quan có vai trò agency"
                ),
                StartError::Tls(error) => {
                    format!("không đọc được tệp TLS: {}", vi_io(error))
                }
                StartError::Bind { addr, source } => {
                    format!("không lắng nghe được trên {addr}: {}", vi_io(source))
                }
                StartError::MetricsBind { addr, source } => format!(
                    "không mở được điểm cung cấp số liệu giám sát trên {addr}: {}",
                    vi_io(source)
                ),
                StartError::ZeroLimit(flag) => format!("{flag} phải lớn hơn 0"),
                StartError::Csca(why) => {
                    format!("không đọc được chứng thư CSCA: {why}")
                }
                StartError::Audit(cause) => {
                    format!("không mở được nhật ký kiểm toán: {cause}")
                }
                StartError::Fixtures(cause) => {
                    format!("tệp công dân cố định (--fixtures) không dùng được: {cause}")
                }
                StartError::Population(cause) => {
                    format!("không tạo được dân cư giả lập: {cause}")
                }
                StartError::Agencies(cause) => agencies(cause),
                other => format!("không khởi động được máy chủ: {other}"),
            },
        }
    }
}

/// Why the agency configuration (`--agencies`) cannot be used, in Vietnamese.
pub(crate) fn agencies(error: &AgencyError) -> String {
    match error {
        AgencyError::Read { path, source } => format!(
            "không đọc được tệp cấu hình cơ quan {path}: {}",
            vi_io(source)
        ),
        AgencyError::Invalid { path, message } => {
            format!("tệp cấu hình cơ quan {path} không hợp lệ: {message}")
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
            Serve::Start {
                error: StartError::ZeroLimit("--max-concurrent-streams"),
            },
            Serve::Start {
                error: StartError::Bind {
                    addr: "127.0.0.1:50051".parse().unwrap(),
                    source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
                },
            },
            Serve::Start {
                error: StartError::UnknownInsecureAgency("khong-co".into()),
            },
            Serve::Start {
                error: StartError::Agencies(AgencyError::Read {
                    path: "agencies.toml".into(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                }),
            },
        ];
        super::super::tests::check(&examples, Serve::VARIANTS, Serve::variant);
    }
}
