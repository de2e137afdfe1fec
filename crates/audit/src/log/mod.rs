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
//!
//! Here: [`AuditLog`] and what it reports of itself; `open` starts the threads, `append` hands
//! them batches, `caught_up` waits for the query tables and opens reads that see everything
//! acknowledged.

mod append;
mod caught_up;
mod open;
#[cfg(test)]
mod tests;

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
};

use tokio::sync::watch;

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
use super::{
    follower::Follower,
    keys::{SigningKey, VerifyingKey},
    postgres::PgStore,
    projector::{self, Projector, StateMemory},
    queue::{Answerer, Queue},
    reads::ReaderPool,
    store::{LogOfRecord, SqliteLog},
    verify::{self, VerifyReport},
    AuditError,
};
pub use caught_up::CaughtUpRead;

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
impl AuditLog {
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

    /// Sets the commit delay: under load (after a group of 8 calls or more), the sequencer
    /// waits this long at most for as many calls as the last group had before taking a smaller
    /// group (the call that completes the group ends the wait), so that more calls share a
    /// group's commit, signature and fsync; a call alone is never delayed. Zero (the default)
    /// turns it off. It may be changed at any time.
    pub fn set_commit_delay(&self, delay: std::time::Duration) {
        self.queue.set_commit_delay(delay);
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
