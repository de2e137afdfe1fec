//! `vnpop audit verify`: read every record of the log back, recompute the Merkle tree, check
//! every signed tree head and stored block root, and name the first event that was altered,
//! removed or inserted.
//!
//! Each record carries a checksum of its position and content: an edit that did not recompute
//! it is named by position (`altered`), a record missing from the middle of a run by the
//! position it left (`removed`). An edit that did recompute it still changes the leaf, so the
//! first signed head after it no longer matches (`root_mismatch`, naming the group).

//!
//! [`Tamper`] (what can be found) is in `tamper`; `head` is the check the sequencer makes of the
//! log's end when it opens it.

mod head;
mod tamper;

use std::path::Path;

use super::{
    keys::{SignedTreeHead, VerifyingKey},
    merkle::{leaf_hash, Frontier, BLOCK_LEAVES},
    record::{self, Dictionary},
    store::{LogOfRecord, RunDamage, SqliteLog},
    AuditError,
};
pub(super) use head::check_head;
pub use tamper::Tamper;

/// The outcome of verifying a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events read back and checked.
    pub events: u64,
    /// Signed heads whose root was recomputed and compared.
    pub heads_checked: usize,
    /// The newest signed head, if any.
    pub latest_head: Option<SignedTreeHead>,
    /// `None` when the log is intact.
    pub tamper: Option<Tamper>,
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

/// Reads the whole log back and checks it (see the module documentation).
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
mod tests;
