//! The report's language: its labels in Vietnamese or English, and numbers, dates and months
//! written the way its readers write them (Vietnamese: `65.498`, `21,8%`, `01/12/2022`).

use chrono::NaiveDate;

use crate::vocabulary::Channel;

/// The language a report is written in (the global `--lang`: Vietnamese unless English is
/// asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt (the default).
    Vi,
    /// English.
    En,
}

/// Every fixed text of a report, in one language.
pub(crate) struct Labels {
    pub html_lang: &'static str,
    pub title: &'static str,
    pub period: &'static str,
    pub compare_period: &'static str,
    pub scope_all: &'static str,
    pub agency: &'static str,
    pub generated: &'static str,
    pub dossiers: &'static str,
    pub lookups_reported: &'static str,
    pub lookups_served: &'static str,
    pub coverage: &'static str,
    /// Table column headers, short: dossiers, reported, served, with a lookup, coverage, per
    /// dossier, reported but not served, reported failed.
    pub columns: [&'static str; 8],
    /// The load-test traffic the figures leave out: the sentence's start, then its three counts'
    /// words (dossiers, lookups reported, served).
    pub load_test_left_out: [&'static str; 4],
    pub points: &'static str,
    pub by_district_month: &'static str,
    pub by_district_month_note: &'static str,
    pub by_district: &'static str,
    pub by_officer: &'static str,
    pub by_officer_note: &'static str,
    pub district: &'static str,
    /// The commune-level unit (since 1 July 2025).
    pub commune: &'static str,
    /// The current province (one of the 34).
    pub province: &'static str,
    pub by_commune: &'static str,
    pub by_commune_note: &'static str,
    pub month: &'static str,
    pub officer: &'static str,
    pub total: &'static str,
    pub unverified: &'static str,
    pub unverified_rest: &'static str,
    /// The data-cleaning jobs' section: its title, its note, and its columns (agency, job,
    /// purpose, records, then the six verdicts).
    pub cleaning: &'static str,
    pub cleaning_note: &'static str,
    pub cleaning_columns: [&'static str; 10],
    pub dossier: &'static str,
    pub procedure: &'static str,
    pub channel: &'static str,
    pub received: &'static str,
    pub reconcile: &'static str,
    pub reconcile_note: &'static str,
    pub finding: &'static str,
    pub count: &'static str,
    pub rpc: &'static str,
    pub reported: &'static str,
    pub served: &'static str,
    pub first_at: &'static str,
    pub findings_listed: &'static str,
    pub no_findings: &'static str,
    /// No finding listed beside the late reports of a backfilled period.
    pub no_other_findings: &'static str,
    pub head: &'static str,
    pub head_note: &'static str,
    pub head_moved: &'static str,
    pub tree_size: &'static str,
    pub root: &'static str,
    pub signed_at: &'static str,
    pub public_key: &'static str,
    pub signature: &'static str,
    pub verify_remote: &'static str,
    pub verify_file: &'static str,
    /// The checkpoint's heading and what it is for.
    pub checkpoint: &'static str,
    pub command: &'static str,
    pub no_key: &'static str,
    /// After a per-day figure: `/ngày`.
    pub per_day: &'static str,
    /// A period's length: the word after the number of days.
    pub days: &'static str,
    /// How a per-day volume changed against the comparison period (its note on the card).
    pub per_day_change: &'static str,
    /// How the two periods are compared: the sentence's start before the period's days, the word
    /// after them, and the word after the comparison period's days.
    pub compare_note: [&'static str; 3],
    /// The heat map's colour scale (its legend's caption) and the cell of a month without dossiers.
    pub scale: &'static str,
    pub no_dossiers: &'static str,
    /// Where the exact figures of the charts are on paper (hover hints mean nothing there).
    pub by_district_month_print: &'static str,
    pub by_officer_print: &'static str,
    /// The printed page's footer: `Trang 3 / 12` (the word, then the word between the numbers).
    pub page: [&'static str; 2],
    /// The tree head in a page's margin: `Đầu cây 123.456 sự kiện, gốc 1a2b3c4d…`.
    pub head_short: &'static str,
    pub events: &'static str,
    pub root_short: &'static str,
    /// The time zone every moment of the report is written in.
    pub time_zone: &'static str,
    /// Between the provinces of the day and today's (`Tỉnh Hòa Bình (nay thuộc Tỉnh Phú Thọ)`),
    /// and the heading of the agencies that reported the dossiers.
    pub province_then: &'static str,
    pub agencies: &'static str,
    /// The period reported after the fact: the sentence's start, then the words after the count
    /// of late dossiers and after the period's dossiers.
    pub backfilled: [&'static str; 3],
    /// The findings section: heading, note, counts table header, list heading, none found,
    /// evidence header, the word for more rows than shown.
    pub anomalies: &'static str,
    pub anomalies_note: &'static str,
    pub anomalies_listed: &'static str,
    pub no_anomalies: &'static str,
    pub evidence: &'static str,
    pub explanation: &'static str,
    /// Dossier rows of evidence: "lookups".
    pub lookups_word: &'static str,
    /// After the count of evidence rows not shown.
    pub more_evidence: &'static str,
}

impl Lang {
    pub(crate) fn labels(self) -> &'static Labels {
        match self {
            Lang::Vi => &VI,
            Lang::En => &EN,
        }
    }

    /// `65498` → `65.498` (vi) or `65,498` (en).
    pub(crate) fn int(self, n: u64) -> String {
        let separator = match self {
            Lang::Vi => '.',
            Lang::En => ',',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    /// A decimal with `places` digits after the decimal comma (vi) or point (en).
    pub(crate) fn decimal(self, x: f64, places: usize) -> String {
        let text = format!("{:.places$}", x.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let whole = self.int(whole.parse().unwrap_or(0));
        let sign = if x < 0.0 && text.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            "−"
        } else {
            ""
        };
        match (fraction.is_empty(), self) {
            (true, _) => format!("{sign}{whole}"),
            (false, Lang::Vi) => format!("{sign}{whole},{fraction}"),
            (false, Lang::En) => format!("{sign}{whole}.{fraction}"),
        }
    }

    /// A share as a percentage with one decimal: `0.218` → `21,8%`.
    pub(crate) fn percent(self, share: f64) -> String {
        format!("{}%", self.decimal(share * 100.0, 1))
    }

    /// A change with its sign: `+1.234`, `−3,2%`.
    pub(crate) fn signed(self, x: f64, places: usize, unit: &str) -> String {
        let plus = if x > 0.0
            && self
                .decimal(x, places)
                .bytes()
                .any(|b| b.is_ascii_digit() && b != b'0')
        {
            "+"
        } else {
            ""
        };
        format!("{plus}{}{unit}", self.decimal(x, places))
    }

    /// `2022-12-01` → `01/12/2022` (vi) or unchanged (en).
    pub(crate) fn date(self, date: NaiveDate) -> String {
        match self {
            Lang::Vi => date.format("%d/%m/%Y").to_string(),
            Lang::En => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// A month as the ratio answer writes it (`2023-01`) → `01/2023` (vi) or unchanged (en).
    pub(crate) fn month(self, month: &str) -> String {
        match (self, month.split_once('-')) {
            (Lang::Vi, Some((year, m))) => format!("{m}/{year}"),
            _ => month.to_owned(),
        }
    }

    /// A moment in Vietnam's time (UTC+7), as the report's readers write it: `07:30 01/01/2024`
    /// (vi) or `2024-01-01 07:30` (en); empty for an instant out of range.
    pub(crate) fn moment(self, ms: i64) -> String {
        let Some(at) = chrono::DateTime::from_timestamp_millis(ms) else {
            return String::new();
        };
        let local = at.with_timezone(&crate::domain::vietnam::offset());
        match self {
            Lang::Vi => local.format("%H:%M %d/%m/%Y").to_string(),
            Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// A dossier's channel in words (an unknown word as it is).
    pub(crate) fn channel(self, channel: &str) -> String {
        let words = match (self, Channel::parse(channel)) {
            (Lang::Vi, Channel::Desk) => "Trực tiếp",
            (Lang::Vi, Channel::Online) => "Trực tuyến",
            (Lang::En, Channel::Desk) => "At the desk",
            (Lang::En, Channel::Online) => "Online",
            (_, Channel::Other(_)) => channel,
        };
        words.to_owned()
    }

    /// An RPC in words (an unknown one as it is).
    pub(crate) fn rpc(self, rpc: &str) -> String {
        let words = match (self, rpc) {
            (Lang::Vi, "LookupByCccd") => "Tra cứu theo số CCCD",
            (Lang::Vi, "LookupByCmnd") => "Tra cứu theo số CMND",
            (Lang::Vi, "VerifyDemographics") => "Đối chiếu thông tin kê khai",
            (Lang::Vi, "VerifyQr") => "Xác thực mã QR",
            (Lang::Vi, "VerifyChipRead") => "Xác thực chip thẻ CCCD",
            (Lang::Vi, "StartAuthentication") => "Bắt đầu xác thực VNeID",
            (Lang::Vi, "CompleteAuthentication") => "Hoàn tất xác thực VNeID",
            (Lang::En, "LookupByCccd") => "Lookup by CCCD number",
            (Lang::En, "LookupByCmnd") => "Lookup by CMND number",
            (Lang::En, "VerifyDemographics") => "Declared details checked",
            (Lang::En, "VerifyQr") => "QR code verified",
            (Lang::En, "VerifyChipRead") => "Card chip verified",
            _ => rpc,
        };
        words.to_owned()
    }

    /// A kind of anomaly in words (an unknown kind as it is).
    pub(crate) fn anomaly(self, kind: &str) -> String {
        let words = match (self, kind) {
            (Lang::Vi, "dossier_many_citizens") => "Một hồ sơ, nhiều công dân được tra cứu",
            (Lang::Vi, "citizen_many_officers") => "Một công dân bị nhiều cán bộ tra cứu",
            (Lang::Vi, "burst") => "Tra cứu dồn dập trong một phút",
            (Lang::Vi, "peer_outlier") => "Số lượt tra cứu mỗi hồ sơ khác xa cán bộ cùng thủ tục",
            (Lang::Vi, "day_off") => "Tra cứu vào ngày nghỉ, ngày lễ",
            (Lang::Vi, "off_hours") => "Tra cứu ngoài giờ làm việc",
            (Lang::Vi, "no_lookup") => "Hồ sơ cần tra cứu nhưng không tra cứu",
            (Lang::En, "dossier_many_citizens") => "One dossier, many citizens looked up",
            (Lang::En, "citizen_many_officers") => "One citizen looked up by many officers",
            (Lang::En, "burst") => "A burst of lookups in one minute",
            (Lang::En, "peer_outlier") => "Lookups per dossier far from peers of the procedure",
            (Lang::En, "day_off") => "Lookups on a day off or public holiday",
            (Lang::En, "off_hours") => "Lookups outside working hours",
            (Lang::En, "no_lookup") => "Dossiers that call for a lookup, without one",
            _ => kind,
        };
        words.to_owned()
    }

    /// A finding kind of the reconcile answer in words (an unknown kind as it is).
    pub(crate) fn finding(self, kind: &str) -> String {
        let words = match (self, kind) {
            (Lang::Vi, "served_not_reported") => "Máy chủ đã trả lời nhưng đơn vị không báo cáo",
            (Lang::Vi, "reported_not_served") => "Đơn vị báo cáo nhưng máy chủ không ghi nhận",
            (Lang::Vi, "dossier_not_reported") => {
                "Tra cứu cho hồ sơ đơn vị không báo cáo tiếp nhận"
            }
            (Lang::Vi, "reported_failure_unconfirmed") => {
                "Báo cáo lỗi kết nối khi máy chủ vẫn trả lời đơn vị"
            }
            (Lang::Vi, "reported_late") => "Báo cáo gửi muộn",
            (Lang::En, "served_not_reported") => "Served by the server, never reported",
            (Lang::En, "reported_failure_unconfirmed") => {
                "Failure reported while the server answered the agency"
            }
            (Lang::En, "reported_late") => "Reported late",
            (Lang::En, "reported_not_served") => "Reported, never served by the server",
            (Lang::En, "dossier_not_reported") => "Lookups for a dossier never reported",
            _ => kind,
        };
        words.to_owned()
    }
}

static VI: Labels = Labels {
    load_test_left_out: [
        "Không tính lưu lượng kiểm thử tải",
        "hồ sơ",
        "lượt tra cứu báo cáo",
        "lượt máy chủ trả lời",
    ],
    html_lang: "vi",
    title: "Báo cáo tra cứu Cơ sở dữ liệu quốc gia về dân cư khi giải quyết hồ sơ",
    period: "Kỳ báo cáo",
    compare_period: "Kỳ so sánh",
    scope_all: "Tất cả đơn vị",
    agency: "Cơ quan",
    generated: "Lập lúc",
    dossiers: "Hồ sơ tiếp nhận",
    lookups_reported: "Lượt tra cứu đơn vị báo cáo",
    lookups_served: "Lượt tra cứu máy chủ đã trả lời",
    coverage: "Tỷ lệ hồ sơ có tra cứu",
    columns: ["Hồ sơ", "Tra cứu (báo cáo)", "Tra cứu (máy chủ)", "Hồ sơ có tra cứu", "Tỷ lệ", "Tra cứu / hồ sơ", "Báo cáo, máy chủ không ghi nhận", "Báo cáo lỗi kết nối"],
    points: " điểm %",
    by_district_month: "Tỷ lệ hồ sơ có tra cứu theo huyện và tháng",
    by_district_month_note: "Màu càng đậm, tỷ lệ càng cao (thang màu cố định từ 0% đến 100%); rê chuột lên ô để xem số liệu chính xác.",
    by_district: "Theo huyện",
    by_officer: "Theo cán bộ (tỷ lệ thấp nhất trước)",
    by_officer_note: "Đường nét đứt: tỷ lệ chung của kỳ báo cáo.",
    district: "Huyện",
    commune: "Xã, phường",
    province: "Tỉnh, thành phố",
    by_commune: "Theo tỉnh và xã, phường (hồ sơ tiếp nhận từ 1/7/2025)",
    by_commune_note: "Từ 1/7/2025 không còn cấp huyện: hồ sơ được tiếp nhận ở cấp xã hoặc cấp tỉnh.",
    month: "Tháng",
    officer: "Cán bộ",
    total: "Tổng",
    unverified: "Hồ sơ chưa được tra cứu",
    unverified_rest: "hồ sơ khác chưa được tra cứu không liệt kê ở đây",
    cleaning: "Làm sạch dữ liệu (không tính vào hồ sơ)",
    cleaning_note: "Các đợt làm sạch dữ liệu của bộ, ngành: mỗi bản ghi được đối chiếu và ghi nhật ký, nhưng không tính là tra cứu cho hồ sơ và không có trong các tỷ lệ trên.",
    cleaning_columns: [
        "Đơn vị",
        "Đợt",
        "Mục đích",
        "Bản ghi",
        "Khớp",
        "Sai lệch",
        "Số không tồn tại",
        "Sai định dạng",
        "Đã chết",
        "Thẻ bị thu hồi",
    ],
    dossier: "Mã hồ sơ",
    procedure: "Thủ tục",
    channel: "Kênh",
    received: "Tiếp nhận lúc",
    reconcile: "Đối soát: báo cáo của đơn vị và ghi nhận của máy chủ",
    reconcile_note: "Mỗi lượt tra cứu được ghi hai lần: đơn vị báo cáo và máy chủ ghi nhận khi trả lời. Chênh lệch là phát hiện.",
    finding: "Loại phát hiện",
    count: "Số lượng",
    rpc: "Phương thức",
    reported: "Đơn vị báo cáo",
    served: "Máy chủ ghi nhận",
    first_at: "Lần đầu lúc",
    findings_listed: "Các phát hiện đầu tiên",
    no_findings: "Không có chênh lệch.",
    no_other_findings: "Ngoài các báo cáo muộn nêu trên, không có chênh lệch.",
    head: "Căn cứ của số liệu: cây Merkle đã ký",
    head_note: "Các số liệu trên được tính từ nhật ký kiểm toán tại đầu cây dưới đây. Lưu khối JSON thành head.json rồi chạy lệnh để kiểm chứng rằng nhật ký hiện tại vẫn chứa đúng lịch sử đó.",
    head_moved: "Nhật ký đã ghi thêm sự kiện trong khi lập báo cáo; đầu cây dưới đây là đầu cây trước khi truy vấn.",
    tree_size: "Số sự kiện",
    root: "Gốc Merkle (SHA-256)",
    signed_at: "Ký lúc",
    public_key: "Khóa công khai Ed25519 của nhật ký",
    signature: "Chữ ký",
    verify_remote: "Kiểm chứng qua máy chủ",
    verify_file: "Kiểm chứng trên tệp nhật ký (tính lại toàn bộ cây, kiểm tra mọi đầu cây đã ký)",
    checkpoint: "Đầu cây dạng checkpoint C2SP (ghi chú có chữ ký, kiểm chứng được bằng công cụ minh bạch tiêu chuẩn, không cần vnpop) và khóa kiểm chứng",
    command: "Lệnh đã lập báo cáo",
    no_key: "(không có tệp audit-signing.pub bên cạnh tệp nhật ký)",
    per_day: "/ngày",
    days: "ngày",
    per_day_change: "mỗi ngày",
    compare_note: [
        "Số lượng được so sánh theo bình quân mỗi ngày, tỷ lệ theo điểm phần trăm: kỳ báo cáo",
        "ngày",
        "ngày",
    ],
    scale: "Thang màu",
    no_dossiers: "không có hồ sơ",
    by_district_month_print: "Màu càng đậm, tỷ lệ càng cao (thang màu cố định từ 0% đến 100%); số liệu chính xác của từng ô ở bảng Huyện · Tháng bên dưới.",
    by_officer_print: "Đường nét đứt: tỷ lệ chung của kỳ báo cáo; số liệu chính xác của từng cán bộ ở bảng bên dưới.",
    page: ["Trang", "/"],
    head_short: "Đầu cây",
    events: "sự kiện",
    root_short: "gốc",
    time_zone: "mọi thời điểm theo giờ Việt Nam (UTC+7)",
    province_then: "nay thuộc",
    agencies: "Đơn vị báo cáo",
    backfilled: [
        "Dữ liệu của kỳ này được báo cáo sau khi sự việc diễn ra (dữ liệu mô phỏng, báo cáo bù):",
        "trong",
        "hồ sơ được báo cáo muộn. Các báo cáo muộn này chỉ được đếm ở bảng trên, không liệt kê thành phát hiện cần xử lý.",
    ],
    anomalies: "Phát hiện cần xem xét",
    anomalies_note: "Tính từ nhật ký (hồ sơ và lượt tra cứu đơn vị báo cáo), với các ngưỡng mặc định của vnpop audit anomalies. Mỗi phát hiện là một câu kèm các dòng nhật ký làm bằng chứng (số thứ tự trong nhật ký).",
    anomalies_listed: "Các phát hiện",
    no_anomalies: "Không có phát hiện nào.",
    evidence: "Bằng chứng",
    explanation: "Nội dung",
    lookups_word: "lượt tra cứu",
    more_evidence: "dòng khác (vnpop audit anomalies liệt kê đủ)",
};

static EN: Labels = Labels {
    load_test_left_out: [
        "Left out as load-test traffic",
        "dossiers",
        "lookups reported",
        "served",
    ],
    html_lang: "en",
    title: "Population database lookups for administrative dossiers",
    period: "Period",
    compare_period: "Compared with",
    scope_all: "All units",
    agency: "Agency",
    generated: "Generated",
    dossiers: "Dossiers received",
    lookups_reported: "Lookups reported by the agency",
    lookups_served: "Lookups served by the server",
    coverage: "Coverage (dossiers with a lookup)",
    columns: ["Dossiers", "Lookups (reported)", "Lookups (served)", "With a lookup", "Coverage", "Per dossier", "Reported, not served", "Reported failed"],
    points: " points",
    by_district_month: "Coverage by district and month",
    by_district_month_note: "Darker means higher coverage (a fixed scale from 0% to 100%); hover over a cell for the exact figures.",
    by_district: "By district",
    by_officer: "By officer (lowest coverage first)",
    by_officer_note: "Dashed line: the period's overall coverage.",
    district: "District",
    commune: "Commune",
    province: "Province",
    by_commune: "By province and commune (dossiers received since 1 July 2025)",
    by_commune_note: "Districts were abolished on 1 July 2025: dossiers are received at a commune or at the province.",
    month: "Month",
    officer: "Officer",
    total: "Total",
    unverified: "Dossiers without a lookup",
    unverified_rest: "more dossiers without a lookup are not listed here",
    cleaning: "Data cleaning (not counted as dossiers)",
    cleaning_note: "Ministries' and agencies' data-cleaning jobs: every record is verified and on the trail, but is no dossier's lookup and is in none of the figures above.",
    cleaning_columns: [
        "Agency",
        "Job",
        "Purpose",
        "Records",
        "Match",
        "Mismatch",
        "Unknown number",
        "Malformed",
        "Deceased",
        "Card revoked",
    ],
    dossier: "Dossier",
    procedure: "Procedure",
    channel: "Channel",
    received: "Received",
    reconcile: "Reconciliation: what the agency reported against what the server served",
    reconcile_note: "Every lookup is logged twice: reported by the agency and recorded by the server as it answered. A difference is a finding.",
    finding: "Finding",
    count: "Count",
    rpc: "RPC",
    reported: "Reported",
    served: "Served",
    first_at: "First at",
    findings_listed: "First findings",
    no_findings: "No differences.",
    no_other_findings: "Beside the late reports above, no differences.",
    head: "What the figures rest on: the signed tree head",
    head_note: "The figures above were computed from the audit log at the tree head below. Save the JSON block as head.json and run the command to check that the log still holds exactly that history.",
    head_moved: "Events were logged while the report was computed; the head below is the one before the queries.",
    tree_size: "Events",
    root: "Merkle root (SHA-256)",
    signed_at: "Signed at",
    public_key: "The log's Ed25519 public key",
    signature: "Signature",
    verify_remote: "Verify through the server",
    verify_file: "Verify on the log file (recomputes the whole tree, checks every signed head)",
    checkpoint: "The head as a C2SP checkpoint (a signed note standard transparency tooling verifies without vnpop) and its verifier key",
    command: "Command that produced this report",
    no_key: "(no audit-signing.pub beside the log file)",
    per_day: "/day",
    days: "days",
    per_day_change: "per day",
    compare_note: [
        "Counts are compared per day and shares in percentage points: the period has",
        "days",
        "days",
    ],
    scale: "Colour scale",
    no_dossiers: "no dossiers",
    by_district_month_print: "Darker means higher coverage (a fixed scale from 0% to 100%); the exact figures of every cell are in the District · Month table below.",
    by_officer_print: "Dashed line: the period's overall coverage; every officer's exact figures are in the table below.",
    page: ["Page", "of"],
    head_short: "Tree head",
    events: "events",
    root_short: "root",
    time_zone: "all times are Vietnam time (UTC+7)",
    province_then: "now part of",
    agencies: "Reporting agencies",
    backfilled: [
        "This period's data was reported after the fact (simulated, backfilled):",
        "of",
        "dossiers were reported late. Those late reports are counted in the table above, not listed as findings to act on.",
    ],
    anomalies: "Findings to look into",
    anomalies_note: "Computed from the log (the dossiers and lookups the agencies reported) with vnpop audit anomalies' default thresholds. Each finding is one sentence (in Vietnamese) with the log rows that show it (their positions in the log).",
    anomalies_listed: "Findings",
    no_anomalies: "No findings.",
    evidence: "Evidence",
    explanation: "Finding",
    lookups_word: "lookups",
    more_evidence: "more rows (vnpop audit anomalies lists them all)",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_vietnamese_way_in_vietnamese() {
        assert_eq!(Lang::Vi.int(65_498), "65.498");
        assert_eq!(Lang::Vi.int(300_000), "300.000");
        assert_eq!(Lang::Vi.int(222), "222");
        assert_eq!(Lang::Vi.percent(65_498.0 / 300_000.0), "21,8%");
        assert_eq!(Lang::Vi.percent(222.0 / 29_613.0), "0,7%");
        assert_eq!(Lang::Vi.decimal(1234.5678, 3), "1.234,568");
        assert_eq!(Lang::En.int(65_498), "65,498");
        assert_eq!(Lang::En.percent(0.218), "21.8%");
        assert_eq!(Lang::Vi.signed(-21.1, 1, " điểm %"), "−21,1 điểm %");
        assert_eq!(Lang::En.signed(3.0, 1, "%"), "+3.0%");
        assert_eq!(Lang::En.signed(-0.01, 1, "%"), "0.0%");
        assert_eq!(Lang::Vi.month("2023-01"), "01/2023");
        let day = NaiveDate::from_ymd_opt(2022, 12, 1).unwrap();
        assert_eq!(Lang::Vi.date(day), "01/12/2022");
        assert_eq!(Lang::En.date(day), "2022-12-01");
    }

    #[test]
    fn moments_channels_and_findings_are_written_in_words() {
        // 2024-01-01T07:30:51+07:00.
        let ms = 1_704_069_051_000;
        assert_eq!(Lang::Vi.moment(ms), "07:30 01/01/2024");
        assert_eq!(Lang::En.moment(ms), "2024-01-01 07:30");
        assert_eq!(Lang::Vi.moment(i64::MAX), "");
        assert_eq!(Lang::Vi.channel("desk"), "Trực tiếp");
        assert_eq!(Lang::Vi.channel("online"), "Trực tuyến");
        assert_eq!(Lang::En.channel("online"), "Online");
        assert_eq!(Lang::Vi.channel("kiosk"), "kiosk");
        assert_eq!(Lang::Vi.finding("reported_late"), "Báo cáo gửi muộn");
        assert_eq!(Lang::En.finding("something_new"), "something_new");
    }
}
