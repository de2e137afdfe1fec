//! Appending: the async and blocking ways a batch reaches the sequencer's queue (served calls
//! ahead of reports), each resolving once its batch is durable, and the tests' appends.

use std::sync::{atomic::Ordering, Arc};

use tokio::sync::oneshot;

use super::{
    super::{
        event::AuditEvent,
        keys::now_ms,
        queue::{Job, Lane},
        AuditError,
    },
    AppendReceipt, AuditLog, EventKey,
};

impl AuditLog {
    /// TESTS ONLY (the `testing` feature). Closes the queue as a failing log would: every later
    /// append is refused (AUDIT_UNAVAILABLE for the call that needed it), so tests can check that
    /// nothing is served or changed unrecorded. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn refuse_appends_for_test(&self) {
        self.queue.close();
    }

    /// TESTS ONLY (the `testing` feature). Appends each batch as its own job, all queued at once
    /// so the sequencer commits them as one group (as concurrent callers' jobs are), and waits
    /// for each job's answer: tests can give a group a job the log of record refuses and see the
    /// others answered. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn append_together_for_test(
        &self,
        batches: Vec<Vec<AuditEvent>>,
    ) -> Vec<Result<AppendReceipt, AuditError>> {
        let (jobs, answers): (Vec<Job>, Vec<_>) = batches
            .into_iter()
            .map(|events| {
                let (ack, done) = oneshot::channel();
                let job = Job {
                    events,
                    received_at_ms: now_ms(),
                    probes: Vec::new(),
                    ack,
                    via_answerer: false,
                };
                (job, done)
            })
            .unzip();
        if self.queue.push_together(Lane::Ingest, jobs).is_err() {
            return answers.iter().map(|_| Err(AuditError::Closed)).collect();
        }
        answers
            .into_iter()
            .map(|done| self.count(done.blocking_recv().map_err(|_| AuditError::Closed)?))
            .collect()
    }

    /// Appends agencies' reported events; resolves once they are durable (or known duplicates).
    pub async fn append(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Ingest, events, now_ms()).await
    }

    /// [`AuditLog::append`] of reports the server took in at `received_at_ms` (the time their
    /// rules were checked against), which is stored with each. `probes` are the keys of client
    /// events of the same batch that were not accepted: the receipt says which of them the log
    /// already holds (a redelivery is a duplicate whatever the rules say now), as of the same
    /// commit, so no append can come between the check and the answer.
    pub async fn append_received(
        &self,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
        probes: Vec<EventKey>,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_job(Lane::Ingest, events, received_at_ms, probes)
            .await
    }

    /// Appends the record of a call the server served, ahead of queued reports; resolves once
    /// it is durable.
    pub async fn append_served(&self, event: AuditEvent) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Served, vec![event], now_ms()).await
    }

    /// Appends the records of several calls the server served together (a data-cleaning batch)
    /// as one job, ahead of queued reports; resolves once they are all durable.
    pub async fn append_served_batch(
        &self,
        events: Vec<AuditEvent>,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Served, events, now_ms()).await
    }

    /// Appends `events` received at `received_at_ms` through `lane`.
    async fn append_in(
        &self,
        lane: Lane,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_job(lane, events, received_at_ms, Vec::new())
            .await
    }

    /// Queues a job (waiting for room off the async workers when the lane is full) and
    /// resolves with its receipt once the sequencer has committed it.
    async fn append_job(
        &self,
        lane: Lane,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
        probes: Vec<EventKey>,
    ) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        let job = Job {
            events,
            received_at_ms,
            probes,
            ack,
            via_answerer: self.answerer.ready_here(),
        };
        match self.queue.push(lane, job, false) {
            Ok(()) => {}
            Err(None) => return Err(AuditError::Closed),
            // The queue is full: waiting for room blocks, so do it off the async workers.
            Err(Some(job)) => {
                let queue = Arc::clone(&self.queue);
                tokio::task::spawn_blocking(move || queue.push(lane, job, true))
                    .await
                    .map_err(|_| AuditError::Closed)?
                    .map_err(|_| AuditError::Closed)?;
            }
        }
        self.count(done.await.map_err(|_| AuditError::Closed)?)
    }

    /// Counts the events a successful append stored.
    fn count(
        &self,
        receipt: Result<AppendReceipt, AuditError>,
    ) -> Result<AppendReceipt, AuditError> {
        if let Ok(r) = &receipt {
            self.written.fetch_add(r.appended as u64, Ordering::Relaxed);
        }
        receipt
    }

    /// [`AuditLog::append`] for synchronous callers, which also waits until the events are in
    /// the query tables (so a query that follows sees them) unless projection is held.
    pub fn append_blocking(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        let job = Job {
            events,
            received_at_ms: now_ms(),
            probes: Vec::new(),
            ack,
            via_answerer: false,
        };
        self.queue
            .push(Lane::Ingest, job, true)
            .map_err(|_| AuditError::Closed)?;
        let receipt = self.count(done.blocking_recv().map_err(|_| AuditError::Closed)?)?;
        if !self.projector.as_ref().is_some_and(|p| p.progress().held()) {
            self.caught_up_blocking()?;
        }
        Ok(receipt)
    }
}
