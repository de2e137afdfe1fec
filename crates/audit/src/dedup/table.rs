//! [`PositionTable`]: the hash of each dedup key → the position of its first record, in under
//! ten bytes a key.
//!
//! Each entry is one `u64`: the record's position in its low [`POSITION_BITS`] bits, and above
//! them [`FRAGMENT_BITS`] bits of the key's hash. The [`SHARD_BITS`] bits above those choose
//! one of the table's shards, so an entry stands for the top `SHARD_BITS + FRAGMENT_BITS` bits
//! of the hash: two keys sharing those are one hash to the table (the caller keeps the later
//! keys apart, as it does for a full 64-bit hash shared).
//!
//! A shard is an ordered linear-probing table (Amble and Knuth's ordered hash table, which
//! Robin Hood hashing also gives): an entry's home slot is its fragment scaled to the shard's
//! slots (`fragment × homes >> FRAGMENT_BITS`, any number of homes), the entries sit in
//! fragment order, each at or after its home with no empty slot between the two. A lookup
//! reads from the home until a larger fragment or an empty slot; a growth is one ordered pass
//! into a larger array. Shards grow on their own, by [`GROWTH`] when [`MAX_LOAD`] is reached,
//! so the copy a growth needs is one shard's, never the table's; each shard's sizes follow its
//! own phase of the same geometric ladder, so the shards do not all grow at once and the whole
//! table's slack stays about the same at any size.

/// Bits of an entry holding the record's position: 2^40 − 1 records, some 1,800 years of a
/// whole country's 50 million verifications a month.
pub(super) const POSITION_BITS: u32 = 40;
/// The position bits of an entry.
pub(super) const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
/// Bits of the hash kept in an entry, above the position: they order the shard and filter
/// lookups.
pub(super) const FRAGMENT_BITS: u32 = 64 - POSITION_BITS;
/// Bits at the top of the hash choosing the shard: 4,096 shards, about 24,400 entries (some
/// 200 KB) each at 100 million keys; their headers (96 KiB) stay in the cache.
pub(super) const SHARD_BITS: u32 = 12;
/// The shards of a table (and of a run: `run`).
pub(super) const SHARDS: usize = 1 << SHARD_BITS;
/// An empty slot: above every entry (no position is [`POSITION_MASK`]), so it ends any scan.
const EMPTY: u64 = u64::MAX;
/// The most entries a shard holds per home slot before it grows: the slack, against the
/// insertions' shifts (longer as the shard fills).
const MAX_LOAD: f64 = 0.90;
/// How much a shard's home slots grow at each step of its ladder: with [`MAX_LOAD`], about
/// 8 / 0.9 × 0.15 / ln 1.15 = 9.5 bytes a key on average over the shards' phases.
const GROWTH: f64 = 1.15;
/// Home slots of a shard at the first step of its ladder (at phase 0).
const FIRST_HOMES: f64 = 16.0;
/// Slots after the last home, for the entries pushed past it; the last stays empty, so every
/// scan ends inside the array. Pushed further, the shard grows a step.
const TAIL: usize = 8;

/// The largest position the table holds.
pub(super) const MAX_POSITION: u64 = POSITION_MASK - 1;

/// The hash bits the table knows a key by: two hashes equal here are one to the table.
pub(super) fn table_hash(hash: u64) -> u64 {
    hash >> (64 - SHARD_BITS - FRAGMENT_BITS)
}

/// One shard: its slots (homes, then [`TAIL`]) and entries.
#[derive(Default)]
struct Shard {
    /// The slots: [`EMPTY`] or an entry, in fragment order.
    slots: Box<[u64]>,
    /// Entries held.
    len: u32,
    /// The step of the ladder `slots` was sized at.
    step: u16,
}

/// The home slot of `fragment` among `homes`.
fn home(fragment: u64, homes: usize) -> usize {
    ((fragment * homes as u64) >> FRAGMENT_BITS) as usize
}

/// The fragment of an entry.
pub(super) fn fragment(entry: u64) -> u64 {
    entry >> POSITION_BITS
}

impl Shard {
    /// Home slots (the slots before the tail).
    fn homes(&self) -> usize {
        self.slots.len().saturating_sub(TAIL)
    }

    /// The slot holding `fragment`, or else the slot where it belongs.
    fn find(&self, wanted: u64) -> Result<usize, usize> {
        let mut i = home(wanted, self.homes());
        loop {
            let entry = self.slots[i];
            if entry == EMPTY || fragment(entry) > wanted {
                return Err(i);
            }
            if fragment(entry) == wanted {
                return Ok(i);
            }
            i += 1;
        }
    }

    /// Sizes the shard at `step` of the ladder of phase `phase` (in [0, 1)), or further up if
    /// its entries do not fit there.
    fn grow(&mut self, mut step: u16, phase: f64) {
        let needed = f64::from(self.len + 1) / MAX_LOAD;
        'ladder: loop {
            let homes = (FIRST_HOMES * GROWTH.powf(f64::from(step) + phase)) as usize;
            if (homes as f64) < needed {
                step += 1;
                continue;
            }
            let mut slots = vec![EMPTY; homes + TAIL].into_boxed_slice();
            let last = slots.len() - 1;
            let mut next = 0;
            // Without a branch on empty slots: an empty one is written, as it is, at `next`.
            for &entry in &self.slots {
                let full = entry != EMPTY;
                let at = if full {
                    home(fragment(entry), homes).max(next)
                } else {
                    next
                };
                if at >= last {
                    if full {
                        step += 1;
                        continue 'ladder;
                    }
                    continue;
                }
                slots[at] = entry;
                next = at + usize::from(full);
            }
            self.slots = slots;
            self.step = step;
            return;
        }
    }
}

/// The hash of each dedup key → the position of its first record, in shards: see the module.
pub(super) struct PositionTable {
    /// The shards, by the top [`SHARD_BITS`] of the hash.
    shards: Box<[Shard]>,
    /// Entries held, in every shard.
    len: usize,
}

impl Default for PositionTable {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            len: 0,
        }
    }
}

/// The shard of `hash` and its fragment.
pub(super) fn split(hash: u64) -> (usize, u64) {
    PositionTable::split(hash)
}

impl PositionTable {
    /// The shard of `hash` and its fragment.
    fn split(hash: u64) -> (usize, u64) {
        (
            (hash >> (64 - SHARD_BITS)) as usize,
            table_hash(hash) & ((1 << FRAGMENT_BITS) - 1),
        )
    }

    /// The position stored under `hash`.
    pub(super) fn get(&self, hash: u64) -> Option<u64> {
        let (shard, wanted) = Self::split(hash);
        let shard = &self.shards[shard];
        if shard.len == 0 {
            return None;
        }
        let at = shard.find(wanted).ok()?;
        Some(shard.slots[at] & POSITION_MASK)
    }

    /// Stores `position` under `hash` unless a position is stored under it: that one, left as
    /// it is. Panics on a position above [`MAX_POSITION`].
    pub(super) fn insert_new(&mut self, hash: u64, position: u64) -> Option<u64> {
        assert!(
            position <= MAX_POSITION,
            "the dedup table holds positions up to {MAX_POSITION}"
        );
        let (index, wanted) = Self::split(hash);
        let phase = index as f64 / self.shards.len() as f64;
        let shard = &mut self.shards[index];
        let entry = wanted << POSITION_BITS | position;
        if shard.slots.is_empty() {
            shard.grow(0, phase);
        }
        loop {
            let at = match shard.find(wanted) {
                Ok(at) => return Some(shard.slots[at] & POSITION_MASK),
                Err(at) => at,
            };
            if f64::from(shard.len + 1) > MAX_LOAD * shard.homes() as f64 {
                shard.grow(shard.step + 1, phase);
                continue;
            }
            // The empty slot the entries from `at` move up into; the last slot stays empty.
            let free = at
                + shard.slots[at..]
                    .iter()
                    .position(|&slot| slot == EMPTY)
                    .expect("the last slot is empty");
            if free + 1 == shard.slots.len() {
                shard.grow(shard.step + 1, phase);
                continue;
            }
            shard.slots.copy_within(at..free, at + 1);
            shard.slots[at] = entry;
            shard.len += 1;
            self.len += 1;
            return None;
        }
    }

    /// Removes what is stored under `hash`: its position.
    pub(super) fn remove(&mut self, hash: u64) -> Option<u64> {
        let (shard, wanted) = Self::split(hash);
        let shard = &mut self.shards[shard];
        if shard.len == 0 {
            return None;
        }
        let mut at = shard.find(wanted).ok()?;
        let removed = shard.slots[at] & POSITION_MASK;
        // The entries after it that are past their home move back one slot.
        let homes = shard.homes();
        loop {
            let next = shard.slots[at + 1];
            if next == EMPTY || home(fragment(next), homes) > at {
                break;
            }
            shard.slots[at] = next;
            at += 1;
        }
        shard.slots[at] = EMPTY;
        shard.len -= 1;
        self.len -= 1;
        Some(removed)
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The entries of shard `shard`, in fragment order (as a run stores them: `run`).
    pub(super) fn shard_entries(&self, shard: usize) -> impl Iterator<Item = u64> + '_ {
        self.shards[shard]
            .slots
            .iter()
            .copied()
            .filter(|&slot| slot != EMPTY)
    }

    /// The bytes the table holds: its shards and their slots.
    pub(super) fn memory_bytes(&self) -> usize {
        std::mem::size_of_val::<[Shard]>(&self.shards)
            + self
                .shards
                .iter()
                .map(|shard| std::mem::size_of_val::<[u64]>(&shard.slots))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A well-mixed 64-bit value of `i` (SplitMix64's finalizer).
    fn mixed(i: u64) -> u64 {
        let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Checks every shard's layout: entries in fragment order, each at or after its home with
    /// no empty slot between, the last slot empty, the count right.
    fn check_layout(table: &PositionTable) {
        for shard in table.shards.iter().filter(|shard| !shard.slots.is_empty()) {
            assert_eq!(shard.slots.last(), Some(&EMPTY));
            let homes = shard.homes();
            let mut previous = None;
            let mut count = 0;
            for (at, &entry) in shard.slots.iter().enumerate() {
                if entry == EMPTY {
                    continue;
                }
                count += 1;
                let start = home(fragment(entry), homes);
                assert!(start <= at, "an entry before its home");
                assert!(shard.slots[start..at].iter().all(|&slot| slot != EMPTY));
                assert!(previous < Some(fragment(entry)), "entries out of order");
                previous = Some(fragment(entry));
            }
            assert_eq!(count, shard.len);
        }
    }

    #[test]
    fn holds_what_a_map_of_the_table_hash_holds_through_growth_and_removal() {
        let mut table = PositionTable::default();
        let mut model = HashMap::new();
        // Hashes crowded into a few shards (so they grow many steps), some sharing their
        // table hash with others (so the first position stays).
        for i in 0..60_000u64 {
            let hash = (mixed(i % 50_000) & !(0x3ff << 54)) | ((i % 3) << 54);
            let first = *model.entry(table_hash(hash)).or_insert(i);
            assert_eq!(table.insert_new(hash, i), (first != i).then_some(first));
            if i % 7 == 0 {
                let gone = mixed(i / 2) & !(0x3ff << 54) | ((i / 2 % 3) << 54);
                assert_eq!(table.remove(gone), model.remove(&table_hash(gone)));
            }
        }
        check_layout(&table);
        assert_eq!(table.len(), model.len());
        for i in 0..120_000u64 {
            let hash = (mixed(i) & !(0x3ff << 54)) | ((i % 3) << 54);
            assert_eq!(table.get(hash), model.get(&table_hash(hash)).copied());
        }
        // The largest fragment and position; a hash equal in its top 36 bits is the same.
        assert_eq!(table.get(u64::MAX), None);
        assert_eq!(table.insert_new(u64::MAX, MAX_POSITION), None);
        assert_eq!(table.insert_new(u64::MAX - 1, 1), Some(MAX_POSITION));
        assert_eq!(table.get(u64::MAX << 28), Some(MAX_POSITION));
        assert_eq!(table.get((u64::MAX << 28) - 1), None);
        assert_eq!(table.remove(u64::MAX), Some(MAX_POSITION));
        assert_eq!(table.get(u64::MAX), None);
        check_layout(&table);
    }

    #[test]
    #[should_panic(expected = "positions up to")]
    fn a_position_past_forty_bits_is_refused() {
        PositionTable::default().insert_new(1, MAX_POSITION + 1);
    }
}
