//! The population database's vocabulary: CCCD and CMND numbers, provinces, citizens, identity
//! cards, the QR code printed on them, how declared names and addresses are compared, and which
//! characters free text may hold (`check_safe_text`).
//!
//! Everything here is plain data and pure functions: no I/O, no async, no gRPC. The server, the
//! synthetic population and the client library all speak in these types.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod card;
mod cccd;
mod citizen;
mod claims;
mod cmnd;
#[cfg(feature = "server")]
pub mod collation;
mod folding;
pub mod geography;
pub mod matching;

pub mod calendar;
pub mod procedure;
mod province;
mod qr;
mod text;
pub mod vietnam;

pub use card::card_expiry;
pub use card::{CardKind, CardState, IdentityCard};
pub use cccd::{ungrouped, CccdError, CccdNumber, CccdPart};
pub use citizen::{
    Address, Citizen, CitizenStatus, OriginForm, Place, PreReformAddress, PreReformLine, Sex, Text,
    VneidLevel,
};
pub use claims::verify_token_with_key;
pub use claims::{verify_token, TokenError, VneidClaims, TOKEN_ISSUER};
pub use cmnd::{CmndError, CmndNumber};
pub use province::{Province, ProvinceCode};
pub use qr::{QrError, QrPayload};
pub use text::{check_safe_text, is_unsafe_char, shown, shown_in_html, UnsafeChar};
