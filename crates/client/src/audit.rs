//! The AuditTrail client: agencies report their events (Ingest), auditors ask for figures and
//! for the log's proofs.
//!
//! Answers that can be long come as they are made, typed: [`RatioStream`] (StreamLookupRatio),
//! [`ReconcileStream`] (StreamReconcile), [`EventStream`] (ListEvents) and [`UnverifiedPages`]
//! (ListUnverifiedDossiers, page after page). None of them holds more than one message of the
//! answer, so any period or limit works however large its answer is.

use tonic::{transport::Channel, Status, Streaming};

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

    /// Lookups per dossier, grouped as the request asks (auditors): every row of
    /// [`AuditClient::lookup_ratio_stream`], gathered.
    pub async fn lookup_ratio(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<Vec<proto::RatioRow>, ClientError> {
        let mut stream = self.lookup_ratio_stream(request).await?;
        let mut rows = Vec::new();
        while let Some(chunk) = stream.next_rows().await? {
            rows.extend(chunk);
        }
        Ok(rows)
    }

    /// Lookups per dossier as the server streams them (StreamLookupRatio, auditors): the
    /// load-test figures left out ([`RatioStream::summary`]), then the rows in group order a
    /// chunk at a time ([`RatioStream::next_rows`]).
    pub async fn lookup_ratio_stream(
        &self,
        request: proto::LookupRatioRequest,
    ) -> Result<RatioStream, ClientError> {
        let mut stream = self.raw().stream_lookup_ratio(request).await?.into_inner();
        let summary = first_summary(&mut stream, |c| c.summary.take()).await?;
        Ok(RatioStream { summary, stream })
    }

    /// Reconciliation as the server streams it (StreamReconcile, auditors): the counts, once
    /// the comparison is done ([`ReconcileStream::summary`]), then the findings oldest first, a
    /// chunk at a time ([`ReconcileStream::next_findings`]), up to the request's `max_findings`.
    pub async fn reconcile_stream(
        &self,
        request: proto::ReconcileRequest,
    ) -> Result<ReconcileStream, ClientError> {
        let mut stream = self.raw().stream_reconcile(request).await?.into_inner();
        let summary = first_summary(&mut stream, |c| c.summary.take()).await?;
        Ok(ReconcileStream { summary, stream })
    }

    /// The log's events matching `request`, in log order, as the server streams them
    /// (ListEvents, auditors).
    pub async fn events(
        &self,
        request: proto::ListEventsRequest,
    ) -> Result<EventStream, ClientError> {
        Ok(EventStream {
            stream: self.raw().list_events(request).await?.into_inner(),
        })
    }

    /// The dossiers nobody looked up (ListUnverifiedDossiers, auditors), page after page from
    /// `request`'s `page_token`: [`UnverifiedPages::next_page`] asks for the next.
    pub fn unverified_dossiers(
        &self,
        request: proto::ListUnverifiedDossiersRequest,
    ) -> UnverifiedPages {
        UnverifiedPages {
            client: self.clone(),
            request: Some(request),
        }
    }

    /// The audit log's current signed tree head.
    pub async fn tree_head(&self) -> Result<proto::SignedTreeHead, ClientError> {
        Ok(self
            .raw()
            .get_tree_head(proto::GetTreeHeadRequest {})
            .await?
            .into_inner())
    }

    /// The audit log's current tree head as a signed C2SP checkpoint (a signed note standard
    /// transparency tooling verifies), with the log's origin and verifier key.
    pub async fn checkpoint(&self) -> Result<proto::Checkpoint, ClientError> {
        Ok(self
            .raw()
            .get_checkpoint(proto::GetCheckpointRequest {})
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

/// The first message of a streamed answer, which carries its summary (taken out by `summary`).
async fn first_summary<C, S>(
    stream: &mut Streaming<C>,
    summary: impl FnOnce(&mut C) -> Option<S>,
) -> Result<S, ClientError> {
    let missing = || ClientError::Rpc(Status::internal("the answer began without its summary"));
    let mut first = stream.message().await?.ok_or_else(missing)?;
    summary(&mut first).ok_or_else(missing)
}

/// StreamLookupRatio's answer as it arrives ([`AuditClient::lookup_ratio_stream`]).
#[derive(Debug)]
pub struct RatioStream {
    summary: proto::LookupRatioResponse,
    stream: Streaming<proto::LookupRatioChunk>,
}

impl RatioStream {
    /// The load-test figures the rows leave out (`load_test_*`; its `rows` are empty).
    pub fn summary(&self) -> &proto::LookupRatioResponse {
        &self.summary
    }

    /// The next rows, in group order (at most 1,000); `None` once every row was read.
    pub async fn next_rows(&mut self) -> Result<Option<Vec<proto::RatioRow>>, ClientError> {
        Ok(self.stream.message().await?.map(|chunk| chunk.rows))
    }
}

/// StreamReconcile's answer as it arrives ([`AuditClient::reconcile_stream`]).
#[derive(Debug)]
pub struct ReconcileStream {
    summary: proto::ReconcileResponse,
    stream: Streaming<proto::ReconcileChunk>,
}

impl ReconcileStream {
    /// Every count of the comparison and `truncated` (its `findings` are empty).
    pub fn summary(&self) -> &proto::ReconcileResponse {
        &self.summary
    }

    /// The next findings, oldest first (at most 1,000); `None` once every finding was read.
    pub async fn next_findings(
        &mut self,
    ) -> Result<Option<Vec<proto::ReconcileFinding>>, ClientError> {
        Ok(self.stream.message().await?.map(|chunk| chunk.findings))
    }
}

/// ListEvents' answer as it arrives ([`AuditClient::events`]).
#[derive(Debug)]
pub struct EventStream {
    stream: Streaming<proto::LoggedEvent>,
}

impl EventStream {
    /// The next event, in log order; `None` once every event was read.
    pub async fn next(&mut self) -> Result<Option<proto::LoggedEvent>, ClientError> {
        Ok(self.stream.message().await?)
    }
}

/// ListUnverifiedDossiers followed page by page ([`AuditClient::unverified_dossiers`]): each page
/// is a call of its own, from the previous page's `next_page_token`.
#[derive(Debug)]
pub struct UnverifiedPages {
    client: AuditClient,
    /// The next page's request; `None` after the last page.
    request: Option<proto::ListUnverifiedDossiersRequest>,
}

impl UnverifiedPages {
    /// The next page's dossiers, oldest first; `None` after the last page.
    pub async fn next_page(
        &mut self,
    ) -> Result<Option<Vec<proto::UnverifiedDossier>>, ClientError> {
        let Some(request) = self.request.take() else {
            return Ok(None);
        };
        let page = self
            .client
            .raw()
            .list_unverified_dossiers(request.clone())
            .await?
            .into_inner();
        if !page.next_page_token.is_empty() {
            self.request = Some(proto::ListUnverifiedDossiersRequest {
                page_token: page.next_page_token,
                ..request
            });
        }
        Ok(Some(page.dossiers))
    }
}
