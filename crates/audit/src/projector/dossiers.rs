//! Every dossier's counts, in memory: an open-addressing table keyed by a 96-bit hash of
//! (agency, dossier id), in shards that each grow on their own.
//!
//! A slot is 24 bytes: the hash (64 bits, never 0: 0 marks an empty slot), a second, independent
//! 32-bit check, the dossier's rollup row (or whether its first event was load-test traffic,
//! until it is received) and its four counts in 16 bits each; a dossier with a count beyond
//! that (65,534 lookups: an attack or a load test) keeps its counts in a map beside the table,
//! its slot marked [`SPILLED`]. No dossier id is kept: two dossiers share a slot only if both
//! hashes agree (about one chance in 10^14 for 25 million dossiers). Growing a shard copies that
//! shard only, so the table never needs twice its memory at once.

use std::{collections::HashMap, hash::BuildHasher};

/// Shards of the table (a power of two).
const SHARDS: usize = 256;
/// `rollup` of a dossier not yet received whose first event was not load-test traffic.
const NOT_RECEIVED: u32 = u32::MAX;
/// `rollup` of a dossier not yet received whose first event was load-test traffic.
const NOT_RECEIVED_LOAD_TEST: u32 = u32::MAX - 1;
/// The counts of a slot whose dossier's counts are in [`DossierTable::spilled`].
const SPILLED: [u16; 4] = [u16::MAX; 4];

/// A dossier's counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Verifications its agency reported.
    pub(crate) lookups: u32,
    /// Verifications the server served.
    pub(crate) served: u32,
    /// Reported verifications whose outcome says the call never reached the server.
    pub(crate) failed: u32,
    /// Served verifications that consulted a citizen record (what coverage counts).
    pub(crate) consulted: u32,
}

/// What a dossier adds to its rollup row: dossiers; verifications reported; dossiers with one
/// reported; verifications served; dossiers with one served that consulted a record; reported
/// verifications whose outcome says the call failed before the server; reported verifications
/// that reached the server, by their outcome, beyond those served.
pub(crate) type Figures = [i64; 7];

impl Counts {
    /// What a received dossier with these counts adds to its rollup row.
    pub(crate) fn figures(&self) -> Figures {
        let (lookups, served, failed) = (
            i64::from(self.lookups),
            i64::from(self.served),
            i64::from(self.failed),
        );
        [
            1,
            lookups,
            i64::from(lookups > 0),
            served,
            i64::from(self.consulted > 0),
            failed,
            (lookups - failed - served).max(0),
        ]
    }
}

/// One dossier in the table.
#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    hash: u64,
    check: u32,
    rollup: u32,
    /// Lookups, served, failed, consulted; [`SPILLED`] when they do not fit.
    counts: [u16; 4],
}

/// A dossier's key in the table ([`DossierTable::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    hash: u64,
    check: u32,
}

/// A dossier as the table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dossier {
    /// Its rollup row, once received.
    pub(crate) rollup: Option<u32>,
    /// Whether its first event was load-test traffic (what counts until it is received).
    pub(crate) load_test_before_receipt: bool,
    /// Its counts.
    pub(crate) counts: Counts,
}

/// Every dossier's counts (see the module documentation).
pub(crate) struct DossierTable {
    shards: Vec<Vec<Slot>>,
    lens: Vec<usize>,
    /// The counts of the dossiers whose slots say [`SPILLED`].
    spilled: HashMap<Key, Counts>,
    hasher: foldhash::fast::FixedState,
    checker: foldhash::fast::FixedState,
}

impl Default for DossierTable {
    fn default() -> Self {
        DossierTable {
            shards: vec![Vec::new(); SHARDS],
            lens: vec![0; SHARDS],
            spilled: HashMap::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x7670_6f70_646f_7373),
            checker: foldhash::fast::FixedState::with_seed(0x6368_6563_6b5f_6964),
        }
    }
}

impl DossierTable {
    /// The key of `agency`'s dossier `dossier_id`.
    pub(crate) fn key(&self, agency: &str, dossier_id: &str) -> Key {
        Key {
            hash: self.hasher.hash_one((agency, dossier_id)) | 1,
            check: self.checker.hash_one((dossier_id, agency)) as u32,
        }
    }

    /// Dossiers held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lens.iter().sum()
    }

    /// Bytes the table's slots take.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.capacity() * std::mem::size_of::<Slot>())
            .sum()
    }

    /// The shard of `key` and the slot it is in, or the empty slot where it would go.
    fn find(&self, key: Key) -> (usize, usize, bool) {
        let shard = (key.hash >> 56) as usize % SHARDS;
        let slots = &self.shards[shard];
        if slots.is_empty() {
            return (shard, 0, false);
        }
        let mask = slots.len() - 1;
        let mut at = key.hash as usize & mask;
        loop {
            let slot = &slots[at];
            if slot.hash == 0 {
                return (shard, at, false);
            }
            if slot.hash == key.hash && slot.check == key.check {
                return (shard, at, true);
            }
            at = (at + 1) & mask;
        }
    }

    /// The dossier under `key`, if the table holds it.
    pub(crate) fn get(&self, key: Key) -> Option<Dossier> {
        let (shard, at, found) = self.find(key);
        found.then(|| {
            let slot = &self.shards[shard][at];
            let counts = if slot.counts == SPILLED {
                self.spilled.get(&key).copied().unwrap_or_default()
            } else {
                let [lookups, served, failed, consulted] = slot.counts.map(u32::from);
                Counts {
                    lookups,
                    served,
                    failed,
                    consulted,
                }
            };
            Dossier {
                rollup: (slot.rollup < NOT_RECEIVED_LOAD_TEST).then_some(slot.rollup),
                load_test_before_receipt: slot.rollup == NOT_RECEIVED_LOAD_TEST,
                counts,
            }
        })
    }

    /// Stores `dossier` under `key`, adding it if new.
    pub(crate) fn put(&mut self, key: Key, dossier: Dossier) {
        let (mut shard, mut at, found) = self.find(key);
        if !found {
            let capacity = self.shards[shard].len();
            // At most three quarters full.
            if (self.lens[shard] + 1) * 4 > capacity * 3 {
                self.grow(shard);
                (shard, at, _) = self.find(key);
            }
            self.lens[shard] += 1;
        }
        self.shards[shard][at] = Slot {
            hash: key.hash,
            check: key.check,
            rollup: match (dossier.rollup, dossier.load_test_before_receipt) {
                (Some(rollup), _) => rollup,
                (None, true) => NOT_RECEIVED_LOAD_TEST,
                (None, false) => NOT_RECEIVED,
            },
            counts: self.compact(key, dossier.counts),
        };
    }

    /// `counts` as a slot holds them: in 16 bits each, or [`SPILLED`] (and kept beside).
    fn compact(&mut self, key: Key, counts: Counts) -> [u16; 4] {
        let all = [
            counts.lookups,
            counts.served,
            counts.failed,
            counts.consulted,
        ];
        if all.iter().all(|&n| n < u32::from(u16::MAX)) {
            all.map(|n| n as u16)
        } else {
            self.spilled.insert(key, counts);
            SPILLED
        }
    }

    /// Doubles shard `shard` (at least 64 slots) and places its dossiers again.
    fn grow(&mut self, shard: usize) {
        let len = (self.shards[shard].len() * 2).max(64);
        let old = std::mem::replace(&mut self.shards[shard], vec![Slot::default(); len]);
        let mask = len - 1;
        for slot in old.into_iter().filter(|slot| slot.hash != 0) {
            let slots = &mut self.shards[shard];
            let mut at = slot.hash as usize & mask;
            while slots[at].hash != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dossiers_are_found_again_and_kept_apart() {
        let mut table = DossierTable::default();
        let n = 200_000u32;
        for i in 0..n {
            let key = table.key(&format!("agency-{}", i % 3), &format!("D{i}"));
            assert_eq!(table.get(key), None);
            table.put(
                key,
                Dossier {
                    rollup: (i % 2 == 0).then_some(i),
                    load_test_before_receipt: i % 5 == 0,
                    counts: Counts {
                        lookups: i,
                        ..Counts::default()
                    },
                },
            );
        }
        assert_eq!(table.len(), n as usize);
        for i in (0..n).step_by(7) {
            let key = table.key(&format!("agency-{}", i % 3), &format!("D{i}"));
            let dossier = table.get(key).unwrap();
            assert_eq!(dossier.counts.lookups, i);
            assert_eq!(dossier.rollup, (i % 2 == 0).then_some(i));
            assert_eq!(dossier.load_test_before_receipt, i % 2 != 0 && i % 5 == 0);
        }
        // The same id at another agency is another dossier.
        assert_eq!(table.get(table.key("agency-9", "D1")), None);
        // Slots: 32 bytes, at least a quarter of them in use after any growth.
        assert!(
            table.memory_bytes() <= n as usize * 32 * 4,
            "{}",
            table.memory_bytes()
        );
    }
}
