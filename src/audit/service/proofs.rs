//! Signed tree heads and proofs as the API sends them, read from the stored tree.

use super::{AuditError, AuditReader, SignedTreeHead};
use crate::{
    audit::{
        checkpoint,
        merkle::{self, Subtrees},
        reads::AuditReads,
    },
    error::ApiError,
    proto,
};

/// A signed tree head as the API sends it, with the key that verifies it.
pub(super) fn head_message(head: SignedTreeHead, public_key: [u8; 32]) -> proto::SignedTreeHead {
    proto::SignedTreeHead {
        tree_size: head.tree_size,
        root_hash: head.root.to_vec(),
        signed_at_ms: head.signed_at_ms,
        signature: head.signature.to_vec(),
        public_key: public_key.to_vec(),
    }
}

/// The checkpoint of `head` (one `log` signed), as GetCheckpoint answers it.
pub(super) fn checkpoint_message(log: &AuditReads, head: &SignedTreeHead) -> proto::Checkpoint {
    let public_key = log.public_key();
    let origin = checkpoint::origin(&public_key);
    proto::Checkpoint {
        note: log.checkpoint(head),
        verifier_key: checkpoint::verifier_key(&origin, &public_key),
        origin,
        tree_size: head.tree_size,
        root_hash: head.root.to_vec(),
    }
}

/// The size a proof is asked for: 0 means the latest signed head.
fn resolve_size(reader: &AuditReader, field: &'static str, size: u64) -> Result<u64, ApiError> {
    let latest = reader
        .latest_head()
        .map_err(ApiError::AuditUnavailable)?
        .map_or(0, |h| h.tree_size);
    match size {
        0 => Ok(latest),
        s if s <= latest => Ok(s),
        s => Err(ApiError::InvalidField {
            field,
            message: format!("{s} is beyond the latest signed tree head ({latest})"),
        }),
    }
}

/// The inclusion proof of leaf `request.leaf_index` in the tree of `request.tree_size` (0: the
/// latest signed head), with the leaf's data.
pub(super) fn inclusion_proof(
    reader: &AuditReader,
    request: &proto::GetInclusionProofRequest,
) -> Result<proto::InclusionProof, ApiError> {
    let size = resolve_size(reader, "tree_size", request.tree_size)?;
    let index = request.leaf_index;
    if index >= size {
        return Err(ApiError::InvalidField {
            field: "leaf_index",
            message: format!("{index} is not below the tree size {size}"),
        });
    }
    let tree = reader.tree(size);
    let leaf_data = reader
        .leaf_data(index)
        .map_err(ApiError::AuditUnavailable)?
        .ok_or_else(|| {
            ApiError::AuditUnavailable(AuditError::Corrupt(format!("event #{index} is unreadable")))
        })?;
    let path = merkle::inclusion_proof_in(&tree, index)
        .map_err(ApiError::AuditUnavailable)?
        .unwrap_or_default();
    let root = tree
        .range_root(0, size)
        .map_err(ApiError::AuditUnavailable)?;
    Ok(proto::InclusionProof {
        leaf_index: index,
        tree_size: size,
        leaf_hash: merkle::leaf_hash(&leaf_data).to_vec(),
        leaf_data,
        path: path.iter().map(|h| h.to_vec()).collect(),
        root_hash: root.to_vec(),
    })
}

/// The consistency proof from `request.old_size` to `request.new_size` (0: the latest signed
/// head), with both roots.
pub(super) fn consistency_proof(
    reader: &AuditReader,
    request: &proto::GetConsistencyProofRequest,
) -> Result<proto::ConsistencyProof, ApiError> {
    let new_size = resolve_size(reader, "new_size", request.new_size)?;
    if request.old_size > new_size {
        return Err(ApiError::InvalidField {
            field: "old_size",
            message: format!("{} is beyond new_size {new_size}", request.old_size),
        });
    }
    let tree = reader.tree(new_size);
    let old_size = request.old_size;
    let path = merkle::consistency_proof_in(&tree, old_size)
        .map_err(ApiError::AuditUnavailable)?
        .unwrap_or_default();
    let old_root = tree
        .range_root(0, old_size)
        .map_err(ApiError::AuditUnavailable)?;
    let new_root = tree
        .range_root(0, new_size)
        .map_err(ApiError::AuditUnavailable)?;
    Ok(proto::ConsistencyProof {
        old_size: request.old_size,
        new_size,
        path: path.iter().map(|h| h.to_vec()).collect(),
        old_root: old_root.to_vec(),
        new_root: new_root.to_vec(),
    })
}
