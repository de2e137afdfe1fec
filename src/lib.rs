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

#[cfg(feature = "server")]
pub mod chip;
#[cfg(feature = "server")]
pub mod cleaning;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod faults;
#[cfg(all(feature = "server", feature = "client"))]
pub mod gateway;
pub mod lang;
#[cfg(all(feature = "server", feature = "client"))]
pub mod load;
#[cfg(feature = "server")]
pub mod methods;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod population;
#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod security;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod serving;
#[cfg(all(feature = "server", feature = "client"))]
pub mod simulate;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod vneid;

// The shared vocabulary (crate `vnpop-core`) and the client library (crate `vnpop-client`), under
// the paths they had before the workspace was split: `vnpop::domain`, `vnpop::client`, …
#[cfg(feature = "client")]
pub use vnpop_client as client;
pub use vnpop_core::{domain, ids, proto, reason, reporting, vocabulary};
