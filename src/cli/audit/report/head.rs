//! The log's signed tree head, from the server or from the file, and as a saved head's JSON.

use std::path::Path;

use super::{
    super::{source::Backend, verify::SavedHead},
    ReportError,
};
use crate::{
    audit::{
        log::{parse_public_key, PUBLIC_KEY_FILE},
        merkle,
    },
    proto,
};

/// The newest signed tree head, from the server or from the file (with the public key beside it).
pub(super) async fn tree_head(
    backend: &Backend,
    db: Option<&Path>,
) -> Result<proto::SignedTreeHead, ReportError> {
    match backend {
        Backend::Server(client, _) => client.tree_head().await.map_err(|e| e.to_string().into()),
        Backend::File { reader, .. } => {
            let head = reader.latest_head().map_err(|e| e.to_string())?;
            let key = db
                .map(|db| db.with_file_name(PUBLIC_KEY_FILE))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .and_then(|text| parse_public_key(&text).ok())
                .map(|key| key.to_bytes().to_vec())
                .unwrap_or_default();
            Ok(match head {
                Some(h) => proto::SignedTreeHead {
                    tree_size: h.tree_size,
                    root_hash: h.root.to_vec(),
                    signed_at_ms: h.signed_at_ms,
                    signature: h.signature.to_vec(),
                    public_key: key,
                },
                None => proto::SignedTreeHead {
                    root_hash: merkle::empty_root().to_vec(),
                    public_key: key,
                    ..Default::default()
                },
            })
        }
    }
}

/// The head as `vnpop audit verify --remote --previous-head` reads it.
pub(crate) fn saved_head_json(head: &proto::SignedTreeHead) -> String {
    serde_json::to_string_pretty(&SavedHead::from_message(head)).expect("serializable")
}
