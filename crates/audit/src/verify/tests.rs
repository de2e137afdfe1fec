//! Verifying logs damaged in every way the format can show, and opening them.

use super::*;
use crate::{
    vocabulary::{Answer, Outcome, Rpc, Subject},
    {log::DATABASE_FILE, testing, AuditEvent, AuditLog, EventKind, EventSource},
};

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        event_id: format!("event-{i}"),
        source: EventSource::Client,
        dossier_id: format!("D{}", i / 3),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: "Quận Ba Đình".into(),
        officer_id: format!("officer-{}", i % 4),
        occurred_at_ms: 1_700_000_000_000 + i as i64,
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Verification {
            rpc: Rpc::LookupByCccd,
            outcome: Answer::Found.into(),
            purpose: "đăng ký thường trú".into(),
            subject: Subject::from_hex(&format!("{i:064x}")),
        },
    }
}

/// A log of `n` events written in batches of 3 (so there are several signed heads, and
/// each batch is one run of records).
fn log_with(n: usize) -> (tempfile::TempDir, VerifyingKey) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(3) {
        log.append_blocking(chunk.iter().map(|&i| event(i)).collect())
            .unwrap();
    }
    let key = log.public_key();
    drop(log);
    (dir, key)
}

fn sql(path: &Path, sql: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn not_found(event: &mut AuditEvent) {
    if let EventKind::Verification { outcome, .. } = &mut event.kind {
        *outcome = Outcome::Failed(tonic::Code::NotFound);
    }
}

fn tamper_and_verify(n: usize, tamper: impl FnOnce(&Path)) -> Option<Tamper> {
    let (dir, key) = log_with(n);
    let path = dir.path().join(DATABASE_FILE);
    tamper(&path);
    verify_file(&path, &key).unwrap().tamper
}

/// Opening the log for writing after `tamper` damaged it: the error start-up stops with.
#[track_caller]
fn open_after(n: usize, tamper: impl FnOnce(&Path)) -> String {
    let (dir, key) = log_with(n);
    tamper(&dir.path().join(DATABASE_FILE));
    let found = verify_file(&dir.path().join(DATABASE_FILE), &key)
        .unwrap()
        .tamper;
    match AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()) {
        Ok(_) => panic!("the log opened after tampering ({found:?})"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_damaged_log_stops_start_up_naming_the_record() {
    let altered = open_after(20, |p| {
        testing::rewrite_event(p, 19, false, not_found).unwrap()
    });
    assert!(
        altered.contains("event #19 cannot be read: its checksum"),
        "{altered}"
    );
    let early = open_after(20, |p| {
        testing::rewrite_event(p, 4, false, not_found).unwrap()
    });
    assert!(early.contains("event #4 cannot be read"), "{early}");
    let removed = open_after(20, |p| sql(p, "DELETE FROM records WHERE first_seq = 12"));
    assert!(removed.contains("event #12 is missing"), "{removed}");
    let cut = open_after(20, |p| sql(p, "DELETE FROM records WHERE first_seq >= 18"));
    assert!(cut.contains("events #18..#19 are covered"), "{cut}");
    let unsigned = open_after(20, |p| {
        sql(p, "DELETE FROM tree_heads WHERE tree_size = 20")
    });
    assert!(
        unsigned.contains("events #18..#19 are covered by no"),
        "{unsigned}"
    );
    let rehashed = open_after(20, |p| {
        testing::rewrite_event(p, 13, true, not_found).unwrap()
    });
    assert!(
        rehashed.contains("an event in #12..=#14 was altered, removed or inserted"),
        "{rehashed}"
    );
    let forged = open_after(20, |p| {
        sql(
            p,
            "UPDATE tree_heads SET signed_at_ms = 1 WHERE tree_size = 20",
        )
    });
    assert!(forged.contains("not signed by this log's key"), "{forged}");
}

#[test]
fn an_intact_log_verifies() {
    let (dir, key) = log_with(20);
    let report = verify_file(&dir.path().join(DATABASE_FILE), &key).unwrap();
    assert_eq!(report.tamper, None);
    assert_eq!(report.events, 20);
    assert_eq!(report.heads_checked, 7);
    assert_eq!(report.latest_head.unwrap().tree_size, 20);
}

#[test]
fn duplicates_are_stored_once_and_reopening_continues_the_tree() {
    let (dir, key) = log_with(10);
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    assert_eq!(
        log.public_key(),
        key,
        "the key persists in the data directory"
    );
    let receipt = log
        .append_blocking(vec![event(3), event(10), event(10)])
        .unwrap();
    assert_eq!(
        (receipt.appended, receipt.duplicates, receipt.tree_size),
        (1, 2, 11)
    );
    drop(log);
    let report = verify_file(&dir.path().join(DATABASE_FILE), &key).unwrap();
    assert_eq!((report.events, report.tamper), (11, None));
}

#[test]
fn an_altered_block_root_is_named_and_restored_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let n = 2 * BLOCK_LEAVES as usize + 10;
    log.append_blocking((0..n).map(event).collect()).unwrap();
    let key = log.public_key();
    drop(log);
    let path = dir.path().join(DATABASE_FILE);
    assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
    sql(
        &path,
        "UPDATE merkle_blocks SET root = zeroblob(32) WHERE block = 1",
    );
    assert_eq!(
        verify_file(&path, &key).unwrap().tamper,
        Some(Tamper::BlockMismatch { block: 1 })
    );
    // Block roots are derived data: reopening the log restores them from the events.
    drop(AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
    sql(&path, "DELETE FROM merkle_blocks");
    drop(AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
}

#[test]
fn an_edited_record_is_named() {
    let found = tamper_and_verify(20, |p| {
        testing::rewrite_event(p, 7, false, not_found).unwrap()
    });
    assert_eq!(
        found,
        Some(Tamper::Altered {
            seq: 7,
            event_id: "event-7".into()
        })
    );
}

#[test]
fn a_deleted_record_is_named() {
    let found = tamper_and_verify(20, |p| testing::remove_event(p, 5).unwrap());
    assert_eq!(found, Some(Tamper::Removed { seq: 5 }));
    let found = tamper_and_verify(20, |p| sql(p, "DELETE FROM records WHERE first_seq = 9"));
    assert_eq!(found, Some(Tamper::Removed { seq: 9 }));
    let found = tamper_and_verify(20, |p| sql(p, "DELETE FROM records WHERE first_seq >= 18"));
    assert_eq!(
        found,
        Some(Tamper::TailRemoved {
            seq: 18,
            tree_size: 20
        })
    );
}

#[test]
fn an_inserted_record_is_named() {
    // A copy of run 6..9 placed after the end: its records' checksums name their positions.
    let found = tamper_and_verify(9, |p| {
        sql(
            p,
            "INSERT INTO records SELECT 9, count, body FROM records WHERE first_seq = 6",
        )
    });
    assert_eq!(
        found,
        Some(Tamper::Altered {
            seq: 9,
            event_id: "event-6".into()
        })
    );
    // A forged record with a correct checksum after the last signed head.
    let found = tamper_and_verify(9, |p| {
        sql(
            p,
            "INSERT INTO records SELECT 9, count, body FROM records WHERE first_seq = 6",
        );
        for seq in 9..12 {
            testing::rewrite_event(p, seq, true, |e| e.event_id = format!("forged-{seq}")).unwrap();
        }
    });
    assert_eq!(
        found,
        Some(Tamper::Unsigned {
            first_seq: 9,
            count: 3
        })
    );
}

#[test]
fn a_consistently_rebuilt_record_is_caught_by_the_signed_heads() {
    // The forger edits a record and recomputes its checksum (as a hash chain would let
    // them), but cannot re-sign the tree heads.
    let found = tamper_and_verify(20, |p| {
        testing::rewrite_event(p, 13, true, not_found).unwrap()
    });
    assert_eq!(
        found,
        Some(Tamper::RootMismatch {
            tree_size: 15,
            first_seq: 12,
            last_seq: 14
        })
    );
}

#[test]
fn a_forged_head_signature_is_caught() {
    let found = tamper_and_verify(6, |p| {
        sql(
            p,
            "UPDATE tree_heads SET signed_at_ms = signed_at_ms + 1 WHERE tree_size = 3",
        )
    });
    assert_eq!(found, Some(Tamper::BadSignature { tree_size: 3 }));
}
