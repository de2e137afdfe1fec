//! The chip of the identity card and passive authentication (ICAO Doc 9303 part 11, in spirit).
//!
//! A card reader reads data groups from the chip — DG1 (identity data) and DG13 (Vietnamese
//! personal data) — and the security object (EF.SOD), which holds each data group's SHA-256 hash
//! signed by a document signer whose certificate is issued by the country signing CA (CSCA).
//! Passive authentication recomputes the hashes, checks the signature and the certificate chain;
//! vnpop then compares the content with the database and the card's state.
//!
//! - [`personal`] derives what DG13 holds but the population record does not (parents, spouse,
//!   identification features), deterministically from the seed;
//! - [`data_groups`] builds DG1 and DG13 from a citizen and compares read ones with the database;
//! - [`pki`] is the mock CSCA trust anchor and the document signer (certs/csca.*,
//!   certs/document-signer.*, DEVELOPMENT ONLY);
//! - [`read`] produces a chip read for a citizen, valid or tampered, for agencies' reader tests;
//! - [`passive`] is passive authentication of a chip read;
//! - [`verify`] combines it with the database into a verdict;
//! - [`service`] is the `vnpop.v1.ChipVerification` gRPC service.

pub mod data_groups;
pub mod passive;
pub mod personal;
pub mod pki;
pub mod read;
pub(crate) mod service;
pub mod verify;

pub use pki::{CscaTrust, DocumentSigner, PkiError};
pub use read::{
    chip_read, decode_chip_read, encode_chip_read, tampered_chip_read, ChipReadError, Tamper,
};
pub use service::ChipService;
pub use verify::{ChipCheck, ChipVerdict, ChipVerification, ChipVerifier, MalformedChipRead};
