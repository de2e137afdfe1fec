//! The durable audit log: an SQLite file in WAL mode with a single writer thread that commits in
//! groups, and a Merkle tree over its rows whose head is signed after every commit.
//!
//! `append` hands a batch to the writer and resolves only once the batch is durable: the writer
//! (the sequencer) takes every batch waiting in its queue (up to `MAX_GROUP` events), inserts
//! them into the log of record (`events`) in one transaction, signs the new tree head in the same
//! transaction, commits (one fsync for the whole group), then acknowledges every caller. Events
//! already present (same `event_id`) are acknowledged as duplicates and add no leaf:
//! at-least-once delivery, exactly-once storage.
//!
//! Only then, off the answer's path, the same thread hands the group to the
//! [`projector`](super::projector), which derives the query tables in its own unsynced
//! transaction and records the position it has applied. Queries that must see everything
//! acknowledged wait for that position ([`AuditLog::caught_up`]). WAL checkpoints run on a
//! thread of their own, never in a commit the answer waits for.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{oneshot, watch};

use super::{
    event::{AuditEvent, EventKind},
    merkle::{leaf_hash, Frontier, Hash, BLOCK_LEAVES},
    projector, AuditError,
};

/// The day (since 1970-01-01, in Vietnam's time zone) of a Unix-ms instant.
pub(super) use crate::domain::vietnam::day_of as vietnam_day;

/// Most events written in one transaction.
const MAX_GROUP: usize = 20_000;
/// Queue length (in batches) before `append` waits for the writer.
const QUEUE: usize = 1024;
/// How long a query waits for the projector before giving up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);
/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Events after which the writer itself, after answering, finishes a checkpoint: under
/// sustained writes the checkpointer's passes never reach the end of the write-ahead log, which
/// restarts from its beginning only once a pass has.
const WRITER_CHECKPOINT_EVENTS: u64 = 32_768;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq            INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    source         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    dossier_id     TEXT NOT NULL,
    agency_id      TEXT NOT NULL,
    district       TEXT NOT NULL,
    officer_id     TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    load_test      INTEGER NOT NULL,
    procedure      TEXT,
    channel        TEXT,
    rpc            TEXT,
    outcome        TEXT,
    purpose        TEXT,
    subject        TEXT,
    leaf_hash      BLOB NOT NULL
);
-- Derived from events by the writer, in the same transaction: one row per dossier with its
-- lookup counts, so ratio queries read dossiers rather than every event.
CREATE TABLE IF NOT EXISTS dossiers (
    agency_id      TEXT NOT NULL,
    dossier_id     TEXT NOT NULL,
    district       TEXT,
    officer_id     TEXT,
    procedure      TEXT,
    channel        TEXT,
    received_at_ms INTEGER,
    load_test      INTEGER NOT NULL DEFAULT 0,
    -- verifications reported by the agency's client for this dossier
    lookups        INTEGER NOT NULL DEFAULT 0,
    -- verifications the server observed serving for this dossier
    served         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agency_id, dossier_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dossiers_by_received ON dossiers (received_at_ms);
-- Per Vietnam day and dossier attributes: the dossier counts the ratio queries sum, so a query
-- over years of events reads thousands of rows, not millions.
CREATE TABLE IF NOT EXISTS ratio_rollup (
    day        INTEGER NOT NULL,
    agency_id  TEXT NOT NULL,
    district   TEXT NOT NULL,
    officer_id TEXT NOT NULL,
    procedure  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    load_test  INTEGER NOT NULL,
    dossiers   INTEGER NOT NULL,
    lookups    INTEGER NOT NULL,
    covered    INTEGER NOT NULL,
    served     INTEGER NOT NULL,
    PRIMARY KEY (day, agency_id, district, officer_id, procedure, channel, load_test)
) WITHOUT ROWID;
-- The Merkle root of each complete block of 1,024 leaves (block b covers seq b*1024 ..
-- (b+1)*1024), so proofs over millions of events read block roots, not every leaf. Derived from
-- the leaves; `vnpop audit verify` checks it.
CREATE TABLE IF NOT EXISTS merkle_blocks (
    block INTEGER PRIMARY KEY,
    root  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tree_heads (
    tree_size    INTEGER PRIMARY KEY,
    root         BLOB NOT NULL,
    signed_at_ms INTEGER NOT NULL,
    signature    BLOB NOT NULL
);
";

/// A signed statement of the log's size and Merkle root at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at_ms: i64,
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// The bytes the log key signs: a label, the size, the time and the root.
    pub fn message(tree_size: u64, signed_at_ms: i64, root: &Hash) -> Vec<u8> {
        let mut message = b"vnpop-tree-head-v1".to_vec();
        message.extend_from_slice(&tree_size.to_be_bytes());
        message.extend_from_slice(&signed_at_ms.to_be_bytes());
        message.extend_from_slice(root);
        message
    }

    /// Whether `key` signed this head.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let message = Self::message(self.tree_size, self.signed_at_ms, &self.root);
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify_strict(&message, &signature).is_ok()
    }
}

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

struct Job {
    events: Vec<AuditEvent>,
    ack: oneshot::Sender<Result<AppendReceipt, AuditError>>,
}

/// Handle to the audit log; cheap to share behind an `Arc`.
pub struct AuditLog {
    queue: Option<mpsc::SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    /// Stops the checkpointer (by being dropped) and waits for it.
    checkpointer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    public_key: VerifyingKey,
    path: PathBuf,
    /// Events stored by this process (not duplicates), for the metrics endpoint.
    written: AtomicU64,
    /// The log's size as of the last acknowledged commit.
    acknowledged: Arc<AtomicU64>,
    /// The projector's applied position (the writer publishes it).
    applied: watch::Receiver<u64>,
    /// TESTS ONLY: see [`AuditLog::hold_projection_for_test`].
    hold_projection: Arc<AtomicBool>,
}

/// The file names inside the data directory.
pub const DATABASE_FILE: &str = "audit.sqlite";
pub const KEY_FILE: &str = "audit-signing.key";
/// The log's public key, hex, for auditors.
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
/// The key of the keyed hash under which citizens' numbers are recorded.
pub const SUBJECT_KEY_FILE: &str = "audit-subject.key";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex (either case); `None` unless every character pairs into a byte.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Parses an Ed25519 public key written as 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bad = || {
        AuditError::Key(format!(
            "{:?} is not an Ed25519 public key in hex",
            text.trim()
        ))
    };
    let bytes: [u8; 32] = parse_hex(text)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// Reads a 32-byte secret from `path`, creating it from the OS's randomness on first use (file
/// mode 0600). The log's signing key and the subject-hash key are such secrets.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], AuditError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuditError::Key(format!("{} is not a 32-byte key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| AuditError::Key(e.to_string()))?;
            match write_private(path, &secret) {
                Ok(()) => Ok(secret),
                // Another process created it first: use theirs.
                Err(_) if path.exists() => load_or_create_secret(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(AuditError::Key(format!("{}: {e}", path.display()))),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))
}

/// Opens the database with the settings every connection uses.
pub(super) fn connect(path: &Path) -> Result<Connection, AuditError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: the WAL is fsync'd at every commit, so a commit that returned survives power loss.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(projector::SCHEMA)?;
    Ok(connection)
}

impl AuditLog {
    /// Opens (or creates) the log in `data_dir`, rebuilding the tree's right edge from the rows.
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
        let mut connection = connect(&path)?;
        // The subject index is the projector's (`subjects`) since issue 9.
        connection.execute_batch("DROP INDEX IF EXISTS events_by_subject")?;
        projector::initialise(&connection)?;
        let mut frontier = Frontier::new();
        let public_key = key.verifying_key();
        {
            // Rebuild the right edge, and store any block root missing (a log written before
            // blocks were kept).
            let transaction = connection.transaction()?;
            let head_size = latest_head(&transaction)?.map(|head| head.tree_size);
            let mut root_at_head = None;
            {
                let stored: std::collections::HashSet<i64> = transaction
                    .prepare("SELECT block FROM merkle_blocks")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let mut rows = transaction.prepare("SELECT leaf_hash FROM events ORDER BY seq")?;
                let mut insert = transaction
                    .prepare("INSERT INTO merkle_blocks (block, root) VALUES (?1, ?2)")?;
                let mut hashes = rows.query([])?;
                while let Some(row) = hashes.next()? {
                    let hash: Vec<u8> = row.get(0)?;
                    let leaf = hash
                        .try_into()
                        .map_err(|_| AuditError::Corrupt("leaf_hash is not 32 bytes".into()))?;
                    if let Some(block) = frontier.push(leaf) {
                        let index = (frontier.size() / BLOCK_LEAVES - 1) as i64;
                        if !stored.contains(&index) {
                            insert.execute(params![index, &block[..]])?;
                        }
                    }
                    if head_size == Some(frontier.size()) {
                        root_at_head = Some(frontier.root());
                    }
                }
            }
            // Never append after a damaged end: stop, naming the record.
            super::verify::check_tail(&transaction, frontier.size(), root_at_head, &public_key)?;
            transaction.commit()?;
        }
        // Events made durable but not projected before the last stop (a crash between the two).
        let caught_up = projector::catch_up(&mut connection, frontier.size())?;
        if caught_up > 0 {
            tracing::info!(
                events = caught_up,
                "audit projector caught up with the log after an unclean stop"
            );
        }
        // No checkpoint inside a commit an answer waits for; the file goes back to 64 MiB at
        // most once a checkpoint completes.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        connection.pragma_update(None, "journal_size_limit", 64 << 20)?;
        let size = frontier.size();
        let acknowledged = Arc::new(AtomicU64::new(size));
        let (applied_tx, applied) = watch::channel(size);
        let (queue, jobs) = mpsc::sync_channel(QUEUE);
        let hold_projection = Arc::new(AtomicBool::new(false));
        let writer = {
            let acknowledged = Arc::clone(&acknowledged);
            let hold_projection = Arc::clone(&hold_projection);
            std::thread::Builder::new()
                .name("audit-writer".into())
                .spawn(move || {
                    Writer {
                        connection,
                        frontier,
                        key,
                        applied: size,
                        acknowledged,
                        applied_tx,
                        hold_projection,
                        pending_blocks: Vec::new(),
                        since_checkpoint: 0,
                    }
                    .run(jobs)
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        let checkpointer = spawn_checkpointer(&path)?;
        Ok(AuditLog {
            queue: Some(queue),
            writer: Some(writer),
            checkpointer: Some(checkpointer),
            public_key,
            path,
            written: AtomicU64::new(0),
            acknowledged,
            applied,
            hold_projection,
        })
    }

    /// TESTS ONLY. While set, committed groups are acknowledged but not projected, which is the
    /// state a crash between the log append and the projection leaves behind; the next open
    /// catches up. No flag or setting of `vnpop serve` reaches it.
    #[doc(hidden)]
    pub fn hold_projection_for_test(&self, hold: bool) {
        self.hold_projection.store(hold, Ordering::Relaxed);
    }

    /// Resolves once the query tables hold every event acknowledged before the call
    /// (read-your-writes for auditors' queries); an error if they stay behind for
    /// [`CATCH_UP_PATIENCE`] (the projector is failing: see the server's log).
    pub async fn caught_up(&self) -> Result<(), AuditError> {
        let target = self.acknowledged.load(Ordering::Acquire);
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
        let (position, mut applied) = (*self.applied.borrow(), self.applied.clone());
        if position >= target {
            return Ok(());
        }
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| AuditError::Write(e.to_string()))?
            .block_on(applied.wait_for(|&position| position >= target))
            .map(|_| ())
            .map_err(|_| AuditError::Closed)
    }

    /// Appends events; resolves once they are durable (or known duplicates).
    pub async fn append(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        let queue = self.queue.as_ref().ok_or(AuditError::Closed)?;
        match queue.try_send(Job { events, ack }) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(AuditError::Closed),
            // The queue is full: waiting for room blocks, so do it off the async workers.
            Err(mpsc::TrySendError::Full(job)) => {
                let queue = queue.clone();
                tokio::task::spawn_blocking(move || queue.send(job))
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
    /// the query tables (so a query that follows sees them).
    pub fn append_blocking(&self, events: Vec<AuditEvent>) -> Result<AppendReceipt, AuditError> {
        let (ack, done) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or(AuditError::Closed)?
            .send(Job { events, ack })
            .map_err(|_| AuditError::Closed)?;
        let receipt = self.count(done.blocking_recv().map_err(|_| AuditError::Closed)?)?;
        if !self.hold_projection.load(Ordering::Relaxed) {
            self.caught_up_blocking()?;
        }
        Ok(receipt)
    }

    /// The key that verifies this log's tree heads.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest signed tree head, if anything was ever written.
    pub fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        latest_head(&connect(&self.path)?)
    }
}

impl Drop for AuditLog {
    /// Lets the writer finish what is queued, then waits for it and the checkpointer.
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        if let Some((stop, checkpointer)) = self.checkpointer.take() {
            drop(stop);
            let _ = checkpointer.join();
        }
    }
}

/// Derives the query tables of the log file at `path` again from its first event (the log must
/// not be open for writing). Returns the number of events applied.
pub fn rebuild_projection(path: &Path) -> Result<u64, AuditError> {
    let mut connection = connect(path)?;
    connection.execute_batch("DROP INDEX IF EXISTS events_by_subject")?;
    projector::initialise(&connection)?;
    let size: i64 = connection.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    projector::rebuild(&mut connection, size as u64)
}

/// Starts the thread that checkpoints the write-ahead log every [`CHECKPOINT_EVERY`] (passive:
/// it never blocks the writer) until its sender is dropped.
fn spawn_checkpointer(path: &Path) -> Result<(mpsc::Sender<()>, JoinHandle<()>), AuditError> {
    let connection = connect(path)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("audit-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(error) =
                    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "audit WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| AuditError::Key(e.to_string()))?;
    Ok((stop, thread))
}

pub(super) fn latest_head(connection: &Connection) -> Result<Option<SignedTreeHead>, AuditError> {
    connection
        .query_row(
            "SELECT tree_size, root, signed_at_ms, signature FROM tree_heads ORDER BY tree_size DESC LIMIT 1",
            [],
            head_from_row,
        )
        .optional()?
        .transpose()
}

pub(super) fn head_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<SignedTreeHead, AuditError>> {
    let size: i64 = row.get(0)?;
    let root: Vec<u8> = row.get(1)?;
    let signed_at_ms: i64 = row.get(2)?;
    let signature: Vec<u8> = row.get(3)?;
    Ok((|| {
        Ok(SignedTreeHead {
            tree_size: size as u64,
            root: root
                .try_into()
                .map_err(|_| AuditError::Corrupt("tree head root is not 32 bytes".into()))?,
            signed_at_ms,
            signature: signature
                .try_into()
                .map_err(|_| AuditError::Corrupt("tree head signature is not 64 bytes".into()))?,
        })
    })())
}

/// The single writer: owns the connection and the tree's right edge.
struct Writer {
    connection: Connection,
    frontier: Frontier,
    key: SigningKey,
    /// The projector's position: events below it are in the query tables.
    applied: u64,
    acknowledged: Arc<AtomicU64>,
    applied_tx: watch::Sender<u64>,
    hold_projection: Arc<AtomicBool>,
    /// Merkle blocks completed by committed groups and not yet stored by the projector.
    pending_blocks: Vec<(u64, Hash)>,
    /// Events written since the writer last finished a checkpoint.
    since_checkpoint: u64,
}

/// What one group commit stored: per job its receipt, the positions of the events it added
/// (`None` for a duplicate), and the Merkle blocks completed.
struct Committed {
    receipts: Vec<AppendReceipt>,
    stored: Vec<Vec<bool>>,
    blocks: Vec<(u64, Hash)>,
}

impl Writer {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            let mut count = group[0].events.len();
            while count < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => {
                        count += job.events.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            let (acks, batches): (Vec<_>, Vec<_>) =
                group.into_iter().map(|job| (job.ack, job.events)).unzip();
            let before = self.frontier.clone();
            match self.commit(&batches) {
                Ok(committed) => {
                    let size = self.frontier.size();
                    self.acknowledged.store(size, Ordering::Release);
                    for (ack, receipt) in acks.into_iter().zip(&committed.receipts) {
                        let _ = ack.send(Ok(*receipt));
                    }
                    self.project(before.size(), &batches, committed);
                    self.checkpoint(count as u64);
                }
                Err(error) => {
                    // Nothing of the group was stored: the tree is as before.
                    self.frontier = before;
                    tracing::error!(%error, "audit group commit failed");
                    for ack in acks {
                        let _ = ack.send(Err(AuditError::Write(error.to_string())));
                    }
                }
            }
        }
    }

    /// After answering: every [`WRITER_CHECKPOINT_EVENTS`], a passive checkpoint on the writer's
    /// own connection, which no write races, so it reaches the end of the write-ahead log (the
    /// checkpointer thread has copied most of it already).
    fn checkpoint(&mut self, events: u64) {
        self.since_checkpoint += events;
        if self.since_checkpoint < WRITER_CHECKPOINT_EVENTS {
            return;
        }
        self.since_checkpoint = 0;
        if let Err(error) = self
            .connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            tracing::warn!(%error, "audit WAL checkpoint failed");
        }
    }

    /// Applies a committed group to the query tables (after its callers were answered). When
    /// an earlier batch failed, catches up from the log instead, which includes this group.
    fn project(&mut self, from: u64, batches: &[Vec<AuditEvent>], committed: Committed) {
        self.pending_blocks.extend(committed.blocks);
        if self.hold_projection.load(Ordering::Relaxed) {
            return;
        }
        let size = self.frontier.size();
        let blocks = std::mem::take(&mut self.pending_blocks);
        let result = if self.applied == from {
            let events = batches
                .iter()
                .zip(&committed.stored)
                .flat_map(|(events, stored)| {
                    events
                        .iter()
                        .zip(stored)
                        .filter(|(_, s)| **s)
                        .map(|(e, _)| e)
                })
                .zip(from..)
                .map(|(event, seq)| (seq, event))
                .collect();
            let batch = projector::Batch {
                events,
                blocks: blocks.clone(),
                to: size,
            };
            projector::apply(&mut self.connection, &batch)
        } else {
            projector::catch_up(&mut self.connection, size).and_then(|_| {
                let batch = projector::Batch {
                    events: Vec::new(),
                    blocks: blocks.clone(),
                    to: size,
                };
                projector::apply(&mut self.connection, &batch)
            })
        };
        match result {
            Ok(()) => {
                self.applied = size;
                self.applied_tx.send_replace(size);
            }
            // The events are durable; queries wait until a later batch catches up.
            Err(error) => {
                self.pending_blocks = blocks;
                tracing::error!(%error, "audit projection failed; will catch up");
            }
        }
    }

    fn commit(&mut self, group: &[Vec<AuditEvent>]) -> Result<Committed, AuditError> {
        let transaction = self.connection.transaction()?;
        let mut counts = Vec::with_capacity(group.len());
        let mut stored = Vec::with_capacity(group.len());
        let mut blocks = Vec::new();
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO events (seq, event_id, source, kind, dossier_id, agency_id, district,
                     officer_id, occurred_at_ms, load_test, procedure, channel, rpc, outcome, purpose, subject, leaf_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            for events in group {
                let (mut appended, mut duplicates) = (0, 0);
                let mut added = Vec::with_capacity(events.len());
                for event in events {
                    let seq = self.frontier.size();
                    let leaf = leaf_hash(&event.leaf_bytes(seq));
                    let (kind, procedure, channel, rpc, outcome, purpose, subject) =
                        match &event.kind {
                            EventKind::Dossier { procedure, channel } => (
                                "dossier",
                                Some(procedure),
                                Some(channel),
                                None,
                                None,
                                None,
                                None,
                            ),
                            EventKind::Verification {
                                rpc,
                                outcome,
                                purpose,
                                subject,
                            } => (
                                "verification",
                                None,
                                None,
                                Some(rpc),
                                Some(outcome),
                                Some(purpose),
                                Some(subject),
                            ),
                        };
                    let inserted = insert.execute(params![
                        seq as i64,
                        event.event_id,
                        event.source.as_str(),
                        kind,
                        event.dossier_id,
                        event.agency_id,
                        event.district,
                        event.officer_id,
                        event.occurred_at_ms,
                        event.load_test,
                        procedure,
                        channel,
                        rpc,
                        outcome,
                        purpose,
                        subject,
                        &leaf[..],
                    ])?;
                    if inserted == 1 {
                        if let Some(block) = self.frontier.push(leaf) {
                            blocks.push((self.frontier.size() / BLOCK_LEAVES - 1, block));
                        }
                        appended += 1;
                    } else {
                        duplicates += 1;
                    }
                    added.push(inserted == 1);
                }
                counts.push((appended, duplicates));
                stored.push(added);
            }
        }
        let size = self.frontier.size();
        if counts.iter().any(|(appended, _)| *appended > 0) {
            let root = self.frontier.root();
            let signed_at_ms = now_ms();
            let signature = self
                .key
                .sign(&SignedTreeHead::message(size, signed_at_ms, &root));
            transaction.execute(
                "INSERT OR REPLACE INTO tree_heads (tree_size, root, signed_at_ms, signature) VALUES (?1, ?2, ?3, ?4)",
                params![size as i64, &root[..], signed_at_ms, &signature.to_bytes()[..]],
            )?;
        }
        transaction.commit()?;
        Ok(Committed {
            receipts: counts
                .into_iter()
                .map(|(appended, duplicates)| AppendReceipt {
                    appended,
                    duplicates,
                    tree_size: size,
                })
                .collect(),
            stored,
            blocks,
        })
    }
}
