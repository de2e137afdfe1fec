//! `vnpop --lang vi`: the CLI's own messages — errors it finds itself, progress, summaries and
//! hints — are written in Vietnamese, with counts written the Vietnamese way (`1.200`), and no
//! English sentence is left in them; English stays the default. The real binary, run as a user
//! runs it: `clean` refusing its files, `citizen show|sample` and `certs`, then `simulate` and
//! the audit commands against a real server.

mod common;

use std::{path::Path, process::Output};

use common::TestServer;

/// Runs the `vnpop` binary with `args` (after `--lang LANG` when given) in the repository's top
/// directory, with no `VNPOP_LANG` from the environment.
fn vnpop(language: Option<&str>, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"));
    if let Some(language) = language {
        command.args(["--lang", language]);
    }
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VNPOP_LOG", "warn")
        .env_remove("VNPOP_LANG")
        .output()
        .expect("vnpop runs")
}

/// [`vnpop`] on a blocking thread, for the tests that run a server in this process.
async fn vnpop_async(language: Option<&'static str>, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        vnpop(language, &args)
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8")
}

/// English sentences that must not be left in a Vietnamese message.
const ENGLISH: [&str; 10] = [
    " the ",
    " is not ",
    "No such file",
    "cannot ",
    " dossiers",
    " lookups",
    " rows ",
    "written to",
    " events",
    "already ",
];

/// `text` is Vietnamese: it holds every one of `expected`, and none of the English sentences.
fn assert_vietnamese(text: &str, expected: &[&str]) {
    for words in expected {
        assert!(text.contains(words), "{words:?} is not in:\n{text}");
    }
    for english in ENGLISH {
        assert!(
            !text.contains(english),
            "English {english:?} is left in:\n{text}"
        );
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// `vnpop clean` refuses a missing file, a file without the required columns and a verdicts
/// file it would overwrite, each in Vietnamese (and in English without `--lang`).
#[test]
fn clean_refuses_its_files_in_vietnamese() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (
        path(dir.path(), "registry.csv"),
        path(dir.path(), "out.csv"),
    );
    let clean = |language| vnpop(language, &["clean", "--in", &input, "--out", &output]);

    let missing = clean(Some("vi"));
    assert!(!missing.status.success());
    assert_eq!(
        stderr(&missing),
        format!("vnpop: không đọc được tệp {input}: không có tệp hoặc thư mục này\n")
    );
    let english = stderr(&clean(None));
    assert!(english.contains("No such file or directory"), "{english}");

    std::fs::write(&input, "record_id,number\nR1,001090012345\n").unwrap();
    let columns = stderr(&clean(Some("vi")));
    assert_vietnamese(
        &columns,
        &[
            &format!("vnpop: tệp {input}: dòng tiêu đề thiếu cột full_name, date_of_birth, sex"),
            "chưa gửi bản ghi nào",
        ],
    );
    let english = stderr(&clean(None));
    assert!(
        english.contains("the header lacks the column(s)"),
        "{english}"
    );

    std::fs::write(
        &input,
        "record_id,number,full_name,date_of_birth,sex\nR1,001090012345,Nguyễn Văn An,1990-03-15,Nam\n",
    )
    .unwrap();
    std::fs::write(&output, "").unwrap();
    let exists = stderr(&clean(Some("vi")));
    assert_vietnamese(
        &exists,
        &[&format!(
            "vnpop: tệp {output} đã có: dùng --resume để làm tiếp đợt làm sạch"
        )],
    );
}

/// `citizen show` labels its record in Vietnamese (dates as `15/03/1990`); an unknown number is
/// masked; `citizen sample` refuses an unknown province; `certs` lists what it wrote and refuses
/// to overwrite it.
#[test]
fn the_citizen_and_certs_commands_speak_vietnamese() {
    let population = ["--population", "100", "--today", "2026-11-23"];
    let show = vnpop(
        Some("vi"),
        &[&["citizen", "show", "001090012345"][..], &population].concat(),
    );
    assert!(show.status.success(), "{}", stderr(&show));
    let record = stdout(&show);
    assert_vietnamese(
        &record,
        &[
            "Công dân (dân cư giả lập, --seed 2026)",
            "Họ, chữ đệm và tên    Nguyễn Văn An",
            "Ngày, tháng, năm sinh 15/03/1990",
            "Nơi thường trú",
            "Tài khoản VNeID       mức độ 2",
            "CHỈ DÙNG ĐỂ PHÁT TRIỂN",
        ],
    );
    for english in ["Full name", "Date of birth", "Passcode", "1990-03-15"] {
        assert!(!record.contains(english), "{english} in:\n{record}");
    }

    let unknown = vnpop(
        Some("vi"),
        &[&["citizen", "show", "001090999999"][..], &population].concat(),
    );
    let message = stderr(&unknown);
    assert_vietnamese(
        &message,
        &["vnpop: không tìm thấy công dân có số định danh cá nhân 001******999"],
    );
    assert!(!message.contains("001090999999"), "{message}");

    let sample = vnpop(
        Some("vi"),
        &[
            &["citizen", "sample", "--province", "Atlantis"][..],
            &population,
        ]
        .concat(),
    );
    assert!(!sample.status.success());
    assert_vietnamese(
        &stderr(&sample),
        &["--province: \"Atlantis\" không phải tên hoặc mã của tỉnh, thành phố nào"],
    );

    let dir = tempfile::tempdir().unwrap();
    let out = path(dir.path(), "pki");
    let certs = |language| vnpop(language, &["certs", "--out", &out, "--chip-only"]);
    let written = certs(Some("vi"));
    assert!(written.status.success(), "{}", stderr(&written));
    assert_vietnamese(
        &stdout(&written),
        &[
            &format!("Đã ghi {out}/"),
            "Đây là chứng thư số CHỈ DÙNG ĐỂ PHÁT TRIỂN",
        ],
    );
    assert_vietnamese(
        &stderr(&certs(Some("vi"))),
        &[
            &format!("vnpop: thư mục {out} đã có chứng thư số"),
            "--force",
        ],
    );
}

/// A small province scenario, with more than a thousand dossiers in its first period.
const SCENARIO: &str = r#"
seed = 7
procedures = ["1.004227", "1.001612"]
online_share = 0.3

[[period]]
from = "2022-12-01"
to = "2023-12-31"
dossiers = 1200
lookups = 65

[[period]]
from = "2024-01-01"
to = "2024-02-21"
dossiers = 120
lookups = 2

[[unit]]
district = "Thành phố Phủ Lý"
officers = 3
weight = 2
lookup_probability = [0.1, 0.02]

[[unit]]
district = "Huyện Lý Nhân"
officers = 2
weight = 1
lookup_probability = [0.02, 0.0]
"#;

/// `simulate` writes its progress and summary in Vietnamese, and the auditor's commands their
/// counts, notes, findings and results: `audit ratio` (the load-test line under its table, and
/// an empty period), `audit reconcile` (its counts), `audit verify --remote`, `audit report`
/// (its last line), and a server that cannot be reached.
#[tokio::test]
async fn simulate_and_the_audit_commands_speak_vietnamese() {
    let server = TestServer::start().await;
    let endpoint = server.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let scenario = path(dir.path(), "scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();

    let simulated = vnpop_async(
        Some("vi"),
        args(&[
            "simulate",
            "--scenario",
            &scenario,
            "--server",
            &endpoint,
            "--data-dir",
            &path(dir.path(), "data"),
            "--seed",
            &server.seed.to_string(),
        ]),
    )
    .await;
    assert!(simulated.status.success(), "{}", stderr(&simulated));
    let summary = stdout(&simulated);
    assert_vietnamese(
        &summary,
        &[
            "Lượt chạy ",
            "Đã mô phỏng 1.320 hồ sơ và 67 lượt tra cứu (0 lượt không được trả lời) trong ",
            " giây; mọi sự kiện đã được gửi đến",
            "Nhật ký nay có số liệu của lượt chạy này:",
            "  2022-12-01 .. 2023-12-31: 1.200 hồ sơ, 65 lượt tra cứu: vnpop audit ratio",
        ],
    );
    assert_vietnamese(&stderr(&simulated), &["Đã mô phỏng "]);

    let period = ["--from", "2022-12-01", "--to", "2023-12-31"];
    let server_flag = ["--server", endpoint.as_str()];
    let ratio = vnpop_async(
        Some("vi"),
        args(&[&["audit", "ratio"][..], &period, &server_flag].concat()),
    )
    .await;
    assert!(ratio.status.success(), "{}", stderr(&ratio));
    let table = stdout(&ratio);
    assert!(
        table.contains(
            "Không tính lưu lượng kiểm thử tải: 0 hồ sơ, 0 lượt tra cứu báo cáo, 0 lượt máy chủ trả lời"
        ),
        "{table}"
    );
    assert!(!table.contains("left out"), "{table}");

    let empty = vnpop_async(
        Some("vi"),
        args(
            &[
                &[
                    "audit",
                    "ratio",
                    "--from",
                    "2030-01-01",
                    "--to",
                    "2030-01-31",
                    "--by",
                    "district",
                ][..],
                &server_flag,
            ]
            .concat(),
        ),
    )
    .await;
    assert_vietnamese(
        &stderr(&empty),
        &["vnpop: không có hồ sơ nào được tiếp nhận trong kỳ này"],
    );

    let reconcile = vnpop_async(
        Some("vi"),
        args(&[&["audit", "reconcile"][..], &period, &server_flag].concat()),
    )
    .await;
    assert!(reconcile.status.success(), "{}", stderr(&reconcile));
    assert_vietnamese(
        &stderr(&reconcile),
        &["1.200 hồ sơ: 65 lượt tra cứu đơn vị báo cáo (và 0 lượt không đến được máy chủ), 65 lượt máy chủ trả lời; phát hiện: "],
    );

    let verify = vnpop_async(
        Some("vi"),
        args(&[&["audit", "verify", "--remote"][..], &server_flag].concat()),
    )
    .await;
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert_vietnamese(
        &stdout(&verify),
        &["Nhật ký toàn vẹn (máy chủ tính lại): đã kiểm tra 1."],
    );
    assert_vietnamese(
        &stderr(&verify),
        &["lưu ý: đầu cây được kiểm tra bằng khóa do máy chủ đưa ra"],
    );

    let report_file = path(dir.path(), "report.html");
    let report = vnpop_async(
        Some("vi"),
        args(
            &[
                &["audit", "report", "--out", &report_file][..],
                &period,
                &server_flag,
            ]
            .concat(),
        ),
    )
    .await;
    assert!(report.status.success(), "{}", stderr(&report));
    assert_vietnamese(
        &stderr(&report),
        &[&format!(
            "Đã ghi báo cáo vào {report_file} (1.200 hồ sơ, tỷ lệ hồ sơ có tra cứu 5,4%)"
        )],
    );

    // The same commands in English by default.
    let english = vnpop_async(
        None,
        args(
            &[
                &["audit", "report", "--out", &report_file][..],
                &period,
                &server_flag,
            ]
            .concat(),
        ),
    )
    .await;
    assert!(
        stderr(&english).contains("report written to"),
        "{}",
        stderr(&english)
    );

    let unreachable = vnpop_async(
        Some("vi"),
        args(
            &[
                &["audit", "ratio"][..],
                &period,
                &["--server", "https://localhost:1"],
            ]
            .concat(),
        ),
    )
    .await;
    assert_vietnamese(
        &stderr(&unreachable),
        &["vnpop: không kết nối được tới máy chủ vnpop tại https://localhost:1: máy chủ từ chối kết nối"],
    );
    server.stop().await;
}
