//! The durable audit log: a sequencer thread that appends compact binary records to the log of
//! record in group commits, and a projector thread that derives the query tables after.
//!
//! `append` hands a batch to the sequencer and resolves only once the batch is durable. The
//! sequencer (`sequencer`) takes every batch waiting in the `queue` (served calls first, then
//! agencies' reports, up to a group's size), drops client events already stored (same event id: at-least-once
//! delivery, exactly-once storage), encodes the rest (`record`), extends the Merkle tree,
//! signs the new head and stores it all in one fsync'd commit (`store`); then it answers every
//! caller. That is all it does on the answer's path.
//!
//! The [`projector`] follows on its own thread: it reads what was acknowledged back from the
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

use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::{oneshot, watch};

pub use super::keys::{hex, load_or_create_secret, parse_hex, parse_public_key, SignedTreeHead};
use super::{
    event::AuditEvent,
    keys::now_ms,
    projector::{self, Projector},
    queue::{Job, Lane, Queue},
    sequencer::Sequencer,
    store::{LogOfRecord, SqliteLog},
    AuditError,
};

/// The day (since 1970-01-01, in Vietnam's time zone) of a Unix-ms instant.
pub(super) use crate::domain::vietnam::day_of as vietnam_day;

/// How long a query waits for the projector before giving up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);
/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The file names inside the data directory.
pub const DATABASE_FILE: &str = "audit.sqlite";
/// The query tables the projector derives from [`DATABASE_FILE`].
pub const QUERY_FILE: &str = "audit-query.sqlite";
pub const KEY_FILE: &str = "audit-signing.key";
/// The log's public key, hex, for auditors.
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
/// The key of the keyed hash under which citizens' numbers are recorded.
pub const SUBJECT_KEY_FILE: &str = "audit-subject.key";

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Events stored by this call.
    pub appended: usize,
    /// Events already in the log (same event id), not stored again.
    pub duplicates: usize,
    /// The log's size after the group commit that included this call.
    pub tree_size: u64,
    /// For each probed event id ([`AuditLog::append_received`]), whether the log holds it.
    pub probed: Vec<bool>,
}

/// Handle to the audit log; cheap to share behind an `Arc`.
pub struct AuditLog {
    queue: Arc<Queue>,
    sequencer: Option<JoinHandle<()>>,
    projector: Option<Projector>,
    /// Stops the checkpointer (by being dropped) and waits for it.
    checkpointer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    public_key: VerifyingKey,
    path: PathBuf,
    /// Events stored by this process (not duplicates), for the metrics endpoint.
    written: AtomicU64,
    /// The log's size as of the last acknowledged commit.
    acknowledged: Arc<AtomicU64>,
    /// The projector's applied position.
    applied: watch::Receiver<u64>,
}

impl AuditLog {
    /// Opens (or creates) the log in `data_dir`: checks the end of the log against its latest
    /// signed head (a damaged record stops start-up, naming it), rebuilds the tree's right edge,
    /// then starts the sequencer, the projector (which first catches up with anything
    /// acknowledged but not yet applied before the last stop) and the checkpointer.
    pub fn open(data_dir: &Path) -> Result<Self, AuditError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| AuditError::Key(format!("{}: {e}", data_dir.display())))?;
        let key = SigningKey::from_bytes(&load_or_create_secret(&data_dir.join(KEY_FILE))?);
        let public = data_dir.join(PUBLIC_KEY_FILE);
        if !public.exists() {
            std::fs::write(&public, hex(&key.verifying_key().to_bytes()) + "\n")
                .map_err(|e| AuditError::Key(format!("{}: {e}", public.display())))?;
        }
        let path = data_dir.join(DATABASE_FILE);
        let public_key = key.verifying_key();
        let sequencer = Sequencer::open(&path, key)?;
        let size = sequencer.size();
        let acknowledged = Arc::new(AtomicU64::new(size));
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE), size)?;
        let applied = projector.applied();
        let queue = Arc::new(Queue::default());
        let sequencer = {
            let (queue, acknowledged) = (Arc::clone(&queue), Arc::clone(&acknowledged));
            let mut sequencer = sequencer.answering(acknowledged, projector.progress());
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
            sequencer: Some(sequencer),
            projector: Some(projector),
            checkpointer: Some(checkpointer),
            public_key,
            path,
            written: AtomicU64::new(0),
            acknowledged,
            applied,
        })
    }

    /// TESTS ONLY. While set, committed groups are acknowledged but not projected, which is the
    /// state a crash between the log append and the projection leaves behind; the next open
    /// catches up. No flag or setting of `vnpop serve` reaches it.
    #[doc(hidden)]
    pub fn hold_projection_for_test(&self, hold: bool) {
        if let Some(projector) = &self.projector {
            projector.progress().hold(hold);
        }
    }

    /// Resolves once the query tables hold every event acknowledged before the call
    /// (read-your-writes for auditors' queries); an error if they stay behind for
    /// [`CATCH_UP_PATIENCE`] (the projector is failing: see the server's log).
    pub async fn caught_up(&self) -> Result<(), AuditError> {
        let target = self.acknowledged.load(Ordering::Acquire);
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
            Err(_) => Err(AuditError::Write(format!(
                "the query tables are behind the log (applied {} of {target} events)",
                *self.applied.borrow()
            ))),
        }
    }

    /// [`AuditLog::caught_up`] for synchronous callers.
    pub fn caught_up_blocking(&self) -> Result<(), AuditError> {
        let target = self.acknowledged.load(Ordering::Acquire);
        if *self.applied.borrow() >= target {
            return Ok(());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| AuditError::Write(e.to_string()))?
            .block_on(self.caught_up())
    }

    /// Appends agencies' reported events; resolves once they are durable (or known duplicates).
    pub async fn append(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Ingest, events, now_ms()).await
    }

    /// [`AuditLog::append`] of reports the server took in at `received_at_ms` (the time their
    /// rules were checked against), which is stored with each. `probes` are the ids of client
    /// events of the same batch that were not accepted: the receipt says which of them the log
    /// already holds (a redelivery is a duplicate whatever the rules say now), as of the same
    /// commit, so no append can come between the check and the answer.
    pub async fn append_received(
        &self,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
        probes: Vec<String>,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_job(Lane::Ingest, events, received_at_ms, probes)
            .await
    }

    /// Appends the record of a call the server served, ahead of queued reports; resolves once
    /// it is durable.
    pub async fn append_served(&self, event: AuditEvent) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Served, vec![event], now_ms()).await
    }

    async fn append_in(
        &self,
        lane: Lane,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_job(lane, events, received_at_ms, Vec::new())
            .await
    }

    async fn append_job(
        &self,
        lane: Lane,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
        probes: Vec<String>,
    ) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        let job = Job {
            events,
            received_at_ms,
            probes,
            ack,
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

    /// [`AuditLog::append`] for synchronous callers, which also waits until the events are in
    /// the query tables (so a query that follows sees them) unless projection is held.
    pub fn append_blocking(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        let job = Job {
            events,
            received_at_ms: now_ms(),
            probes: Vec::new(),
            ack,
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

    /// The key that verifies this log's tree heads.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
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
