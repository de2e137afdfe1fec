//! What verifying a log can find wrong with it, and how it is said.

use std::fmt;

use crate::merkle::BLOCK_LEAVES;

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
