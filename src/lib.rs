//! vnpop: a mock of Vietnam's national population database verification service.
//!
//! See ARCHITECTURE.md for the map. In short: [`domain`] is the vocabulary (CCCD numbers,
//! citizens, cards, QR codes, name matching); `population` generates the synthetic people;
//! `store` holds them; `registry` is the gRPC service; `security` is mTLS and agency scopes;
//! `vneid` authenticates citizens with their VNeID accounts and `chip` verifies card chips
//! (passive authentication); `server` assembles it all (those with the `server` feature);
//! `client` is what agency software links to (feature `client`), and [`reason`] the error
//! reasons both sides share.

#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(all(feature = "server", feature = "client"))]
pub mod cli;
pub mod domain;

pub mod proto {
    //! Code generated from `proto/vnpop/v1/*.proto` (package `vnpop.v1`).
    tonic::include_proto!("vnpop.v1");
}

#[cfg(feature = "server")]
pub mod chip;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod faults;
#[cfg(all(feature = "server", feature = "client"))]
pub mod gateway;
#[cfg(any(feature = "server", feature = "client"))]
pub mod ids;
#[cfg(all(feature = "server", feature = "client"))]
pub mod load;
#[cfg(feature = "server")]
pub mod methods;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod population;
pub mod reason;
#[cfg(feature = "server")]
pub mod registry;
pub mod reporting;
#[cfg(feature = "server")]
pub mod security;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(feature = "server", feature = "client"))]
pub mod simulate;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod vneid;
