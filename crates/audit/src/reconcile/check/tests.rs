//! Each kind of discrepancy found and nothing else, and the same findings whatever ranges the
//! log is read in.

use super::{super::FindingKind, *};
use crate::{
    vocabulary::{Outcome, Rpc},
    {log::DATABASE_FILE, AuditEvent, AuditLog, EventKind, EventSource},
};

const DAY: i64 = 86_400_000;
/// 2024-01-01T00:00:00+07:00.
const JAN_1_2024: i64 = 1_704_042_000_000;

fn dossier(id: &str, at: i64) -> AuditEvent {
    crate::event::test_dossier(id, "Quận Ba Đình", "officer-1", at)
}

fn verification(
    n: usize,
    id: &str,
    source: EventSource,
    rpc: &str,
    outcome: &str,
    at: i64,
) -> AuditEvent {
    AuditEvent {
        event_id: format!("v-{id}-{n}-{}", source.as_str()),
        source,
        dossier_id: id.into(),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: "Quận Ba Đình".into(),
        officer_id: "officer-1".into(),
        occurred_at_ms: at,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Verification {
            rpc: Rpc::parse(rpc),
            outcome: Outcome::parse(outcome),
            purpose: "p".into(),
            subject: None,
        },
    }
}

#[test]
fn finds_each_kind_of_discrepancy_and_nothing_else() {
    use EventSource::{Client, Server};
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let t = JAN_1_2024 + DAY;
    // Served long after (wall clock) the simulated receipt: still matched by dossier.
    let later = t + 400 * DAY;
    let events = vec![
        // A: one lookup reported and served: reconciled.
        dossier("A", t),
        verification(1, "A", Client, "LookupByCccd", "found", t),
        verification(1, "A", Server, "LookupByCccd", "found", later),
        // B: served twice, reported once.
        dossier("B", t + 1),
        verification(1, "B", Client, "LookupByCccd", "found", t + 1),
        verification(1, "B", Server, "LookupByCccd", "found", t + 1),
        verification(2, "B", Server, "LookupByCccd", "found", t + 2),
        // A: a failure reported two hours later, when the server answered nobody of the
        // agency: not contradicted.
        verification(
            3,
            "A",
            Client,
            "LookupByCccd",
            "deadline_exceeded",
            t + 7_200_000,
        ),
        // C: reported a QR check never served, and an unavailable call (not expected on the
        // server, but the server was answering the agency's calls for B at that moment).
        dossier("C", t + 3),
        verification(1, "C", Client, "VerifyQr", "valid", t + 3),
        verification(2, "C", Client, "LookupByCccd", "unavailable", t + 3),
        // D: a lookup served for a dossier never reported, in the period.
        verification(1, "D", Server, "LookupByCccd", "not_found", t + 4),
        // E: received before the period; its unreported lookup belongs to that period.
        dossier("E", JAN_1_2024 - DAY),
        verification(1, "E", Server, "LookupByCccd", "found", t),
    ];
    log.append_blocking(events).unwrap();
    drop(log);

    let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
    let result = reader
        .reconcile(&ReconcileQuery {
            from_ms: JAN_1_2024,
            to_ms: JAN_1_2024 + 31 * DAY,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(result.dossiers, 3);
    assert_eq!(
        (result.reported, result.served, result.not_reaching_server),
        (3, 3, 2)
    );
    // Every client event here was appended now, long after the time it states: each
    // dossier's reports arrived late, with both times.
    let (late, findings): (Vec<_>, Vec<_>) = result
        .findings
        .iter()
        .partition(|f| f.kind == FindingKind::ReportedLate);
    let late: Vec<_> = late
        .iter()
        .map(|f| (f.dossier_id.as_str(), f.reported, f.first_at_ms))
        .collect();
    assert_eq!(late, [("A", 3, t), ("B", 2, t + 1), ("C", 3, t + 3)]);
    assert!(result
        .findings
        .iter()
        .all(|f| (f.kind == FindingKind::ReportedLate) == (f.received_at_ms > t + 400 * DAY)));
    assert_eq!(result.count(FindingKind::ReportedLate), 3);
    let summary: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.dossier_id.as_str(),
                f.rpc.as_ref().map_or("", Rpc::as_str),
                f.reported,
                f.served,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (FindingKind::ServedNotReported, "B", "LookupByCccd", 1, 2),
            (
                FindingKind::ReportedFailureUnconfirmed,
                "C",
                "LookupByCccd",
                1,
                0
            ),
            (FindingKind::ReportedNotServed, "C", "VerifyQr", 1, 0),
            (FindingKind::DossierNotReported, "D", "LookupByCccd", 0, 1),
        ]
    );

    // Kept to the oldest two, every one still counted.
    let kept = reader
        .reconcile(&ReconcileQuery {
            from_ms: JAN_1_2024,
            to_ms: JAN_1_2024 + 31 * DAY,
            max_findings: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(kept.findings, result.findings[..2]);
    assert_eq!((kept.total(), result.total()), (7, 7));
    assert_eq!(kept.count(FindingKind::ReportedLate), 3);

    // The earlier period holds E's finding.
    let earlier = reader
        .reconcile(&ReconcileQuery {
            from_ms: JAN_1_2024 - 31 * DAY,
            to_ms: JAN_1_2024,
            ..Default::default()
        })
        .unwrap();
    let kinds: Vec<_> = earlier
        .findings
        .iter()
        .map(|f| (f.dossier_id.as_str(), f.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("E", FindingKind::ReportedLate),
            ("E", FindingKind::ServedNotReported)
        ]
    );

    // Another agency's filter sees nothing.
    let other = reader
        .reconcile(&ReconcileQuery {
            from_ms: JAN_1_2024,
            to_ms: JAN_1_2024 + 31 * DAY,
            agency_id: Some("hospital-bach-mai".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(other, Reconciliation::default());
}

#[test]
fn reading_the_log_in_ranges_changes_nothing() {
    use EventSource::{Client, Server};
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    // Recent times are not late; a day ago is.
    let now = crate::ids::now_ms();
    let mut events = Vec::new();
    let mix = |x: u64| x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    for n in 0..600u64 {
        let d = mix(n) % 60;
        let id = format!("D{d}");
        // Few distinct times, so that earliest times tie.
        let at = if d % 3 == 0 { now - DAY } else { now } + (mix(n + 7) % 4) as i64 * 60_000;
        let rpc = ["LookupByCccd", "VerifyQr", "SomethingNew"][(mix(n + 1) % 3) as usize];
        let outcome =
            ["found", "unavailable", "not_found", "deadline_exceeded"][(mix(n + 2) % 4) as usize];
        let source = if mix(n + 3) % 2 == 0 { Client } else { Server };
        let mut event = if n % 7 == 0 {
            dossier(&id, at)
        } else {
            verification(n as usize, &id, source, rpc, outcome, at)
        };
        event.event_id = format!("e-{n}");
        if d % 10 == 9 {
            event.agency_id = "hospital-bach-mai".into();
        }
        event.load_test = d % 17 == 5;
        // The dossiers of some receipts are never received: their served calls are strays.
        if d % 11 == 4 && n % 7 == 0 {
            continue;
        }
        events.push(event);
    }
    // In several groups, received at different times.
    for group in events.chunks(90) {
        log.append_blocking(group.to_vec()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    drop(log);

    let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
    for query in [
        ReconcileQuery {
            from_ms: now - 2 * DAY,
            to_ms: now + DAY,
            ..Default::default()
        },
        ReconcileQuery {
            from_ms: now - 2 * DAY,
            to_ms: now - DAY / 2,
            agency_id: Some("one-stop-phuong-ba-dinh".into()),
            include_load_test: true,
            max_findings: 7,
        },
        ReconcileQuery {
            from_ms: now - DAY / 2,
            to_ms: now + DAY,
            max_findings: 3,
            ..Default::default()
        },
    ] {
        let whole = reader
            .reconcile_split(
                &query,
                Split {
                    ranges: 1,
                    min_range: 1,
                },
            )
            .unwrap();
        assert!(whole.total() > 0 && whole.dossiers > 0, "{whole:?}");
        for ranges in [2, 3, 5, 8] {
            let split = Split {
                ranges,
                min_range: 1,
            };
            assert_eq!(reader.reconcile_split(&query, split).unwrap(), whole);
        }
    }
}
