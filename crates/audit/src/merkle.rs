//! The append-only Merkle tree of RFC 6962 (Certificate Transparency), over SHA-256.
//!
//! Leaves are hashed as `SHA-256(0x00 || data)` and interior nodes as
//! `SHA-256(0x01 || left || right)`; a tree of `n` leaves splits at the largest power of two
//! below `n`. With it an auditor can check, holding only a signed tree head (size and root):
//! - that an event is in the log (an *inclusion proof*: log₂ n hashes), and
//! - that today's log extends yesterday's (a *consistency proof*): nothing was rewritten, removed
//!   or inserted before the old size, which a plain hash chain cannot show once its tail is rebuilt.
//!
//! Proof generation works over anything that gives roots of leaf ranges ([`Subtrees`]): a slice of
//! leaf hashes, or the stored log with its block roots; [`Frontier`] keeps the root up to date
//! while appending in O(log n) per leaf, and reports each completed block. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

use ring::digest::{self, SHA256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// SHA-256 of `input`, the parts one after the other.
fn sha256(input: &[&[u8]]) -> Hash {
    let mut context = digest::Context::new(&SHA256);
    for part in input {
        context.update(part);
    }
    context
        .finish()
        .as_ref()
        .try_into()
        .expect("SHA-256 digests are 32 bytes")
}

/// The hash of a leaf's canonical bytes.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0], data])
}

/// The hash of an interior node: its 65 input bytes gathered on the stack and hashed in one call.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [1u8; 65];
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    digest::digest(&SHA256, &input)
        .as_ref()
        .try_into()
        .expect("SHA-256 digests are 32 bytes")
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree of `n`
/// leaves.
pub fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The root (MTH) of a tree whose leaf hashes are `leaves`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Height of the stored blocks: the log keeps the root of every complete, aligned run of
/// [`BLOCK_LEAVES`] leaves, so a proof over millions of events reads a few thousand block roots
/// and at most two blocks' worth of leaf hashes instead of every leaf.
pub const BLOCK_HEIGHT: u32 = 10;
/// Leaves per stored block.
pub const BLOCK_LEAVES: u64 = 1 << BLOCK_HEIGHT;

/// Where proofs get the roots of subtrees from: a slice of leaf hashes in memory, or the stored
/// log (which combines block roots and reads leaves only at the edges).
pub trait Subtrees {
    /// What reading a subtree's root can fail with.
    type Error;
    /// Number of leaves.
    fn size(&self) -> u64;
    /// MTH(D[start..end]), the root of the leaves `start..end`.
    fn range_root(&self, start: u64, end: u64) -> Result<Hash, Self::Error>;
}

impl Subtrees for [Hash] {
    type Error = std::convert::Infallible;

    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn range_root(&self, start: u64, end: u64) -> Result<Hash, Self::Error> {
        Ok(root(&self[start as usize..end as usize]))
    }
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 PATH).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    let Ok(proof) = inclusion_proof_in(leaves, index as u64);
    proof
}

/// [`inclusion_proof`] over any [`Subtrees`]; `None` when `index` is not below its size.
pub fn inclusion_proof_in<T: Subtrees + ?Sized>(
    tree: &T,
    index: u64,
) -> Result<Option<Vec<Hash>>, T::Error> {
    if index >= tree.size() {
        return Ok(None);
    }
    let mut proof = Vec::new();
    path(tree, index, 0, tree.size(), &mut proof)?;
    Ok(Some(proof))
}

/// PATH(m, D[start..end]).
fn path<T: Subtrees + ?Sized>(
    tree: &T,
    m: u64,
    start: u64,
    end: u64,
    proof: &mut Vec<Hash>,
) -> Result<(), T::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(tree, m, start, start + k, proof)?;
        proof.push(tree.range_root(start + k, end)?);
    } else {
        path(tree, m - k, start + k, end, proof)?;
        proof.push(tree.range_root(start, start + k)?);
    }
    Ok(())
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of `leaves`
/// (RFC 6962 PROOF).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    let Ok(proof) = consistency_proof_in(leaves, old_size as u64);
    proof
}

/// [`consistency_proof`] over any [`Subtrees`]; `None` when `old_size` is beyond its size.
pub fn consistency_proof_in<T: Subtrees + ?Sized>(
    tree: &T,
    old_size: u64,
) -> Result<Option<Vec<Hash>>, T::Error> {
    let size = tree.size();
    if old_size > size {
        return Ok(None);
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < size {
        subproof(tree, old_size, 0, size, true, &mut proof)?;
    }
    Ok(Some(proof))
}

/// SUBPROOF(m, D[start..end], complete).
fn subproof<T: Subtrees + ?Sized>(
    tree: &T,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    proof: &mut Vec<Hash>,
) -> Result<(), T::Error> {
    let n = end - start;
    if m == n {
        if !complete {
            proof.push(tree.range_root(start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(tree, m, start, start + k, complete, proof)?;
        proof.push(tree.range_root(start + k, end)?);
    } else {
        subproof(tree, m - k, start + k, end, false, proof)?;
        proof.push(tree.range_root(start, start + k)?);
    }
    Ok(())
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first. Appending
/// a leaf and reading the root cost O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (height, hash) of each perfect subtree, left to right, heights strictly decreasing.
    peaks: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf. Returns the root of the block of [`BLOCK_LEAVES`] leaves it completed, if
    /// it completed one (the log stores these).
    pub fn push(&mut self, leaf: Hash) -> Option<Hash> {
        self.push_node(0, leaf)
    }

    /// Appends a complete block of [`BLOCK_LEAVES`] leaves by its root; the tree's size must be
    /// a multiple of the block size.
    pub fn push_block(&mut self, root: Hash) {
        debug_assert!(self.size.is_multiple_of(BLOCK_LEAVES));
        self.push_node(BLOCK_HEIGHT, root);
    }

    /// Appends the root of a perfect subtree of `height` whose leaves come next.
    fn push_node(&mut self, height: u32, hash: Hash) -> Option<Hash> {
        let mut node = (height, hash);
        let mut block = None;
        while let Some(&(height, left)) = self.peaks.last() {
            if height != node.0 {
                break;
            }
            self.peaks.pop();
            node = (height + 1, node_hash(&left, &node.1));
            if node.0 == BLOCK_HEIGHT {
                block = Some(node.1);
            }
        }
        self.peaks.push(node);
        self.size += 1 << height;
        block
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = peaks.next() else {
            return empty_root();
        };
        for (_, left) in peaks {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::hex;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("event {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn known_answer_for_the_empty_tree_and_one_leaf() {
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vector: leaf "" → 6e340b9c…
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn frontier_matches_the_recursive_root() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), root(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn the_frontier_reports_each_completed_block_root() {
        let all = leaves(3 * BLOCK_LEAVES as usize + 5);
        let mut frontier = Frontier::new();
        let mut blocks = Vec::new();
        for leaf in &all {
            blocks.extend(frontier.push(*leaf));
        }
        let expected: Vec<Hash> = all.chunks_exact(BLOCK_LEAVES as usize).map(root).collect();
        assert_eq!(blocks, expected);
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        for n in 1..40 {
            let all = leaves(n);
            let r = root(&all);
            for i in 0..n {
                let proof = inclusion_proof(&all, i).unwrap();
                assert!(
                    verify_inclusion(&all[i], i as u64, n as u64, &proof, &r),
                    "{i}/{n}"
                );
                let other = leaf_hash(b"forged");
                assert!(!verify_inclusion(&other, i as u64, n as u64, &proof, &r));
                if n > 1 {
                    assert!(!verify_inclusion(
                        &all[i],
                        ((i + 1) % n) as u64,
                        n as u64,
                        &proof,
                        &r
                    ));
                }
            }
            assert!(inclusion_proof(&all, n).is_none());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewrite_is_caught() {
        for n in 1..34 {
            let all = leaves(n);
            let new_root = root(&all);
            for m in 0..=n {
                let proof = consistency_proof(&all, m).unwrap();
                let old_root = root(&all[..m]);
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof),
                    "{m} → {n}"
                );
                if m > 0 && m < n {
                    // The same proof cannot vouch for a log whose old part was rewritten.
                    let mut rewritten = all.clone();
                    rewritten[m - 1] = leaf_hash(b"rewritten");
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &root(&rewritten[..m]),
                        &new_root,
                        &proof
                    ));
                }
            }
        }
    }
}
