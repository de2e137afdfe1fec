//! What the sequencer stores once: a client's report, by (agency, event id), and a served call
//! tried again, by (agency, call id) when it is the same call.
//!
//! A report's id is the agency's promise that two events under it are one: the second is a
//! redelivery and is dropped whatever it says. A call id is weaker: it names a call the client
//! may try again when a failure left its fate unknown, and the server drops the second record
//! only when it records the same call — every field the same but the times
//! ([`View::same_call`]). A call id reused for another dossier, citizen, method or outcome is
//! recorded anyway, so reusing ids hides no lookup.
//!
//! The ids stored are kept in memory as a hash of each [`DedupKey`] → the position of the first
//! record under it, in a [`PositionTable`](table::PositionTable) of under ten bytes a key (36 bits of the hash and a
//! 40-bit position in one word; `table`); the record itself is read back to compare, so a hash
//! shared by two keys (one new key in some 700 at 100 million keys) costs a read, never a wrong
//! answer. Keys are derived from what every record carries (its agency, its stored id), so
//! old logs read as before.

mod manifest;
mod run;
mod table;
mod tiers;

use std::{collections::HashMap, hash::BuildHasher};

use super::{
    merkle::Hash,
    record::{DedupKey, KeyKind, View},
    AuditError,
};
use manifest::Mark;
pub(crate) use tiers::SpillConfig;

/// The directory, in a data directory, of the stored ids written out of memory (`tiers`).
pub const STORED_IDS_DIR: &str = "audit-stored-ids";
use tiers::Tiers;

/// What a stored record is to an event being appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Known {
    /// Not stored: another key, or none.
    No,
    /// Stored already: the event is a duplicate.
    Same,
    /// A call under the same call id, but another call: the event is stored, and the first
    /// record stays the one its key names.
    KeyOnly,
}

/// The first record of each key, for deduplication: a hash of each [`DedupKey`] → its position
/// (the table knows a hash by its top 36 bits). A hash shared by two different keys keeps the
/// later ones in `exact`.
#[derive(Default)]
pub(super) struct StoredIds {
    /// The hash of each key → the position of its first record, the older ones in runs on
    /// disk (`tiers`).
    by_hash: Tiers,
    /// The keys whose hash an earlier key has → a position (see [`StoredIds::remember`]).
    exact: HashMap<Box<[u8]>, u64>,
    /// The hasher of the keys.
    hasher: foldhash::fast::FixedState,
}

/// What one append added to [`StoredIds`], to take back if its commit fails.
pub(super) struct Added {
    /// The key's hash.
    hash: u64,
    /// The key, when it went into `exact`.
    exact: Option<Box<[u8]>>,
}

/// The key as one owned byte string (kind, agency length, agency, id): no two keys share it.
fn owned(key: DedupKey<'_>) -> Box<[u8]> {
    let mut bytes = Vec::with_capacity(5 + key.agency.len() + key.id.len());
    bytes.push(match key.kind {
        KeyKind::Report => 0,
        KeyKind::Call => 1,
    });
    bytes.extend_from_slice(&(key.agency.len() as u32).to_le_bytes());
    bytes.extend_from_slice(key.agency);
    bytes.extend_from_slice(key.id);
    bytes.into()
}

impl StoredIds {
    /// No ids yet, their older ones written out as `spill` says (or all kept in memory).
    pub(super) fn new(spill: Option<SpillConfig>) -> Result<Self, AuditError> {
        Ok(Self {
            by_hash: Tiers::new(spill)?,
            ..Self::default()
        })
    }

    /// The ids an earlier server checkpointed in `spill`'s directory, and the log's size and
    /// Merkle root they hold every key of, for the caller to check against the log (and to
    /// read back the records after); no ids and no checkpoint when there is none.
    pub(super) fn open(
        spill: Option<SpillConfig>,
    ) -> Result<(Self, Option<(u64, Hash)>), AuditError> {
        let (by_hash, mark) = Tiers::open(spill)?;
        let mut ids = Self {
            by_hash,
            ..Self::default()
        };
        Ok(match mark {
            Some(mark) => {
                ids.exact.extend(mark.exact);
                (ids, Some((mark.covers, mark.root)))
            }
            None => (ids, None),
        })
    }

    /// Between groups (or while the log is read back): lets the older ids leave memory. At a
    /// group's end, `at()` gives the log's size and root, which a checkpoint written of what
    /// leaves then holds (see `tiers`).
    pub(super) fn settle(&mut self, at: impl FnOnce() -> Option<(u64, Hash)>) {
        let exact = &self.exact;
        self.by_hash
            .settle(|| at().map(|(covers, root)| mark(exact, covers, root)));
    }

    /// After the log was read back, of `covers` records with Merkle root `root`: writes every
    /// id out and checkpoints them (if they leave memory at all).
    pub(super) fn checkpoint(&mut self, covers: u64, root: Hash) {
        self.by_hash.checkpoint(mark(&self.exact, covers, root));
    }

    /// Waits until every id frozen is written out (for tests).
    #[cfg(test)]
    pub(super) fn settle_all(&mut self) {
        self.by_hash.settle_all();
    }

    /// The 64-bit hash `key` is known by.
    pub(super) fn hash(&self, key: DedupKey<'_>) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of the first record that may be `key`'s (the same hash), to read back and
    /// [`compare`].
    pub(super) fn candidate(
        &self,
        key: DedupKey<'_>,
        hash: u64,
    ) -> Result<Option<u64>, AuditError> {
        // A key is in `exact` only while its hash is in `by_hash`: a new key (the common case)
        // is answered by the table alone, without building the key.
        let Some(seq) = self.by_hash.get(hash)? else {
            return Ok(None);
        };
        if !self.exact.is_empty() {
            if let Some(&seq) = self.exact.get(&owned(key)) {
                return Ok(Some(seq));
            }
        }
        Ok(Some(seq))
    }

    /// Records that the record at `seq`, read back at open or taken in from a shared log, is
    /// under `key` (the first record of a key stays the one it names).
    pub(super) fn remember(&mut self, key: DedupKey<'_>, seq: u64) -> Result<(), AuditError> {
        let hash = self.hash(key);
        match self.by_hash.insert_new(hash, seq)? {
            None => {}
            Some(first) if first != seq => {
                // Another key with the same hash came first, or the same key again (a call
                // tried again but recorded, being another call): only a new key is kept.
                self.exact.entry(owned(key)).or_insert(seq);
            }
            Some(_) => {}
        }
        self.by_hash.settle(|| None);
        Ok(())
    }

    /// Adds `key` (hash `hash`, not [`Known`] before) as stored at `seq`.
    pub(super) fn insert(
        &mut self,
        key: DedupKey<'_>,
        hash: u64,
        seq: u64,
    ) -> Result<Added, AuditError> {
        Ok(if self.by_hash.insert_new(hash, seq)?.is_some() {
            // Another key with the same hash (which stays): keep this one reachable exactly.
            let exact = owned(key);
            self.exact.insert(exact.clone(), seq);
            Added {
                hash,
                exact: Some(exact),
            }
        } else {
            Added { hash, exact: None }
        })
    }

    /// Takes back what a failed append added.
    pub(super) fn forget(&mut self, added: Vec<Added>) {
        for Added { hash, exact } in added {
            match exact {
                Some(key) => drop(self.exact.remove(&key)),
                None => self.by_hash.remove(hash),
            }
        }
    }

    /// The bytes the ids hold in memory: the table, and the keys kept exactly (their map's
    /// buckets, and each key's bytes).
    pub(super) fn memory_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<(Box<[u8]>, u64)>() + 1;
        self.by_hash.memory_bytes()
            + self.exact.capacity() * bucket
            + self.exact.keys().map(|key| key.len()).sum::<usize>()
    }
}

/// The mark of a checkpoint of the log's first `covers` records, with Merkle root `root`: with
/// the keys of `exact` before them.
fn mark(exact: &HashMap<Box<[u8]>, u64>, covers: u64, root: Hash) -> Mark {
    Mark {
        covers,
        root,
        exact: exact
            .iter()
            .filter(|&(_, &position)| position < covers)
            .map(|(key, &position)| (key.clone(), position))
            .collect(),
    }
}

/// What the record `stored` (the candidate of `key`) is to the event `event` being appended
/// under `key`. A report needs no event: its key alone decides (a probe).
pub(super) fn compare(stored: &View<'_>, key: DedupKey<'_>, event: Option<&View<'_>>) -> Known {
    if DedupKey::of_view(stored) != Some(key) {
        return Known::No;
    }
    match (key.kind, event) {
        (KeyKind::Report, _) => Known::Same,
        (KeyKind::Call, Some(event)) if stored.same_call(event) => Known::Same,
        (KeyKind::Call, _) => Known::KeyOnly,
    }
}

#[cfg(test)]
mod checkpoint_tests;

#[cfg(test)]
mod tests;
