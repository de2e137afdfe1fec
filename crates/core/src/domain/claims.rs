//! What a VNeID token asserts, and how anyone holding the published keys checks it offline.
//!
//! Tokens are compact JWTs signed with EdDSA (Ed25519). The server signs them
//! (`crate::vneid::tokens`); agencies verify them with the JSON Web Key Set from `GetJwks`, here,
//! without calling vnpop — the signature, the issuer, the audience (their own agency id) and the
//! expiry, with no leeway.

use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// The `iss` of every vnpop token.
pub const TOKEN_ISSUER: &str = "vnpop";

/// The claims of a VNeID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VneidClaims {
    /// Always [`TOKEN_ISSUER`].
    pub iss: String,
    /// The citizen's CCCD number (personal identification number).
    pub sub: String,
    /// The agency id the token was issued to.
    pub aud: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The VNeID level authenticated: 1 or 2.
    pub level: u8,
    /// "vneid:level1" or "vneid:level2".
    pub acr: String,
    /// Authentication methods (RFC 8176): "pwd", "otp", and "sc" (smart card) at level 2.
    pub amr: Vec<String>,
    /// The dossier the authentication was made for.
    pub dossier_id: String,
}

/// Why a token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Its `aud` is another agency's.
    #[error("the token was issued to another agency")]
    WrongAudience,
    /// Not signed by any of the published keys (or altered since).
    #[error("the token's signature does not verify with the published keys")]
    BadSignature,
    /// Not a JWT vnpop issues (the parser's words).
    #[error("not a vnpop token: {0}")]
    Malformed(String),
}

impl TokenError {
    /// The short name used by IntrospectToken's `inactive_reason`.
    pub fn name(&self) -> &'static str {
        match self {
            TokenError::Expired => "expired",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::BadSignature => "bad_signature",
            TokenError::Malformed(_) => "malformed",
        }
    }
}

/// The validation rules of vnpop tokens for `audience`: EdDSA only, issuer vnpop, exact audience,
/// expiry with no leeway.
fn token_validation(audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[TOKEN_ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    validation.leeway = 0;
    validation
}

/// Verifies `token` for `audience` with `key`.
pub fn verify_token_with_key(
    token: &str,
    key: &DecodingKey,
    audience: &str,
) -> Result<VneidClaims, TokenError> {
    use jsonwebtoken::errors::ErrorKind;
    decode::<VneidClaims>(token, key, &token_validation(audience))
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed(e.to_string()),
        })
}

/// Verifies `token` offline with a JSON Web Key Set: finds the key by the token's `kid`.
pub fn verify_token(token: &str, jwks: &JwkSet, audience: &str) -> Result<VneidClaims, TokenError> {
    let header = decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Malformed(format!(
            "algorithm {:?} is not EdDSA",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| TokenError::Malformed("no kid in the header".into()))?;
    let jwk = jwks.find(&kid).ok_or(TokenError::BadSignature)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| TokenError::Malformed(e.to_string()))?;
    verify_token_with_key(token, &key, audience)
}
