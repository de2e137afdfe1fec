//! The client library that agency software links to: none of the server's code or dependencies.
//!
//! ```no_run
//! # async fn example() -> Result<(), vnpop_client::ClientError> {
//! use vnpop_client::{ClientTls, LookupContext, RegistryClient};
//!
//! let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-phuong-ba-dinh.pem", "certs/one-stop-phuong-ba-dinh.key")?;
//! let client = RegistryClient::connect("https://localhost:50051", Some(tls)).await?;
//! let context = LookupContext::new("000.00.01.H26-261123-0001", "đăng ký thường trú", "officer-017");
//! let answer = client.lookup_by_cccd(&context, "001090012345").await?;
//! println!("{:?}", answer.citizen.and_then(|c| c.full_name));
//! # Ok(()) }
//! ```
//!
//! The pieces: [`ChannelBuilder`] (endpoint, [`ClientTls`], timeouts) makes the channel that
//! [`RegistryClient`], [`VneidClient`], [`AuditClient`], [`AdminClient`] and [`CleaningClient`]
//! (data-cleaning jobs: a registry's records streamed, one verdict each) share;
//! [`AgencyClient`] ties every call to a [`Dossier`] and records it in its durable outbox before
//! it answers. Every failure is a [`ClientError`], which says on which side it happened
//! ([`ClientError::origin`]) and, for the server's refusals, the typed [`Reason`]
//! ([`ClientError::reason`]).
//!
//! Answers are the messages of `proto/vnpop/v1/` ([`crate::proto`]). Their enum fields are
//! `i32` on the wire (proto3 enums are open: a newer server may send a value this version does not
//! know); read them through the accessor prost generates with the field's name, which gives the
//! typed enum and the `UNSPECIFIED` default for an unknown value (`answer.verdict()` is a
//! [`crate::proto::QrVerdict`]), or with `TryFrom<i32>` to tell an unknown value apart:
//!
//! ```
//! use vnpop_client::proto::{QrVerdict, VerifyQrResponse};
//!
//! let answer = VerifyQrResponse { verdict: QrVerdict::Valid as i32, ..Default::default() };
//! assert_eq!(answer.verdict(), QrVerdict::Valid);
//! assert_eq!(QrVerdict::try_from(99).ok(), None);
//! ```
//!
//! The library's own types are typed throughout: [`Reason`] and [`tonic::Code`] in
//! [`ClientError`] and [`QuarantinedEvent`], [`DossierChannel`], [`vnpop_core::domain::VneidClaims`].

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod admin;
mod agency;
mod audit;
mod channel;
mod cleaning;
mod error;
mod outbox;
mod registry;
mod vneid;

pub use admin::AdminClient;
pub use agency::{
    AgencyClient, AgencyClientConfig, Dossier, DossierChannel, DossierInfo, AGENCY_CALL_TIMEOUT,
    AGENCY_CONNECT_TIMEOUT,
};
pub use audit::{AuditClient, EventStream, RatioStream, ReconcileStream, UnverifiedPages};
pub use channel::{
    connect_channel, connection_failure, ChannelBuilder, ClientTls, ConnectionFailure,
    DEFAULT_CONNECT_TIMEOUT,
};
pub use cleaning::{CleaningClient, VerdictStream, MAX_CLEANING_BATCH};
pub use error::{ClientError, Origin, TransportFailure};
pub use outbox::{Outbox, OutboxError, QuarantinedEvent};
pub use registry::{LookupContext, RegistryClient};
pub use vneid::{TokenVerifier, VneidClient};

pub use vnpop_core::{lang::Language, proto, reason::Reason};

// The shared vocabulary's modules, under the paths this crate's modules name them by.
use vnpop_core::{domain, ids, lang, reason, reporting, vocabulary};
