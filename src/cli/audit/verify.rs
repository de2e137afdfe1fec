//! `vnpop audit verify [--remote]`: the log checked end to end, here or by the server (then its
//! signed head checked here, and that the log extends the head saved by an earlier run).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::source::ServerArgs;
use crate::{
    audit::{
        log::{hex, parse_hex, parse_public_key, PUBLIC_KEY_FILE},
        merkle::{verify_consistency, Hash},
        verify_file, SignedTreeHead,
    },
    proto,
};

/// The arguments of `vnpop audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory of the server (holds audit.sqlite and audit-signing.pub).
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    pub data_dir: PathBuf,
    /// The log's public key (hex); default: the data directory's audit-signing.pub, or with
    /// --remote the key the server presents.
    #[arg(long)]
    pub public_key: Option<String>,
    /// Ask the server (VerifyLog) instead of reading the file, then check its signed tree head
    /// here.
    #[arg(long)]
    pub remote: bool,
    /// Verify a fleet's log in its PostgreSQL database instead of the data directory's file
    /// (the public key still comes from --public-key or the data directory).
    #[arg(
        long,
        env = "VNPOP_AUDIT_STORE",
        value_name = "URL",
        conflicts_with = "remote"
    )]
    pub audit_store: Option<String>,
    /// With --remote: a tree head saved by an earlier run (--save-head); the log must extend it
    /// (checked here with a consistency proof).
    #[arg(long, requires = "remote")]
    pub previous_head: Option<PathBuf>,
    /// With --remote: save the verified tree head to this file, for the next run's
    /// --previous-head.
    #[arg(long, requires = "remote")]
    pub save_head: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `vnpop audit verify`: recomputes the tree from the data directory's file (or a fleet's
/// database) and checks every signed tree head.
pub fn run(args: &VerifyArgs) -> Result<(), String> {
    let key_text = match &args.public_key {
        Some(hex) => hex.clone(),
        None => std::fs::read_to_string(args.data_dir.join(PUBLIC_KEY_FILE)).map_err(|e| {
            format!(
                "{}: {e} (give --public-key)",
                args.data_dir.join(PUBLIC_KEY_FILE).display()
            )
        })?,
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let db = args.data_dir.join(crate::audit::log::DATABASE_FILE);
    let spinner =
        crate::cli::output::spinner("recomputing the tree and checking every signed head");
    let report = match &args.audit_store {
        Some(url) => crate::audit::postgres::PgStore::connect(url)
            .and_then(|store| crate::audit::verify::verify_store(&store, &key)),
        None => verify_file(&db, &key),
    };
    spinner.finish_and_clear();
    let report = report.map_err(|e| e.to_string())?;
    match &report.tamper {
        None => crate::cli::output::print(&format!(
            "OK: {} events, {} signed tree heads checked, latest head size {} root {}\n",
            report.events,
            report.heads_checked,
            report.latest_head.as_ref().map_or(0, |h| h.tree_size),
            report
                .latest_head
                .as_ref()
                .map_or_else(String::new, |h| crate::audit::log::hex(&h.root)),
        )),
        Some(tamper) => Err(format!(
            "TAMPERED: {tamper} ({} events read before it)",
            report.events
        )),
    }
}

/// A signed tree head as saved between runs of `vnpop audit verify --remote`.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(crate) struct SavedHead {
    tree_size: u64,
    root_hash: String,
    signed_at_ms: i64,
    signature: String,
    public_key: String,
}

impl SavedHead {
    pub(crate) fn from_message(head: &proto::SignedTreeHead) -> Self {
        SavedHead {
            tree_size: head.tree_size,
            root_hash: hex(&head.root_hash),
            signed_at_ms: head.signed_at_ms,
            signature: hex(&head.signature),
            public_key: hex(&head.public_key),
        }
    }

    /// The head, if its signature verifies with `key`.
    fn verified(&self, key: &crate::audit::keys::VerifyingKey) -> Result<SignedTreeHead, String> {
        let head = SignedTreeHead {
            tree_size: self.tree_size,
            root: hex_array("root_hash", &self.root_hash)?,
            signed_at_ms: self.signed_at_ms,
            signature: hex_array("signature", &self.signature)?,
        };
        if !head.verify(key) {
            return Err(format!(
                "the tree head of size {} is not signed by the log's key",
                head.tree_size
            ));
        }
        Ok(head)
    }
}

/// `N` bytes written in hex; the error names the tree head's `field`.
fn hex_array<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
    parse_hex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("the tree head's {field} is not {N} bytes of hex"))
}

/// `vnpop audit verify --remote`: the server recomputes its tree; this side checks the signed
/// head it ends on, and that the log extends the head saved by an earlier run.
pub(crate) async fn run_remote(args: &VerifyArgs) -> Result<(), String> {
    let client = args.server.connect().await?;
    let peer = args.server.peer()?;
    let report = client
        .raw()
        .verify_log(proto::VerifyLogRequest {})
        .await
        .map_err(|s| peer.status_message(s))?
        .into_inner();
    if !report.intact {
        return Err(format!(
            "TAMPERED (found by the server): {} ({} events read before it)",
            report.problem, report.events
        ));
    }
    let head = report
        .latest_head
        .as_ref()
        .map(SavedHead::from_message)
        .ok_or("the server returned no tree head")?;
    let (key_text, pinned) = match &args.public_key {
        Some(key) => (key.clone(), true),
        None => (head.public_key.clone(), false),
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let current = head.verified(&key)?;
    let mut extends = String::new();
    if let Some(path) = &args.previous_head {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let previous: SavedHead =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if previous.public_key != hex(&key.to_bytes()) {
            return Err(format!(
                "the log's key changed since {}: {} then, {} now",
                path.display(),
                previous.public_key,
                hex(&key.to_bytes())
            ));
        }
        let previous = previous.verified(&key)?;
        if previous.tree_size > current.tree_size {
            return Err(format!(
                "the log shrank: {} events at the previous head, {} now",
                previous.tree_size, current.tree_size
            ));
        }
        let proof = client
            .consistency_proof(previous.tree_size, current.tree_size)
            .await
            .map_err(|e| e.to_string())?;
        let path_hashes: Option<Vec<Hash>> = proof
            .path
            .iter()
            .map(|h| h.as_slice().try_into().ok())
            .collect();
        let consistent = path_hashes.is_some_and(|hashes| {
            verify_consistency(
                previous.tree_size,
                current.tree_size,
                &previous.root,
                &current.root,
                &hashes,
            )
        });
        if !consistent {
            return Err(format!(
                "TAMPERED: the log of {} events does not extend the previous head of {} events \
                 (rewritten or removed history)",
                current.tree_size, previous.tree_size
            ));
        }
        extends = format!(
            ", extends the previous head of {} events",
            previous.tree_size
        );
    }
    if let Some(path) = &args.save_head {
        let text = serde_json::to_string_pretty(&head).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    crate::cli::output::print(&format!(
        "OK (server-side recomputation): {} events, {} signed tree heads checked, latest head size {} root {}{extends}\n",
        report.events, report.heads_checked, current.tree_size, head.root_hash
    ))?;
    if !pinned {
        eprintln!(
            "note: the head was checked against the key the server presented ({}); pin it with --public-key",
            head.public_key
        );
    }
    Ok(())
}
