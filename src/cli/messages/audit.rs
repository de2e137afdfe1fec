//! `vnpop audit …`: where the data comes from (a log file, the filters as typed), what a list or
//! a ratio found nothing of, the counts `reconcile` and `anomalies` print before their findings
//! (the findings' kinds are the API's names, as in their `finding` column), what `verify` found,
//! and the report's usage errors and last line.

use chrono::NaiveDate;

use super::{catalogue, vi_count, vi_io, Message};
use crate::{
    cli::audit::report::Lang,
    error::{quote, ApiError},
    proto,
};

catalogue! {
    /// What the audit commands print besides their data.
    pub(crate) enum Audit {
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
        /// Findings arrived before the counts.
        FindingsBeforeCounts,
        /// `ratio`: no dossier in the period.
        NoDossier,
        /// `ratio --chart`: the chart written.
        ChartWritten { path: String },
        /// `ratio` (table): the load-test traffic the answer leaves out.
        LeftOut { dossiers: u64, lookups: u64, served: u64 },
        /// `citizen`: nobody looked the citizen up.
        NoAccess,
        /// `anomalies`: the spinner while it reads.
        LookingForAnomalies,
        /// `anomalies`: the counts by kind.
        AnomalyCounts { counts: proto::AnomalyCounts },
        /// `reconcile`: the spinner while it reads.
        Reconciling,
        /// `reconcile`: the counts.
        ReconcileCounts { counts: proto::ReconcileResponse },
        /// `verify`: the log's public key file could not be read.
        KeyFile { path: String, error: std::io::Error },
        /// `verify`: the spinner while it recomputes.
        Recomputing,
        /// `verify`: the log is intact.
        Intact { events: u64, heads: u64, size: u64, root: String },
        /// `verify`: the log was altered (`tamper`: what and where, the verifier's words).
        Tampered { tamper: String, events: u64 },
        /// `verify --remote`: the server found the log altered.
        TamperedRemote { problem: String, events: u64 },
        /// `verify --remote`: no tree head in the answer.
        NoHead,
        /// `verify --remote`: a tree head not signed by the log's key.
        NotSigned { size: u64 },
        /// `verify --remote`: a saved head's field that is not hex of its size.
        NotHex { field: String, bytes: usize },
        /// `verify --previous-head`: the file is not a saved head.
        HeadFile { path: String, error: String },
        /// `verify --previous-head`: the log's key changed.
        KeyChanged { path: String, then: String, now: String },
        /// `verify --previous-head`: the log shrank.
        Shrank { then: u64, now: u64 },
        /// `verify --previous-head`: the log does not extend the previous head.
        NotExtending { now: u64, then: u64 },
        /// `verify --remote`: the log is intact (and extends the previous head of `extends`).
        IntactRemote { events: u64, heads: u64, size: u64, root: String, extends: Option<u64> },
        /// `verify --remote`: the key was not pinned.
        Unpinned { key: String },
        /// `report`: a day that is not one (`typed` as given).
        BadDay { flag: String, typed: String, error: ApiError },
        /// `report`: a period wider than an audit answers.
        TooWide { flag: String, from: NaiveDate, to: NaiveDate, error: ApiError },
        /// `report`: the period ends before it starts.
        EmptyPeriod { from_flag: String, from: String, to_flag: String, to: String },
        /// `report --out` in a directory that does not exist.
        NoOutDirectory { out: String, parent: String },
        /// `report --out` names a directory.
        OutIsDirectory { out: String },
        /// `report --district`: no dossiers of it in the period (`known`: those that have).
        NoSuchDistrict { name: String, from: NaiveDate, to: NaiveDate, known: Vec<String> },
        /// `report`: no dossiers in the period.
        NoDossiers { from: NaiveDate, to: NaiveDate, agency: Option<String> },
        /// `report`: the report written.
        ReportWritten { path: String, dossiers: u64, coverage: f64 },
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

/// A flag's bad value, as the audit answers word it.
fn flag_error(flag: &str, error: &ApiError) -> String {
    match error {
        ApiError::InvalidField { message, .. } => format!("{flag} {message}"),
        other => format!("{flag}: {other}"),
    }
}

impl Message for Audit {
    fn english(&self) -> String {
        let some = |known: &[String]| some_of(known, |n| format!("{n} in all"));
        match self {
            Audit::NoLogFile { path } => format!("{path}: no such log file"),
            Audit::LogFile { path, error } => format!("{path}: {error}"),
            Audit::TakenAs { flag, typed, name } => {
                format!("vnpop: {flag} {typed:?} taken as {name:?}")
            }
            Audit::Ambiguous { flag, typed, names } => format!(
                "{flag} {typed:?} could be any of {}: give one exactly",
                some(names)
            ),
            Audit::NoneInPeriod { flag, typed, group } => {
                format!("vnpop: {flag} {typed:?}: the log holds no {group} in this period")
            }
            Audit::NoMatch {
                flag,
                typed,
                group,
                known,
            } => format!(
                "vnpop: {flag} {typed:?} matches no {group} of this period; the log has {}",
                some(known)
            ),
            Audit::NoSubjectKey { file } => format!(
                "{file} is not beside the log file: citizens are recorded under a keyed hash"
            ),
            Audit::OutOfOrder => "the server's answer is out of order".into(),
            Audit::EndedBeforeCounts => "the server's answer ended before its counts".into(),
            Audit::FindingsBeforeCounts => "findings before the counts".into(),
            Audit::NoDossier => "vnpop: no dossier was received in this period".into(),
            Audit::ChartWritten { path } => format!("chart written to {path}"),
            Audit::LeftOut {
                dossiers,
                lookups,
                served,
            } => format!(
                "left out (load test): {dossiers} dossiers, {lookups} verifications reported, \
                 {served} served{}",
                if dossiers + lookups + served == 0 {
                    ""
                } else {
                    " (--include-load-test counts them)"
                }
            ),
            Audit::NoAccess => "vnpop: no agency has looked this citizen up".into(),
            Audit::LookingForAnomalies => {
                "looking for anomalies (reads the period's reported events once)".into()
            }
            Audit::AnomalyCounts { counts: c } => format!(
                "{} reported events read; findings: {} dossier_many_citizens, {} \
                 citizen_many_officers, {} burst, {} peer_outlier, {} day_off, {} off_hours, {} \
                 no_lookup",
                c.events,
                c.dossier_many_citizens,
                c.citizen_many_officers,
                c.burst,
                c.peer_outlier,
                c.day_off,
                c.off_hours,
                c.no_lookup
            ),
            Audit::Reconciling => "reconciling (reads every verification once)".into(),
            Audit::ReconcileCounts { counts: r } => format!(
                "{} dossiers: {} verifications reported (and {} that never reached the server), \
                 {} served; findings: {} served_not_reported, {} reported_not_served, {} \
                 dossier_not_reported, {} reported_failure_unconfirmed, {} reported_late{}",
                r.dossiers,
                r.reported,
                r.not_reaching_server,
                r.served,
                r.served_not_reported,
                r.reported_not_served,
                r.dossier_not_reported,
                r.reported_failure_unconfirmed,
                r.reported_late,
                if r.truncated {
                    " (list truncated: raise --limit)"
                } else {
                    ""
                }
            ),
            Audit::KeyFile { path, error } => format!("{path}: {error} (give --public-key)"),
            Audit::Recomputing => "recomputing the tree and checking every signed head".into(),
            Audit::Intact {
                events,
                heads,
                size,
                root,
            } => format!(
                "OK: {events} events, {heads} signed tree heads checked, latest head size {size} \
                 root {root}"
            ),
            Audit::Tampered { tamper, events } => {
                format!("TAMPERED: {tamper} ({events} events read before it)")
            }
            Audit::TamperedRemote { problem, events } => format!(
                "TAMPERED (found by the server): {problem} ({events} events read before it)"
            ),
            Audit::NoHead => "the server returned no tree head".into(),
            Audit::NotSigned { size } => {
                format!("the tree head of size {size} is not signed by the log's key")
            }
            Audit::NotHex { field, bytes } => {
                format!("the tree head's {field} is not {bytes} bytes of hex")
            }
            Audit::HeadFile { path, error } => format!("{path}: {error}"),
            Audit::KeyChanged { path, then, now } => {
                format!("the log's key changed since {path}: {then} then, {now} now")
            }
            Audit::Shrank { then, now } => {
                format!("the log shrank: {then} events at the previous head, {now} now")
            }
            Audit::NotExtending { now, then } => format!(
                "TAMPERED: the log of {now} events does not extend the previous head of {then} \
                 events (rewritten or removed history)"
            ),
            Audit::IntactRemote {
                events,
                heads,
                size,
                root,
                extends,
            } => format!(
                "OK (server-side recomputation): {events} events, {heads} signed tree heads \
                 checked, latest head size {size} root {root}{}",
                extends.map_or(String::new(), |then| format!(
                    ", extends the previous head of {then} events"
                ))
            ),
            Audit::Unpinned { key } => format!(
                "note: the head was checked against the key the server presented ({key}); pin it \
                 with --public-key"
            ),
            Audit::BadDay { flag, error, .. } | Audit::TooWide { flag, error, .. } => {
                flag_error(flag, error)
            }
            Audit::EmptyPeriod {
                from_flag,
                from,
                to_flag,
                to,
            } => format!("empty period: {to_flag} {to} is before {from_flag} {from}"),
            Audit::NoOutDirectory { out, parent } => {
                format!("--out {out}: the directory {parent} does not exist")
            }
            Audit::OutIsDirectory { out } => {
                format!("--out {out}: is a directory, not a file name")
            }
            Audit::NoSuchDistrict {
                name,
                from,
                to,
                known,
            } => format!(
                "--district {name:?}: no dossiers from this district from {from} to {to} \
                 (districts: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
            Audit::NoDossiers { from, to, agency } => format!(
                "empty period: no dossiers received from {from} to {to}{}",
                agency
                    .as_ref()
                    .map(|a| format!(" by agency {a}"))
                    .unwrap_or_default()
            ),
            Audit::ReportWritten {
                path,
                dossiers,
                coverage,
            } => format!(
                "report written to {path} ({} dossiers, coverage {})",
                Lang::En.int(*dossiers),
                Lang::En.percent(*coverage)
            ),
        }
    }

    fn vietnamese(&self) -> String {
        let some =
            |known: &[String]| some_of(known, |n| format!("tổng cộng {}", vi_count(n as u64)));
        let n = |n: &u64| vi_count(*n);
        let date = |d: &NaiveDate| Lang::Vi.date(*d);
        match self {
            Audit::NoLogFile { path } => format!("{path}: không có tệp nhật ký này"),
            Audit::LogFile { path, error } => {
                format!("không mở được tệp nhật ký {path}: {error}")
            }
            Audit::TakenAs { flag, typed, name } => {
                format!("vnpop: {flag} {typed:?} được hiểu là {name:?}")
            }
            Audit::Ambiguous { flag, typed, names } => format!(
                "{flag} {typed:?} có thể là {}: hãy ghi đúng một giá trị",
                some(names)
            ),
            Audit::NoneInPeriod { flag, typed, group } => format!(
                "vnpop: {flag} {typed:?}: nhật ký không có {} nào trong kỳ này",
                vi_group(group)
            ),
            Audit::NoMatch {
                flag,
                typed,
                group,
                known,
            } => format!(
                "vnpop: {flag} {typed:?} không khớp với {} nào trong kỳ này; nhật ký có {}",
                vi_group(group),
                some(known)
            ),
            Audit::NoSubjectKey { file } => format!(
                "không có tệp {file} bên cạnh tệp nhật ký: công dân được ghi dưới dạng mã băm có \
                 khóa"
            ),
            Audit::OutOfOrder => "câu trả lời của máy chủ không đúng thứ tự".into(),
            Audit::EndedBeforeCounts => {
                "câu trả lời của máy chủ kết thúc trước khi có số liệu tổng hợp".into()
            }
            Audit::FindingsBeforeCounts => "các phát hiện đến trước số liệu tổng hợp".into(),
            Audit::NoDossier => "vnpop: không có hồ sơ nào được tiếp nhận trong kỳ này".into(),
            Audit::ChartWritten { path } => format!("Đã ghi biểu đồ vào {path}"),
            Audit::LeftOut {
                dossiers,
                lookups,
                served,
            } => format!(
                "Không tính lưu lượng kiểm thử tải: {} hồ sơ, {} lượt tra cứu báo cáo, {} lượt \
                 máy chủ trả lời{}",
                n(dossiers),
                n(lookups),
                n(served),
                if dossiers + lookups + served == 0 {
                    ""
                } else {
                    " (thêm --include-load-test để tính cả)"
                }
            ),
            Audit::NoAccess => "vnpop: chưa có cơ quan nào tra cứu công dân này".into(),
            Audit::LookingForAnomalies => {
                "đang tìm dấu hiệu bất thường (đọc một lượt các sự kiện đã báo cáo trong kỳ)".into()
            }
            Audit::AnomalyCounts { counts: c } => format!(
                "Đã đọc {} sự kiện được báo cáo; phát hiện: {} dossier_many_citizens, {} \
                 citizen_many_officers, {} burst, {} peer_outlier, {} day_off, {} off_hours, {} \
                 no_lookup",
                n(&c.events),
                n(&c.dossier_many_citizens),
                n(&c.citizen_many_officers),
                n(&c.burst),
                n(&c.peer_outlier),
                n(&c.day_off),
                n(&c.off_hours),
                n(&c.no_lookup)
            ),
            Audit::Reconciling => "đang đối soát (đọc mỗi lượt tra cứu một lần)".into(),
            Audit::ReconcileCounts { counts: r } => format!(
                "{} hồ sơ: {} lượt tra cứu đơn vị báo cáo (và {} lượt không đến được máy chủ), {} \
                 lượt máy chủ trả lời; phát hiện: {} served_not_reported, {} reported_not_served, \
                 {} dossier_not_reported, {} reported_failure_unconfirmed, {} reported_late{}",
                n(&r.dossiers),
                n(&r.reported),
                n(&r.not_reaching_server),
                n(&r.served),
                n(&r.served_not_reported),
                n(&r.reported_not_served),
                n(&r.dossier_not_reported),
                n(&r.reported_failure_unconfirmed),
                n(&r.reported_late),
                if r.truncated {
                    " (danh sách đã bị cắt bớt: hãy tăng --limit)"
                } else {
                    ""
                }
            ),
            Audit::KeyFile { path, error } => format!(
                "không đọc được tệp {path}: {} (hãy chỉ định --public-key)",
                vi_io(error)
            ),
            Audit::Recomputing => "đang tính lại cây Merkle và kiểm tra mọi đầu cây đã ký".into(),
            Audit::Intact {
                events,
                heads,
                size,
                root,
            } => format!(
                "Nhật ký toàn vẹn: đã kiểm tra {} sự kiện, {} đầu cây đã ký; đầu cây mới nhất có \
                 {} sự kiện, gốc {root}",
                n(events),
                n(heads),
                n(size)
            ),
            Audit::Tampered { tamper, events } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI: {tamper} (đã đọc {} sự kiện trước đó)",
                n(events)
            ),
            Audit::TamperedRemote { problem, events } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI (máy chủ phát hiện): {problem} (đã đọc {} sự kiện trước đó)",
                n(events)
            ),
            Audit::NoHead => "máy chủ không trả về đầu cây nào".into(),
            Audit::NotSigned { size } => format!(
                "đầu cây có {} sự kiện không được ký bằng khóa của nhật ký",
                n(size)
            ),
            Audit::NotHex { field, bytes } => {
                format!("trường {field} của đầu cây không phải {bytes} byte viết dạng hex")
            }
            Audit::HeadFile { path, error } => {
                format!("tệp {path} không phải đầu cây đã lưu: {error}")
            }
            Audit::KeyChanged { path, then, now } => {
                format!("khóa của nhật ký đã đổi so với {path}: trước đây là {then}, nay là {now}")
            }
            Audit::Shrank { then, now } => format!(
                "nhật ký bị thu nhỏ: đầu cây trước có {} sự kiện, nay còn {}",
                n(then),
                n(now)
            ),
            Audit::NotExtending { now, then } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI: nhật ký {} sự kiện không nối tiếp đầu cây trước có {} sự kiện \
                 (lịch sử đã bị viết lại hoặc bị xóa)",
                n(now),
                n(then)
            ),
            Audit::IntactRemote {
                events,
                heads,
                size,
                root,
                extends,
            } => format!(
                "Nhật ký toàn vẹn (máy chủ tính lại): đã kiểm tra {} sự kiện, {} đầu cây đã ký; \
                 đầu cây mới nhất có {} sự kiện, gốc {root}{}",
                n(events),
                n(heads),
                n(size),
                extends.map_or(String::new(), |then| format!(
                    "; nối tiếp đầu cây trước có {} sự kiện",
                    n(&then)
                ))
            ),
            Audit::Unpinned { key } => format!(
                "lưu ý: đầu cây được kiểm tra bằng khóa do máy chủ đưa ra ({key}); hãy cố định \
                 khóa bằng --public-key"
            ),
            Audit::BadDay { flag, typed, .. } => format!(
                "{flag} {}: không phải ngày hợp lệ của kỳ kiểm tra (viết theo dạng YYYY-MM-DD, \
                 năm từ {} đến {})",
                quote(typed),
                crate::audit::answers::YEARS.start(),
                crate::audit::answers::YEARS.end()
            ),
            Audit::TooWide { flag, from, to, .. } => format!(
                "{flag}: kỳ từ {} đến {} dài hơn {} năm; hãy chọn kỳ ngắn hơn",
                date(from),
                date(to),
                crate::audit::answers::MAX_PERIOD_YEARS
            ),
            Audit::EmptyPeriod {
                from_flag,
                from,
                to_flag,
                to,
            } => format!("kỳ báo cáo rỗng: {to_flag} {to} trước {from_flag} {from}"),
            Audit::NoOutDirectory { out, parent } => {
                format!("--out {out}: không có thư mục {parent}")
            }
            Audit::OutIsDirectory { out } => {
                format!("--out {out}: đây là thư mục, không phải tên tệp")
            }
            Audit::NoSuchDistrict {
                name,
                from,
                to,
                known,
            } => format!(
                "--district {name:?}: không có hồ sơ nào của huyện này từ ngày {} đến ngày {} \
                 (các huyện có hồ sơ: {})",
                date(from),
                date(to),
                if known.is_empty() {
                    "không có".to_owned()
                } else {
                    known.join(", ")
                }
            ),
            Audit::NoDossiers { from, to, agency } => format!(
                "kỳ báo cáo rỗng: không có hồ sơ nào được tiếp nhận từ ngày {} đến ngày {}{}",
                date(from),
                date(to),
                agency
                    .as_ref()
                    .map(|a| format!(" tại cơ quan {a}"))
                    .unwrap_or_default()
            ),
            Audit::ReportWritten {
                path,
                dossiers,
                coverage,
            } => format!(
                "Đã ghi báo cáo vào {path} ({} hồ sơ, tỷ lệ hồ sơ có tra cứu {})",
                n(dossiers),
                Lang::Vi.percent(*coverage)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Audit> {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let flag = || "--district".to_owned();
        let names = |n: usize| (0..n).map(|i| format!("Huyện {i}")).collect::<Vec<_>>();
        vec![
            Audit::NoLogFile {
                path: "vnpop-data/audit.sqlite".into(),
            },
            Audit::LogFile {
                path: "vnpop-data/audit.sqlite".into(),
                error: "tệp hỏng".into(),
            },
            Audit::TakenAs {
                flag: flag(),
                typed: "huyen mai chau".into(),
                name: "Huyện Mai Châu".into(),
            },
            Audit::Ambiguous {
                flag: flag(),
                typed: "Huyen Lac".into(),
                names: vec!["Huyện Lạc Sơn".into(), "Huyện Lạc Thủy".into()],
            },
            Audit::NoneInPeriod {
                flag: "--officer".into(),
                typed: "cb01".into(),
                group: "officer".into(),
            },
            Audit::NoMatch {
                flag: flag(),
                typed: "Đà Bắc".into(),
                group: "district".into(),
                known: names(12),
            },
            Audit::NoSubjectKey {
                file: "audit-subject.key".into(),
            },
            Audit::OutOfOrder,
            Audit::EndedBeforeCounts,
            Audit::FindingsBeforeCounts,
            Audit::NoDossier,
            Audit::ChartWritten {
                path: "coverage.svg".into(),
            },
            Audit::LeftOut {
                dossiers: 1_000,
                lookups: 2_000,
                served: 1_990,
            },
            Audit::NoAccess,
            Audit::LookingForAnomalies,
            Audit::AnomalyCounts {
                counts: proto::AnomalyCounts {
                    events: 365_498,
                    off_hours: 3,
                    ..Default::default()
                },
            },
            Audit::Reconciling,
            Audit::ReconcileCounts {
                counts: proto::ReconcileResponse {
                    dossiers: 300_000,
                    reported: 65_498,
                    served: 65_498,
                    truncated: true,
                    ..Default::default()
                },
            },
            Audit::KeyFile {
                path: "vnpop-data/audit-signing.pub".into(),
                error: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
            Audit::Recomputing,
            Audit::Intact {
                events: 365_498,
                heads: 12,
                size: 365_498,
                root: "1a2b3c".into(),
            },
            Audit::Tampered {
                tamper: "sự kiện 42".into(),
                events: 41,
            },
            Audit::TamperedRemote {
                problem: "sự kiện 42".into(),
                events: 41,
            },
            Audit::NoHead,
            Audit::NotSigned { size: 1_000 },
            Audit::NotHex {
                field: "root_hash".into(),
                bytes: 32,
            },
            Audit::HeadFile {
                path: "head.json".into(),
                error: "dòng 1, cột 1".into(),
            },
            Audit::KeyChanged {
                path: "head.json".into(),
                then: "aa".into(),
                now: "bb".into(),
            },
            Audit::Shrank {
                then: 2_000,
                now: 1_000,
            },
            Audit::NotExtending {
                now: 2_000,
                then: 1_000,
            },
            Audit::IntactRemote {
                events: 2_000,
                heads: 3,
                size: 2_000,
                root: "1a2b3c".into(),
                extends: Some(1_000),
            },
            Audit::Unpinned { key: "cc".into() },
            Audit::BadDay {
                flag: "--from".into(),
                typed: "2023-13-01".into(),
                error: crate::audit::answers::parse_day("from", "2023-13-01").unwrap_err(),
            },
            Audit::TooWide {
                flag: "--to".into(),
                from: day(2000, 1, 1),
                to: day(2023, 12, 31),
                error: crate::audit::answers::days("2000-01-01", "2023-12-31").unwrap_err(),
            },
            Audit::EmptyPeriod {
                from_flag: "--from".into(),
                from: "2023-12-31".into(),
                to_flag: "--to".into(),
                to: "2023-01-01".into(),
            },
            Audit::NoOutDirectory {
                out: "missing/report.html".into(),
                parent: "missing".into(),
            },
            Audit::OutIsDirectory { out: "docs".into() },
            Audit::NoSuchDistrict {
                name: "Huyện Đà Bắc".into(),
                from: day(2023, 1, 1),
                to: day(2023, 12, 31),
                known: names(2),
            },
            Audit::NoDossiers {
                from: day(2023, 1, 1),
                to: day(2023, 12, 31),
                agency: Some("one-stop-phuong-ba-dinh".into()),
            },
            Audit::ReportWritten {
                path: "report.html".into(),
                dossiers: 300_000,
                coverage: 0.218,
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::tests::check(&examples(), Audit::VARIANTS, Audit::variant);
    }

    #[test]
    fn counts_dates_and_shares_are_written_the_vietnamese_way() {
        let written = Audit::ReportWritten {
            path: "report.html".into(),
            dossiers: 300_000,
            coverage: 65_498.0 / 300_000.0,
        };
        assert_eq!(
            written.vietnamese(),
            "Đã ghi báo cáo vào report.html (300.000 hồ sơ, tỷ lệ hồ sơ có tra cứu 21,8%)"
        );
        assert_eq!(
            written.english(),
            "report written to report.html (300,000 dossiers, coverage 21.8%)"
        );
        let none = Audit::NoDossiers {
            from: NaiveDate::from_ymd_opt(2022, 12, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(),
            agency: None,
        };
        assert!(
            none.vietnamese()
                .contains("từ ngày 01/12/2022 đến ngày 31/12/2023"),
            "{}",
            none.vietnamese()
        );
        let many = Audit::NoMatch {
            flag: "--district".into(),
            typed: "x".into(),
            group: "district".into(),
            known: (0..1_200).map(|i| i.to_string()).collect(),
        };
        assert!(
            many.vietnamese().ends_with("(tổng cộng 1.200)"),
            "{}",
            many.vietnamese()
        );
        assert!(
            many.english().ends_with("(1200 in all)"),
            "{}",
            many.english()
        );
    }
}
