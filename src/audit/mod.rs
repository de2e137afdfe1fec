//! The tamper-evident audit trail: every dossier and every verification, in an append-only log
//! of record whose events are the leaves of an RFC 6962 Merkle tree with signed tree heads.
//!
//! - [`event`]: what is recorded;
//! - [`record`]: its compact binary record and canonical leaf bytes;
//! - [`store`]: the log of record's interface and its SQLite file;
//! - [`postgres`]: the same interface on a PostgreSQL database shared by a fleet of servers;
//! - `follower`: in a fleet, copies the shared log into the server's own file as it grows;
//! - [`merkle`]: tree roots, inclusion and consistency proofs and their verification;
//! - [`keys`]: the signing key, signed tree heads, the subject-hash secret;
//! - [`log`]: `AuditLog`, the handle callers append through and queries wait on;
//! - `queue`: the sequencer's two-lane queue (served calls first);
//! - `sequencer`: the log's one writer (recovery at open, dedup, encode, tree, sign, commit);
//! - `nodes`: the tree's upper levels, derived, so a proof reads one node a level;
//! - [`projector`]: the query tables, derived after the answer on a thread of their own;
//! - [`answers`]: each auditor query from request to answer (the service and `--db` share them);
//! - [`query`]: the auditor's read-only queries (ratios, unverified dossiers, events, accesses);
//! - [`quota`]: per-agency ingest quotas;
//! - [`reconcile`]: client-reported against server-observed verifications;
//! - [`verify`]: recomputing everything from the file and naming the first tampered event.

pub mod answers;
pub mod event;
mod follower;
pub mod keys;
pub mod log;
pub mod merkle;
mod nodes;
pub mod postgres;
pub(crate) mod projector;
pub mod query;
mod queue;
pub mod quota;
pub mod reconcile;
pub mod record;
pub mod recorder;
mod sequencer;
pub mod service;
pub(crate) mod store;
mod summary;
#[doc(hidden)]
pub mod testing;
pub mod tree;
pub mod verify;

pub use event::{AuditEvent, EventKind, EventSource};
pub use log::{AppendReceipt, AuditLog, SignedTreeHead};
pub use verify::{verify_file, Tamper, VerifyReport};

pub use crate::error::AuditError;
