//! `vnpop audit …`: where the data comes from — a log file that cannot be opened, the filters as
//! typed (taken as a name of the log, ambiguous, matching nothing) — and a streamed answer out
//! of order.

use super::super::{catalogue, vi_count, Message};

catalogue! {
    /// What the audit commands print of where their data comes from: the log file, the filters as
    /// typed, the server's answer.
    pub(crate) enum Source {
        /// `--db` names no file.
        NoLogFile { path: String },
        /// The log file could not be opened (`error`: the storage's own words).
        LogFile { path: String, error: String },
        /// A filter taken as the log writes the name.
        TakenAs { flag: String, typed: String, name: String },
        /// A filter that could be several names of the log.
        Ambiguous { flag: String, typed: String, names: Vec<String> },
        /// A filter on a column the log holds no value of in the period.
        NoneInPeriod { flag: String, typed: String, group: String },
        /// A filter that matches none of the values the log holds (`known`).
        NoMatch { flag: String, typed: String, group: String, known: Vec<String> },
        /// `--db` without the subject key beside it.
        NoSubjectKey { file: String },
        /// The server's streamed answer came out of order.
        OutOfOrder,
        /// The server's streamed answer ended before its counts.
        EndedBeforeCounts,
    }
}

/// A few of `known`, for a message: `"a", "b", …` and, past eight, how many in all.
fn some_of(known: &[String], in_all: impl Fn(usize) -> String) -> String {
    const SHOWN: usize = 8;
    let mut text = known
        .iter()
        .take(SHOWN)
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > SHOWN {
        text.push_str(&format!(", … ({})", in_all(known.len())));
    }
    text
}

/// A column of the log, as a filter names it, in Vietnamese.
fn vi_group(group: &str) -> &str {
    match group {
        "district" => "quận, huyện",
        "officer" => "cán bộ",
        "agency" => "cơ quan",
        other => other,
    }
}

impl Message for Source {
    fn english(&self) -> String {
        let some = |known: &[String]| some_of(known, |n| format!("{n} in all"));
        match self {
            Source::NoLogFile { path } => format!("{path}: no such log file"),
            Source::LogFile { path, error } => format!("{path}: {error}"),
            Source::TakenAs { flag, typed, name } => {
                format!("vnpop: {flag} {typed:?} taken as {name:?}")
            }
            Source::Ambiguous { flag, typed, names } => format!(
                "{flag} {typed:?} could be any of {}: give one exactly",
                some(names)
            ),
            Source::NoneInPeriod { flag, typed, group } => {
                format!("vnpop: {flag} {typed:?}: the log holds no {group} in this period")
            }
            Source::NoMatch {
                flag,
                typed,
                group,
                known,
            } => format!(
                "vnpop: {flag} {typed:?} matches no {group} of this period; the log has {}",
                some(known)
            ),
            Source::NoSubjectKey { file } => format!(
                "{file} is not beside the log file: citizens are recorded under a keyed hash"
            ),
            Source::OutOfOrder => "the server's answer is out of order".into(),
            Source::EndedBeforeCounts => "the server's answer ended before its counts".into(),
        }
    }

    fn vietnamese(&self) -> String {
        let some =
            |known: &[String]| some_of(known, |n| format!("tổng cộng {}", vi_count(n as u64)));
        match self {
            Source::NoLogFile { path } => format!("{path}: không có tệp nhật ký này"),
            Source::LogFile { path, error } => {
                format!("không mở được tệp nhật ký {path}: {error}")
            }
            Source::TakenAs { flag, typed, name } => {
                format!("vnpop: {flag} {typed:?} được hiểu là {name:?}")
            }
            Source::Ambiguous { flag, typed, names } => format!(
                "{flag} {typed:?} có thể là {}: hãy ghi đúng một giá trị",
                some(names)
            ),
            Source::NoneInPeriod { flag, typed, group } => format!(
                "vnpop: {flag} {typed:?}: nhật ký không có {} nào trong kỳ này",
                vi_group(group)
            ),
            Source::NoMatch {
                flag,
                typed,
                group,
                known,
            } => format!(
                "vnpop: {flag} {typed:?} không khớp với {} nào trong kỳ này; nhật ký có {}",
                vi_group(group),
                some(known)
            ),
            Source::NoSubjectKey { file } => format!(
                "không có tệp {file} bên cạnh tệp nhật ký: công dân được ghi dưới dạng mã băm có \
                 khóa"
            ),
            Source::OutOfOrder => "câu trả lời của máy chủ không đúng thứ tự".into(),
            Source::EndedBeforeCounts => {
                "câu trả lời của máy chủ kết thúc trước khi có số liệu tổng hợp".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Source> {
        let flag = || "--district".to_owned();
        let names = |n: usize| (0..n).map(|i| format!("Huyện {i}")).collect::<Vec<_>>();
        vec![
            Source::NoLogFile {
                path: "vnpop-data/audit.sqlite".into(),
            },
            Source::LogFile {
                path: "vnpop-data/audit.sqlite".into(),
                error: "tệp hỏng".into(),
            },
            Source::TakenAs {
                flag: flag(),
                typed: "huyen mai chau".into(),
                name: "Huyện Mai Châu".into(),
            },
            Source::Ambiguous {
                flag: flag(),
                typed: "Huyen Lac".into(),
                names: vec!["Huyện Lạc Sơn".into(), "Huyện Lạc Thủy".into()],
            },
            Source::NoneInPeriod {
                flag: "--officer".into(),
                typed: "cb01".into(),
                group: "officer".into(),
            },
            Source::NoMatch {
                flag: flag(),
                typed: "Đà Bắc".into(),
                group: "district".into(),
                known: names(12),
            },
            Source::NoSubjectKey {
                file: "audit-subject.key".into(),
            },
            Source::OutOfOrder,
            Source::EndedBeforeCounts,
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::super::tests::check(&examples(), Source::VARIANTS, Source::variant);
    }
}
