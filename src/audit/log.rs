//! The durable audit log: a sequencer thread that appends compact binary records to the log of
//! record in group commits, and a projector thread that derives the query tables after.
//!
//! `append` hands a batch to the sequencer and resolves only once the batch is durable. The
//! sequencer (`sequencer`) takes every batch waiting in the `queue` (served calls first, then
//! agencies' reports, up to a group's size), drops client events already stored (same agency and
//! event id: at-least-once
//! delivery, exactly-once storage), encodes the rest (`record`), extends the Merkle tree,
//! signs the new head and stores it all in one fsync'd commit (`store`); then it answers every
//! caller — async callers on a multi-threaded runtime through one task there (`Answerer`), which
//! wakes them from a worker thread rather than from outside the runtime. That is all it does on
//! the answer's path.
//!
//! The `projector` follows on its own thread: it reads what was acknowledged back from the
//! log and applies it to the query tables (a separate file, never on the answer's path), and
//! publishes the position it has applied. Queries that must see everything acknowledged wait for
//! that position ([`AuditLog::caught_up`]). WAL checkpoints run on a thread of their own.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use tokio::sync::{oneshot, watch};

use super::{
    dedup::SpillConfig,
    event::AuditEvent,
    follower::Follower,
    keys::{now_ms, SigningKey, VerifyingKey},
    postgres::{Meta, PgStore},
    projector::{self, Projector, QuerySide, StateMemory},
    query::AuditReader,
    queue::{Answerer, Job, Lane, Queue},
    reads::{PooledReader, ReaderPool},
    sequencer::Sequencer,
    store::{LogOfRecord, SqliteLog},
    verify::{self, VerifyReport},
    AuditError,
};
pub use super::{
    dedup::STORED_IDS_DIR,
    follower::COPY_OF_FILE,
    keys::{
        hex, load_or_create_secret, parse_hex, parse_public_key, SignedTreeHead, KEY_FILE,
        PUBLIC_KEY_FILE, SUBJECT_KEY_FILE,
    },
    lock::{DataDirLock, LOCK_FILE},
    projector::{CITIZEN_FILE, QUERY_FILE},
    queue::{AppendReceipt, EventKey},
    store::DATABASE_FILE,
};

/// How long a query waits for the projector before giving up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);
/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// What an open log holds in memory, in bytes ([`AuditLog::memory`]; estimated from each
/// structure's capacity and its entries' sizes, the allocator's overhead not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditMemory {
    /// The sequencer's map of what is stored once (client event ids, call ids).
    pub stored_ids: u64,
    /// The query side's state.
    pub state: StateMemory,
}

impl AuditMemory {
    /// Every part together.
    pub fn total(&self) -> u64 {
        self.stored_ids + self.state.dossiers + self.state.unverified + self.state.rollups
    }
}

/// A read of the log that sees every event acknowledged before [`AuditLog::caught_up_read`]
/// was called: only that wait makes one.
#[derive(Debug)]
pub(crate) struct CaughtUpRead {
    path: PathBuf,
    side: Option<QuerySide>,
    readers: Arc<ReaderPool>,
}

impl CaughtUpRead {
    /// A reader (blocking: on the blocking pool): one from the pool, given the projector's
    /// query side as it is now, or a new one. Without a projector (no query side in memory)
    /// a reader of its own, which derives the query side from the files.
    pub(crate) fn open(&self) -> Result<PooledReader, AuditError> {
        let Some(side) = &self.side else {
            return Ok(PooledReader::alone(AuditReader::open(&self.path)?));
        };
        let reader = match self.readers.take() {
            Some(reader) => {
                reader.read_side(side.clone());
                reader
            }
            None => AuditReader::open_with(&self.path, side.clone())?,
        };
        Ok(self.readers.lend(reader))
    }
}

/// Handle to the audit log; cheap to share behind an `Arc`.
pub struct AuditLog {
    queue: Arc<Queue>,
    /// Wakes async appenders once their group is committed, from their own runtime.
    answerer: Arc<Answerer>,
    sequencer: Option<JoinHandle<()>>,
    projector: Option<Projector>,
    /// Stops the checkpointer (by being dropped) and waits for it.
    checkpointer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    public_key: VerifyingKey,
    /// The log's key again (the sequencer owns its own copy), to sign checkpoints of heads the
    /// log committed.
    signer: SigningKey,
    path: PathBuf,
    /// Events stored by this process (not duplicates), for the metrics endpoint.
    written: AtomicU64,
    /// The log's size as of the last acknowledged commit.
    acknowledged: Arc<AtomicU64>,
    /// The projector's applied position.
    applied: watch::Receiver<u64>,
    /// The bytes the sequencer's stored ids hold, as it last published them.
    ids_memory: Arc<AtomicU64>,
    /// In a fleet: the shared database, and the thread copying it into [`DATABASE_FILE`].
    fleet: Option<(PgStore, Follower)>,
    /// Readers kept open between auditors' queries.
    readers: Arc<ReaderPool>,
    /// The data directory's lock, held while the log is open (released last, on drop).
    _lock: DataDirLock,
}

/// Where the sequencer's older stored ids go: the data directory's [`STORED_IDS_DIR`].
fn spill(data_dir: &Path) -> Option<SpillConfig> {
    Some(SpillConfig::in_dir(data_dir.join(STORED_IDS_DIR)))
}

impl AuditLog {
    /// Opens (or creates) the log in the data directory `lock` holds: checks the end of the log against its latest
    /// signed head (a damaged record stops start-up, naming it), rebuilds the tree's right edge,
    /// then starts the sequencer, the projector (which first catches up with anything
    /// acknowledged but not yet applied before the last stop) and the checkpointer.
    pub fn open(lock: DataDirLock) -> Result<Self, AuditError> {
        let data_dir = lock.dir();
        let key = super::keys::open(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let signer = super::keys::open(data_dir)?;
        // The projector derives the query side from the log while the sequencer reads it to
        // recover.
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE))?;
        let sequencer = SqliteLog::open_for_writing(&path)
            .and_then(|log| Sequencer::open(log, key, spill(data_dir)));
        let sequencer = sequencer.inspect_err(|_| projector.abandon())?;
        let size = sequencer.size();
        projector.acknowledge(size);
        let acknowledged = Arc::new(AtomicU64::new(size));
        let sequencer = sequencer.answering(Arc::clone(&acknowledged), projector.progress());
        Self::run(sequencer, projector, None, signer, path, acknowledged, lock)
    }

    /// Opens the log of record a fleet of servers shares in `store` (see
    /// [`super::postgres`]), with this server's keys and its own copy of the log and query
    /// tables in the data directory `lock` holds. The first server to open the database makes its keys the fleet's;
    /// the others must have the same (their key files copied from it) or are refused.
    pub fn open_fleet(lock: DataDirLock, store: &PgStore) -> Result<Self, AuditError> {
        let data_dir = lock.dir();
        let key = super::keys::open(data_dir)?;
        let public_key = key.verifying_key();
        let subject_key = load_or_create_secret(&data_dir.join(SUBJECT_KEY_FILE))?;
        let mut log_id = [0u8; 16];
        getrandom::fill(&mut log_id).map_err(|e| AuditError::Key(e.to_string()))?;
        let ours = Meta {
            log_id: hex(&log_id),
            public_key: public_key.to_bytes(),
            subject_key_check: Meta::subject_key_check(&subject_key),
        };
        let fleet = store.claim(&ours)?;
        for (differs, file) in [
            (fleet.public_key != ours.public_key, KEY_FILE),
            (
                fleet.subject_key_check != ours.subject_key_check,
                SUBJECT_KEY_FILE,
            ),
        ] {
            if differs {
                return Err(AuditError::Key(format!(
                    "{} is not the fleet's: every server of a fleet signs with one key and records citizens under one subject key; copy {KEY_FILE}, {PUBLIC_KEY_FILE} and {SUBJECT_KEY_FILE} from the data directory of a server already in the fleet ({}) into {}",
                    data_dir.join(file).display(),
                    store.shown(),
                    data_dir.display()
                )));
            }
        }
        let path = data_dir.join(DATABASE_FILE);
        let copied = super::follower::open_copy(data_dir, store, &fleet.log_id)?;
        let sequencer = Sequencer::open(store.log()?, key, spill(data_dir))?;
        let signer = super::keys::open(data_dir)?;
        let acknowledged = Arc::new(AtomicU64::new(copied));
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE))?;
        projector.acknowledge(copied);
        let follower = Follower::start(store, &path, copied, projector.progress())?;
        let sequencer = sequencer.handing_over(follower.handover());
        Self::run(
            sequencer,
            projector,
            Some((store.clone(), follower)),
            signer,
            path,
            acknowledged,
            lock,
        )
    }

    /// Starts the sequencer's thread and the checkpointer.
    fn run<L: LogOfRecord + Send + 'static>(
        sequencer: Sequencer<L>,
        projector: Projector,
        fleet: Option<(PgStore, Follower)>,
        signer: SigningKey,
        path: PathBuf,
        acknowledged: Arc<AtomicU64>,
        lock: DataDirLock,
    ) -> Result<Self, AuditError> {
        let applied = projector.applied();
        let ids_memory = sequencer.ids_memory();
        tracing::info!(
            events = sequencer.size(),
            read_back = sequencer.size() - sequencer.checkpointed(),
            "audit log open: the records after the stored ids' checkpoint read back"
        );
        let queue = Arc::new(Queue::default());
        let answerer = Arc::new(Answerer::default());
        let mut sequencer = sequencer.answering_through(Arc::clone(&answerer));
        let sequencer = {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("audit-sequencer".into())
                .spawn(move || {
                    while let Some(group) = queue.take() {
                        sequencer.commit_group(group);
                    }
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        let checkpointer = spawn_checkpointer(&path)?;
        Ok(AuditLog {
            queue,
            answerer,
            sequencer: Some(sequencer),
            projector: Some(projector),
            checkpointer: Some(checkpointer),
            public_key: signer.verifying_key(),
            signer,
            path,
            written: AtomicU64::new(0),
            acknowledged,
            applied,
            ids_memory,
            fleet,
            readers: Arc::default(),
            _lock: lock,
        })
    }

    /// TESTS ONLY (the `testing` feature). Closes the queue as a failing log would: every later
    /// append is refused (AUDIT_UNAVAILABLE for the call that needed it), so tests can check that
    /// nothing is served or changed unrecorded. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn refuse_appends_for_test(&self) {
        self.queue.close();
    }

    /// TESTS ONLY (the `testing` feature). While set, committed groups are acknowledged but not
    /// projected, which is the state a crash between the log append and the projection leaves
    /// behind; the next open catches up. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn hold_projection_for_test(&self, hold: bool) {
        if let Some(projector) = &self.projector {
            projector.progress().hold(hold);
        }
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

    /// Resolves once the query tables hold every event acknowledged before the call
    /// (read-your-writes for auditors' queries); an error if they stay behind for
    /// `CATCH_UP_PATIENCE` (the projector is failing: see the server's log).
    /// In a fleet, "acknowledged" is what every server had committed to the shared database
    /// when the call began.
    pub async fn caught_up(&self) -> Result<(), AuditError> {
        let target = match &self.fleet {
            Some((store, follower)) => tokio::time::timeout(CATCH_UP_PATIENCE, follower.sync())
                .await
                .map_err(|_| {
                    AuditError::Store(format!(
                        "{} did not answer within {CATCH_UP_PATIENCE:?}",
                        store.shown()
                    ))
                })??,
            None => self.acknowledged.load(Ordering::Acquire),
        };
        if *self.applied.borrow() < target {
            if let Some(projector) = &self.projector {
                projector.progress().hurry();
            }
        }
        let mut applied = self.applied.clone();
        let waited = tokio::time::timeout(
            CATCH_UP_PATIENCE,
            applied.wait_for(|&position| position >= target),
        )
        .await
        .map(|result| result.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuditError::Closed),
            Err(_) => Err(AuditError::Behind {
                applied: *self.applied.borrow(),
                target,
            }),
        }
    }

    /// Waits as [`AuditLog::caught_up`] does, then hands out the read it guards: the one way the
    /// AuditTrail service opens an [`AuditReader`], so no auditor query can skip the wait.
    pub(crate) async fn caught_up_read(&self) -> Result<CaughtUpRead, AuditError> {
        self.caught_up().await?;
        Ok(CaughtUpRead {
            path: self.path.clone(),
            side: self.projector.as_ref().map(Projector::side),
            readers: Arc::clone(&self.readers),
        })
    }

    /// [`AuditLog::caught_up`] for synchronous callers.
    pub fn caught_up_blocking(&self) -> Result<(), AuditError> {
        let target = self.acknowledged.load(Ordering::Acquire);
        if self.fleet.is_none() && *self.applied.borrow() >= target {
            return Ok(());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| AuditError::Write(e.to_string()))?
            .block_on(self.caught_up())
    }

    /// [`AuditLog::caught_up_blocking`], then a reader as the AuditTrail service opens one
    /// (reading the projector's citizen index as it stands).
    pub fn caught_up_reader_blocking(&self) -> Result<PooledReader, AuditError> {
        self.caught_up_blocking()?;
        CaughtUpRead {
            path: self.path.clone(),
            side: self.projector.as_ref().map(Projector::side),
            readers: Arc::clone(&self.readers),
        }
        .open()
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

    /// Events this process has stored in the log since it opened it.
    pub fn events_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The projector's applied position: the query tables hold every event before it, so an
    /// auditor's query started now sees that many events without waiting. Benchmarks follow it
    /// to time queryable ingest.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Events acknowledged but not yet applied to the query side: what an auditor's query
    /// started now waits for.
    pub fn projection_behind(&self) -> u64 {
        self.acknowledged
            .load(Ordering::Acquire)
            .saturating_sub(self.applied())
    }

    /// What the log holds in memory besides the store's caches: the sequencer's stored ids
    /// (the dedup map, as last published: every 65,536 events) and the query side's state.
    pub fn memory(&self) -> AuditMemory {
        let state = self
            .projector
            .as_ref()
            .map(|projector| projector.side().memory())
            .unwrap_or_default();
        AuditMemory {
            stored_ids: self.ids_memory.load(Ordering::Relaxed),
            state,
        }
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

    /// Readers idle in the pool (for tests).
    #[cfg(test)]
    pub(crate) fn readers_idle(&self) -> usize {
        self.readers.idle()
    }

    /// The key that verifies this log's tree heads.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// `head` (one this log signed) as a signed C2SP checkpoint ([`super::checkpoint`]).
    pub fn checkpoint(&self, head: &SignedTreeHead) -> String {
        super::checkpoint::checkpoint(head.tree_size, &head.root, &self.signer)
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Recomputes the log of record — the fleet's database, or the file — and checks it
    /// against the signed heads (blocking: run it off the async workers).
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        match &self.fleet {
            Some((store, _)) => verify::verify_store(store, &self.public_key),
            None => verify::verify_file(&self.path, &self.public_key),
        }
    }

    /// The newest signed tree head, if anything was ever written.
    pub fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        SqliteLog::open(&self.path)?.latest_head()
    }
}

impl Drop for AuditLog {
    /// Lets the sequencer finish what is queued and the projector apply it, then waits for
    /// them and the checkpointer.
    fn drop(&mut self) {
        self.queue.close();
        if let Some(sequencer) = self.sequencer.take() {
            let _ = sequencer.join();
        }
        // The follower copies the last groups before the projector applies them.
        drop(self.fleet.take());
        drop(self.projector.take());
        if let Some((stop, checkpointer)) = self.checkpointer.take() {
            drop(stop);
            let _ = checkpointer.join();
        }
    }
}

/// Derives the query tables of the log in `data_dir` again from its first event (the log must
/// not be open for writing). Returns the number of events applied.
pub fn rebuild_projection(data_dir: &Path) -> Result<u64, AuditError> {
    projector::rebuild(&data_dir.join(DATABASE_FILE), &data_dir.join(QUERY_FILE))
}

/// Starts the thread that checkpoints the write-ahead log every [`CHECKPOINT_EVERY`] (passive:
/// it never blocks the sequencer) until its sender is dropped.
fn spawn_checkpointer(path: &Path) -> Result<(mpsc::Sender<()>, JoinHandle<()>), AuditError> {
    let log = SqliteLog::open(path)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("audit-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(error) = log.checkpoint() {
                    tracing::warn!(%error, "audit WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| AuditError::Key(e.to_string()))?;
    Ok((stop, thread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::test_dossier;

    fn dossier(id: &str) -> Vec<AuditEvent> {
        vec![test_dossier(id, "Quận Ba Đình", "cb01", 1_700_000_000_000)]
    }

    /// Async appenders on a multi-threaded runtime are answered through the answering task
    /// there; once that runtime is gone, appenders of another runtime (of either flavour) and
    /// synchronous ones are answered by the sequencer: nobody waits on a runtime that cannot
    /// run the task.
    #[test]
    fn appenders_are_answered_with_or_without_the_answering_task() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap());
        let first = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let sizes = first.block_on(async {
            let appends = (0..20).map(|i| {
                let log = Arc::clone(&log);
                tokio::spawn(
                    async move { log.append_served(dossier(&format!("A{i}")).remove(0)).await },
                )
            });
            let mut sizes = Vec::new();
            for append in appends {
                sizes.push(append.await.unwrap().unwrap().tree_size);
            }
            sizes
        });
        assert!(sizes.iter().all(|&size| (1..=20).contains(&size)));
        assert_eq!(log.answerer.running(), Some(true));
        drop(first);
        assert_eq!(log.answerer.running(), Some(false));
        let second = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let receipt = second.block_on(log.append(dossier("B"))).unwrap();
        assert_eq!(receipt.tree_size, 21);
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let receipt = current.block_on(log.append(dossier("C"))).unwrap();
        assert_eq!(receipt.tree_size, 22);
        assert_eq!(log.append_blocking(dossier("D")).unwrap().tree_size, 23);
    }
}
