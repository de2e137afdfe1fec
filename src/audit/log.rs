//! The durable audit log: a sequencer thread that appends compact binary records to the log of
//! record in group commits, and a projector thread that derives the query tables after.
//!
//! `append` hands a batch to the sequencer and resolves only once the batch is durable. The
//! sequencer takes every batch waiting (served calls first, then agencies' reports, up to
//! [`MAX_GROUP`] events), drops client events already stored (same event id: at-least-once
//! delivery, exactly-once storage), encodes the rest ([`record`]), extends the Merkle tree,
//! signs the new head and stores it all in one fsync'd commit ([`store`]); then it answers every
//! caller. That is all it does on the answer's path.
//!
//! The [`projector`] follows on its own thread: it reads what was acknowledged back from the
//! log and applies it to the query tables (a separate file, never on the answer's path), and
//! publishes the position it has applied. Queries that must see everything acknowledged wait for
//! that position ([`AuditLog::caught_up`]). WAL checkpoints run on a thread of their own.

use std::{
    collections::{HashMap, VecDeque},
    hash::BuildHasher,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Condvar, Mutex,
    },
    thread::JoinHandle,
    time::Duration,
};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use tokio::sync::{oneshot, watch};

pub use super::keys::{hex, load_or_create_secret, parse_hex, parse_public_key, SignedTreeHead};
use super::{
    event::{AuditEvent, EventSource},
    keys::now_ms,
    merkle::{leaf_hash, Frontier, Hash, BLOCK_LEAVES},
    projector::{self, Projector},
    record::{self, Dictionary},
    store::{self, Group, LogOfRecord, SqliteLog, RUN},
    AuditError,
};

/// The day (since 1970-01-01, in Vietnam's time zone) of a Unix-ms instant.
pub(super) use crate::domain::vietnam::day_of as vietnam_day;

/// Most events written in one group commit.
const MAX_GROUP: usize = 20_000;
/// Batches waiting per lane before `append` waits for the sequencer.
const QUEUE: usize = 1024;
/// How long a query waits for the projector before giving up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);
/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Events after which the sequencer itself, after answering, finishes a checkpoint: under
/// sustained writes the checkpointer's passes never reach the end of the write-ahead log, which
/// restarts from its beginning only once a pass has.
const WRITER_CHECKPOINT_EVENTS: u64 = 65_536;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Events stored by this call.
    pub appended: usize,
    /// Events already in the log (same event id), not stored again.
    pub duplicates: usize,
    /// The log's size after the group commit that included this call.
    pub tree_size: u64,
}

/// Which queue a batch waits in: served calls go to the log ahead of agencies' reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Served,
    Ingest,
}

struct Job {
    events: Vec<AuditEvent>,
    received_at_ms: i64,
    ack: oneshot::Sender<Result<AppendReceipt, AuditError>>,
}

/// The sequencer's two queues.
#[derive(Default)]
struct Queues {
    served: VecDeque<Job>,
    ingest: VecDeque<Job>,
    closed: bool,
}

/// The queues with their wake-ups: `ready` for the sequencer, `room` for waiting appenders.
#[derive(Default)]
struct Queue {
    queues: Mutex<Queues>,
    ready: Condvar,
    room: Condvar,
}

impl Queue {
    /// Queues a job, waiting for room if `wait`; gives it back when full (and not waiting) or
    /// closed (as `Err(Some)` / `Err(None)`).
    fn push(&self, lane: Lane, job: Job, wait: bool) -> Result<(), Option<Job>> {
        let mut queues = self.queues.lock().expect("queue lock");
        loop {
            if queues.closed {
                return Err(None);
            }
            let queue = match lane {
                Lane::Served => &mut queues.served,
                Lane::Ingest => &mut queues.ingest,
            };
            if queue.len() < QUEUE {
                queue.push_back(job);
                self.ready.notify_one();
                return Ok(());
            }
            if !wait {
                return Err(Some(job));
            }
            queues = self.room.wait(queues).expect("queue lock");
        }
    }

    /// Waits for work and takes a group: every served call waiting, then reports, up to
    /// [`MAX_GROUP`] events. `None` once closed and drained.
    fn take(&self) -> Option<Vec<Job>> {
        let mut queues = self.queues.lock().expect("queue lock");
        while queues.served.is_empty() && queues.ingest.is_empty() {
            if queues.closed {
                return None;
            }
            queues = self.ready.wait(queues).expect("queue lock");
        }
        let mut group = Vec::new();
        let mut count = 0;
        while count < MAX_GROUP {
            let Some(job) = queues
                .served
                .pop_front()
                .or_else(|| queues.ingest.pop_front())
            else {
                break;
            };
            count += job.events.len();
            group.push(job);
        }
        self.room.notify_all();
        Some(group)
    }

    fn close(&self) {
        self.queues.lock().expect("queue lock").closed = true;
        self.ready.notify_all();
        self.room.notify_all();
    }
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

/// What opening finds in the log: its tree, its dictionary and the client event ids stored.
struct Recovered {
    frontier: Frontier,
    dictionary: Dictionary,
    ids: EventIds,
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
        let mut log = SqliteLog::open(&path)?;
        let public_key = key.verifying_key();
        let recovered = recover(&mut log, &public_key)?;
        // No checkpoint inside a commit an answer waits for; the file goes back to 64 MiB at
        // most once a checkpoint completes.
        log.connection()
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        log.connection()
            .pragma_update(None, "journal_size_limit", 64 << 20)?;
        let size = recovered.frontier.size();
        let acknowledged = Arc::new(AtomicU64::new(size));
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE), size)?;
        let applied = projector.applied();
        let queue = Arc::new(Queue::default());
        let sequencer = {
            let (queue, acknowledged) = (Arc::clone(&queue), Arc::clone(&acknowledged));
            let progress = projector.progress();
            let mut sequencer = Sequencer {
                log,
                frontier: recovered.frontier,
                dictionary: recovered.dictionary,
                ids: recovered.ids,
                key,
                acknowledged,
                progress,
                since_checkpoint: 0,
                scratch: Vec::new(),
            };
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
    /// rules were checked against), which is stored with each.
    pub async fn append_received(
        &self,
        events: Vec<AuditEvent>,
        received_at_ms: i64,
    ) -> Result<AppendReceipt, AuditError> {
        self.append_in(Lane::Ingest, events, received_at_ms).await
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
        let (ack, done) = oneshot::channel();
        let job = Job {
            events,
            received_at_ms,
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

/// The client event ids stored, for deduplication: a 64-bit hash of each id → its position.
/// A hash shared by two different ids (rare) keeps the later ones in `exact`.
#[derive(Default)]
struct EventIds {
    by_hash: HashMap<u64, u64>,
    exact: HashMap<Box<[u8]>, u64>,
    hasher: foldhash::fast::FixedState,
}

impl EventIds {
    fn hash(&self, id: &[u8]) -> u64 {
        self.hasher.hash_one(id)
    }
}

/// Reads the whole log once at start: checks every record's checksum (a damaged one stops
/// start-up, naming it), collects the client event ids, rebuilds the tree's right edge from
/// the stored block roots and the leaves after them, and checks that it hashes to the latest
/// signed head. When the block roots do not (they are derived data), the tree is rebuilt from
/// every leaf, and the roots restored if that matches.
fn recover(log: &mut SqliteLog, key: &VerifyingKey) -> Result<Recovered, AuditError> {
    let mut dictionary = log.dictionary()?;
    let size = log.size()?;
    let mut ids = EventIds::default();
    log.scan(
        0,
        size,
        &mut |raw| {
            if !record::checks(raw.seq, raw.payload, raw.crc) {
                return Err(store::damaged_record(
                    raw.seq,
                    &record::RecordError::Checksum,
                ));
            }
            if let Some(id) = record::client_event_id(raw.payload)
                .map_err(|e| store::damaged_record(raw.seq, &e))?
            {
                let hash = ids.hash(id);
                if ids.by_hash.insert(hash, raw.seq).is_some() {
                    // Keep both: the exact map settles which is which.
                    ids.exact.insert(id.into(), raw.seq);
                }
            }
            Ok(true)
        },
        &mut |damage| Err(store::damage_error(&damage)),
    )?;
    let head = log.latest_head()?;
    super::verify::check_head(head.as_ref(), size, key)?;
    let complete = size / BLOCK_LEAVES;
    let blocks = log.blocks(0, complete)?;
    let mut frontier = Frontier::new();
    if blocks.len() as u64 == complete
        && blocks
            .iter()
            .enumerate()
            .all(|(i, (b, r))| *b == i as u64 && r.len() == 32)
    {
        for (_, root) in &blocks {
            frontier.push_block(root[..].try_into().expect("32 bytes"));
        }
    }
    let start = frontier.size();
    let mut push_leaves =
        |frontier: &mut Frontier, from: u64| -> Result<Vec<(u64, Hash)>, AuditError> {
            let mut completed = Vec::new();
            log.events(&mut dictionary, from, size, &mut |stored| {
                let leaf = leaf_hash(&record::leaf_bytes(
                    stored.seq,
                    &stored.event,
                    stored.received_at_ms,
                ));
                if let Some(block) = frontier.push(leaf) {
                    completed.push((frontier.size() / BLOCK_LEAVES - 1, block));
                }
                Ok(true)
            })?;
            Ok(completed)
        };
    let completed = push_leaves(&mut frontier, start)?;
    if head.as_ref().is_some_and(|h| h.root != frontier.root()) {
        // Perhaps only the derived block roots are damaged: recompute from every leaf.
        let mut full = Frontier::new();
        let completed = push_leaves(&mut full, 0)?;
        if head.as_ref().is_some_and(|h| h.root != full.root()) {
            let found = super::verify::first_tamper(log, key)?;
            return Err(AuditError::Corrupt(match found {
                Some(tamper) => format!("{tamper}; run `vnpop audit verify` for the whole log"),
                None => "the stored events do not hash to the root of the latest signed tree head"
                    .into(),
            }));
        }
        tracing::warn!(
            "audit log: stored Merkle block roots did not match the events; restored them"
        );
        log.restore_blocks(&completed)?;
        frontier = full;
    } else if !completed.is_empty() {
        // Missing block roots (derived data): stored again.
        log.restore_blocks(&completed)?;
    }
    Ok(Recovered {
        frontier,
        dictionary,
        ids,
    })
}

/// The sequencer: owns the log's write side, the tree's right edge, the dictionary and the
/// stored event ids.
struct Sequencer {
    log: SqliteLog,
    frontier: Frontier,
    dictionary: Dictionary,
    ids: EventIds,
    key: SigningKey,
    acknowledged: Arc<AtomicU64>,
    progress: Arc<projector::Progress>,
    /// Events written since the sequencer last finished a checkpoint.
    since_checkpoint: u64,
    scratch: Vec<u8>,
}

/// What encoding a group produced, before it is stored.
struct Encoded {
    group: Group,
    receipts: Vec<AppendReceipt>,
    /// Event ids added to [`EventIds`] by this group, removed again if the commit fails.
    new_ids: Vec<(u64, Option<Box<[u8]>>)>,
}

impl Sequencer {
    /// Stores one group and answers its callers.
    fn commit_group(&mut self, jobs: Vec<Job>) {
        let before = (self.frontier.clone(), self.dictionary.len());
        let encoded = self.encode(&jobs);
        let result = match encoded {
            Ok(encoded) => match self.log.append(&encoded.group) {
                Ok(()) => Ok(encoded.receipts),
                Err(error) => {
                    self.forget(encoded.new_ids);
                    Err(error)
                }
            },
            Err(error) => Err(error),
        };
        match result {
            Ok(receipts) => {
                let size = self.frontier.size();
                let stored: u64 = receipts.iter().map(|r| r.appended as u64).sum();
                self.acknowledged.store(size, Ordering::Release);
                for (job, receipt) in jobs.into_iter().zip(receipts) {
                    let _ = job.ack.send(Ok(receipt));
                }
                self.progress.acknowledge(size);
                self.checkpoint(stored);
            }
            Err(error) => {
                // Nothing of the group was stored: the tree and dictionary are as before.
                self.frontier = before.0;
                self.dictionary.truncate(before.1);
                tracing::error!(%error, "audit group commit failed");
                for job in jobs {
                    let _ = job.ack.send(Err(AuditError::Write(error.to_string())));
                }
            }
        }
    }

    fn forget(&mut self, new_ids: Vec<(u64, Option<Box<[u8]>>)>) {
        for (hash, exact) in new_ids {
            match exact {
                Some(id) => drop(self.ids.exact.remove(&id)),
                None => drop(self.ids.by_hash.remove(&hash)),
            }
        }
    }

    /// Whether the client event `id` is already stored (or earlier in this group, whose
    /// events start at `group_start` and are `pending`).
    fn stored(
        &self,
        id: &[u8],
        hash: u64,
        group_start: u64,
        pending: &[&[u8]],
    ) -> Result<bool, AuditError> {
        if self.ids.exact.contains_key(id) {
            return Ok(true);
        }
        let Some(&seq) = self.ids.by_hash.get(&hash) else {
            return Ok(false);
        };
        if seq >= group_start {
            return Ok(pending.get((seq - group_start) as usize) == Some(&id));
        }
        let mut same = false;
        self.log.scan(
            seq,
            seq + 1,
            &mut |raw| {
                same = record::client_event_id(raw.payload).ok().flatten() == Some(id);
                Ok(false)
            },
            &mut |damage| Err(store::damage_error(&damage)),
        )?;
        Ok(same)
    }

    fn encode(&mut self, jobs: &[Job]) -> Result<Encoded, AuditError> {
        let group_start = self.frontier.size();
        let mut group = Group::default();
        let mut receipts = Vec::with_capacity(jobs.len());
        let mut new_ids = Vec::new();
        // The id (client events) of each event added by this group, by position.
        let mut pending: Vec<&[u8]> = Vec::new();
        let mut run: (u64, usize, Vec<u8>) = (group_start, 0, Vec::new());
        for job in jobs {
            let (mut appended, mut duplicates) = (0, 0);
            for event in &job.events {
                let seq = self.frontier.size();
                let id = event.event_id.as_bytes();
                if event.source == EventSource::Client {
                    let hash = self.ids.hash(id);
                    if self.stored(id, hash, group_start, &pending)? {
                        duplicates += 1;
                        continue;
                    }
                    if let Some(previous) = self.ids.by_hash.insert(hash, seq) {
                        // Another id with the same hash: keep it reachable exactly.
                        self.ids.by_hash.insert(hash, previous);
                        self.ids.exact.insert(id.into(), seq);
                        new_ids.push((hash, Some(id.into())));
                    } else {
                        new_ids.push((hash, None));
                    }
                }
                pending.push(if event.source == EventSource::Client {
                    id
                } else {
                    &[]
                });
                record::encode(
                    seq,
                    event,
                    job.received_at_ms,
                    &mut self.dictionary,
                    &mut group.strings,
                    &mut self.scratch,
                    &mut run.2,
                );
                run.1 += 1;
                let leaf = leaf_hash(&record::leaf_bytes(seq, event, job.received_at_ms));
                if let Some(block) = self.frontier.push(leaf) {
                    group
                        .blocks
                        .push((self.frontier.size() / BLOCK_LEAVES - 1, block));
                }
                if run.1 == RUN {
                    let next = (self.frontier.size(), 0, Vec::new());
                    group.runs.push(std::mem::replace(&mut run, next));
                }
                appended += 1;
            }
            receipts.push((appended, duplicates));
        }
        if run.1 > 0 {
            group.runs.push(run);
        }
        let size = self.frontier.size();
        if size > group_start {
            let root = self.frontier.root();
            let signed_at_ms = now_ms();
            let signature = self
                .key
                .sign(&SignedTreeHead::message(size, signed_at_ms, &root));
            group.head = Some(SignedTreeHead {
                tree_size: size,
                root,
                signed_at_ms,
                signature: signature.to_bytes(),
            });
        }
        Ok(Encoded {
            group,
            receipts: receipts
                .into_iter()
                .map(|(appended, duplicates)| AppendReceipt {
                    appended,
                    duplicates,
                    tree_size: size,
                })
                .collect(),
            new_ids,
        })
    }

    /// After answering: every [`WRITER_CHECKPOINT_EVENTS`], a passive checkpoint on the
    /// sequencer's own connection, which no write races, so it reaches the end of the
    /// write-ahead log (the checkpointer thread has copied most of it already).
    fn checkpoint(&mut self, events: u64) {
        self.since_checkpoint += events;
        if self.since_checkpoint < WRITER_CHECKPOINT_EVENTS {
            return;
        }
        self.since_checkpoint = 0;
        if let Err(error) = self.log.checkpoint() {
            tracing::warn!(%error, "audit WAL checkpoint failed");
        }
    }
}
