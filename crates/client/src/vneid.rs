//! Client side of VNeID authentication and chip verification, and offline token verification.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use vnpop_client::{ClientTls, LookupContext, VneidClient};
//! use vnpop_client::proto::VneidLevel;
//!
//! let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-phuong-ba-dinh.pem", "certs/one-stop-phuong-ba-dinh.key")?;
//! let client = VneidClient::connect("https://localhost:50051", Some(tls)).await?;
//! let context = LookupContext::new("000.00.01.H26-261123-0001", "đăng ký thường trú", "officer-017");
//! let started = client.start(&context, "079195001234", VneidLevel::One).await?;
//! // The citizen types their passcode and the code their authenticator shows.
//! let done = client.complete(&context, &started.challenge_id, "123456", "654321", None).await?;
//! let verifier = client.token_verifier().await?;
//! let claims = verifier.verify(&done.token, "one-stop-phuong-ba-dinh")?;
//! println!("authenticated {} at level {}", claims.sub, claims.level);
//! # Ok(()) }
//! ```

use jsonwebtoken::jwk::JwkSet;
use tonic::transport::Channel;

use super::{connect_channel, ClientError, ClientTls, LookupContext};
use crate::{
    domain::{verify_token, TokenError, VneidClaims},
    proto::{
        self, chip_verification_client::ChipVerificationClient,
        vneid_authentication_client::VneidAuthenticationClient,
    },
};

/// A connection to the VneidAuthentication and ChipVerification services. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VneidClient {
    auth: VneidAuthenticationClient<Channel>,
    chip: ChipVerificationClient<Channel>,
}

impl VneidClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051").
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    /// Both services over an existing channel (shared with other clients).
    pub fn from_channel(channel: Channel) -> Self {
        VneidClient {
            auth: VneidAuthenticationClient::new(channel.clone()),
            chip: ChipVerificationClient::new(channel),
        }
    }

    /// The generated clients, for requests this wrapper does not build.
    pub fn raw(
        &self,
    ) -> (
        VneidAuthenticationClient<Channel>,
        ChipVerificationClient<Channel>,
    ) {
        (self.auth.clone(), self.chip.clone())
    }

    /// Starts authenticating the citizen `cccd_number` at `level`.
    pub async fn start(
        &self,
        context: &LookupContext,
        cccd_number: &str,
        level: proto::VneidLevel,
    ) -> Result<proto::StartAuthenticationResponse, ClientError> {
        let request = proto::StartAuthenticationRequest {
            context: context.to_proto(),
            cccd_number: cccd_number.to_owned(),
            level: level as i32,
        };
        Ok(self
            .auth
            .clone()
            .start_authentication(context.request(request))
            .await?
            .into_inner())
    }

    /// Answers a challenge; `chip_read` is required at level 2.
    pub async fn complete(
        &self,
        context: &LookupContext,
        challenge_id: &str,
        passcode: &str,
        totp_code: &str,
        chip_read: Option<proto::ChipRead>,
    ) -> Result<proto::CompleteAuthenticationResponse, ClientError> {
        let request = proto::CompleteAuthenticationRequest {
            context: context.to_proto(),
            challenge_id: challenge_id.to_owned(),
            passcode: passcode.to_owned(),
            totp_code: totp_code.to_owned(),
            chip_read,
        };
        Ok(self
            .auth
            .clone()
            .complete_authentication(context.request(request))
            .await?
            .into_inner())
    }

    /// The published verification keys.
    pub async fn jwks(&self) -> Result<JwkSet, ClientError> {
        let json = self
            .auth
            .clone()
            .get_jwks(proto::GetJwksRequest {})
            .await?
            .into_inner()
            .jwks_json;
        serde_json::from_str(&json).map_err(|e| {
            ClientError::Rpc(tonic::Status::internal(format!(
                "the JWKS is not valid JSON: {e}"
            )))
        })
    }

    /// A verifier holding the current keys, to check tokens offline.
    pub async fn token_verifier(&self) -> Result<TokenVerifier, ClientError> {
        Ok(TokenVerifier::new(self.jwks().await?))
    }

    /// Asks vnpop whether a token is active for the calling agency.
    pub async fn introspect(
        &self,
        token: &str,
    ) -> Result<proto::IntrospectTokenResponse, ClientError> {
        let request = proto::IntrospectTokenRequest {
            token: token.to_owned(),
        };
        Ok(self
            .auth
            .clone()
            .introspect_token(request)
            .await?
            .into_inner())
    }

    /// Verifies a chip read (passive authentication and comparison with the database).
    pub async fn verify_chip(
        &self,
        context: &LookupContext,
        chip_read: proto::ChipRead,
    ) -> Result<proto::VerifyChipReadResponse, ClientError> {
        let request = proto::VerifyChipReadRequest {
            context: context.to_proto(),
            chip_read: Some(chip_read),
        };
        Ok(self
            .chip
            .clone()
            .verify_chip_read(context.request(request))
            .await?
            .into_inner())
    }
}

/// Verifies vnpop tokens offline with a JSON Web Key Set.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    jwks: JwkSet,
}

impl TokenVerifier {
    /// A verifier holding these keys (from [`VneidClient::jwks`] or a saved copy).
    pub fn new(jwks: JwkSet) -> Self {
        TokenVerifier { jwks }
    }

    /// From the JSON that GetJwks returns.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        Ok(Self::new(serde_json::from_str(json)?))
    }

    /// Checks the signature, issuer, audience (your agency id) and expiry.
    pub fn verify(&self, token: &str, audience: &str) -> Result<VneidClaims, TokenError> {
        verify_token(token, &self.jwks, audience)
    }
}
