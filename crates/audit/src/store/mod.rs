//! Where the log of record lives: the narrow interface the sequencer, the projector, the
//! queries and `verify` use ([`LogOfRecord`]), here; its SQLite implementation (`audit.sqlite`)
//! in `sqlite`; [`RunWalk`], the check every implementation's scan makes of its runs, in `runs`;
//! the storage test suite every implementation runs, in `suite` (tests only).
//!
//! The file holds, in one database:
//! - `records`: the events in runs of at most [`RUN`] consecutive records, one row a run
//!   (`first_seq`, `count`, `body`, the records of [`record`] back to back);
//! - `strings`: the dictionary the records' interned strings refer to;
//! - `tree_heads`: one signed tree head per group commit;
//! - `merkle_blocks`: the root of every complete block of 1,024 leaves (derived from the
//!   records in the same commit; `verify` checks them, proofs read them).
//!
//! A group commit writes all four in one SQLite transaction, fsync'd (WAL, `synchronous=FULL`).
//! A fleet of servers sharing one database server is another implementation of the same trait.

mod runs;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

use super::{
    keys::SignedTreeHead,
    merkle::Hash,
    record::{self, Dictionary, RecordError, StoredEvent},
    AuditError,
};
pub(crate) use runs::RunWalk;
pub(crate) use sqlite::SqliteLog;
pub use sqlite::DATABASE_FILE;

/// Most records in one `records` row.
pub(crate) const RUN: usize = 128;

/// One group commit: runs of encoded records, the dictionary entries they introduced, the
/// Merkle blocks they completed, and the signed head(s) over the log after them.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// (first seq, count, records).
    pub runs: Vec<(u64, usize, Vec<u8>)>,
    /// Dictionary entries the group introduced (id, text).
    pub strings: Vec<(u64, String)>,
    /// Roots of the 1,024-leaf blocks the group completed (block index, root).
    pub blocks: Vec<(u64, Hash)>,
    /// The signed head over the log after the group (a copy may take in several at once).
    pub heads: Vec<SignedTreeHead>,
}

/// One record as read from the store, before decoding.
pub(crate) struct RawRecord<'a> {
    /// Its position in the log (leaf index).
    pub seq: u64,
    /// The record's payload.
    pub payload: &'a [u8],
    /// The checksum stored with it.
    pub crc: u32,
}

/// What can go wrong reading a run of records (besides the database).
#[derive(Debug)]
pub(crate) enum RunDamage {
    /// The run starting at `first_seq` holds fewer well-formed records than it says.
    Truncated { seq: u64, error: RecordError },
    /// A run starts at `found` where `expected` should follow.
    Gap { expected: u64, found: u64 },
}

/// The end of a log shared by several writers, read under its write lock: its size, and the
/// root of the signed head at that size (`None` for an empty log). A writer checks that the
/// log extends the tree it last saw by hashing the leaves after it into its own tree and
/// comparing with `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedEnd {
    /// Records committed.
    pub size: u64,
    /// The root the head at `size` signs.
    pub root: Option<Hash>,
}

/// The log of record as the sequencer, the projector and the readers need it.
pub(crate) trait LogOfRecord {
    /// Stores a group atomically and durably; nothing of it is visible before it returns. A
    /// group whose head is at a size already signed is refused whole: a signed head is never
    /// replaced.
    fn append(&mut self, group: &Group) -> Result<(), AuditError>;
    /// Calls `each` with every record in `[from, to)`, in order, until it returns false.
    /// Structural damage (a short run, a gap) is passed to `damaged` and ends the scan.
    fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<(), AuditError>;
    /// Number of records stored (one past the last run's end).
    fn size(&self) -> Result<u64, AuditError>;
    /// Dictionary entries from id `from` on.
    fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError>;
    /// Every signed head, oldest first.
    fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError>;
    /// The newest signed head.
    fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError>;
    /// Stored block roots with index in `[from, to)`, in order.
    fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError>;
    /// Stores block roots missing from the file (derived data, restored on open).
    fn restore_blocks(&mut self, blocks: &[(u64, Hash)]) -> Result<(), AuditError> {
        self.append(&Group {
            blocks: blocks.to_vec(),
            ..Group::default()
        })
    }
    /// Before a group is encoded: a log shared by several writers takes its write lock (held
    /// until [`LogOfRecord::append`] or [`LogOfRecord::abandon`]) and returns the end all of
    /// them have committed, which the caller must catch up with first; a log with one writer
    /// returns `None`.
    fn lock_for_append(&mut self) -> Result<Option<SharedEnd>, AuditError> {
        Ok(None)
    }
    /// Gives up the write lock taken by [`LogOfRecord::lock_for_append`] without storing.
    fn abandon(&mut self) {}
    /// After answering, now and then: housekeeping the store may need off the commits
    /// answers wait for (SQLite: a WAL checkpoint).
    fn checkpoint(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// The dictionary as stored.
    fn dictionary(&self) -> Result<Dictionary, AuditError> {
        Dictionary::from_entries(self.strings_from(0)?).map_err(|e| {
            AuditError::Corrupt(format!("the log's string dictionary is damaged: {e}"))
        })
    }

    /// Decodes every record in `[from, to)` with `dictionary` (brought up to date with the file
    /// first), calling `each` until it returns false. Damage of any kind is an error naming the
    /// record.
    fn events(
        &self,
        dictionary: &mut Dictionary,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(StoredEvent) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.views(dictionary, from, to, &mut |seq, view| {
            each(view.to_stored(seq))
        })
    }

    /// [`LogOfRecord::events`] read in place, without allocating: `each` gets each record's
    /// position and a view of it.
    fn views(
        &self,
        dictionary: &mut Dictionary,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, record::View<'_>) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        dictionary
            .extend(self.strings_from(dictionary.len())?)
            .map_err(|e| AuditError::Corrupt(format!("the log's dictionary: {e}")))?;
        let dictionary = &*dictionary;
        self.scan(
            from,
            to,
            &mut |raw| {
                if !record::checks(raw.seq, raw.payload, raw.crc) {
                    return Err(damaged_record(raw.seq, &RecordError::Checksum));
                }
                let view = record::view(raw.payload, dictionary)
                    .map_err(|e| damaged_record(raw.seq, &e))?;
                each(raw.seq, view)
            },
            &mut |damage| Err(damage_error(&damage)),
        )
    }
}

/// The error for a record that cannot be read.
pub(crate) fn damaged_record(seq: u64, error: &RecordError) -> AuditError {
    AuditError::Corrupt(format!("event #{seq} cannot be read: {error}"))
}

/// The error for structural damage.
pub(crate) fn damage_error(damage: &RunDamage) -> AuditError {
    match damage {
        RunDamage::Truncated { seq, error } => damaged_record(*seq, error),
        RunDamage::Gap { expected, found } => AuditError::Corrupt(format!(
            "event #{expected} is missing: the next stored event is #{found}"
        )),
    }
}
