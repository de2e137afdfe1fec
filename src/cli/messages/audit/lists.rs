//! `vnpop audit ratio`, `citizen`, `anomalies` and `reconcile`: what a list or a ratio found
//! nothing of, the chart written, the load-test traffic left out, and the counts `reconcile` and
//! `anomalies` print before their findings (the findings' kinds are the API's names, as in their
//! `finding` column).

use super::super::{catalogue, vi_count, Message};
use crate::proto;

catalogue! {
    /// What `ratio`, `citizen`, `anomalies` and `reconcile` print besides their data.
    pub(crate) enum Lists {
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
    }
}

impl Message for Lists {
    fn english(&self) -> String {
        match self {
            Lists::FindingsBeforeCounts => "findings before the counts".into(),
            Lists::NoDossier => "vnpop: no dossier was received in this period".into(),
            Lists::ChartWritten { path } => format!("chart written to {path}"),
            Lists::LeftOut {
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
            Lists::NoAccess => "vnpop: no agency has looked this citizen up".into(),
            Lists::LookingForAnomalies => {
                "looking for anomalies (reads the period's reported events once)".into()
            }
            Lists::AnomalyCounts { counts: c } => format!(
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
            Lists::Reconciling => "reconciling (reads every verification once)".into(),
            Lists::ReconcileCounts { counts: r } => format!(
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
        }
    }

    fn vietnamese(&self) -> String {
        let n = |n: &u64| vi_count(*n);
        match self {
            Lists::FindingsBeforeCounts => "các phát hiện đến trước số liệu tổng hợp".into(),
            Lists::NoDossier => "vnpop: không có hồ sơ nào được tiếp nhận trong kỳ này".into(),
            Lists::ChartWritten { path } => format!("Đã ghi biểu đồ vào {path}"),
            Lists::LeftOut {
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
            Lists::NoAccess => "vnpop: chưa có cơ quan nào tra cứu công dân này".into(),
            Lists::LookingForAnomalies => {
                "đang tìm dấu hiệu bất thường (đọc một lượt các sự kiện đã báo cáo trong kỳ)".into()
            }
            Lists::AnomalyCounts { counts: c } => format!(
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
            Lists::Reconciling => "đang đối soát (đọc mỗi lượt tra cứu một lần)".into(),
            Lists::ReconcileCounts { counts: r } => format!(
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Lists> {
        vec![
            Lists::FindingsBeforeCounts,
            Lists::NoDossier,
            Lists::ChartWritten {
                path: "coverage.svg".into(),
            },
            Lists::LeftOut {
                dossiers: 1_000,
                lookups: 2_000,
                served: 1_990,
            },
            Lists::NoAccess,
            Lists::LookingForAnomalies,
            Lists::AnomalyCounts {
                counts: proto::AnomalyCounts {
                    events: 365_498,
                    off_hours: 3,
                    ..Default::default()
                },
            },
            Lists::Reconciling,
            Lists::ReconcileCounts {
                counts: proto::ReconcileResponse {
                    dossiers: 300_000,
                    reported: 65_498,
                    served: 65_498,
                    truncated: true,
                    ..Default::default()
                },
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::super::tests::check(&examples(), Lists::VARIANTS, Lists::variant);
    }
}
