//! Opening the log for writing: [`recover`] reads it back once (after the stored ids'
//! checkpoint, when one holds the log's first records), checks its end against the latest signed
//! head and rebuilds the tree's right edge.

use super::super::{
    dedup::{SpillConfig, StoredIds},
    keys::VerifyingKey,
    merkle::{leaf_hash, Frontier, Hash, BLOCK_LEAVES},
    record::{self, Dictionary},
    store::{self, LogOfRecord},
    AuditError,
};

/// What opening finds in the log: its tree, its dictionary and the client event ids stored.
pub(super) struct Recovered {
    pub(super) frontier: Frontier,
    pub(super) dictionary: Dictionary,
    pub(super) ids: StoredIds,
    /// The records the stored ids' checkpoint held (the log's first), not read back.
    pub(super) checkpointed: u64,
}

/// The Merkle root of the log's first `size` records: the stored block roots before them and
/// the leaves after the last block. An error, or another root, says the log is not the one a
/// checkpoint of `size` records was made of.
fn root_at<L: LogOfRecord>(
    log: &L,
    dictionary: &mut Dictionary,
    size: u64,
) -> Result<Hash, AuditError> {
    let blocks = size / BLOCK_LEAVES;
    let mut frontier = Frontier::new();
    for (i, (block, root)) in log.blocks(0, blocks)?.into_iter().enumerate() {
        let root: Hash = root
            .try_into()
            .map_err(|_| AuditError::Corrupt("a block root is not 32 bytes".into()))?;
        if block != i as u64 {
            return Err(AuditError::Corrupt(format!("block root {i} is missing")));
        }
        frontier.push_block(root);
    }
    if frontier.size() != blocks * BLOCK_LEAVES {
        return Err(AuditError::Corrupt("block roots are missing".into()));
    }
    let mut bytes = Vec::new();
    log.views(dictionary, frontier.size(), size, &mut |seq, view| {
        record::view_leaf_bytes(seq, &view, &mut bytes);
        frontier.push(leaf_hash(&bytes));
        Ok(true)
    })?;
    Ok(frontier.root())
}

/// The stored ids of the log, from the checkpoint in `spill`'s directory if it holds the log's
/// first records (the same Merkle root), and the position they hold every key before.
fn checkpointed<L: LogOfRecord>(
    log: &L,
    dictionary: &mut Dictionary,
    size: u64,
    spill: Option<SpillConfig>,
) -> Result<(StoredIds, u64), AuditError> {
    let (ids, mark) = StoredIds::open(spill.clone())?;
    let Some((covers, root)) = mark else {
        return Ok((ids, 0));
    };
    let found = if covers > size {
        Err(format!("it holds {covers} records, the log {size}"))
    } else {
        match root_at(log, dictionary, covers) {
            Ok(found) if found == root => Ok(()),
            Ok(_) => Err(format!(
                "the log's first {covers} records are not the ones it was made of"
            )),
            Err(error) => Err(error.to_string()),
        }
    };
    match found {
        Ok(()) => {
            tracing::info!(
                checkpointed = covers,
                after = size - covers,
                "audit stored ids: checkpoint taken back; reading back the records after it"
            );
            Ok((ids, covers))
        }
        Err(why) => {
            tracing::warn!(%why, "audit stored ids: the checkpoint is not this log's; reading the whole log back instead");
            drop(ids);
            Ok((StoredIds::new(spill)?, 0))
        }
    }
}

/// Reads the log back once at start: checks the checksum of every record after the stored ids'
/// checkpoint (all of them without one; a damaged record stops start-up, naming it; `vnpop
/// audit verify` reads every record), collects their client event ids, rebuilds the tree's
/// right edge from the stored block roots and the leaves after them, and checks that it hashes
/// to the latest signed head. When the block roots do not (they are derived data), the tree is
/// rebuilt from every leaf, and the roots restored if that matches.
pub(super) fn recover<L: LogOfRecord>(
    log: &mut L,
    key: &VerifyingKey,
    spill: Option<SpillConfig>,
) -> Result<Recovered, AuditError> {
    let mut dictionary = log.dictionary()?;
    let size = log.size()?;
    let (mut ids, from) = checkpointed(log, &mut dictionary, size, spill)?;
    log.scan(
        from,
        size,
        &mut |raw| {
            if !record::checks(raw.seq, raw.payload, raw.crc) {
                return Err(store::damaged_record(
                    raw.seq,
                    &record::RecordError::Checksum,
                ));
            }
            if let Some(key) = record::dedup_key(raw.payload, &dictionary)
                .map_err(|e| store::damaged_record(raw.seq, &e))?
            {
                ids.remember(key, raw.seq)?;
            }
            Ok(true)
        },
        &mut |damage| Err(store::damage_error(&damage)),
    )?;
    let head = log.latest_head()?;
    super::super::verify::check_head(head.as_ref(), size, key)?;
    let complete = size / BLOCK_LEAVES;
    let blocks = log.blocks(0, complete)?;
    let mut frontier = Frontier::new();
    if blocks.len() as u64 == complete
        && blocks
            .iter()
            .enumerate()
            .all(|(i, (b, r))| *b == i as u64 && r.len() == 32)
    {
        for (_, root) in &blocks {
            frontier.push_block(root[..].try_into().expect("32 bytes"));
        }
    }
    let start = frontier.size();
    let mut push_leaves =
        |frontier: &mut Frontier, from: u64| -> Result<Vec<(u64, Hash)>, AuditError> {
            let mut completed = Vec::new();
            let mut bytes = Vec::new();
            log.views(&mut dictionary, from, size, &mut |seq, view| {
                record::view_leaf_bytes(seq, &view, &mut bytes);
                if let Some(block) = frontier.push(leaf_hash(&bytes)) {
                    completed.push((frontier.size() / BLOCK_LEAVES - 1, block));
                }
                Ok(true)
            })?;
            Ok(completed)
        };
    let completed = push_leaves(&mut frontier, start)?;
    if head.as_ref().is_some_and(|h| h.root != frontier.root()) {
        // Perhaps only the derived block roots are damaged: recompute from every leaf.
        let mut full = Frontier::new();
        let completed = push_leaves(&mut full, 0)?;
        if head.as_ref().is_some_and(|h| h.root != full.root()) {
            let found = super::super::verify::first_tamper(log, key)?;
            return Err(AuditError::Corrupt(match found {
                Some(tamper) => format!("{tamper}; run `vnpop audit verify` for the whole log"),
                None => "the stored events do not hash to the root of the latest signed tree head"
                    .into(),
            }));
        }
        tracing::warn!(
            "audit log: stored Merkle block roots did not match the events; restored them"
        );
        log.restore_blocks(&completed)?;
        frontier = full;
    } else if !completed.is_empty() {
        // Missing block roots (derived data): stored again.
        log.restore_blocks(&completed)?;
    }
    if from < size {
        // What was read back, checkpointed: the next start reads back none of it.
        ids.checkpoint(size, frontier.root());
    }
    Ok(Recovered {
        frontier,
        dictionary,
        ids,
        checkpointed: from,
    })
}
