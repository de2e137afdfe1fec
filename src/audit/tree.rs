//! The stored log as a Merkle tree, for proofs over millions of events: the tree's nodes come
//! from what the log and the projector store (block roots, derived upper levels) and only the
//! leaves of the blocks at a proof's ends are read and hashed. The tree itself, its proofs and
//! their verification are in [`super::merkle`].

use std::cell::RefCell;

use super::{
    merkle::{self, Hash, Subtrees, BLOCK_LEAVES},
    query::AuditReader,
    store::LogOfRecord,
    AuditError,
};

/// The stored log as a Merkle tree of `size` leaves: the root of a complete aligned run of
/// blocks is the projector's derived node for it (`nodes`), or else combined from the stored
/// block roots; anything smaller is read leaf by leaf. A proof reads one node a level and the
/// leaves of at most two blocks.
pub struct StoredTree<'a> {
    reader: &'a AuditReader,
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
                    super::nodes::lookup(self.reader.connection(), level, from >> level)?
                {
                    return Ok(root);
                }
            }
            let blocks = self
                .reader
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
                *cached = Some((block, self.reader.leaves(first, last)?));
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
    /// The first `size` events of the log `reader` reads.
    pub(super) fn new(reader: &'a AuditReader, size: u64) -> Self {
        StoredTree {
            reader,
            size,
            block: RefCell::new(None),
        }
    }
}
