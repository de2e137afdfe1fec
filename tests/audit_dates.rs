//! Auditors' dates and periods (issue 10, point 7): every auditor RPC and `vnpop audit` command
//! refuses impossible dates and ranges — year 0, month 13, `to` before `from`, more than 20 years
//! — with INVALID_ARGUMENT naming the field, and nothing panics whatever the input (property
//! tests over the answers the service and `vnpop audit --db` share).

mod common;

use common::TestServer;
use proptest::prelude::*;
use tonic::Code;
use vnpop::{
    audit::{answers, log::AuditLog, query::AuditReader},
    error::ApiError,
    proto,
};

const BAD_PERIODS: [(&str, &str, &str); 6] = [
    ("0000-01-01", "2023-12-31", "from"),
    ("2023-13-01", "2023-12-31", "from"),
    ("2023-02-30", "2023-12-31", "from"),
    ("2023-12-31", "2023-01-01", "to"),
    ("2000-01-01", "2020-01-01", "to"),
    ("2023-01-01", "+262143-12-31", "to"),
];

#[test]
fn impossible_periods_are_refused_naming_the_field() {
    for (from, to, field) in BAD_PERIODS {
        match answers::period(from, to) {
            Err(ApiError::InvalidField { field: named, .. }) => {
                assert_eq!(named, field, "{from} .. {to}")
            }
            other => panic!("{from} .. {to}: {other:?}"),
        }
    }
    // Twenty years, to the day before, is the widest period.
    assert!(answers::period("2000-01-01", "2019-12-31").is_ok());
    assert!(answers::period("1900-01-01", "1900-01-01").is_ok());
    assert!(answers::period("9999-12-31", "9999-12-31").is_ok());
}

#[tokio::test]
async fn every_auditor_rpc_refuses_impossible_periods() {
    let server = TestServer::start().await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let raw = auditor.raw();
    for (from, to, field) in BAD_PERIODS {
        let (from, to) = (from.to_owned(), to.to_owned());
        let mut raw = raw.clone();
        let statuses = [
            raw.lookup_ratio(proto::LookupRatioRequest {
                from: from.clone(),
                to: to.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
            raw.list_unverified_dossiers(proto::ListUnverifiedDossiersRequest {
                from: from.clone(),
                to: to.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
            raw.reconcile(proto::ReconcileRequest {
                from: from.clone(),
                to: to.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
            raw.list_events(proto::ListEventsRequest {
                from: from.clone(),
                to: to.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
        ];
        for status in statuses {
            let error = vnpop::client::ClientError::Rpc(status.unwrap_err());
            assert_eq!(
                error.code(),
                Code::InvalidArgument,
                "{from} .. {to}: {error}"
            );
            assert_eq!(error.reason(), Some(vnpop::client::Reason::FieldInvalid));
            assert_eq!(error.invalid_fields(), [field], "{from} .. {to}");
        }
    }
    // ListEvents with one bound only checks that bound.
    let error = raw
        .clone()
        .list_events(proto::ListEventsRequest {
            to: "0000-12-31".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
}

/// Runs `vnpop args…`: (exit code, stderr).
fn vnpop(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(args)
        .env("VNPOP_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("vnpop runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_audit_command_refuses_impossible_periods() {
    let dir = tempfile::tempdir().unwrap();
    drop(AuditLog::open(vnpop::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    let db = dir.path().join("audit.sqlite");
    let db = db.to_str().unwrap();
    let out = dir.path().join("report.html");
    let out = out.to_str().unwrap();
    for (from, to, _) in BAD_PERIODS {
        let period = ["--from", from, "--to", to];
        // One convention: a bad period is a usage error, exit status 2 as clap's, in every
        // command that takes one, with the same message.
        let mut messages = std::collections::BTreeSet::new();
        for command in [
            &["audit", "ratio"][..],
            &["audit", "unverified"],
            &["audit", "export"],
            &["audit", "reconcile"],
            &["audit", "anomalies"],
            &["audit", "cleaning"],
        ] {
            let args: Vec<&str> = [command, &period, &["--db", db]].concat();
            let (code, stderr) = vnpop(&args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            messages.insert(stderr.clone());
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert!(
                stderr.contains("from") || stderr.contains("to"),
                "{args:?}: {stderr}"
            );
        }
        let args: Vec<&str> = [
            &["audit", "report"][..],
            &period,
            &["--db", db, "--out", out],
        ]
        .concat();
        let (code, stderr) = vnpop(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        messages.insert(stderr);
        assert_eq!(
            messages.len(),
            1,
            "one message for {period:?}: {messages:?}"
        );
    }
}

// ---- properties: whatever the dates, the shared answers refuse or answer, never panic ----

/// Dates as typed, mistyped and forged: plausible days, any numbers in the three places, chrono's
/// extremes, and arbitrary text.
fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1890i32..2300, 1u32..13, 1u32..32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (-400_000i64..400_000, 0u32..100, 0u32..100)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        prop::sample::select(vec![
            "0000-01-01",
            "+262143-12-31",
            "-262144-01-01",
            "262142-12-31",
            "9999-12-31",
            "1900-01-01",
            "",
            " 2023-01-01 ",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,30}",
    ]
}

struct Log {
    _dir: tempfile::TempDir,
    reader: AuditReader,
}

fn empty_log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    drop(AuditLog::open(vnpop::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    let reader = AuditReader::open(&dir.path().join("audit.sqlite")).unwrap();
    Log { _dir: dir, reader }
}

fn refused_naming_a_bound(result: Result<impl std::fmt::Debug, ApiError>) {
    if let Err(error) = result {
        match error {
            ApiError::InvalidField { field, .. } => assert!(field == "from" || field == "to"),
            other => panic!("{other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn periods_never_panic(from in date_text(), to in date_text()) {
        if let Ok((from_ms, to_ms)) = answers::period(&from, &to) {
            prop_assert!(from_ms < to_ms);
            prop_assert!(to_ms - from_ms <= (20 * 366 + 1) * 86_400_000);
        } else {
            refused_naming_a_bound(answers::period(&from, &to));
        }
        refused_naming_a_bound(answers::event_filter(proto::ListEventsRequest {
            from: from.clone(),
            ..Default::default()
        }));
        refused_naming_a_bound(answers::event_filter(proto::ListEventsRequest {
            to: to.clone(),
            ..Default::default()
        }));
    }
}

#[test]
fn the_answers_never_panic_on_any_period() {
    let log = empty_log();
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&(date_text(), date_text()), |(from, to)| {
            refused_naming_a_bound(answers::lookup_ratio(
                &log.reader,
                proto::LookupRatioRequest {
                    from: from.clone(),
                    to: to.clone(),
                    group_by: vec!["month".into(), "district".into()],
                    ..Default::default()
                },
            ));
            refused_naming_a_bound(answers::unverified_dossiers(
                &log.reader,
                proto::ListUnverifiedDossiersRequest {
                    from: from.clone(),
                    to: to.clone(),
                    ..Default::default()
                },
            ));
            refused_naming_a_bound(answers::reconcile(
                &log.reader,
                proto::ReconcileRequest {
                    from: from.clone(),
                    to: to.clone(),
                    ..Default::default()
                },
            ));
            Ok(())
        })
        .unwrap();
}
