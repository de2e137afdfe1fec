//! `vnpop clean`: a registry file refused before anything is sent, a verdicts file it cannot
//! continue, a job the server stopped, its progress bar, and the summary the data team reads
//! (the verdict words and field names in it are the verdicts file's own).

use super::{catalogue, vi_count, vi_decimal, vi_io, Message};
use crate::cli::clean::{
    csv::{FileError, COLUMNS},
    encoding::NotUtf8,
};

/// The first rows of one kind, as the summary shows them: (line, record id, detail).
pub(crate) type ExampleRows = Vec<(u64, String, String)>;

catalogue! {
    /// What `vnpop clean` prints besides the verdicts file.
    pub(crate) enum Clean {
        /// The registry file `path` cannot be cleaned.
        Refused { path: String, error: FileError },
        /// The verdicts file exists and `--resume` was not given.
        VerdictsExist { path: String },
        /// `--resume` on a file that is not a verdicts file.
        NotVerdicts { path: String },
        /// A row of the verdicts file without its line number.
        RowWithoutLine { path: String, row: u64 },
        /// The server answered an empty batch.
        EmptyBatch,
        /// The server ended the job before every record had its verdict.
        EndedEarly,
        /// The job stopped after `rows` rows, for `failure` (in the CLI's language).
        Stopped { rows: u64, failure: String },
        /// The progress bar (indicatif's template).
        Bar,
        /// How many rows this run verified, in how long.
        Verified { rows: u64, seconds: f64, before: u64 },
        /// The summary: the rows of the verdicts file.
        Records { count: u64 },
        /// The summary: the heading of the counts per verdict.
        Verdicts,
        /// The summary: the heading of the counts per mismatching field.
        Mismatching,
        /// The summary: CMND numbers linked to a CCCD number.
        Linked { count: u64 },
        /// The summary: addresses converted to the two-level form.
        Converted { count: u64 },
        /// The summary: the first rows of one kind.
        Examples { rows: ExampleRows },
    }
}

impl Message for Clean {
    fn english(&self) -> String {
        match self {
            Clean::Refused { path, error } => format!("{path}: {error}"),
            Clean::VerdictsExist { path } => {
                format!("{path} exists: --resume continues the job it records, or remove it")
            }
            Clean::NotVerdicts { path } => format!(
                "{path} is not a verdicts file of `vnpop clean` (its first line is not the header)"
            ),
            Clean::RowWithoutLine { path, row } => {
                format!("{path}: row {row} does not start with a line number")
            }
            Clean::EmptyBatch => "the server answered an empty batch".into(),
            Clean::EndedEarly => "the server ended the job early".into(),
            Clean::Stopped { rows, failure } => format!(
                "the job stopped after {rows} rows: {failure}; run the same command with --resume \
                 to continue"
            ),
            Clean::Bar => {
                "clean [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta}".into()
            }
            Clean::Verified {
                rows,
                seconds,
                before,
            } => format!(
                "{rows} rows verified in {seconds:.1} s{}",
                if *before > 0 {
                    format!(" (after {before} done before)")
                } else {
                    String::new()
                }
            ),
            Clean::Records { count } => format!("records: {count}"),
            Clean::Verdicts => "verdicts:".into(),
            Clean::Mismatching => "mismatching fields:".into(),
            Clean::Linked { count } => format!("CMND numbers linked to a CCCD: {count}"),
            Clean::Converted { count } => {
                format!("addresses converted to the two-level form: {count}")
            }
            Clean::Examples { rows } => {
                let shown: Vec<String> = rows
                    .iter()
                    .map(|(line, id, detail)| match detail.is_empty() {
                        true => format!("line {line} ({id})"),
                        false => format!("line {line} ({id}, {detail})"),
                    })
                    .collect();
                format!("   e.g. {}", shown.join("; "))
            }
        }
    }

    fn vietnamese(&self) -> String {
        let n = |n: &u64| vi_count(*n);
        match self {
            Clean::Refused { path, error } => format!("tệp {path}: {}", file_error(error)),
            Clean::VerdictsExist { path } => format!(
                "tệp {path} đã có: dùng --resume để làm tiếp đợt làm sạch mà tệp này ghi lại, hoặc \
                 xóa tệp"
            ),
            Clean::NotVerdicts { path } => format!(
                "tệp {path} không phải tệp kết quả của `vnpop clean` (dòng đầu không phải dòng \
                 tiêu đề)"
            ),
            Clean::RowWithoutLine { path, row } => format!(
                "tệp {path}: dòng kết quả thứ {} không bắt đầu bằng số dòng",
                n(row)
            ),
            Clean::EmptyBatch => "máy chủ trả về một lô rỗng".into(),
            Clean::EndedEarly => "máy chủ kết thúc đợt làm sạch khi chưa trả đủ kết quả".into(),
            Clean::Stopped { rows, failure } => format!(
                "đợt làm sạch dừng sau {} dòng: {failure}; chạy lại đúng lệnh này với --resume \
                 để làm tiếp",
                n(rows)
            ),
            Clean::Bar => {
                "làm sạch [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} còn {eta}".into()
            }
            Clean::Verified {
                rows,
                seconds,
                before,
            } => format!(
                "Đã đối chiếu {} dòng trong {} giây{}",
                n(rows),
                vi_decimal(*seconds, 1),
                if *before > 0 {
                    format!(" (sau {} dòng đã làm trước đó)", n(before))
                } else {
                    String::new()
                }
            ),
            Clean::Records { count } => format!("Số bản ghi: {}", n(count)),
            Clean::Verdicts => "Kết quả đối chiếu:".into(),
            Clean::Mismatching => "Trường không khớp:".into(),
            Clean::Linked { count } => {
                format!("Số CMND đã gắn với số định danh cá nhân: {}", n(count))
            }
            Clean::Converted { count } => {
                format!("Địa chỉ đã chuyển sang dạng hai cấp: {}", n(count))
            }
            Clean::Examples { rows } => {
                let shown: Vec<String> = rows
                    .iter()
                    .map(|(line, id, detail)| match detail.is_empty() {
                        true => format!("dòng {} ({id})", n(line)),
                        false => format!("dòng {} ({id}, {detail})", n(line)),
                    })
                    .collect();
                format!("   ví dụ: {}", shown.join("; "))
            }
        }
    }
}

/// Why a registry file is refused, in Vietnamese.
fn file_error(error: &FileError) -> String {
    let header = COLUMNS.join(",");
    match error {
        FileError::NotUtf8(NotUtf8 { line, legacy }) => format!(
            "dòng {} không phải mã UTF-8{}; hãy lưu tệp dưới dạng UTF-8 (chưa gửi bản ghi nào)",
            vi_count(*line),
            legacy.map_or(String::new(), |legacy| format!(
                " (có vẻ là bảng mã tiếng Việt cũ {legacy})"
            ))
        ),
        FileError::MissingColumns(missing) => format!(
            "dòng tiêu đề thiếu cột {}: tệp danh sách phải bắt đầu bằng dòng `{header}` (cột \
             address không bắt buộc); chưa gửi bản ghi nào",
            missing.join(", ")
        ),
        FileError::Empty => format!("tệp rỗng: tệp phải có dòng tiêu đề `{header}`"),
        FileError::Unclosed { line } => format!(
            "dòng {}: một trường mở dấu ngoặc kép mà chưa đóng thì đã hết tệp",
            vi_count(*line)
        ),
        FileError::Io(error) => format!("không đọc được tệp: {}", vi_io(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::clean::encoding::Legacy;

    fn examples() -> Vec<Clean> {
        let path = || "registry.csv".to_owned();
        vec![
            Clean::Refused {
                path: path(),
                error: FileError::MissingColumns(vec!["sex"]),
            },
            Clean::Refused {
                path: path(),
                error: FileError::Empty,
            },
            Clean::Refused {
                path: path(),
                error: FileError::Unclosed { line: 1_204 },
            },
            Clean::Refused {
                path: path(),
                error: FileError::NotUtf8(NotUtf8 {
                    line: 2,
                    legacy: Some(Legacy::Vni),
                }),
            },
            Clean::Refused {
                path: path(),
                error: FileError::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            },
            Clean::VerdictsExist {
                path: "verdicts.csv".into(),
            },
            Clean::NotVerdicts {
                path: "registry.csv".into(),
            },
            Clean::RowWithoutLine {
                path: "verdicts.csv".into(),
                row: 1_000,
            },
            Clean::EmptyBatch,
            Clean::EndedEarly,
            Clean::Stopped {
                rows: 1_500,
                failure: "máy chủ trả về một lô rỗng".into(),
            },
            Clean::Bar,
            Clean::Verified {
                rows: 1_000,
                seconds: 2.46,
                before: 500,
            },
            Clean::Records { count: 1_000 },
            Clean::Verdicts,
            Clean::Mismatching,
            Clean::Linked { count: 3 },
            Clean::Converted { count: 12 },
            Clean::Examples {
                rows: vec![
                    (3, "R2".into(), String::new()),
                    (4, "R3".into(), "FIELD_INVALID sex".into()),
                ],
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::tests::check(&examples(), Clean::VARIANTS, Clean::variant);
    }

    #[test]
    fn the_summary_line_counts_the_vietnamese_way() {
        let message = Clean::Verified {
            rows: 1_000,
            seconds: 2.46,
            before: 0,
        };
        assert_eq!(
            message.vietnamese(),
            "Đã đối chiếu 1.000 dòng trong 2,5 giây"
        );
        assert_eq!(message.english(), "1000 rows verified in 2.5 s");
    }
}
