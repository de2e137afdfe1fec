//! The CitizenRegistry client: lookups by CCCD and CMND number, demographic and QR
//! verification, each made with a [`LookupContext`] naming its dossier.

use tonic::transport::Channel;

use super::{connect_channel, ClientError, ClientTls};
use crate::{
    lang::Language,
    proto::{self, citizen_registry_client::CitizenRegistryClient},
};

/// Why and for which dossier a lookup is made; sent with every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupContext {
    /// The administrative dossier the lookup is made for.
    pub dossier_id: String,
    /// Why (the procedure, in words), e.g. "đăng ký thường trú".
    pub purpose: String,
    /// The officer making the lookup.
    pub officer_id: String,
    /// Marks synthetic load-test traffic.
    pub load_test: bool,
    /// The call's own name, so that trying the same call again (after a failure that left its
    /// fate unknown) is recorded once by the server; at most 128 characters. `None`: every call
    /// made with this context is a call of its own.
    pub call_id: Option<String>,
    /// The language the server's error messages are asked in (`accept-language`): with
    /// [`Language::Vietnamese`] a refusal carries a `google.rpc.LocalizedMessage` in `vi-VN`
    /// ([`ClientError::localized_message`]) besides the English status message.
    pub language: Language,
}

impl LookupContext {
    /// A context for real (not load-test) traffic.
    pub fn new(
        dossier_id: impl Into<String>,
        purpose: impl Into<String>,
        officer_id: impl Into<String>,
    ) -> Self {
        LookupContext {
            dossier_id: dossier_id.into(),
            purpose: purpose.into(),
            officer_id: officer_id.into(),
            load_test: false,
            call_id: None,
            language: Language::English,
        }
    }

    /// The same context, asking the server for its messages in `language`.
    pub fn in_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// `message` as a request made in this context's language (its `accept-language` metadata).
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.language.ask(&mut request);
        request
    }

    /// This context as the `context` field of a request.
    pub fn to_proto(&self) -> Option<proto::RequestContext> {
        Some(proto::RequestContext {
            dossier_id: self.dossier_id.clone(),
            purpose: self.purpose.clone(),
            officer_id: self.officer_id.clone(),
            load_test: self.load_test,
            call_id: self.call_id.clone().unwrap_or_default(),
        })
    }
}

/// A connection to the CitizenRegistry service. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    inner: CitizenRegistryClient<Channel>,
}

impl RegistryClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server started
    /// with --insecure.
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    /// The service over an existing channel (see [`super::ChannelBuilder`]; shared with other
    /// clients).
    pub fn from_channel(channel: Channel) -> Self {
        RegistryClient {
            inner: CitizenRegistryClient::new(channel),
        }
    }

    /// The generated client, for requests this wrapper does not build (e.g. deliberately
    /// malformed ones in tests).
    pub fn raw(&self) -> CitizenRegistryClient<Channel> {
        self.inner.clone()
    }

    /// The citizen with CCCD number `cccd_number` (the fields the agency's scope grants).
    pub async fn lookup_by_cccd(
        &self,
        context: &LookupContext,
        cccd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let request = proto::LookupByCccdRequest {
            context: context.to_proto(),
            cccd_number: cccd_number.to_owned(),
        };
        Ok(self
            .raw()
            .lookup_by_cccd(context.request(request))
            .await?
            .into_inner())
    }

    /// The citizen linked to the old 9-digit CMND number `cmnd_number`.
    pub async fn lookup_by_cmnd(
        &self,
        context: &LookupContext,
        cmnd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let request = proto::LookupByCmndRequest {
            context: context.to_proto(),
            cmnd_number: cmnd_number.to_owned(),
        };
        Ok(self
            .raw()
            .lookup_by_cmnd(context.request(request))
            .await?
            .into_inner())
    }

    /// Whether what the applicant declared matches the database, field by field.
    pub async fn verify_demographics(
        &self,
        context: &LookupContext,
        cccd_number: &str,
        declared: proto::Declared,
    ) -> Result<proto::VerifyDemographicsResponse, ClientError> {
        let request = proto::VerifyDemographicsRequest {
            context: context.to_proto(),
            cccd_number: cccd_number.to_owned(),
            declared: Some(declared),
        };
        Ok(self
            .raw()
            .verify_demographics(context.request(request))
            .await?
            .into_inner())
    }

    /// Whether a card's QR payload is well formed and matches the database.
    pub async fn verify_qr(
        &self,
        context: &LookupContext,
        qr_payload: &str,
    ) -> Result<proto::VerifyQrResponse, ClientError> {
        let request = proto::VerifyQrRequest {
            context: context.to_proto(),
            qr_payload: qr_payload.to_owned(),
        };
        Ok(self
            .raw()
            .verify_qr(context.request(request))
            .await?
            .into_inner())
    }

    /// Who the server takes this client to be (agency, role, field scope), from its
    /// certificate: a quick check of a new certificate. Reads no citizen and is not audited.
    pub async fn who_am_i(&self) -> Result<proto::WhoAmIResponse, ClientError> {
        Ok(self
            .raw()
            .who_am_i(proto::WhoAmIRequest {})
            .await?
            .into_inner())
    }
}
