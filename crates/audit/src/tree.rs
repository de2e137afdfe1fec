//! The stored log as a Merkle tree, for proofs over millions of events: the tree's nodes come
//! from what the log and the projector store (block roots, derived upper levels) and only the
//! leaves of the blocks at a proof's ends are read and hashed. The tree itself, its proofs and
//! their verification are in [`super::merkle`].

use std::cell::RefCell;

use super::{
    merkle::{self, leaf_hash, Hash, Subtrees, BLOCK_LEAVES},
    record::{self, Dictionary},
    store::{LogOfRecord, SqliteLog},
    AuditError,
};

/// The stored log as a Merkle tree of `size` leaves: the root of a complete aligned run of
/// blocks is the projector's derived node for it (`nodes`), or else combined from the stored
/// block roots; anything smaller is read leaf by leaf. A proof reads one node a level and the
/// leaves of at most two blocks.
pub struct StoredTree<'a> {
    /// The log's read connection, with the query tables (and so `merkle_nodes`) attached.
    log: &'a SqliteLog,
    /// The log's string dictionary, shared with the reader that made the tree.
    dictionary: &'a RefCell<Dictionary>,
    size: u64,
    /// The leaf hashes of the last block read, so the ranges inside one block read it once.
    block: RefCell<Option<(u64, Vec<Hash>)>>,
}

impl Subtrees for StoredTree<'_> {
    type Error = AuditError;

    fn size(&self) -> u64 {
        self.size
    }

    fn range_root(&self, start: u64, end: u64) -> Result<Hash, AuditError> {
        let n = end - start;
        if n.is_power_of_two() && n >= BLOCK_LEAVES && start.is_multiple_of(BLOCK_LEAVES) {
            let (from, to) = (start / BLOCK_LEAVES, end / BLOCK_LEAVES);
            if to - from >= 2 {
                let level = (to - from).trailing_zeros();
                if let Some(root) =
                    super::nodes::lookup(self.log.connection(), level, from >> level)?
                {
                    return Ok(root);
                }
            }
            let blocks = self
                .log
                .blocks(from, to)?
                .into_iter()
                .map(|(_, root)| Hash::try_from(root.as_slice()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| AuditError::Corrupt("a stored block root is not 32 bytes".into()))?;
            if blocks.len() as u64 != to - from {
                return Err(AuditError::Corrupt(format!(
                    "{} block roots stored for blocks {from}..{to}",
                    blocks.len()
                )));
            }
            return Ok(merkle::root(&blocks));
        }
        if n <= BLOCK_LEAVES {
            // Inside one block (ranges of at most a block never cross one).
            let block = start / BLOCK_LEAVES;
            let mut cached = self.block.borrow_mut();
            if cached.as_ref().is_none_or(|(b, _)| *b != block) {
                let first = block * BLOCK_LEAVES;
                let last = (first + BLOCK_LEAVES).min(self.size);
                *cached = Some((
                    block,
                    leaves(self.log, &mut self.dictionary.borrow_mut(), first, last)?,
                ));
            }
            let (_, leaves) = cached.as_ref().expect("just read");
            let offset = block * BLOCK_LEAVES;
            return Ok(merkle::root(
                &leaves[(start - offset) as usize..(end - offset) as usize],
            ));
        }
        let k = merkle::split(n);
        Ok(merkle::node_hash(
            &self.range_root(start, start + k)?,
            &self.range_root(start + k, end)?,
        ))
    }
}

impl<'a> StoredTree<'a> {
    /// The first `size` events of `log` (opened with the query tables attached), whose strings
    /// `dictionary` holds.
    pub(super) fn new(log: &'a SqliteLog, dictionary: &'a RefCell<Dictionary>, size: u64) -> Self {
        StoredTree {
            log,
            dictionary,
            size,
            block: RefCell::new(None),
        }
    }
}

/// The hashes of the leaves `[from, to)` of `log`, which must all be there.
pub(super) fn leaves(
    log: &SqliteLog,
    dictionary: &mut Dictionary,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, AuditError> {
    let mut leaves = Vec::with_capacity((to - from) as usize);
    let mut bytes = Vec::new();
    log.views(dictionary, from, to, &mut |seq, view| {
        record::view_leaf_bytes(seq, &view, &mut bytes);
        leaves.push(leaf_hash(&bytes));
        Ok(true)
    })?;
    if leaves.len() as u64 != to - from {
        return Err(AuditError::Corrupt(format!(
            "{} events stored for {from}..{to}",
            leaves.len()
        )));
    }
    Ok(leaves)
}

#[cfg(test)]
mod tests {
    use crate::{
        log::DATABASE_FILE,
        merkle::{Hash, BLOCK_LEAVES},
        query::AuditReader,
        AuditLog, EventSource,
    };

    /// 2024-01-01T00:00:00+07:00 in Unix milliseconds.
    const JAN_1_2024: i64 = 1_704_042_000_000;

    use crate::event::test_lookup as lookup;

    #[test]
    fn proofs_from_the_stored_tree_equal_proofs_from_all_leaves() {
        use crate::merkle::{self, Subtrees};
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        let n = 8 * BLOCK_LEAVES + 300;
        let events: Vec<_> = (0..n as usize)
            .map(|i| lookup(i, "A", EventSource::Client, JAN_1_2024))
            .collect();
        for chunk in events.chunks(700) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        drop(log);
        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let all = reader.leaf_hashes(n).unwrap();
        // The projector derived the upper levels the proofs below read (8 blocks: levels 1-3).
        let blocks: Vec<Hash> = all
            .chunks(BLOCK_LEAVES as usize)
            .take(8)
            .map(merkle::root)
            .collect();
        assert_eq!(
            crate::nodes::lookup(reader.connection(), 3, 0).unwrap(),
            Some(merkle::root(&blocks))
        );
        assert_eq!(
            crate::nodes::lookup(reader.connection(), 1, 3).unwrap(),
            Some(merkle::root(&blocks[6..8]))
        );
        for size in [
            1,
            5,
            BLOCK_LEAVES,
            BLOCK_LEAVES + 1,
            3 * BLOCK_LEAVES + 7,
            4 * BLOCK_LEAVES,
            7 * BLOCK_LEAVES + 5,
            n,
        ] {
            let leaves = &all[..size as usize];
            let tree = reader.tree(size);
            assert_eq!(tree.range_root(0, size).unwrap(), merkle::root(leaves));
            for index in [0, size / 2, size - 1] {
                assert_eq!(
                    merkle::inclusion_proof_in(&tree, index).unwrap(),
                    merkle::inclusion_proof(leaves, index as usize),
                    "inclusion {index} of {size}"
                );
            }
            for old in [0, 1, size / 3, BLOCK_LEAVES.min(size), size] {
                assert_eq!(
                    merkle::consistency_proof_in(&tree, old).unwrap(),
                    merkle::consistency_proof(leaves, old as usize),
                    "consistency {old} → {size}"
                );
            }
        }
    }
}
