//! The tonic implementation of `vnpop.v1.DataCleaning`: a job's stream read batch by batch,
//! each batch verified and recorded on its own task (several in flight, so verifying one batch
//! overlaps recording the one before), the answers sent in input order, the job paced to the
//! agency's rate (one schedule per agency, shared by its jobs: [`super::pace`]). A refusal of the stream (its job, a batch's size) ends it after the verdicts
//! of the batches before; a bad record gets a verdict of its own and never ends it. Logs name
//! the job and counts only, never a number, name or address.

use std::sync::Arc;

use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{
    job::{check_batch, Job},
    pace::{Pacer, Schedule},
    verdict::verdict,
};
use crate::{
    audit::recorder::{CleanedRecord, CleaningJobRecord},
    error::ApiError,
    ids::cleaning_verification_id,
    proto::{self, data_cleaning_server::DataCleaning},
    security::{Agency, Cleaning},
    serving::Serving,
    store::CitizenStore,
};

/// Batches verified or being recorded at once, per job, ahead of the one being answered.
const IN_FLIGHT: usize = 4;

/// The DataCleaning service over a shared store.
#[derive(Clone)]
pub struct CleaningService {
    store: Arc<CitizenStore>,
    serving: Serving,
    /// The agencies' rates, each shared by the agency's jobs.
    pacer: Arc<Pacer>,
}

impl CleaningService {
    /// Serves cleaning jobs against `store`, identifying and recording through `serving`.
    pub fn new(store: Arc<CitizenStore>, serving: Serving) -> Self {
        CleaningService {
            store,
            serving,
            pacer: Arc::default(),
        }
    }
}

/// What every batch of one job shares.
struct JobState {
    store: Arc<CitizenStore>,
    serving: Serving,
    agency: Arc<Agency>,
    job: Job,
}

impl JobState {
    /// Verifies `records` and records them; the answer once they are durable.
    async fn batch(
        self: Arc<Self>,
        records: Vec<proto::CleanRecord>,
    ) -> Result<proto::CleanRecordsResponse, Status> {
        let mut verdicts = Vec::with_capacity(records.len());
        let mut recorded = Vec::with_capacity(records.len());
        for record in records {
            let mut v = verdict(record, &self.store, &self.agency);
            let id_unusable = v.message.field == "record_id";
            let verification_id = (!id_unusable)
                .then(|| cleaning_verification_id(&self.job.job_id, &v.message.record_id));
            v.message.verification_id = verification_id.clone().unwrap_or_default();
            recorded.push(CleanedRecord {
                verification_id,
                cccd: v.subject.map(|c| c.to_string()),
                outcome: v.outcome,
            });
            verdicts.push(v.message);
        }
        let job = CleaningJobRecord {
            agency_id: &self.agency.id,
            district: &self.agency.district,
            job_id: &self.job.job_id,
            officer_id: &self.job.officer_id,
            purpose: &self.job.purpose,
        };
        self.serving
            .recorder()
            .record_cleaning(job, recorded)
            .await
            .map_err(|e| Status::from(ApiError::AuditUnavailable(e)))?;
        Ok(proto::CleanRecordsResponse { verdicts })
    }
}

#[tonic::async_trait]
impl DataCleaning for CleaningService {
    type CleanRecordsStream = ReceiverStream<Result<proto::CleanRecordsResponse, Status>>;

    async fn clean_records(
        &self,
        request: Request<Streaming<proto::CleanRecordsRequest>>,
    ) -> Result<Response<Self::CleanRecordsStream>, Status> {
        let agency = self.serving.verifier(&request, "CleanRecords")?;
        let pace = match agency.cleaning {
            Cleaning::NotAllowed => {
                return Err(ApiError::CleaningNotAllowed {
                    agency: agency.id.clone(),
                }
                .into())
            }
            Cleaning::PerSecond(n) => Some(self.pacer.schedule(&agency.id, n)),
            Cleaning::Unlimited => None,
        };
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.unwrap_or_default();
        let job = Job::from_proto(first.job)?;
        tracing::info!(agency = %agency.id, job = %job.job_id, "cleaning job started");
        let state = Arc::new(JobState {
            store: Arc::clone(&self.store),
            serving: self.serving.clone(),
            agency,
            job,
        });
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        tokio::spawn(run(state, first.records, inbound, tx, pace));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

type Answer = Result<proto::CleanRecordsResponse, Status>;

/// Reads the job's batches, dispatches each to its own task and answers them in order.
async fn run(
    state: Arc<JobState>,
    mut records: Vec<proto::CleanRecord>,
    mut inbound: Streaming<proto::CleanRecordsRequest>,
    tx: mpsc::Sender<Answer>,
    pace: Option<Arc<Schedule>>,
) {
    let (order, mut in_order) = mpsc::channel::<JoinHandle<Answer>>(IN_FLIGHT);
    let answering = tokio::spawn(async move {
        let mut answered = 0usize;
        while let Some(handle) = in_order.recv().await {
            let answer = handle
                .await
                .unwrap_or_else(|_| Err(Status::internal("a cleaning batch failed")));
            let stop = answer.is_err();
            if let Ok(a) = &answer {
                answered += a.verdicts.len();
            }
            if tx.send(answer).await.is_err() || stop {
                break;
            }
        }
        answered
    });
    loop {
        if !records.is_empty() {
            let handle = match check_batch(records.len()) {
                Err(error) => {
                    let status = Status::from(error);
                    tokio::spawn(async move { Err(status) })
                }
                Ok(()) => {
                    if let Some(schedule) = &pace {
                        schedule.admit(records.len()).await;
                    }
                    tokio::spawn(Arc::clone(&state).batch(std::mem::take(&mut records)))
                }
            };
            let refused = !records.is_empty();
            if order.send(handle).await.is_err() || refused {
                break;
            }
        }
        match inbound.message().await {
            Ok(Some(message)) => records = message.records,
            // The client finished, or went away: what was dispatched is still answered.
            Ok(None) | Err(_) => break,
        }
    }
    drop(order);
    let answered = answering.await.unwrap_or_default();
    tracing::info!(agency = %state.agency.id, job = %state.job.job_id, records = answered, "cleaning job ended");
}
