//! Data cleaning (làm sạch dữ liệu): the `DataCleaning` gRPC service, which matches an agency's
//! whole registry against the population, record by record, as one audited job.
//!
//! One idea a file:
//! - [`job`]: the job a stream belongs to, checked (id, purpose, officer), and the stream's
//!   bounds;
//! - [`number`]: a record's number read as a CCCD or a legacy CMND number, and a CMND number
//!   linked to the citizen's CCCD number;
//! - [`address`]: an address of the pre-2025 form converted to today's two-level form;
//! - [`verdict`]: one record's verdict, through the registry's matching rules
//!   ([`crate::registry::verify_demographics`]) and the agency's field scope;
//! - [`pace`]: the directory's `cleaning_per_second`, one schedule per agency shared by its
//!   jobs;
//! - [`service`]: the stream — batches verified and recorded in the audit trail as cleaning
//!   verifications (never dossier lookups), several in flight, answered in input order, paced to
//!   the directory's rate.
//!
//! Invariant: a verdict leaves the server only once its record is durable in the audit log, as
//! every citizen-facing answer.

mod address;
mod job;
mod number;
mod pace;
mod service;
mod verdict;

pub use job::MAX_RECORDS_PER_BATCH;
pub use service::CleaningService;
