//! `vnpop simulate`: its progress, the summary of a run (new, resumed or already in the log),
//! where the log's totals are, what a stop says, and the scenario and run label it refuses.

use super::{catalogue, vi_count, vi_decimal, vi_io, Message};
use crate::simulate::ScenarioError;

catalogue! {
    /// What `vnpop simulate` prints besides its logs.
    pub(crate) enum Simulate {
        /// Progress, on stderr.
        Progress { done: u64, total: u64 },
        /// The run's id, first line of the summary.
        Run { id: String },
        /// Every dossier of the run was already in the log.
        AlreadyInLog { dossiers: u64, lookups: u64 },
        /// The run's dossiers and lookups, and how long it took.
        Simulated { dossiers: u64, lookups: u64, failed: u64, seconds: f64 },
        /// Some dossiers were already in the log from an earlier run.
        Resumed { dossiers: u64, lookups: u64 },
        /// The scenario's districts belong to a province merged on 1 July 2025.
        Merged { then: String, now: String },
        /// The heading of the periods' totals.
        Totals,
        /// One period's totals, and the command that shows them.
        Period { from: String, to: String, dossiers: u64, lookups: u64 },
        /// SIGINT or SIGTERM could not be caught.
        CannotCatchSignals { error: std::io::Error },
        /// The first Ctrl-C.
        Stopping,
        /// The second Ctrl-C.
        ExitingAtOnce,
        /// Where a stopped run stopped.
        Stopped { done: u64, planned: u64, now: u64, already: u64, waiting: u64 },
        /// The scenario file was refused.
        Scenario { error: ScenarioError },
    }
}

impl Message for Simulate {
    fn english(&self) -> String {
        match self {
            Simulate::Progress { done, total } => format!("simulated {done} / {total} dossiers"),
            Simulate::Run { id } => format!("run {id}"),
            Simulate::AlreadyInLog { dossiers, lookups } => format!(
                "already in the log: all {dossiers} dossiers of this run were acknowledged as \
                 duplicates, and their {lookups} lookups, made again under the same call ids, were \
                 recorded once; no figure changed, every event delivered (give --run-label NAME \
                 to simulate a separate run)"
            ),
            Simulate::Simulated {
                dossiers,
                lookups,
                failed,
                seconds,
            } => format!(
                "simulated {dossiers} dossiers and {lookups} lookups ({failed} not answered) in \
                 {seconds:.1} s; every event delivered"
            ),
            Simulate::Resumed { dossiers, lookups } => format!(
                "resumed: {dossiers} dossiers were already in the log from an earlier run of this \
                 scenario and were acknowledged as duplicates; their {lookups} lookups were made \
                 again under the same call ids and recorded once"
            ),
            Simulate::Merged { then, now } => format!(
                "the scenario's units are {then}'s districts as they stood before 1 July 2025; \
                 {then} is now part of {now} (`--by province` counts them there, beside {now}'s \
                 communes since the reform)"
            ),
            Simulate::Totals => "the log now holds this run's totals:".into(),
            Simulate::Period {
                from,
                to,
                dossiers,
                lookups,
            } => format!(
                "  {from} .. {to}: {dossiers} dossiers, {lookups} lookups: vnpop audit ratio \
                 --from {from} --to {to} --by district"
            ),
            Simulate::CannotCatchSignals { error } => format!("cannot catch signals: {error}"),
            Simulate::Stopping => "vnpop: stopping: no new dossier is started, those in flight \
                                   finish into the outbox (Ctrl-C again to exit at once)"
                .into(),
            Simulate::ExitingAtOnce => {
                "vnpop: exiting at once; the outbox keeps what was recorded, run again to resume"
                    .into()
            }
            Simulate::Stopped {
                done,
                planned,
                now,
                already,
                waiting,
            } => format!(
                "vnpop: stopped after {done} of {planned} dossiers ({now} done now, {already} \
                 already in the log); {waiting} event(s) wait in the outbox. Run the same command \
                 again to resume: what is in the log is not done again."
            ),
            Simulate::Scenario { error } => error.to_string(),
        }
    }

    fn vietnamese(&self) -> String {
        let n = |n: &u64| vi_count(*n);
        match self {
            Simulate::Progress { done, total } => {
                format!("Đã mô phỏng {} / {} hồ sơ", n(done), n(total))
            }
            Simulate::Run { id } => format!("Lượt chạy {id}"),
            Simulate::AlreadyInLog { dossiers, lookups } => format!(
                "Đã có trong nhật ký: toàn bộ {} hồ sơ của lượt chạy này được xác nhận là trùng, \
                 {} lượt tra cứu của các hồ sơ đó được thực hiện lại với cùng mã lời gọi và chỉ \
                 được ghi một lần; không số liệu nào thay đổi, mọi sự kiện đã được gửi đến (dùng \
                 --run-label TÊN để mô phỏng một lượt chạy riêng)",
                n(dossiers),
                n(lookups)
            ),
            Simulate::Simulated {
                dossiers,
                lookups,
                failed,
                seconds,
            } => format!(
                "Đã mô phỏng {} hồ sơ và {} lượt tra cứu ({} lượt không được trả lời) trong {} \
                 giây; mọi sự kiện đã được gửi đến",
                n(dossiers),
                n(lookups),
                n(failed),
                vi_decimal(*seconds, 1)
            ),
            Simulate::Resumed { dossiers, lookups } => format!(
                "Chạy tiếp: {} hồ sơ đã có trong nhật ký từ lượt chạy trước của kịch bản này và \
                 được xác nhận là trùng; {} lượt tra cứu của các hồ sơ đó được thực hiện lại với \
                 cùng mã lời gọi và chỉ được ghi một lần",
                n(dossiers),
                n(lookups)
            ),
            Simulate::Merged { then, now } => format!(
                "Các đơn vị của kịch bản là các huyện của {then} trước ngày 01/7/2025; {then} nay \
                 thuộc {now} (`--by province` tính các huyện này vào {now}, cùng các xã, phường \
                 của {now} từ khi sắp xếp đơn vị hành chính)"
            ),
            Simulate::Totals => "Nhật ký nay có số liệu của lượt chạy này:".into(),
            Simulate::Period {
                from,
                to,
                dossiers,
                lookups,
            } => format!(
                "  {from} .. {to}: {} hồ sơ, {} lượt tra cứu: vnpop audit ratio --from {from} \
                 --to {to} --by district",
                n(dossiers),
                n(lookups)
            ),
            Simulate::CannotCatchSignals { error } => {
                format!("không bắt được tín hiệu dừng: {error}")
            }
            Simulate::Stopping => "vnpop: đang dừng: không bắt đầu hồ sơ mới, các hồ sơ đang xử \
                                   lý được hoàn tất và lưu vào hàng đợi gửi (nhấn Ctrl-C lần nữa \
                                   để thoát ngay)"
                .into(),
            Simulate::ExitingAtOnce => "vnpop: thoát ngay; hàng đợi gửi giữ những gì đã ghi, chạy \
                                        lại lệnh để tiếp tục"
                .into(),
            Simulate::Stopped {
                done,
                planned,
                now,
                already,
                waiting,
            } => format!(
                "vnpop: đã dừng sau {} trên {} hồ sơ ({} hồ sơ làm trong lần này, {} hồ sơ đã có \
                 trong nhật ký); {} sự kiện đang chờ trong hàng đợi gửi. Chạy lại đúng lệnh này để \
                 tiếp tục: những gì đã có trong nhật ký sẽ không làm lại.",
                n(done),
                n(planned),
                n(now),
                n(already),
                n(waiting)
            ),
            Simulate::Scenario { error } => match error {
                ScenarioError::Read(path, error) => {
                    format!("không đọc được tệp kịch bản {path}: {}", vi_io(error))
                }
                ScenarioError::Invalid(why) => format!("kịch bản không hợp lệ: {why}"),
                ScenarioError::Label(label) => format!(
                    "--run-label {label:?}: chỉ dùng từ 1 đến 32 ký tự gồm chữ cái, chữ số, '.', \
                     '_' hoặc '-'"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Simulate> {
        vec![
            Simulate::Progress {
                done: 1_000,
                total: 300_000,
            },
            Simulate::Run {
                id: "hoa-binh-2023.2026.a1b2".into(),
            },
            Simulate::AlreadyInLog {
                dossiers: 3_000,
                lookups: 655,
            },
            Simulate::Simulated {
                dossiers: 300_000,
                lookups: 65_498,
                failed: 12,
                seconds: 42.26,
            },
            Simulate::Resumed {
                dossiers: 1_200,
                lookups: 260,
            },
            Simulate::Merged {
                then: "Tỉnh Hòa Bình".into(),
                now: "Tỉnh Phú Thọ".into(),
            },
            Simulate::Totals,
            Simulate::Period {
                from: "2022-12-01".into(),
                to: "2023-12-31".into(),
                dossiers: 300_000,
                lookups: 65_498,
            },
            Simulate::CannotCatchSignals {
                error: std::io::Error::other("mã lỗi 22"),
            },
            Simulate::Stopping,
            Simulate::ExitingAtOnce,
            Simulate::Stopped {
                done: 1_500,
                planned: 3_000,
                now: 500,
                already: 1_000,
                waiting: 7,
            },
            Simulate::Scenario {
                error: ScenarioError::Read(
                    "scenario.toml".into(),
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ),
            },
            Simulate::Scenario {
                error: ScenarioError::Label("quá dài".repeat(10)),
            },
        ]
    }

    #[test]
    fn every_message_is_written_in_both_languages() {
        super::super::tests::check(&examples(), Simulate::VARIANTS, Simulate::variant);
    }

    #[test]
    fn counts_are_written_the_vietnamese_way() {
        let message = Simulate::Simulated {
            dossiers: 300_000,
            lookups: 65_498,
            failed: 0,
            seconds: 42.26,
        };
        assert_eq!(
            message.vietnamese(),
            "Đã mô phỏng 300.000 hồ sơ và 65.498 lượt tra cứu (0 lượt không được trả lời) trong \
             42,3 giây; mọi sự kiện đã được gửi đến"
        );
        assert_eq!(
            message.english(),
            "simulated 300000 dossiers and 65498 lookups (0 not answered) in 42.3 s; every event \
             delivered"
        );
    }
}
