//! The population database's vocabulary: CCCD and CMND numbers, provinces, citizens, identity
//! cards, the QR code printed on them, and how declared names and addresses are compared.
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
mod folding;
pub mod geography;
pub mod matching;

mod province;
mod qr;
pub mod vietnam;

pub use card::{card_expiry, CardKind, CardState, IdentityCard, RENEWAL_AGES};
pub use cccd::{CccdError, CccdNumber, CccdPart};
pub use citizen::{
    Address, Citizen, CitizenStatus, Place, PreReformAddress, Sex, Text, VneidLevel,
};
pub use claims::{
    token_validation, verify_token, verify_token_with_key, TokenError, VneidClaims, TOKEN_ISSUER,
};
pub use cmnd::{CmndError, CmndNumber};
pub use province::{Province, ProvinceCode};
pub use qr::{QrError, QrPayload};
