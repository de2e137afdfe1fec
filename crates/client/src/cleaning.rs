//! The DataCleaning client: a registry's records verified against the population as one job,
//! streamed in batches, one verdict per record back in input order.
//!
//! ```no_run
//! # async fn example(channel: tonic::transport::Channel) -> Result<(), vnpop_client::ClientError> {
//! use vnpop_client::CleaningClient;
//! use vnpop_client::proto::{CleanRecord, CleaningJob};
//!
//! let client = CleaningClient::from_channel(channel);
//! let job = CleaningJob {
//!     job_id: "bhxh-2026-q3".into(),
//!     purpose: "làm sạch dữ liệu BHXH".into(),
//!     officer_id: "officer-017".into(),
//! };
//! let record = CleanRecord {
//!     record_id: "R1".into(),
//!     number: "001090012345".into(),
//!     full_name: Some("Nguyễn Văn An".into()),
//!     ..Default::default()
//! };
//! let (batches, receiver) = tokio::sync::mpsc::channel(4);
//! let mut verdicts = client.clean(job, receiver).await?;
//! batches.send(vec![record]).await.ok();
//! drop(batches); // the job's end
//! while let Some(verdict) = verdicts.next().await? {
//!     println!("{} {:?}", verdict.record_id, verdict.verdict());
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;

use tokio::sync::mpsc;
use tokio_stream::{wrappers::ReceiverStream, StreamExt};
use tonic::{transport::Channel, Streaming};

use super::{connect_channel, ClientError, ClientTls};
use crate::proto::{self, data_cleaning_client::DataCleaningClient};

/// The most records one batch may hold (the server refuses more with
/// `CLEANING_BATCH_TOO_LARGE`).
pub const MAX_CLEANING_BATCH: usize = 1_000;

/// A connection to the DataCleaning service. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct CleaningClient {
    inner: DataCleaningClient<Channel>,
}

impl CleaningClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server started
    /// with --insecure.
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    /// The service over an existing channel (see [`super::ChannelBuilder`]).
    pub fn from_channel(channel: Channel) -> Self {
        CleaningClient {
            inner: DataCleaningClient::new(channel).max_decoding_message_size(64 * 1024 * 1024),
        }
    }

    /// Starts `job`: every batch received from `batches` (at most [`MAX_CLEANING_BATCH`]
    /// records each) is sent in turn, and the job ends when `batches` closes. The verdicts come
    /// back through the [`VerdictStream`], one per record, in the order the records were sent.
    /// Each record's verification id is [`vnpop_core::ids::cleaning_verification_id`] of the job and
    /// record ids: a record sent again (a job resumed) is recorded once by the server.
    pub async fn clean(
        &self,
        job: proto::CleaningJob,
        batches: mpsc::Receiver<Vec<proto::CleanRecord>>,
    ) -> Result<VerdictStream, ClientError> {
        // The job alone first, so the server knows it before the first batch is ready.
        let first = proto::CleanRecordsRequest {
            job: Some(job),
            records: Vec::new(),
        };
        let requests = tokio_stream::once(first).chain(
            ReceiverStream::new(batches)
                .map(|records| proto::CleanRecordsRequest { job: None, records }),
        );
        let inner = self
            .inner
            .clone()
            .clean_records(requests)
            .await?
            .into_inner();
        Ok(VerdictStream {
            inner,
            pending: VecDeque::new(),
        })
    }
}

/// The verdicts of a job, one per record in the order the records were sent.
#[derive(Debug)]
pub struct VerdictStream {
    inner: Streaming<proto::CleanRecordsResponse>,
    pending: VecDeque<proto::RecordVerdict>,
}

impl VerdictStream {
    /// The next record's verdict; `None` once every record sent has its verdict and the job
    /// has ended. An error ends the job: the verdicts before it are final, the records after it
    /// have none (send them again: a record already recorded is not recorded twice).
    pub async fn next(&mut self) -> Result<Option<proto::RecordVerdict>, ClientError> {
        loop {
            if let Some(verdict) = self.pending.pop_front() {
                return Ok(Some(verdict));
            }
            match self.inner.message().await? {
                Some(batch) => self.pending.extend(batch.verdicts),
                None => return Ok(None),
            }
        }
    }

    /// The next batch of verdicts as the server sent it (in order); `None` at the job's end.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<proto::RecordVerdict>>, ClientError> {
        if !self.pending.is_empty() {
            return Ok(Some(self.pending.drain(..).collect()));
        }
        Ok(self.inner.message().await?.map(|batch| batch.verdicts))
    }
}
