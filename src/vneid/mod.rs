//! VNeID electronic identity: authenticating a citizen for an agency, at level 1 (passcode and
//! one-time code) or level 2 (additionally a verified chip read of the card).
//!
//! - [`credentials`] derives each account's test passcode and TOTP secret from the seed;
//! - [`challenges`] holds started authentications until they are completed or expire;
//! - [`lockout`] counts failures and locks an account for an agency after too many in a window
//!   (and for every agency after more);
//! - [`replay`] remembers which one-time codes were used, so each is accepted once;
//! - [`tokens`] issues and checks the signed tokens (JWT, EdDSA) and publishes the JWKS;
//! - [`service`] is the `vnpop.v1.VneidAuthentication` gRPC service.
//!
//! Everything kept in memory expires and is bounded (see each module).

pub mod challenges;
pub mod credentials;
pub mod lockout;
pub mod replay;
mod service;
pub mod tokens;

use std::time::Duration;

pub use credentials::TestCredentials;
pub use service::VneidService;
pub use tokens::TokenIssuer;

/// The tunable times and limits of authentication (from `ServeConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub token_lifetime: Duration,
    pub challenge_lifetime: Duration,
    pub max_challenges: usize,
    /// Failures within `lockout_window` that lock an account.
    pub lockout_threshold: u32,
    pub lockout_window: Duration,
    /// How long a locked account stays locked.
    pub lockout_duration: Duration,
    /// Failures by all agencies together within `lockout_window` that lock an account for
    /// every agency (`lockout_threshold` locks it for one agency only).
    pub citizen_lockout_threshold: u32,
    /// Pending authentications one agency may have at once.
    pub max_challenges_per_agency: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_lifetime: Duration::from_secs(600),
            challenge_lifetime: Duration::from_secs(300),
            max_challenges: 100_000,
            lockout_threshold: 5,
            lockout_window: Duration::from_secs(900),
            lockout_duration: Duration::from_secs(900),
            citizen_lockout_threshold: 20,
            max_challenges_per_agency: 10_000,
        }
    }
}
