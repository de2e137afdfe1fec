//! The tamper-evident audit trail: every dossier and every verification, in an append-only log
//! of record whose events are the leaves of an RFC 6962 Merkle tree with signed tree heads.
//!
//! The modules, in layers: each imports only its own layer or those below (ARCHITECTURE.md
//! gives each one's invariant).
//!
//! 1. [`event`] (what is recorded), [`record`] (its binary record and canonical leaf bytes),
//!    [`merkle`] (roots, proofs and their verification), [`keys`] (the signing key, signed tree
//!    heads, the subject-hash secret), [`lock`] (one writer per data directory);
//! 2. `store` (the log of record's interface and its SQLite file), [`postgres`] (the same
//!    interface on a database shared by a fleet of servers);
//! 3. [`verify`]: recomputing everything from the log and naming the first tampered event;
//! 4. `nodes` and `projector`: the query side (state in memory, receipts, citizen index) and
//!    the tree's upper levels, derived after the answer on a thread of their own;
//! 5. `queue` (served calls first) and `sequencer` (the log's one writer: recovery at open,
//!    dedup, encode, tree, sign, commit); `follower` (in a fleet, the shared log copied into the
//!    server's own file);
//! 6. `tree` (the stored log as a Merkle tree, for proofs), [`query`] (the auditor's read-only
//!    questions), [`reconcile`] (client-reported against server-observed verifications);
//! 7. [`log`]: `AuditLog`, the handle that wires the threads, which callers append through and
//!    queries wait on;
//! 8. [`recorder`] (the server's record of what it served), [`anomalies`] (findings an
//!    inspector acts on, from one pass over the reported events).
//!
//! [`AuditError`] is this crate's one error. What the server builds on it is the `vnpop`
//! package's (`vnpop::audit`, which re-exports this crate): the gRPC service, each auditor
//! query from request to answer (`answers`, shared by the service and `--db`), the per-agency
//! ingest quotas. Nothing here knows gRPC's server side or the protos' messages: a query's
//! answer is this crate's types.

pub mod anomalies;
pub mod checkpoint;
mod dedup;
mod error;
pub mod event;
mod follower;
pub mod keys;
pub mod lock;
pub mod log;
pub mod merkle;
mod nodes;
pub mod postgres;
pub(crate) mod projector;
pub mod query;
mod queue;
pub mod reads;
pub mod reconcile;
pub mod record;
pub mod recorder;
mod sequencer;
pub(crate) mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tree;
pub mod verify;

pub use event::{AuditEvent, EventKind, EventSource};
pub use log::{AppendReceipt, AuditLog, AuditMemory, SignedTreeHead};
pub use projector::StateMemory;
pub use verify::{verify_file, Tamper, VerifyReport};

pub use error::AuditError;

// The shared vocabulary's modules, under the paths this crate's modules name them by.
use vnpop_core::{domain, ids, reporting, vocabulary};
