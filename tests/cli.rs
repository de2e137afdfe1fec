//! The development CLI: `vnpop citizen show` prints the record and reproducible test credentials,
//! `vnpop chip read` prints chip reads that decode and verify as documented.

use std::process::Command;

use vnpop::{
    chip::{decode_chip_read, ChipVerdict, ChipVerifier, CscaTrust},
    domain::CccdNumber,
    population::builtin_fixtures,
    vneid::TestCredentials,
};

fn vnpop(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args)
        .args(["--population", "100", "--today", "2026-11-23"])
        .env("VNPOP_LOG", "warn")
        .output()
        .expect("vnpop runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn citizen_show_prints_the_record_and_the_credentials() {
    let out = vnpop(&["citizen", "show", "001090012345"]);
    let credentials = TestCredentials::derive(2026, CccdNumber::parse("001090012345").unwrap());
    assert!(out.contains("Nguyễn Văn An"), "{out}");
    assert!(out.contains("DEVELOPMENT ONLY"), "{out}");
    assert!(
        out.contains(&format!("Passcode           {}", credentials.passcode)),
        "{out}"
    );
    assert!(out.contains(&credentials.totp_secret_base32()), "{out}");
    let without = vnpop(&["citizen", "show", "010192000333"]);
    assert!(without.contains("VNeID account      none"), "{without}");
    assert!(!without.contains("Passcode"), "{without}");
}

#[test]
fn chip_read_prints_genuine_and_tampered_reads() {
    let fixtures: Vec<_> = builtin_fixtures()
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    let verifier = ChipVerifier::new(CscaTrust::development(), 2026);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let verdict = |text: &str| {
        let read = decode_chip_read(text).expect("base64 ChipRead");
        verifier
            .verify(
                &read,
                |n| fixtures.iter().find(|c| c.cccd == n).cloned(),
                today,
                std::time::SystemTime::now(),
                vnpop::security::FieldScope::all(),
            )
            .unwrap()
            .verdict
    };
    assert_eq!(
        verdict(&vnpop(&["chip", "read", "001090012345"])),
        ChipVerdict::Valid
    );
    let cases = [
        ("dg1", ChipVerdict::DataGroupTampered),
        ("dg13", ChipVerdict::DataGroupTampered),
        ("signature", ChipVerdict::BadSignature),
        ("unknown-signer", ChipVerdict::UnknownSigner),
        ("database-mismatch", ChipVerdict::DatabaseMismatch),
    ];
    for (tamper, expected) in cases {
        let out = vnpop(&["chip", "read", "001090012345", "--tamper", tamper]);
        assert_eq!(verdict(&out), expected, "{tamper}");
    }
}

/// `--lang vi` (or `VNPOP_LANG=vi`) writes the CLI's messages in Vietnamese; English by default.
#[test]
fn messages_follow_the_language_asked() {
    let failure = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vnpop"));
        command
            .args(args)
            .args(["--population", "100"])
            .env("VNPOP_LOG", "warn")
            .env_remove("VNPOP_LANG");
        if let Some(language) = env {
            command.env("VNPOP_LANG", language);
        }
        let output = command.output().expect("vnpop runs");
        assert!(!output.status.success());
        String::from_utf8(output.stderr).expect("UTF-8")
    };
    let english = failure(&["citizen", "show", "001090999999"], None);
    assert!(
        english.contains("no citizen has CCCD number 001******999"),
        "{english}"
    );
    let vietnamese = failure(&["--lang", "vi", "citizen", "show", "001090999999"], None);
    assert!(
        vietnamese.contains("không tìm thấy công dân có số định danh cá nhân 001******999"),
        "{vietnamese}"
    );
    assert!(!vietnamese.contains("001090999999"), "{vietnamese}");
    let from_env = failure(&["citizen", "show", "001090999999"], Some("vi-VN"));
    assert!(from_env.contains("không tìm thấy công dân"), "{from_env}");
    let unknown = failure(&["--lang", "fr", "citizen", "show", "001090999999"], None);
    assert!(unknown.contains("unknown language \"fr\""), "{unknown}");
}

/// `citizen show --today D` prints the permanent address and the place of origin in the form in
/// force on D, as the server answers them on that day: the pre-2025 form before 1 July 2025, the two-level form after
/// (with the card's pre-2025 form beside it).
#[test]
fn citizen_show_prints_the_address_form_of_its_day() {
    let show = |today: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["citizen", "show", "001090012345", "--population", "100"])
            .args(["--today", today])
            .env("VNPOP_LOG", "warn")
            .output()
            .expect("vnpop runs");
        assert!(output.status.success());
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let before = show("2023-06-01");
    assert!(
        before.contains("Permanent address  8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội\n"),
        "{before}"
    );
    assert!(
        !before.contains("Phường Hoàn Kiếm, Thành phố Hà Nội"),
        "{before}"
    );
    assert!(
        before.contains("Place of origin    Huyện Đông Anh, Hà Nội\n"),
        "{before}"
    );
    assert!(!before.contains("Before 1 July 2025"), "{before}");
    let after = show("2026-11-23");
    assert!(
        after.contains("Permanent address  8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội\n"),
        "{after}"
    );
    assert!(
        after.contains("Before 1 July 2025 8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"),
        "{after}"
    );
    assert!(
        after.contains(
            "Place of origin    Thành phố Hà Nội\n  Before 1 July 2025 Huyện Đông Anh, Hà Nội"
        ),
        "{after}"
    );
}

/// `citizen sample` prints real citizens matching its filters, the same ones for the same flags.
#[test]
fn citizen_sample_prints_real_citizens_matching_the_filters() {
    // (Not through `vnpop`, which asks for 100 citizens: too few to find four of Lai Châu.)
    let run = |draw: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["citizen", "sample", "--province", "Lai Châu", "--born"])
            .args([
                "1990-1999",
                "--count",
                "4",
                "--format",
                "csv",
                "--draw",
                draw,
            ])
            .args(["--population", "50000", "--today", "2026-11-23"])
            .env("VNPOP_LOG", "warn")
            .output()
            .expect("vnpop runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let csv = run("0");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "cccd_number,full_name,date_of_birth,sex,ethnicity,province,card,vneid_level"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[5], "Lai Châu", "{line}");
        let year: i32 = cells[2][..4].parse().unwrap();
        assert!((1990..=1999).contains(&year), "{line}");
        // A real citizen: `citizen show` finds the number.
        let shown = Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["citizen", "show", cells[0], "--population", "50000"])
            .env("VNPOP_LOG", "warn")
            .output()
            .unwrap();
        assert!(shown.status.success(), "{line}");
        assert!(String::from_utf8_lossy(&shown.stdout).contains(cells[1]));
    }
    assert_eq!(run("0"), csv, "the same flags, the same citizens");
    assert_ne!(run("1"), csv, "another draw, other citizens");
}
