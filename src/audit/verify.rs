//! `vnpop audit verify`: read every record of the log back, recompute the Merkle tree, check
//! every signed tree head and stored block root, and name the first event that was altered,
//! removed or inserted.
//!
//! Each record carries a checksum of its position and content: an edit that did not recompute
//! it is named by position (`altered`), a record missing from the middle of a run by the
//! position it left (`removed`). An edit that did recompute it still changes the leaf, so the
//! first signed head after it no longer matches (`root_mismatch`, naming the group).

use std::{fmt, path::Path};

use super::keys::VerifyingKey;

use super::{
    keys::SignedTreeHead,
    merkle::{leaf_hash, Frontier, BLOCK_LEAVES},
    record::{self, Dictionary},
    store::{LogOfRecord, RunDamage, SqliteLog},
    AuditError,
};

/// The first thing found wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// A record's content no longer matches the checksum written with it (or cannot be read).
    Altered { seq: u64, event_id: String },
    /// Sequence numbers jump: the event at `seq` is missing.
    Removed { seq: u64 },
    /// A record was rewritten consistently (checksum recomputed), so only the signed heads
    /// show it: the first changed event lies in `first_seq..=last_seq`.
    RootMismatch {
        tree_size: u64,
        first_seq: u64,
        last_seq: u64,
    },
    /// A tree head's signature does not verify with the log's key.
    BadSignature { tree_size: u64 },
    /// A signed head covers more events than the file holds: events from `seq` on were removed.
    TailRemoved { seq: u64, tree_size: u64 },
    /// Events after the last signed head: written without the log (inserted).
    Unsigned { first_seq: u64, count: u64 },
    /// The stored root of a block of leaves does not match the leaves (or there is no such
    /// block): proofs served from it would not verify.
    BlockMismatch { block: u64 },
}

impl Tamper {
    /// A short name of what was found, for machines ("altered", "removed", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Tamper::Altered { .. } => "altered",
            Tamper::Removed { .. } => "removed",
            Tamper::RootMismatch { .. } => "root_mismatch",
            Tamper::BadSignature { .. } => "bad_signature",
            Tamper::TailRemoved { .. } => "tail_removed",
            Tamper::Unsigned { .. } => "unsigned",
            Tamper::BlockMismatch { .. } => "block_mismatch",
        }
    }

    /// The leaf index of the first event concerned (for a bad signature: the head's size).
    pub fn first_seq(&self) -> u64 {
        match *self {
            Tamper::Altered { seq, .. }
            | Tamper::Removed { seq }
            | Tamper::TailRemoved { seq, .. } => seq,
            Tamper::RootMismatch { first_seq, .. } | Tamper::Unsigned { first_seq, .. } => {
                first_seq
            }
            Tamper::BadSignature { tree_size } => tree_size,
            Tamper::BlockMismatch { block } => block * BLOCK_LEAVES,
        }
    }
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tamper::Altered { seq, event_id } => write!(
                f,
                "event #{seq} ({event_id}) was altered or inserted: its content does not match its checksum"
            ),
            Tamper::Removed { seq } => write!(f, "event #{seq} was removed"),
            Tamper::RootMismatch { tree_size, first_seq, last_seq } => write!(
                f,
                "the signed tree head of size {tree_size} does not match the rows: an event in #{first_seq}..=#{last_seq} was altered, removed or inserted"
            ),
            Tamper::BadSignature { tree_size } => {
                write!(f, "the tree head of size {tree_size} is not signed by the log's key")
            }
            Tamper::TailRemoved { seq, tree_size } => write!(
                f,
                "events from #{seq} on were removed (a signed head covers {tree_size} events)"
            ),
            Tamper::Unsigned { first_seq, count } => write!(
                f,
                "{count} event(s) from #{first_seq} on are covered by no signed tree head: inserted"
            ),
            Tamper::BlockMismatch { block } => write!(
                f,
                "the stored root of events #{}..#{} does not match them (merkle_blocks row {block} altered)",
                block * BLOCK_LEAVES,
                (block + 1) * BLOCK_LEAVES - 1
            ),
        }
    }
}

/// The outcome of verifying a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub heads_checked: usize,
    pub latest_head: Option<SignedTreeHead>,
    /// `None` when the log is intact.
    pub tamper: Option<Tamper>,
}

/// What opening the log for writing checks before it appends after the end: that the latest
/// signed tree head has a good signature and covers exactly the `size` events stored. (Every
/// record's checksum and the root are checked by the caller.) A commit whose write was torn by a
/// crash was never acknowledged (callers are answered after the fsync); SQLite's
/// write-ahead-log recovery drops it on open, before this check.
pub(super) fn check_head(
    head: Option<&SignedTreeHead>,
    size: u64,
    key: &VerifyingKey,
) -> Result<(), AuditError> {
    let corrupt = |message: String| Err(AuditError::Corrupt(message));
    let Some(head) = head else {
        return match size {
            0 => Ok(()),
            _ => corrupt(format!("events #0..#{} have no signed tree head", size - 1)),
        };
    };
    if !head.verify(key) {
        return corrupt(format!(
            "the latest tree head (size {}) is not signed by this log's key",
            head.tree_size
        ));
    }
    if size < head.tree_size {
        return corrupt(format!(
            "events #{size}..#{} are covered by the signed tree head of size {} but missing",
            head.tree_size - 1,
            head.tree_size
        ));
    }
    if size > head.tree_size {
        return corrupt(format!(
            "events #{}..#{} are covered by no signed tree head",
            head.tree_size,
            size - 1
        ));
    }
    Ok(())
}

/// How far a record whose checksum fails is compared with the positions after its own, to tell
/// a removal (the records after it moved down) from an edit.
const MOVED_WITHIN: u64 = 64;

/// Verifies the log file at `path` against the log's public key.
pub fn verify_file(path: &Path, key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    if !path.exists() {
        return Err(AuditError::Corrupt(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let log = SqliteLog::open(path)?;
    // One snapshot for every read below, so a log being written verifies as of one commit.
    log.snapshot(|log| walk(log, key))
}

/// Verifies the log of record of a fleet in its database, as of one snapshot.
pub fn verify_store(
    store: &super::postgres::PgStore,
    key: &VerifyingKey,
) -> Result<VerifyReport, AuditError> {
    store.log()?.snapshot(|log| walk(log, key))
}

/// The first thing wrong with the log, if anything (see [`verify_file`]).
pub(super) fn first_tamper<L: LogOfRecord>(
    log: &L,
    key: &VerifyingKey,
) -> Result<Option<Tamper>, AuditError> {
    Ok(walk(log, key)?.tamper)
}

fn walk<L: LogOfRecord>(log: &L, key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    let heads = log.heads()?;
    let mut report = VerifyReport {
        events: 0,
        heads_checked: 0,
        latest_head: heads.last().cloned(),
        tamper: None,
    };
    if let Some(head) = heads.iter().find(|head| !head.verify(key)) {
        report.tamper = Some(Tamper::BadSignature {
            tree_size: head.tree_size,
        });
        return Ok(report);
    }
    let blocks: std::collections::BTreeMap<u64, Vec<u8>> =
        log.blocks(0, u64::MAX >> 1)?.into_iter().collect();
    // A damaged dictionary shows as the records it makes unreadable.
    let dictionary = log.dictionary().unwrap_or_default();
    let mut frontier = Frontier::new();
    let mut next_head = heads.iter().peekable();
    let mut previous_size = 0u64;
    let found = std::cell::RefCell::new(None);
    let mut leaf_bytes = Vec::new();
    log.scan(
        0,
        u64::MAX >> 1,
        &mut |raw| {
            let seq = raw.seq;
            if !record::checks(seq, raw.payload, raw.crc) {
                let moved =
                    (1..=MOVED_WITHIN).find(|k| record::checks(seq + k, raw.payload, raw.crc));
                *found.borrow_mut() = Some(match moved {
                    Some(_) => Tamper::Removed { seq },
                    None => Tamper::Altered {
                        seq,
                        event_id: event_id(seq, raw.payload, &dictionary),
                    },
                });
                return Ok(false);
            }
            let Ok(view) = record::view(raw.payload, &dictionary) else {
                *found.borrow_mut() = Some(Tamper::Altered {
                    seq,
                    event_id: event_id(seq, raw.payload, &dictionary),
                });
                return Ok(false);
            };
            record::view_leaf_bytes(seq, &view, &mut leaf_bytes);
            let leaf = leaf_hash(&leaf_bytes);
            if let Some(block) = frontier.push(leaf) {
                let index = frontier.size() / BLOCK_LEAVES - 1;
                if blocks.get(&index).map(Vec::as_slice) != Some(&block[..]) {
                    *found.borrow_mut() = Some(Tamper::BlockMismatch { block: index });
                    return Ok(false);
                }
            }
            if let Some(head) = next_head.next_if(|h| h.tree_size == frontier.size()) {
                report.heads_checked += 1;
                if head.root != frontier.root() {
                    *found.borrow_mut() = Some(Tamper::RootMismatch {
                        tree_size: head.tree_size,
                        first_seq: previous_size,
                        last_seq: head.tree_size - 1,
                    });
                    return Ok(false);
                }
                previous_size = head.tree_size;
            }
            report.events = frontier.size();
            Ok(true)
        },
        &mut |damage| {
            *found.borrow_mut() = Some(match damage {
                RunDamage::Gap { expected, .. } => Tamper::Removed { seq: expected },
                RunDamage::Truncated { seq, .. } => Tamper::Altered {
                    seq,
                    event_id: "unreadable".into(),
                },
            });
            Ok(())
        },
    )?;
    if let Some(tamper) = found.into_inner() {
        report.tamper = Some(tamper);
        return Ok(report);
    }
    if let Some(head) = next_head.next() {
        report.tamper = Some(Tamper::TailRemoved {
            seq: frontier.size(),
            tree_size: head.tree_size,
        });
    } else if frontier.size() > previous_size {
        report.tamper = Some(Tamper::Unsigned {
            first_seq: previous_size,
            count: frontier.size() - previous_size,
        });
    }
    let complete_blocks = frontier.size() / BLOCK_LEAVES;
    if report.tamper.is_none() && blocks.range(complete_blocks..).next().is_some() {
        report.tamper = Some(Tamper::BlockMismatch {
            block: complete_blocks,
        });
    }
    Ok(report)
}

/// The event id a damaged record still shows, for naming it.
fn event_id(seq: u64, payload: &[u8], dictionary: &Dictionary) -> String {
    match record::decode(seq, payload, dictionary) {
        Ok(stored) => stored.event.event_id,
        Err(_) => match record::client_event_id(payload) {
            Ok(Some(id)) => String::from_utf8_lossy(id).into_owned(),
            _ => "unreadable".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{log::DATABASE_FILE, testing, AuditEvent, AuditLog, EventKind, EventSource};

    fn event(i: usize) -> AuditEvent {
        AuditEvent {
            event_id: format!("event-{i}"),
            source: EventSource::Client,
            dossier_id: format!("D{}", i / 3),
            agency_id: "one-stop-ba-dinh".into(),
            district: "Quận Ba Đình".into(),
            officer_id: format!("officer-{}", i % 4),
            occurred_at_ms: 1_700_000_000_000 + i as i64,
            load_test: false,
            commune: None,
            province: None,
            kind: EventKind::Verification {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "đăng ký thường trú".into(),
                subject: format!("{i:064x}"),
            },
        }
    }

    /// A log of `n` events written in batches of 3 (so there are several signed heads, and
    /// each batch is one run of records).
    fn log_with(n: usize) -> (tempfile::TempDir, VerifyingKey) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
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
            *outcome = "not_found".into();
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
        match AuditLog::open(dir.path()) {
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
        let log = AuditLog::open(dir.path()).unwrap();
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
        let log = AuditLog::open(dir.path()).unwrap();
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
        drop(AuditLog::open(dir.path()).unwrap());
        assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
        sql(&path, "DELETE FROM merkle_blocks");
        drop(AuditLog::open(dir.path()).unwrap());
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
                testing::rewrite_event(p, seq, true, |e| e.event_id = format!("forged-{seq}"))
                    .unwrap();
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
}
