//! `vnpop audit verify`: recompute the Merkle tree from the SQLite file, check every signed tree
//! head, and name the first event that was altered, removed or inserted.

use std::{fmt, path::Path};

use ed25519_dalek::VerifyingKey;
use rusqlite::Connection;

use super::{
    event::{AuditEvent, EventKind, EventSource},
    log::{connect, head_from_row, latest_head, SignedTreeHead},
    merkle::{leaf_hash, Frontier, Hash, BLOCK_LEAVES},
    AuditError,
};

/// The first thing found wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// A row's content no longer matches the leaf recorded when it was written.
    Altered { seq: u64, event_id: String },
    /// Sequence numbers jump: the event at `seq` is missing.
    Removed { seq: u64 },
    /// The rows were rewritten consistently (leaf hashes recomputed), so only the signed heads
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
                "event #{seq} ({event_id}) was altered or inserted: its content does not match its leaf"
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

/// The columns [`read_event`] expects, in order.
pub(super) const EVENT_COLUMNS: &str =
    "seq, event_id, source, kind, dossier_id, agency_id, district, officer_id,
    occurred_at_ms, load_test, procedure, channel, rpc, outcome, purpose, subject, leaf_hash";

/// One stored row: its sequence number, its event (`None` if the row no longer makes sense), and
/// the leaf hash stored with it.
pub(super) struct StoredEvent {
    pub seq: u64,
    pub event_id: String,
    pub event: Option<AuditEvent>,
    pub leaf_hash: Vec<u8>,
}

/// Reads a row selected with [`EVENT_COLUMNS`].
pub(super) fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let text = |i: usize| r.get::<_, Option<String>>(i);
    let (kind, source): (String, String) = (r.get(3)?, r.get(2)?);
    let kind = match kind.as_str() {
        "dossier" => text(10)?
            .zip(text(11)?)
            .map(|(procedure, channel)| EventKind::Dossier { procedure, channel }),
        "verification" => match (text(12)?, text(13)?, text(14)?, text(15)?) {
            (Some(rpc), Some(outcome), Some(purpose), Some(subject)) => {
                Some(EventKind::Verification {
                    rpc,
                    outcome,
                    purpose,
                    subject,
                })
            }
            _ => None,
        },
        _ => None,
    };
    let event_id: String = r.get(1)?;
    let event = match (kind, EventSource::parse(&source)) {
        (Some(kind), Some(source)) => Some(AuditEvent {
            event_id: event_id.clone(),
            source,
            dossier_id: r.get(4)?,
            agency_id: r.get(5)?,
            district: r.get(6)?,
            officer_id: r.get(7)?,
            occurred_at_ms: r.get(8)?,
            load_test: r.get(9)?,
            kind,
        }),
        _ => None,
    };
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        event_id,
        event,
        leaf_hash: r.get(16)?,
    })
}

/// Events at the end of the log whose leaves [`check_tail`] recomputes at every start.
const TAIL_CHECKED: u64 = 4_096;

/// What opening the log for writing checks before it appends after the end: that the rows are
/// contiguous, that the latest signed tree head (good signature) covers exactly the rows and
/// their leaves hash to its root, and that the last [`TAIL_CHECKED`] events still hash to their
/// stored leaves. `leaves` is the number of stored leaf hashes and `root_at_head` their root
/// after the latest head's size. A failure names the first bad record; `vnpop audit verify`
/// checks the whole log.
///
/// A commit whose write was torn by a crash was never acknowledged (callers are answered after
/// the fsync); SQLite's write-ahead-log recovery drops it on open, before this check.
pub(super) fn check_tail(
    connection: &Connection,
    leaves: u64,
    root_at_head: Option<Hash>,
    key: &VerifyingKey,
) -> Result<(), AuditError> {
    let corrupt = |message: String| Err(AuditError::Corrupt(message));
    let end: i64 =
        connection.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", [], |r| {
            r.get(0)
        })?;
    if end as u64 != leaves {
        let first_missing: i64 = connection.query_row(
            "SELECT COALESCE(MIN(seq + 1), 0) FROM events e
             WHERE NOT EXISTS (SELECT 1 FROM events n WHERE n.seq = e.seq + 1) AND seq + 1 < ?1",
            [end],
            |r| r.get(0),
        )?;
        return corrupt(format!(
            "event #{first_missing} is missing: {leaves} events are stored for positions 0..{end}"
        ));
    }
    let Some(head) = latest_head(connection)? else {
        return match leaves {
            0 => Ok(()),
            _ => corrupt(format!(
                "events #0..#{} have no signed tree head",
                leaves - 1
            )),
        };
    };
    if !head.verify(key) {
        return corrupt(format!(
            "the latest tree head (size {}) is not signed by this log's key",
            head.tree_size
        ));
    }
    if leaves < head.tree_size {
        return corrupt(format!(
            "events #{leaves}..#{} are covered by the signed tree head of size {} but missing",
            head.tree_size - 1,
            head.tree_size
        ));
    }
    if leaves > head.tree_size {
        return corrupt(format!(
            "events #{}..#{} are covered by no signed tree head",
            head.tree_size,
            leaves - 1
        ));
    }
    let mut statement = connection.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq >= ?1 ORDER BY seq"
    ))?;
    let mut rows = statement.query([leaves.saturating_sub(TAIL_CHECKED) as i64])?;
    while let Some(row) = rows.next()? {
        let stored = read_event(row)?;
        let leaf = stored
            .event
            .map(|event| leaf_hash(&event.leaf_bytes(stored.seq)));
        if leaf.is_none_or(|leaf| leaf[..] != stored.leaf_hash[..]) {
            return corrupt(format!(
                "event #{} ({:?}) does not match its leaf hash: the record was altered",
                stored.seq, stored.event_id
            ));
        }
    }
    if root_at_head != Some(head.root) {
        return corrupt(format!(
            "the stored leaves do not hash to the root of the latest signed tree head (size {}); run `vnpop audit verify` to name the altered event",
            head.tree_size
        ));
    }
    Ok(())
}

/// Verifies the log file at `path` against the log's public key.
pub fn verify_file(path: &Path, key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    if !path.exists() {
        return Err(AuditError::Corrupt(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let connection = connect(path)?;
    // One snapshot for every read below, so a log being written verifies as of one commit.
    connection.execute_batch("BEGIN")?;
    let heads: Vec<SignedTreeHead> = connection
        .prepare(
            "SELECT tree_size, root, signed_at_ms, signature FROM tree_heads ORDER BY tree_size",
        )?
        .query_map([], head_from_row)?
        .collect::<Result<Result<Vec<_>, _>, _>>()??;
    let mut report = VerifyReport {
        events: 0,
        heads_checked: 0,
        latest_head: heads.last().cloned(),
        tamper: None,
    };
    for head in &heads {
        if !head.verify(key) {
            report.tamper = Some(Tamper::BadSignature {
                tree_size: head.tree_size,
            });
            return Ok(report);
        }
    }

    let blocks: std::collections::BTreeMap<u64, Vec<u8>> = connection
        .prepare("SELECT block, root FROM merkle_blocks ORDER BY block")?
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Blocks of events the projector has not applied yet may be missing (not altered).
    let applied = super::projector::applied(&connection)?;
    let mut statement =
        connection.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq"))?;
    let mut rows = statement.query([])?;
    let mut frontier = Frontier::new();
    let mut next_head = heads.iter().peekable();
    let mut previous_size = 0u64;
    while let Some(r) = rows.next()? {
        let row = read_event(r)?;
        let expected = frontier.size();
        if row.seq != expected {
            report.tamper = Some(Tamper::Removed { seq: expected });
            return Ok(report);
        }
        let leaf = row
            .event
            .map(|event| leaf_hash(&event.leaf_bytes(expected)));
        if leaf.is_none_or(|leaf| leaf[..] != row.leaf_hash[..]) {
            report.tamper = Some(Tamper::Altered {
                seq: expected,
                event_id: row.event_id,
            });
            return Ok(report);
        }
        if let Some(block) = frontier.push(leaf.expect("checked above")) {
            let index = frontier.size() / BLOCK_LEAVES - 1;
            let stored = blocks.get(&index);
            let unprojected = stored.is_none() && frontier.size() > applied;
            if !unprojected && stored.map(Vec::as_slice) != Some(&block[..]) {
                report.tamper = Some(Tamper::BlockMismatch { block: index });
                return Ok(report);
            }
        }
        report.events = frontier.size();
        if let Some(head) = next_head.next_if(|h| h.tree_size == frontier.size()) {
            report.heads_checked += 1;
            if head.root != frontier.root() {
                report.tamper = Some(Tamper::RootMismatch {
                    tree_size: head.tree_size,
                    first_seq: previous_size,
                    last_seq: head.tree_size - 1,
                });
                return Ok(report);
            }
            previous_size = head.tree_size;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{log::DATABASE_FILE, AuditLog};

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
            kind: EventKind::Verification {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "đăng ký thường trú".into(),
                subject: format!("{i:064x}"),
            },
        }
    }

    /// A log of `n` events written in batches of 3 (so there are several signed heads).
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

    fn tamper_and_verify(n: usize, sql: &str) -> Option<Tamper> {
        let (dir, key) = log_with(n);
        let path = dir.path().join(DATABASE_FILE);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        verify_file(&path, &key).unwrap().tamper
    }

    /// Opening the log for writing after `sql` damaged it: the error start-up stops with.
    fn open_after(n: usize, sql: &str) -> String {
        let (dir, _) = log_with(n);
        rusqlite::Connection::open(dir.path().join(DATABASE_FILE))
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        match AuditLog::open(dir.path()) {
            Ok(_) => panic!("the log opened after: {sql}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_damaged_tail_stops_start_up_naming_the_record() {
        let altered = open_after(20, "UPDATE events SET outcome = 'not_found' WHERE seq = 19");
        assert!(altered.contains("event #19 (\"event-19\")"), "{altered}");
        let removed = open_after(20, "DELETE FROM events WHERE seq = 12");
        assert!(removed.contains("event #12 is missing"), "{removed}");
        let cut = open_after(20, "DELETE FROM events WHERE seq >= 18");
        assert!(cut.contains("events #18..#19 are covered"), "{cut}");
        let unsigned = open_after(
            20,
            "INSERT INTO events SELECT 20, 'appended', source, kind, dossier_id, agency_id, district, officer_id,
                 occurred_at_ms, load_test, procedure, channel, rpc, outcome, purpose, subject, leaf_hash
             FROM events WHERE seq = 19",
        );
        assert!(
            unsigned.contains("events #20..#20 are covered by no"),
            "{unsigned}"
        );
        let rehashed = open_after(
            20,
            "UPDATE events SET leaf_hash = zeroblob(32) WHERE seq = 2",
        );
        assert!(rehashed.contains("event #2 (\"event-2\")"), "{rehashed}");
        let forged = open_after(
            20,
            "UPDATE tree_heads SET signed_at_ms = 1 WHERE tree_size = 20",
        );
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
    fn an_altered_block_root_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let n = 2 * BLOCK_LEAVES as usize + 10;
        log.append_blocking((0..n).map(event).collect()).unwrap();
        let key = log.public_key();
        drop(log);
        let path = dir.path().join(DATABASE_FILE);
        assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE merkle_blocks SET root = zeroblob(32) WHERE block = 1",
                [],
            )
            .unwrap();
        assert_eq!(
            verify_file(&path, &key).unwrap().tamper,
            Some(Tamper::BlockMismatch { block: 1 })
        );
        // Block roots are derived data: reopening the log restores missing ones.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM merkle_blocks", [])
            .unwrap();
        drop(AuditLog::open(dir.path()).unwrap());
        assert_eq!(verify_file(&path, &key).unwrap().tamper, None);
    }

    #[test]
    fn an_edited_row_is_named() {
        let found = tamper_and_verify(20, "UPDATE events SET outcome = 'not_found' WHERE seq = 7");
        assert_eq!(
            found,
            Some(Tamper::Altered {
                seq: 7,
                event_id: "event-7".into()
            })
        );
    }

    #[test]
    fn a_deleted_row_is_named() {
        let found = tamper_and_verify(20, "DELETE FROM events WHERE seq = 5");
        assert_eq!(found, Some(Tamper::Removed { seq: 5 }));
        let found = tamper_and_verify(20, "DELETE FROM events WHERE seq >= 18");
        assert_eq!(
            found,
            Some(Tamper::TailRemoved {
                seq: 18,
                tree_size: 20
            })
        );
    }

    #[test]
    fn an_inserted_row_is_named() {
        let found = tamper_and_verify(
            9,
            "UPDATE events SET seq = seq + 100 WHERE seq >= 4;
             UPDATE events SET seq = seq - 99 WHERE seq >= 104;
             INSERT INTO events SELECT 4, 'forged', source, kind, dossier_id, agency_id, district, officer_id,
                 occurred_at_ms, load_test, procedure, channel, rpc, outcome, purpose, subject, leaf_hash
               FROM events WHERE seq = 3;",
        );
        assert_eq!(
            found,
            Some(Tamper::Altered {
                seq: 4,
                event_id: "forged".into()
            })
        );
        let found = tamper_and_verify(
            9,
            "INSERT INTO events SELECT 9, 'appended', source, kind, dossier_id, agency_id, district, officer_id,
                 occurred_at_ms, load_test, procedure, channel, rpc, outcome, purpose, subject, leaf_hash
               FROM events WHERE seq = 8;",
        );
        assert_eq!(
            found,
            Some(Tamper::Altered {
                seq: 9,
                event_id: "appended".into()
            })
        );
    }

    #[test]
    fn a_consistently_rebuilt_tail_is_caught_by_the_signed_heads() {
        // The forger edits a row and recomputes its leaf hash (as a hash chain would let them),
        // but cannot re-sign the tree heads.
        let (dir, key) = log_with(20);
        let path = dir.path().join(DATABASE_FILE);
        let connection = rusqlite::Connection::open(&path).unwrap();
        let mut forged = event(13);
        forged.kind = EventKind::Verification {
            rpc: "LookupByCccd".into(),
            outcome: "not_found".into(),
            purpose: "đăng ký thường trú".into(),
            subject: format!("{:064x}", 13),
        };
        let leaf = leaf_hash(&forged.leaf_bytes(13));
        connection
            .execute(
                "UPDATE events SET outcome = 'not_found', leaf_hash = ?1 WHERE seq = 13",
                [&leaf[..]],
            )
            .unwrap();
        let found = verify_file(&path, &key).unwrap().tamper;
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
        let found = tamper_and_verify(
            6,
            "UPDATE tree_heads SET signed_at_ms = signed_at_ms + 1 WHERE tree_size = 3",
        );
        assert_eq!(found, Some(Tamper::BadSignature { tree_size: 3 }));
    }
}
