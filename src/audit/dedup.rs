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
//! The ids stored are kept in memory as a 64-bit hash of each [`DedupKey`] → the position of the
//! first record under it; the record itself is read back to compare, so a hash shared by two keys
//! (rare) costs a read, never a wrong answer. Keys are derived from what every record carries
//! (its agency, its stored id), so old logs read as before.

use std::{collections::HashMap, hash::BuildHasher};

use super::record::{DedupKey, KeyKind, View};

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

/// The first record of each key, for deduplication: a 64-bit hash of each [`DedupKey`] → its
/// position. A hash shared by two different keys keeps the later ones in `exact`.
#[derive(Default)]
pub(super) struct StoredIds {
    by_hash: HashMap<u64, u64>,
    exact: HashMap<Box<[u8]>, u64>,
    hasher: foldhash::fast::FixedState,
}

/// What one append added to [`StoredIds`], to take back if its commit fails.
pub(super) struct Added {
    hash: u64,
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
    /// The 64-bit hash `key` is known by.
    pub(super) fn hash(&self, key: DedupKey<'_>) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of the first record that may be `key`'s (the same hash), to read back and
    /// [`compare`].
    pub(super) fn candidate(&self, key: DedupKey<'_>, hash: u64) -> Option<u64> {
        if !self.exact.is_empty() {
            if let Some(&seq) = self.exact.get(&owned(key)) {
                return Some(seq);
            }
        }
        self.by_hash.get(&hash).copied()
    }

    /// Records that the record at `seq`, read back at open or taken in from a shared log, is
    /// under `key` (the first record of a key stays the one it names).
    pub(super) fn remember(&mut self, key: DedupKey<'_>, seq: u64) {
        let hash = self.hash(key);
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(seq);
            }
            std::collections::hash_map::Entry::Occupied(entry) if *entry.get() != seq => {
                // Another key with the same hash came first, or the same key again (a call
                // tried again but recorded, being another call): only a new key is kept.
                self.exact.entry(owned(key)).or_insert(seq);
            }
            std::collections::hash_map::Entry::Occupied(_) => {}
        }
    }

    /// Adds `key` (hash `hash`, not [`Known`] before) as stored at `seq`.
    pub(super) fn insert(&mut self, key: DedupKey<'_>, hash: u64, seq: u64) -> Added {
        if let Some(previous) = self.by_hash.insert(hash, seq) {
            // Another key with the same hash: keep it reachable exactly.
            self.by_hash.insert(hash, previous);
            let exact = owned(key);
            self.exact.insert(exact.clone(), seq);
            Added {
                hash,
                exact: Some(exact),
            }
        } else {
            Added { hash, exact: None }
        }
    }

    /// Takes back what a failed append added.
    pub(super) fn forget(&mut self, added: Vec<Added>) {
        for Added { hash, exact } in added {
            match exact {
                Some(key) => drop(self.exact.remove(&key)),
                None => drop(self.by_hash.remove(&hash)),
            }
        }
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
