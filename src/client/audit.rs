//! The AuditTrail client: agencies report their events (Ingest), auditors ask for figures and
//! for the log's proofs.

use tonic::transport::Channel;

use super::{connect_channel, ClientError, ClientTls};
use crate::proto::{self, audit_trail_client::AuditTrailClient};

/// A connection to the AuditTrail service (auditors' queries; agencies' Ingest).
#[derive(Debug, Clone)]
pub struct AuditClient {
    inner: AuditTrailClient<Channel>,
}

impl AuditClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server started
    /// with --insecure.
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    /// The service over an existing channel (shared with other clients).
    pub fn from_channel(channel: Channel) -> Self {
        AuditClient {
            inner: AuditTrailClient::new(channel),
        }
    }

    /// The generated client, for every RPC of the service.
    pub fn raw(&self) -> AuditTrailClient<Channel> {
        self.inner.clone()
    }

    /// Reports audit events (an agency's dossiers and verifications); the answer counts the
    /// stored and duplicate ones and lists those refused, each with its reason.
    /// [`super::AgencyClient`] does this for you, from its outbox.
    pub async fn ingest(
        &self,
        events: Vec<proto::ReportedEvent>,
    ) -> Result<proto::IngestResponse, ClientError> {
        Ok(self
            .raw()
            .ingest(proto::IngestRequest { events })
            .await?
            .into_inner())
    }

    /// Lookups per dossier, grouped as the request asks (auditors).
    pub async fn lookup_ratio(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<Vec<proto::RatioRow>, ClientError> {
        Ok(self.raw().lookup_ratio(request).await?.into_inner().rows)
    }

    /// The audit log's current signed tree head.
    pub async fn tree_head(&self) -> Result<proto::SignedTreeHead, ClientError> {
        Ok(self
            .raw()
            .get_tree_head(proto::GetTreeHeadRequest {})
            .await?
            .into_inner())
    }

    /// The proof that record `leaf_index` is in the log of `tree_size` records.
    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<proto::InclusionProof, ClientError> {
        let request = proto::GetInclusionProofRequest {
            leaf_index,
            tree_size,
        };
        Ok(self.raw().get_inclusion_proof(request).await?.into_inner())
    }

    /// The proof that the log of `old_size` records is a prefix of the one of `new_size`.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<proto::ConsistencyProof, ClientError> {
        let request = proto::GetConsistencyProofRequest { old_size, new_size };
        Ok(self
            .raw()
            .get_consistency_proof(request)
            .await?
            .into_inner())
    }
}
