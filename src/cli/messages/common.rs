//! What every command may print: a file it could not open, read or write, the TLS files it was
//! given, a server it could not reach, a list that came out empty, and the names of the records
//! its progress line counts.

use super::{catalogue, vi_io, Message};

/// What was done to a file that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileAction {
    /// Opened, or read.
    Read,
    /// Created, or written.
    Write,
    /// A directory created.
    CreateDirectory,
}

/// The records a list command writes (its progress line, its "nothing found").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Records {
    /// `citizen sample`.
    Citizens,
    /// `audit citizen`: the lookups of one citizen.
    Accesses,
    /// `audit anomalies`, `audit reconcile`.
    Findings,
    /// `audit cleaning`.
    CleaningJobs,
    /// `audit export`.
    Events,
    /// `audit unverified`.
    UnverifiedDossiers,
}

impl Records {
    /// The records' name in English, as the progress line counts them.
    fn english(self) -> &'static str {
        match self {
            Records::Citizens => "citizens",
            Records::Accesses => "accesses",
            Records::Findings => "findings",
            Records::CleaningJobs => "cleaning jobs",
            Records::Events => "events",
            Records::UnverifiedDossiers => "unverified dossiers",
        }
    }

    /// The records' name in Vietnamese.
    fn vietnamese(self) -> &'static str {
        match self {
            Records::Citizens => "công dân",
            Records::Accesses => "lượt tra cứu",
            Records::Findings => "phát hiện",
            Records::CleaningJobs => "đợt làm sạch dữ liệu",
            Records::Events => "sự kiện",
            Records::UnverifiedDossiers => "hồ sơ chưa được tra cứu",
        }
    }
}

catalogue! {
    /// What every command may print.
    pub(crate) enum Common {
        /// A file or directory that could not be opened, read, written or created.
        File { path: String, action: FileAction, error: std::io::Error },
        /// A TLS file that could not be read (`hint`: a default relative path not found).
        TlsFile { path: String, error: std::io::Error, hint: bool },
        /// Writing to stdout failed.
        Output { error: std::io::Error },
        /// The server could not be reached (`cause` in the CLI's language).
        CannotConnect { endpoint: String, cause: String },
        /// A list came out empty; `filters` are the flags applied (`--agency "x"`), if any.
        NoRecords { what: Records, filters: String },
        /// The progress line of a list: how many records so far (indicatif's template).
        Progress { what: Records },
    }
}

impl Message for Common {
    fn english(&self) -> String {
        match self {
            Common::File { path, error, .. } => format!("{path}: {error}"),
            Common::TlsFile { path, error, hint } => format!(
                "cannot read {path}: {error}{}",
                if *hint {
                    " (paths are relative to the working directory: run from the repository's \
                     root, or give --ca, --cert and --key)"
                } else {
                    ""
                }
            ),
            Common::Output { error } => format!("cannot write the output: {error}"),
            Common::CannotConnect { endpoint, cause } => {
                format!("cannot connect to vnpop at {endpoint}: {cause}")
            }
            Common::NoRecords { what, filters } if filters.is_empty() => {
                format!("vnpop: no {}", what.english())
            }
            Common::NoRecords { what, filters } => {
                format!("vnpop: no {} match {filters}", what.english())
            }
            Common::Progress { what } => {
                format!("{{spinner}} {{pos}} {} {{elapsed}}", what.english())
            }
        }
    }

    fn vietnamese(&self) -> String {
        match self {
            Common::File {
                path,
                action,
                error,
            } => {
                let what = match action {
                    FileAction::Read => "không đọc được tệp",
                    FileAction::Write => "không ghi được vào",
                    FileAction::CreateDirectory => "không tạo được thư mục",
                };
                format!("{what} {path}: {}", vi_io(error))
            }
            Common::TlsFile { path, error, hint } => format!(
                "không đọc được tệp {path}: {}{}",
                vi_io(error),
                if *hint {
                    " (đường dẫn được tính từ thư mục đang làm việc: hãy chạy lệnh từ thư mục gốc \
                     của kho mã nguồn, hoặc chỉ rõ --ca, --cert và --key)"
                } else {
                    ""
                }
            ),
            Common::Output { error } => format!("không ghi được kết quả ra: {}", vi_io(error)),
            Common::CannotConnect { endpoint, cause } => {
                format!("không kết nối được tới máy chủ vnpop tại {endpoint}: {cause}")
            }
            Common::NoRecords { what, filters } if filters.is_empty() => {
                format!("vnpop: không có {} nào", what.vietnamese())
            }
            Common::NoRecords { what, filters } => {
                format!(
                    "vnpop: không có {} nào khớp với {filters}",
                    what.vietnamese()
                )
            }
            Common::Progress { what } => {
                format!("{{spinner}} {{pos}} {} {{elapsed}}", what.vietnamese())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn examples() -> Vec<Common> {
        let missing = || std::io::Error::from(std::io::ErrorKind::NotFound);
        vec![
            Common::File {
                path: "registry.csv".into(),
                action: FileAction::Read,
                error: missing(),
            },
            Common::File {
                path: "vnpop-data".into(),
                action: FileAction::CreateDirectory,
                error: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
            Common::TlsFile {
                path: "certs/ca.pem".into(),
                error: missing(),
                hint: true,
            },
            Common::Output {
                error: std::io::Error::from(std::io::ErrorKind::StorageFull),
            },
            Common::CannotConnect {
                endpoint: "https://localhost:50051".into(),
                cause: "từ chối kết nối".into(),
            },
            Common::NoRecords {
                what: Records::Events,
                filters: String::new(),
            },
            Common::NoRecords {
                what: Records::UnverifiedDossiers,
                filters: "--district \"Huyện Mai Châu\"".into(),
            },
            Common::Progress {
                what: Records::Findings,
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::tests::check(&examples(), Common::VARIANTS, Common::variant);
        for what in [
            Records::Citizens,
            Records::Accesses,
            Records::Findings,
            Records::CleaningJobs,
            Records::Events,
            Records::UnverifiedDossiers,
        ] {
            super::super::tests::check(
                &[Common::NoRecords {
                    what,
                    filters: String::new(),
                }],
                &[],
                Common::variant,
            );
        }
    }

    #[test]
    fn a_missing_file_is_said_in_words() {
        let message = Common::File {
            path: "registry.csv".into(),
            action: FileAction::Read,
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            message.vietnamese(),
            "không đọc được tệp registry.csv: không có tệp hoặc thư mục này"
        );
    }
}
