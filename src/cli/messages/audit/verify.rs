//! `vnpop audit verify`: what it found — the log intact or altered, here or by the server — and
//! why a key, a tree head or a saved head cannot be checked.

use super::super::{catalogue, vi_count, vi_io, Message};

catalogue! {
    /// What `verify` prints besides its data.
    pub(crate) enum Verify {
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
    }
}

impl Message for Verify {
    fn english(&self) -> String {
        match self {
            Verify::KeyFile { path, error } => format!("{path}: {error} (give --public-key)"),
            Verify::Recomputing => "recomputing the tree and checking every signed head".into(),
            Verify::Intact {
                events,
                heads,
                size,
                root,
            } => format!(
                "OK: {events} events, {heads} signed tree heads checked, latest head size {size} \
                 root {root}"
            ),
            Verify::Tampered { tamper, events } => {
                format!("TAMPERED: {tamper} ({events} events read before it)")
            }
            Verify::TamperedRemote { problem, events } => format!(
                "TAMPERED (found by the server): {problem} ({events} events read before it)"
            ),
            Verify::NoHead => "the server returned no tree head".into(),
            Verify::NotSigned { size } => {
                format!("the tree head of size {size} is not signed by the log's key")
            }
            Verify::NotHex { field, bytes } => {
                format!("the tree head's {field} is not {bytes} bytes of hex")
            }
            Verify::HeadFile { path, error } => format!("{path}: {error}"),
            Verify::KeyChanged { path, then, now } => {
                format!("the log's key changed since {path}: {then} then, {now} now")
            }
            Verify::Shrank { then, now } => {
                format!("the log shrank: {then} events at the previous head, {now} now")
            }
            Verify::NotExtending { now, then } => format!(
                "TAMPERED: the log of {now} events does not extend the previous head of {then} \
                 events (rewritten or removed history)"
            ),
            Verify::IntactRemote {
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
            Verify::Unpinned { key } => format!(
                "note: the head was checked against the key the server presented ({key}); pin it \
                 with --public-key"
            ),
        }
    }

    fn vietnamese(&self) -> String {
        let n = |n: &u64| vi_count(*n);
        match self {
            Verify::KeyFile { path, error } => format!(
                "không đọc được tệp {path}: {} (hãy chỉ định --public-key)",
                vi_io(error)
            ),
            Verify::Recomputing => "đang tính lại cây Merkle và kiểm tra mọi đầu cây đã ký".into(),
            Verify::Intact {
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
            Verify::Tampered { tamper, events } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI: {tamper} (đã đọc {} sự kiện trước đó)",
                n(events)
            ),
            Verify::TamperedRemote { problem, events } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI (máy chủ phát hiện): {problem} (đã đọc {} sự kiện trước đó)",
                n(events)
            ),
            Verify::NoHead => "máy chủ không trả về đầu cây nào".into(),
            Verify::NotSigned { size } => format!(
                "đầu cây có {} sự kiện không được ký bằng khóa của nhật ký",
                n(size)
            ),
            Verify::NotHex { field, bytes } => {
                format!("trường {field} của đầu cây không phải {bytes} byte viết dạng hex")
            }
            Verify::HeadFile { path, error } => {
                format!("tệp {path} không phải đầu cây đã lưu: {error}")
            }
            Verify::KeyChanged { path, then, now } => {
                format!("khóa của nhật ký đã đổi so với {path}: trước đây là {then}, nay là {now}")
            }
            Verify::Shrank { then, now } => format!(
                "nhật ký bị thu nhỏ: đầu cây trước có {} sự kiện, nay còn {}",
                n(then),
                n(now)
            ),
            Verify::NotExtending { now, then } => format!(
                "NHẬT KÝ BỊ SỬA ĐỔI: nhật ký {} sự kiện không nối tiếp đầu cây trước có {} sự kiện \
                 (lịch sử đã bị viết lại hoặc bị xóa)",
                n(now),
                n(then)
            ),
            Verify::IntactRemote {
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
            Verify::Unpinned { key } => format!(
                "lưu ý: đầu cây được kiểm tra bằng khóa do máy chủ đưa ra ({key}); hãy cố định \
                 khóa bằng --public-key"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Verify> {
        vec![
            Verify::KeyFile {
                path: "vnpop-data/audit-signing.pub".into(),
                error: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
            Verify::Recomputing,
            Verify::Intact {
                events: 365_498,
                heads: 12,
                size: 365_498,
                root: "1a2b3c".into(),
            },
            Verify::Tampered {
                tamper: "sự kiện 42".into(),
                events: 41,
            },
            Verify::TamperedRemote {
                problem: "sự kiện 42".into(),
                events: 41,
            },
            Verify::NoHead,
            Verify::NotSigned { size: 1_000 },
            Verify::NotHex {
                field: "root_hash".into(),
                bytes: 32,
            },
            Verify::HeadFile {
                path: "head.json".into(),
                error: "dòng 1, cột 1".into(),
            },
            Verify::KeyChanged {
                path: "head.json".into(),
                then: "aa".into(),
                now: "bb".into(),
            },
            Verify::Shrank {
                then: 2_000,
                now: 1_000,
            },
            Verify::NotExtending {
                now: 2_000,
                then: 1_000,
            },
            Verify::IntactRemote {
                events: 2_000,
                heads: 3,
                size: 2_000,
                root: "1a2b3c".into(),
                extends: Some(1_000),
            },
            Verify::Unpinned { key: "cc".into() },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::super::tests::check(&examples(), Verify::VARIANTS, Verify::variant);
    }
}
