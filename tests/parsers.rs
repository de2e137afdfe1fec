//! Every parser of outside input, on hostile input (proptest): CCCD and CMND numbers, QR payloads,
//! fixture citizens, chip reads (data groups and security objects), scenario and fault files.
//! Whatever the input: no panic, and a refusal is a typed error naming the part at fault.
//!
//! The quick run (256 cases a property) is part of `cargo test`; the long run, a million cases a
//! parser, is `cargo test --release --test parsers -- --ignored`.

use std::{sync::Arc, time::SystemTime};

use proptest::prelude::*;
use prost::Message;
use vnpop::{
    chip::{chip_read, ChipVerifier, CscaTrust, DocumentSigner},
    domain::{CccdNumber, CmndNumber, QrPayload},
    faults::FaultFile,
    population::{builtin_fixtures, parse_fixture_citizen},
    proto,
    security::FieldScope,
    simulate::Scenario,
};

// ---- the properties, one function each ----

fn cccd(text: &str) {
    match CccdNumber::parse(text) {
        Ok(n) => assert_eq!(CccdNumber::parse(&n.to_string()), Ok(n)),
        Err(error) => {
            // The part at fault is named, or the length is.
            let named = error.part().map_or("length", |p| p.name());
            assert!(!named.is_empty());
            assert!(!error.to_string().is_empty());
        }
    }
}

fn cmnd(text: &str) {
    if let Ok(n) = CmndNumber::parse(text) {
        assert_eq!(n.to_string().len(), 9);
    }
}

fn qr(text: &str) {
    match QrPayload::parse(text) {
        Ok(payload) => assert!(QrPayload::parse(&payload.encode()).is_ok()),
        Err(error) => {
            assert!(!error.part().is_empty());
            assert!(error.to_string().chars().count() < 400, "{error}");
        }
    }
}

fn fixture(json: &str) {
    if let Err((field, message)) = parse_fixture_citizen(json) {
        assert!(!field.is_empty() && !message.is_empty());
    }
}

fn scenario(text: &str) {
    let _ = Scenario::parse(text);
}

fn faults(text: &str) {
    let _ = FaultFile::parse(text);
}

struct Chip {
    verifier: Arc<ChipVerifier>,
    genuine: Vec<u8>,
}

fn chip_setup() -> Chip {
    let an = builtin_fixtures().into_iter().next().unwrap();
    let read = chip_read(2026, &an, &DocumentSigner::development()).unwrap();
    Chip {
        verifier: Arc::new(ChipVerifier::new(CscaTrust::development(), 2026)),
        genuine: read.encode_to_vec(),
    }
}

fn chip(setup: &Chip, bytes: &[u8]) {
    let Ok(read) = proto::ChipRead::decode(bytes) else {
        return;
    };
    let fixtures: Vec<_> = builtin_fixtures().into_iter().map(Arc::new).collect();
    match setup.verifier.verify(
        &read,
        |n| fixtures.iter().find(|c| c.cccd == n).cloned(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        SystemTime::now(),
        FieldScope::all(),
    ) {
        Ok(report) => assert!(!report.checks.is_empty()),
        Err(error) => {
            assert!(error.field.starts_with("chip_read"), "{error}");
            assert!(error.message.chars().count() < 400, "{error}");
        }
    }
}

// ---- the strategies ----

/// Strings a careless or hostile client sends: digits with noise, any Unicode, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,14}",
        "[0-9 \\-.]{0,16}",
        "\\PC{0,40}",
        any::<String>(),
    ]
}

/// QR-like texts: pipe-separated parts, some valid-looking.
fn qr_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[0-9]{0,13}",
        "[0-9]{8}",
        Just("Nam".to_owned()),
        Just("Nữ".to_owned()),
        "\\PC{0,12}",
    ];
    prop_oneof![
        prop::collection::vec(part, 0..10).prop_map(|parts| parts.join("|")),
        any::<String>(),
    ]
}

/// A built-in fixture's JSON with one value replaced by a hostile one.
fn fixture_json() -> impl Strategy<Value = String> {
    let fields = [
        "cccd_number",
        "full_name",
        "date_of_birth",
        "sex",
        "status",
        "card",
        "permanent_address",
        "vneid_level",
        "cmnd_number",
        "date_of_death",
    ];
    let value = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("{}".to_owned()),
        Just("[]".to_owned()),
    ];
    (prop::sample::select(fields.to_vec()), value, any::<bool>()).prop_map(
        |(field, value, truncate)| {
            let mut object = serde_json::json!({
                "cccd_number": "001090012345",
                "full_name": "Nguyễn Văn An",
                "date_of_birth": "1990-03-15",
                "sex": "male",
                "permanent_address": {
                    "province": "001", "district": "Quận Hoàn Kiếm",
                    "ward": "Phường Hàng Bạc", "street": "8 Hàng Bạc"
                }
            });
            object[field] = serde_json::from_str(&value).unwrap_or(serde_json::Value::Null);
            let text = object.to_string();
            if truncate {
                let half = text.chars().count() / 2;
                text.chars().take(half).collect()
            } else {
                text
            }
        },
    )
}

/// The bundled scenario with one line dropped or one number replaced, or noise.
fn scenario_text() -> impl Strategy<Value = String> {
    let bundled = include_str!("../data/scenario.toml");
    let lines = bundled.lines().count();
    prop_oneof![
        (0..lines, any::<i64>()).prop_map(move |(line, n)| {
            bundled
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    if i != line {
                        l.to_owned()
                    } else if let Some((key, _)) = l.split_once('=') {
                        format!("{key}= {n}")
                    } else {
                        String::new()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        "\\PC{0,60}",
    ]
}

/// Fault files, TOML and JSON, with hostile values.
fn fault_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
    ];
    let key = prop::sample::select(vec![
        "name",
        "rpcs",
        "agencies",
        "probability",
        "error",
        "latency_ms",
        "window",
        "capacity",
    ]);
    prop_oneof![
        prop::collection::vec((key, value), 0..6).prop_map(|pairs| {
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("[[rule]]\n{}\n", body.join("\n"))
        }),
        "\\{\\PC{0,40}",
        "\\PC{0,60}",
    ]
}

/// A genuine chip read's encoding with bytes flipped, cut or spliced, or random bytes.
fn chip_bytes(genuine: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = genuine.len();
    let mutated = prop::collection::vec((0..len, any::<u8>()), 1..8).prop_map(move |flips| {
        let mut bytes = genuine.clone();
        for (at, byte) in flips {
            bytes[at] = byte;
        }
        bytes
    });
    prop_oneof![
        4 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

// ---- the quick run, part of `cargo test` ----

proptest! {
    #[test]
    fn cccd_numbers(text in text()) { cccd(&text) }

    #[test]
    fn cmnd_numbers(text in text()) { cmnd(&text) }

    #[test]
    fn qr_payloads(text in qr_text()) { qr(&text) }

    #[test]
    fn fixture_citizens(json in fixture_json()) { fixture(&json) }

    #[test]
    fn scenario_files(text in scenario_text()) { scenario(&text) }

    #[test]
    fn fault_files(text in fault_text()) { faults(&text) }
}

#[test]
fn chip_reads() {
    let setup = chip_setup();
    proptest!(|(bytes in chip_bytes(setup.genuine.clone()))| chip(&setup, &bytes));
}

// ---- the long run: a million cases a parser (`-- --ignored`) ----

fn long() -> ProptestConfig {
    ProptestConfig {
        cases: 1_000_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(long())]

    #[test]
    #[ignore = "long run: cargo test --release --test parsers -- --ignored"]
    fn long_cccd_numbers(text in text()) { cccd(&text) }

    #[test]
    #[ignore = "long run"]
    fn long_cmnd_numbers(text in text()) { cmnd(&text) }

    #[test]
    #[ignore = "long run"]
    fn long_qr_payloads(text in qr_text()) { qr(&text) }

    #[test]
    #[ignore = "long run"]
    fn long_fixture_citizens(json in fixture_json()) { fixture(&json) }

    #[test]
    #[ignore = "long run"]
    fn long_scenario_files(text in scenario_text()) { scenario(&text) }

    #[test]
    #[ignore = "long run"]
    fn long_fault_files(text in fault_text()) { faults(&text) }
}

#[test]
#[ignore = "long run"]
fn long_chip_reads() {
    let setup = chip_setup();
    proptest!(long(), |(bytes in chip_bytes(setup.genuine.clone()))| chip(&setup, &bytes));
}
