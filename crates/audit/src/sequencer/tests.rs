//! The sequencer's deduplication through `AuditLog`: event ids per agency, calls tried again.

use crate::{
    event::{test_dossier, test_lookup, EventKind, EventSource, Outcome, Subject},
    lock::DataDirLock,
    AuditEvent, AuditLog,
};

/// Dossier `id`'s receipt, reported by `agency` under the event id "receipt-1".
fn receipt(agency: &str, id: &str) -> AuditEvent {
    AuditEvent {
        event_id: "receipt-1".into(),
        agency_id: agency.into(),
        ..test_dossier(id, "Quận Ba Đình", "cb01", 1_700_000_000_000)
    }
}

#[test]
fn event_ids_are_deduplicated_per_agency_in_a_group_in_the_log_and_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let open = || AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let log = open();
    // One group: the second agency's event is its own; the first's repeat a duplicate.
    let receipt_1 = log
        .append_blocking(vec![
            receipt("one-stop-phuong-ba-dinh", "A"),
            receipt("hospital-bach-mai", "B"),
            receipt("one-stop-phuong-ba-dinh", "A"),
        ])
        .unwrap();
    assert_eq!((receipt_1.appended, receipt_1.duplicates), (2, 1));
    // Later groups: found in the log, by agency.
    let again = log
        .append_blocking(vec![receipt("hospital-bach-mai", "B")])
        .unwrap();
    assert_eq!((again.appended, again.duplicates), (0, 1));
    let third = log
        .append_blocking(vec![receipt("simulation", "C")])
        .unwrap();
    assert_eq!((third.appended, third.duplicates), (1, 0));
    drop(log);
    // Reopened: the keys are derived from the stored records (agency and id).
    let log = open();
    let after = log
        .append_blocking(vec![
            receipt("one-stop-phuong-ba-dinh", "A"),
            receipt("hospital-bach-mai", "B"),
            receipt("simulation", "C"),
            receipt("qa-admin", "D"),
        ])
        .unwrap();
    assert_eq!(
        (after.appended, after.duplicates, after.tree_size),
        (1, 3, 4)
    );
}

/// A call the server served for dossier "D" of `agency`, under `call_id`, naming `subject`
/// (64 hex digits, as the recorder keys citizens), at `at`.
fn served(agency: &str, call_id: &str, subject: char, at: i64) -> AuditEvent {
    let mut event = test_lookup(0, "D", EventSource::Server, at);
    event.agency_id = agency.into();
    event.call_id = Some(call_id.into());
    if let EventKind::Verification { subject: s, .. } = &mut event.kind {
        *s = Subject::from_hex(&subject.to_string().repeat(64));
    }
    event
}

#[test]
fn a_call_tried_again_is_recorded_once_and_a_reused_call_id_hides_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let open = || AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let log = open();
    let ba_dinh = "one-stop-phuong-ba-dinh";
    // One group: the same call twice (another time) is one record.
    let first = log
        .append_blocking(vec![
            served(ba_dinh, "v0", 'a', 1),
            served(ba_dinh, "v0", 'a', 2),
        ])
        .unwrap();
    assert_eq!((first.appended, first.duplicates), (1, 1));
    // Later, and after reopening: still the same call.
    let again = log
        .append_blocking(vec![served(ba_dinh, "v0", 'a', 3)])
        .unwrap();
    assert_eq!((again.appended, again.duplicates), (0, 1));
    drop(log);
    let log = open();
    let after = log
        .append_blocking(vec![served(ba_dinh, "v0", 'a', 4)])
        .unwrap();
    assert_eq!((after.appended, after.duplicates), (0, 1));
    // The same call id for another citizen, outcome or dossier is another call: recorded,
    // every time; so is another agency's, and a report under the same id.
    let mut other_outcome = served(ba_dinh, "v0", 'a', 5);
    if let EventKind::Verification { outcome, .. } = &mut other_outcome.kind {
        *outcome = Outcome::Failed(tonic::Code::NotFound);
    }
    let mut other_dossier = served(ba_dinh, "v0", 'a', 6);
    other_dossier.dossier_id = "E".into();
    let mut report = test_lookup(0, "D", EventSource::Client, 7);
    report.event_id = "v0".into();
    let others = log
        .append_blocking(vec![
            served(ba_dinh, "v0", 'b', 5),
            served(ba_dinh, "v0", 'b', 6),
            other_outcome,
            other_dossier,
            served("hospital-bach-mai", "v0", 'a', 7),
            report,
            served(ba_dinh, "v0", 'a', 8),
        ])
        .unwrap();
    assert_eq!((others.appended, others.duplicates), (6, 1));
    drop(log);
    let log = open();
    let last = log
        .append_blocking(vec![
            served(ba_dinh, "v0", 'b', 9),
            served(ba_dinh, "v0", 'a', 9),
        ])
        .unwrap();
    assert_eq!((last.appended, last.duplicates), (1, 1));
    // Served events without a call id are never deduplicated.
    let plain = test_lookup(0, "D", EventSource::Server, 10);
    let plain = log.append_blocking(vec![plain.clone(), plain]).unwrap();
    assert_eq!((plain.appended, plain.duplicates), (2, 0));
}
