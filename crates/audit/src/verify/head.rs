//! The check of a log's end against its latest signed tree head, made before appending to it.

use crate::{
    keys::{SignedTreeHead, VerifyingKey},
    AuditError,
};

/// What opening the log for writing checks before it appends after the end: that the latest
/// signed tree head has a good signature and covers exactly the `size` events stored. (Every
/// record's checksum and the root are checked by the caller.) A commit whose write was torn by a
/// crash was never acknowledged (callers are answered after the fsync); SQLite's
/// write-ahead-log recovery drops it on open, before this check.
pub(crate) fn check_head(
    head: Option<&SignedTreeHead>,
    size: u64,
    key: &VerifyingKey,
) -> Result<(), AuditError> {
    let corrupt = |message: String| Err(AuditError::Corrupt(message));
    let Some(head) = head else {
        return match size {
            0 => Ok(()),
            _ => corrupt(format!("events #0..#{} have no signed tree head", size - 1)),
        };
    };
    if !head.verify(key) {
        return corrupt(format!(
            "the latest tree head (size {}) is not signed by this log's key",
            head.tree_size
        ));
    }
    if size < head.tree_size {
        return corrupt(format!(
            "events #{size}..#{} are covered by the signed tree head of size {} but missing",
            head.tree_size - 1,
            head.tree_size
        ));
    }
    if size > head.tree_size {
        return corrupt(format!(
            "events #{}..#{} are covered by no signed tree head",
            head.tree_size,
            size - 1
        ));
    }
    Ok(())
}
