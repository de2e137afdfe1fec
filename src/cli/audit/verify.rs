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
    cli::{
        messages::{audit::verify::Verify as Says, client_error, Message},
        output::{file_error, FileAction},
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
        None => std::fs::read_to_string(args.data_dir.join(PUBLIC_KEY_FILE)).map_err(|error| {
            Says::KeyFile {
                path: args.data_dir.join(PUBLIC_KEY_FILE).display().to_string(),
                error,
            }
            .text()
        })?,
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let db = args.data_dir.join(crate::audit::log::DATABASE_FILE);
    let spinner = crate::cli::output::spinner(Says::Recomputing.text());
    let report = match &args.audit_store {
        Some(url) => crate::audit::postgres::PgStore::connect(url)
            .and_then(|store| crate::audit::verify::verify_store(&store, &key)),
        None => verify_file(&db, &key),
    };
    spinner.finish_and_clear();
    let report = report.map_err(|e| e.to_string())?;
    match &report.tamper {
        None => {
            let intact = Says::Intact {
                events: report.events,
                heads: report.heads_checked as u64,
                size: report.latest_head.as_ref().map_or(0, |h| h.tree_size),
                root: report
                    .latest_head
                    .as_ref()
                    .map_or_else(String::new, |h| crate::audit::log::hex(&h.root)),
            };
            crate::cli::output::print(&format!("{}\n", intact.text()))
        }
        Some(tamper) => Err(Says::Tampered {
            tamper: tamper.to_string(),
            events: report.events,
        }
        .text()),
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
            return Err(Says::NotSigned {
                size: head.tree_size,
            }
            .text());
        }
        Ok(head)
    }
}

/// `N` bytes written in hex; the error names the tree head's `field`.
fn hex_array<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
    parse_hex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            Says::NotHex {
                field: field.into(),
                bytes: N,
            }
            .text()
        })
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
        return Err(Says::TamperedRemote {
            problem: report.problem,
            events: report.events,
        }
        .text());
    }
    let head = report
        .latest_head
        .as_ref()
        .map(SavedHead::from_message)
        .ok_or_else(|| Says::NoHead.text())?;
    let (key_text, pinned) = match &args.public_key {
        Some(key) => (key.clone(), true),
        None => (head.public_key.clone(), false),
    };
    let key = parse_public_key(&key_text).map_err(|e| e.to_string())?;
    let current = head.verified(&key)?;
    let mut extends = None;
    if let Some(path) = &args.previous_head {
        let text =
            std::fs::read_to_string(path).map_err(|e| file_error(path, FileAction::Read, e))?;
        let previous: SavedHead = serde_json::from_str(&text).map_err(|e| {
            Says::HeadFile {
                path: path.display().to_string(),
                error: e.to_string(),
            }
            .text()
        })?;
        if previous.public_key != hex(&key.to_bytes()) {
            return Err(Says::KeyChanged {
                path: path.display().to_string(),
                then: previous.public_key,
                now: hex(&key.to_bytes()),
            }
            .text());
        }
        let previous = previous.verified(&key)?;
        if previous.tree_size > current.tree_size {
            return Err(Says::Shrank {
                then: previous.tree_size,
                now: current.tree_size,
            }
            .text());
        }
        let proof = client
            .consistency_proof(previous.tree_size, current.tree_size)
            .await
            .map_err(|e| client_error(&e))?;
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
            return Err(Says::NotExtending {
                now: current.tree_size,
                then: previous.tree_size,
            }
            .text());
        }
        extends = Some(previous.tree_size);
    }
    if let Some(path) = &args.save_head {
        let text = serde_json::to_string_pretty(&head).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| file_error(path, FileAction::Write, e))?;
    }
    let intact = Says::IntactRemote {
        events: report.events,
        heads: report.heads_checked,
        size: current.tree_size,
        root: head.root_hash.clone(),
        extends,
    };
    crate::cli::output::print(&format!("{}\n", intact.text()))?;
    if !pinned {
        let key = head.public_key.clone();
        eprintln!("{}", Says::Unpinned { key }.text());
    }
    Ok(())
}
