//! Who is calling and what they may see: mutual TLS, the agency directory (agency identity, role
//! and field scope, from configuration), and the development PKI.
//!
//! The flow: rustls verifies the client certificate against the configured CA during the TLS
//! handshake ([`tls`]); per request, [`Authenticator`] maps the peer certificate's subject to an
//! [`Agency`] from the [`AgencyDirectory`]; the registry then projects citizens through the
//! agency's [`FieldScope`].

pub mod acceptor;
pub(crate) mod admission;
mod agency;
mod authn;
pub mod certs;
pub mod dev_pki;
mod directory;
pub mod tls;

pub use agency::{Agency, Cleaning, FieldScope, Role, ScopeField};
pub use authn::{Authenticator, CallerError};
pub use directory::{AgencyDirectory, AgencyError};
