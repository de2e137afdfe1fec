//! The CitizenRegistry gRPC service: lookups, demographic verification and QR verification.
//!
//! - [`verify`] holds the matching rules, as pure functions over domain types;
//! - [`scope`] is the field-scope table: what each RPC may reveal to an agency;
//! - [`convert`] turns domain citizens into protobuf messages through the caller's field scope;
//! - [`service`] wires them to the generated tonic trait, each call served and recorded through
//!   [`crate::serving`].

pub(crate) mod convert;
pub mod scope;
mod service;
mod verify;

pub use service::RegistryService;
pub use verify::{verify_demographics, verify_qr, Declared, DemographicsVerdict, QrVerdict};
