//! Issuing VNeID tokens: compact JWTs signed with Ed25519 (EdDSA), the verification key published
//! as a JSON Web Key Set, and introspection.
//!
//! The signing key is generated (ring, system randomness) when the server starts and never leaves
//! memory; its key id is the key's RFC 7638 JWK thumbprint. Tokens from a previous run therefore
//! no longer verify, as after a key rotation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{
    encode,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
        OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    },
    Algorithm, DecodingKey, EncodingKey, Header,
};
use ring::{
    digest,
    rand::{SecureRandom, SystemRandom},
    signature::{Ed25519KeyPair, KeyPair as _},
};

use crate::domain::{
    verify_token_with_key, CccdNumber, TokenError, VneidClaims, VneidLevel, TOKEN_ISSUER,
};

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    jwks: JwkSet,
    lifetime: Duration,
    rng: SystemRandom,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// What a token is issued for.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub cccd: CccdNumber,
    pub level: VneidLevel,
    pub agency_id: &'a str,
    pub dossier_id: &'a str,
}

impl TokenIssuer {
    /// A fresh Ed25519 key; tokens live `lifetime`.
    pub fn generate(lifetime: Duration) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&rng).expect("the system random generator works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ring's own PKCS#8");
        let public = pair.public_key().as_ref().to_vec();
        let x = URL_SAFE_NO_PAD.encode(&public);
        // RFC 7638: the thumbprint hashes the required members in lexicographic order.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, thumbprint_input.as_bytes()));
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x,
            }),
        };
        TokenIssuer {
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            jwks: JwkSet { keys: vec![jwk] },
            lifetime,
            rng,
        }
    }

    /// Signs a token for `grant`; returns it with its claims.
    pub fn issue(&self, grant: &Grant<'_>) -> (String, VneidClaims) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()) as i64;
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .expect("the system random generator works");
        let (level, acr, amr) = match grant.level {
            VneidLevel::Level2 => (2, "vneid:level2", vec!["pwd", "otp", "sc"]),
            _ => (1, "vneid:level1", vec!["pwd", "otp"]),
        };
        let claims = VneidClaims {
            iss: TOKEN_ISSUER.into(),
            sub: grant.cccd.to_string(),
            aud: grant.agency_id.into(),
            iat: now,
            exp: now + self.lifetime.as_secs().max(1) as i64,
            jti: URL_SAFE_NO_PAD.encode(jti),
            level,
            acr: acr.into(),
            amr: amr.into_iter().map(str::to_owned).collect(),
            dossier_id: grant.dossier_id.into(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token =
            encode(&header, &claims, &self.encoding).expect("Ed25519 signing does not fail");
        (token, claims)
    }

    /// The verification keys, as published by GetJwks.
    #[cfg(test)]
    fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    pub fn jwks_json(&self) -> String {
        serde_json::to_string(&self.jwks).expect("a JWK set serialises")
    }

    /// Checks a token for `audience` (introspection).
    pub fn introspect(&self, token: &str, audience: &str) -> Result<VneidClaims, TokenError> {
        verify_token_with_key(token, &self.decoding, audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verify_token;

    #[test]
    fn issued_tokens_verify_with_the_jwks_for_their_audience_only() {
        let issuer = TokenIssuer::generate(Duration::from_secs(60));
        let an = CccdNumber::parse("001090012345").unwrap();
        let (token, claims) = issuer.issue(&Grant {
            cccd: an,
            level: VneidLevel::Level2,
            agency_id: "desk",
            dossier_id: "D-1",
        });
        let jwks: JwkSet = serde_json::from_str(&issuer.jwks_json()).unwrap();
        assert_eq!(verify_token(&token, &jwks, "desk").unwrap(), claims);
        assert_eq!(claims.amr, ["pwd", "otp", "sc"]);
        assert_eq!(
            verify_token(&token, &jwks, "hospital"),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            issuer.introspect(&token, "desk").unwrap().sub,
            "001090012345"
        );
        let other = TokenIssuer::generate(Duration::from_secs(60));
        assert_eq!(
            other.introspect(&token, "desk"),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_token(&token, other.jwks(), "desk"),
            Err(TokenError::BadSignature)
        );
        // A flipped payload character breaks the signature.
        let mut forged = token.clone().into_bytes();
        let dot = token.find('.').unwrap() + 5;
        forged[dot] = if forged[dot] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(issuer.introspect(&forged, "desk").is_err());
    }
}
