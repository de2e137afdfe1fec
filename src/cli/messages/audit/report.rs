//! `vnpop audit report`: its usage errors (`--out`, `--district`), an empty period, and its last
//! line.

use chrono::NaiveDate;

use super::super::{catalogue, vi_count, Message};
use crate::cli::audit::report::Lang;

catalogue! {
    /// What `report` prints besides the report.
    // The variants keep the names they had in the audit commands' one catalogue.
    #[allow(clippy::enum_variant_names)]
    pub(crate) enum Report {
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

impl Message for Report {
    fn english(&self) -> String {
        match self {
            Report::NoOutDirectory { out, parent } => {
                format!("--out {out}: the directory {parent} does not exist")
            }
            Report::OutIsDirectory { out } => {
                format!("--out {out}: is a directory, not a file name")
            }
            Report::NoSuchDistrict {
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
            Report::NoDossiers { from, to, agency } => format!(
                "empty period: no dossiers received from {from} to {to}{}",
                agency
                    .as_ref()
                    .map(|a| format!(" by agency {a}"))
                    .unwrap_or_default()
            ),
            Report::ReportWritten {
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
        let n = |n: &u64| vi_count(*n);
        let date = |d: &NaiveDate| Lang::Vi.date(*d);
        match self {
            Report::NoOutDirectory { out, parent } => {
                format!("--out {out}: không có thư mục {parent}")
            }
            Report::OutIsDirectory { out } => {
                format!("--out {out}: đây là thư mục, không phải tên tệp")
            }
            Report::NoSuchDistrict {
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
            Report::NoDossiers { from, to, agency } => format!(
                "kỳ báo cáo rỗng: không có hồ sơ nào được tiếp nhận từ ngày {} đến ngày {}{}",
                date(from),
                date(to),
                agency
                    .as_ref()
                    .map(|a| format!(" tại cơ quan {a}"))
                    .unwrap_or_default()
            ),
            Report::ReportWritten {
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
    use super::{super::source::Source, *};

    fn examples() -> Vec<Report> {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let names = |n: usize| (0..n).map(|i| format!("Huyện {i}")).collect::<Vec<_>>();
        vec![
            Report::NoOutDirectory {
                out: "missing/report.html".into(),
                parent: "missing".into(),
            },
            Report::OutIsDirectory { out: "docs".into() },
            Report::NoSuchDistrict {
                name: "Huyện Đà Bắc".into(),
                from: day(2023, 1, 1),
                to: day(2023, 12, 31),
                known: names(2),
            },
            Report::NoDossiers {
                from: day(2023, 1, 1),
                to: day(2023, 12, 31),
                agency: Some("one-stop-phuong-ba-dinh".into()),
            },
            Report::ReportWritten {
                path: "report.html".into(),
                dossiers: 300_000,
                coverage: 0.218,
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::super::tests::check(&examples(), Report::VARIANTS, Report::variant);
    }

    #[test]
    fn counts_dates_and_shares_are_written_the_vietnamese_way() {
        let written = Report::ReportWritten {
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
        let none = Report::NoDossiers {
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
        let many = Source::NoMatch {
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
