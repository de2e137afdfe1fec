//! Languages on the server's side: the shared part (which [`Language`] a caller asked for, the
//! Vietnamese message of every reason) is `vnpop_core::lang`, re-exported here; beside it, the
//! layer that reads the caller's language from each request (`layer`) and the Vietnamese messages
//! the server writes with the details of a refusal (`messages`).

pub use vnpop_core::lang::*;

#[cfg(feature = "server")]
pub(crate) mod layer;
#[cfg(feature = "server")]
pub(crate) mod messages;
