//! The tamper-evident audit trail: every dossier and every verification, in an append-only SQLite
//! log whose rows are the leaves of an RFC 6962 Merkle tree with signed tree heads.
//!
//! - [`event`]: what is recorded and its canonical leaf encoding;
//! - [`merkle`]: tree roots, inclusion and consistency proofs and their verification;
//! - [`log`]: the durable log with one group-committing writer and signed heads;
//! - [`answers`]: each auditor query from request to answer (the service and `--db` share them);
//! - [`query`]: the auditor's read-only queries (ratios, unverified dossiers, events, accesses);
//! - [`quota`]: per-agency ingest quotas;
//! - [`reconcile`]: client-reported against server-observed verifications;
//! - [`verify`]: recomputing everything from the file and naming the first tampered event.

pub mod answers;
pub mod event;
pub mod log;
pub mod merkle;
pub(crate) mod projector;
pub mod query;
pub mod quota;
pub mod reconcile;
pub mod recorder;
pub mod service;
pub mod verify;

pub use event::{AuditEvent, EventKind, EventSource};
pub use log::{AppendReceipt, AuditLog, SignedTreeHead};
pub use verify::{verify_file, Tamper, VerifyReport};

/// Why the audit log could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("audit log write failed, nothing of the batch was stored: {0}")]
    Write(String),
    #[error("audit signing key: {0}")]
    Key(String),
    #[error("the audit log is corrupt: {0}")]
    Corrupt(String),
    #[error("the audit log is closed")]
    Closed,
}
