//! The Merkle tree's upper levels, derived by the projector so that a proof reads a few dozen
//! hashes however long the log: `merkle_nodes` holds the root of every complete, aligned run of
//! 2^level blocks (level ≥ 1; level 0 are the log's own block roots, `merkle_blocks`).
//!
//! A proof in a tree of ten million leaves needs the roots of subtrees covering almost all of
//! them; from block roots alone that is ten thousand rows read and hashed per proof, from these
//! nodes one row per level. Like every query table they can be deleted and derived again; a
//! node not there (yet) is computed from the block roots instead.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::{
    merkle::{node_hash, Hash},
    AuditError,
};

/// The table, created with the other query tables.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    root  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
";

/// `bytes` as a node hash, or the error naming `what` is corrupt.
fn root(bytes: Vec<u8>, what: &str) -> Result<Hash, AuditError> {
    bytes
        .try_into()
        .map_err(|_| AuditError::Corrupt(format!("{what} is not 32 bytes")))
}

/// Stores the nodes completed by the blocks `blocks` (index, root; consecutive, each the log's
/// block root, the first one's left sibling included when it has one): every node whose last
/// block is among them.
pub(super) fn extend(
    transaction: &Transaction<'_>,
    blocks: &[(u64, Vec<u8>)],
) -> Result<(), AuditError> {
    let mut insert = transaction.prepare_cached(
        "INSERT OR REPLACE INTO merkle_nodes (level, idx, root) VALUES (?1, ?2, ?3)",
    )?;
    let mut stored = transaction
        .prepare_cached("SELECT root FROM merkle_nodes WHERE level = ?1 AND idx = ?2")?;
    for (i, (index, block)) in blocks.iter().enumerate() {
        // A right child completes its parent, and so on up.
        let (mut level, mut idx) = (0u32, *index);
        let mut hash = root(block.clone(), "a stored block root")?;
        while idx % 2 == 1 {
            let left = if level == 0 {
                match i.checked_sub(1).map(|j| &blocks[j]) {
                    Some((sibling, left)) if *sibling == idx - 1 => {
                        root(left.clone(), "a stored block root")?
                    }
                    _ => break, // not given: computed from the blocks when asked
                }
            } else {
                match stored
                    .query_row(rusqlite::params![level, (idx - 1) as i64], |r| {
                        r.get::<_, Vec<u8>>(0)
                    })
                    .optional()?
                {
                    Some(left) => root(left, "a stored tree node")?,
                    None => break,
                }
            };
            hash = node_hash(&left, &hash);
            level += 1;
            idx /= 2;
            insert.execute(rusqlite::params![level, idx as i64, &hash[..]])?;
        }
    }
    Ok(())
}

/// The root of the 2^`level` blocks starting at block `idx` × 2^`level`, if derived.
pub(super) fn lookup(
    connection: &Connection,
    level: u32,
    idx: u64,
) -> Result<Option<Hash>, AuditError> {
    connection
        .prepare_cached("SELECT root FROM merkle_nodes WHERE level = ?1 AND idx = ?2")?
        .query_row(rusqlite::params![level, idx as i64], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()?
        .map(|bytes| root(bytes, "a stored tree node"))
        .transpose()
}
