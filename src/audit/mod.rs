//! The audit trail on the server's side. The log of record, its Merkle tree, the stores, the
//! query side and reconciliation are the crate `vnpop-audit` (`crates/audit`), re-exported here
//! under the paths they have always had (`audit::AuditLog`, `audit::query`, …). Here, what only
//! the server has: [`service`] (the AuditTrail gRPC service), [`answers`] (each auditor query
//! from its request message to its answer messages, shared by the service and `vnpop audit …
//! --db`), and `quota` (per-agency ingest quotas).

pub use vnpop_audit::*;

pub mod answers;
mod quota;
pub mod service;
