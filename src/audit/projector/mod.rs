//! The projector: derives the query side from the log of record, on its own thread.
//!
//! The log's records (and the signed heads over them) are the record; everything an auditor's
//! query reads besides them is derived here, never on the answer's path: in memory, the state
//! of [`state`] (rollup counters, every dossier's counts, the unverified list), derived again
//! from the log at every start; on disk, each dossier's receipt and the tree's upper levels in
//! a file of its own (`audit-query.sqlite`, so projecting never waits for, or holds up, a group
//! commit), and the citizen index ([`citizens`]: sorted runs in a file of its own and a tail in
//! memory). The projector reads what the sequencer has acknowledged back from the log and
//! applies it in batches: each batch to the state in memory, then its receipts in one
//! transaction that also records the position applied (`projection_state.applied`), then its
//! citizen index entries; then it publishes that position. After a crash or restart it derives
//! the state in memory up to the recorded position and goes on from there; [`rebuild`]
//! derives everything again from the first event.
//!
//! Projection transactions are not fsync'd at each commit: they can always be recomputed from
//! the record, and SQLite's write-ahead log keeps a prefix of commits, so the applied position
//! never runs ahead of the rows it stands for (and the citizen index drops any run beyond it).

//! The module's files: the thread and what it applies here; `state` (the query side in memory)
//! and `dossiers` (its table of every dossier's counts); `tables` (the query file, its schema
//! and the position it stores); `citizens` (the citizen index); `progress` (what the sequencer
//! tells the thread, and when it applies).

mod citizens;
mod dossiers;
mod progress;
mod state;
mod tables;

use std::{
    path::Path,
    sync::{Arc, RwLock},
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::Connection;
use tokio::sync::watch;

use super::{
    merkle::BLOCK_LEAVES,
    record::{Dictionary, ViewKind},
    store::{LogOfRecord, SqliteLog},
    AuditError,
};
pub(crate) use citizens::CitizenIndex;
use citizens::CitizenWriter;
pub use citizens::CITIZEN_FILE;
use progress::Next;
pub(crate) use progress::Progress;
pub(crate) use state::{QueryState, RollupKey, UnverifiedKey};
use tables::clear;
use tables::PROJECTOR_CACHE_KIB;
pub use tables::QUERY_FILE;
pub(crate) use tables::{applied, connect};

/// Most events applied in one transaction.
const BATCH: u64 = 20_000;
/// The projector thread's niceness: served calls and their records come first; the projector
/// uses what CPU they leave (and catches up when they pause). Queries wait for it.
const NICENESS: i32 = 10;
/// How long nothing must come before the projector, caught up, truncates the query file's
/// write-ahead log.
const IDLE_AFTER: Duration = Duration::from_secs(1);
/// How long the projector waits before trying again after a failed batch.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The running projector thread.
pub(crate) struct Projector {
    progress: Arc<Progress>,
    applied: watch::Receiver<u64>,
    side: QuerySide,
    thread: Option<JoinHandle<()>>,
}

/// What auditor queries read besides the log and the query file: the state in memory and the
/// citizen index. A running server's are its projector's, as it applies; a reader of the file
/// alone derives its own ([`QuerySide::read`]).
#[derive(Clone)]
pub(crate) struct QuerySide {
    pub(crate) citizens: CitizenIndex,
    pub(crate) state: Arc<RwLock<QueryState>>,
}

impl std::fmt::Debug for QuerySide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySide").finish_non_exhaustive()
    }
}

impl QuerySide {
    /// Derives the query side of the first `size` events of `log`, whose citizen index file is
    /// `citizens` (read as it stands: this process does not write it).
    pub(crate) fn read(
        citizens: &Path,
        size: u64,
        log: &dyn LogOfRecord,
        dictionary: &mut Dictionary,
    ) -> Result<Self, AuditError> {
        let mut state = QueryState::default();
        log.views(dictionary, 0, size, &mut |_, view| {
            state.apply(&view);
            Ok(true)
        })?;
        Ok(QuerySide {
            citizens: CitizenIndex::read(citizens, size, log, dictionary)?,
            state: Arc::new(RwLock::new(state)),
        })
    }
}

impl Projector {
    /// Starts projecting the log at `log_path` into the query tables at `query_path`, from the
    /// position they record: the thread first derives the state in memory from the log up to
    /// that position (at the same time as the sequencer reads the log to recover), then applies
    /// what [`Projector::acknowledge`] and the sequencer acknowledge.
    pub(crate) fn start(log_path: &Path, query_path: &Path) -> Result<Self, AuditError> {
        let log = SqliteLog::open(log_path)?;
        let query = connect(query_path)?;
        query.pragma_update(None, "cache_size", -PROJECTOR_CACHE_KIB)?;
        let mut from = applied(&query)?;
        let stored = log.size()?;
        if from > stored {
            // Tables of another (or a longer, since replaced) log: derive them again.
            clear(&query)?;
            from = 0;
        }
        let mut dictionary = Dictionary::default();
        let (citizens, writer) = CitizenIndex::open(
            &query_path.with_file_name(CITIZEN_FILE),
            from,
            &log,
            &mut dictionary,
        )?;
        if from < stored {
            tracing::info!(
                events = stored - from,
                "audit projector catching up with the log"
            );
        }
        let progress = Arc::new(Progress::default());
        // Nothing is applied until the state in memory is derived again up to `from`.
        let (applied_tx, applied) = watch::channel(0);
        let state = Arc::new(RwLock::new(QueryState::default()));
        let side = QuerySide {
            citizens,
            state: Arc::clone(&state),
        };
        let thread = {
            let progress = Arc::clone(&progress);
            std::thread::Builder::new()
                .name("audit-projector".into())
                .spawn(move || {
                    lower_priority();
                    let mut projection = Projection {
                        query,
                        dictionary,
                        citizens: writer,
                        state,
                        in_memory: 0,
                    };
                    match projection.replay(&log, from, Some(&progress)) {
                        Ok(true) => {}
                        Ok(false) => return, // closed while replaying
                        Err(error) => {
                            tracing::error!(%error, "audit projector: the log cannot be read back; auditor queries will wait");
                            return;
                        }
                    }
                    applied_tx.send_replace(from);
                    run(log, projection, from, &progress, &applied_tx)
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        Ok(Projector {
            progress,
            applied,
            side,
            thread: Some(thread),
        })
    }

    /// The log is acknowledged up to `size` (what the sequencer found at open).
    pub(crate) fn acknowledge(&self, size: u64) {
        self.progress.acknowledge(size);
    }

    /// The query side, as the projector extends it (what a running server's readers read).
    pub(crate) fn side(&self) -> QuerySide {
        self.side.clone()
    }

    /// What the sequencer tells this projector through.
    pub(crate) fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// The applied position, as it moves.
    pub(crate) fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }
}

impl Drop for Projector {
    /// Applies everything acknowledged (unless held), then stops.
    fn drop(&mut self) {
        self.progress.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where the projector applies events: the query file, the citizen index, the state in memory,
/// and the copy of the log's dictionary its reads use.
struct Projection {
    query: Connection,
    dictionary: Dictionary,
    citizens: CitizenWriter,
    state: Arc<RwLock<QueryState>>,
    /// The state in memory holds the events before this position.
    in_memory: u64,
}

impl Projection {
    /// Derives the state in memory from the first `to` events (those the query file already
    /// holds); false if `progress` closed first.
    fn replay(
        &mut self,
        log: &SqliteLog,
        to: u64,
        progress: Option<&Progress>,
    ) -> Result<bool, AuditError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut from = self.in_memory;
        while from < to {
            if progress.is_some_and(Progress::closing) {
                return Ok(false);
            }
            let end = to.min(from + BATCH * 16);
            log.views(&mut self.dictionary, from, end, &mut |_, view| {
                state.apply(&view);
                Ok(true)
            })?;
            from = end;
            self.in_memory = from;
        }
        Ok(true)
    }

    /// Forgets the state in memory (a transaction failed after its events were applied to it):
    /// the next batch derives it again first.
    fn reset(&mut self) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = QueryState::default();
        self.in_memory = 0;
    }
}

/// The projector thread: applies batches until closed.
fn run(
    log: SqliteLog,
    mut projection: Projection,
    mut applied: u64,
    progress: &Progress,
    applied_tx: &watch::Sender<u64>,
) {
    // Whether the query file's write-ahead log holds batches since it was last truncated.
    let mut written = false;
    loop {
        let acknowledged = match progress.next(applied, written.then_some(IDLE_AFTER)) {
            Next::Apply(acknowledged) => acknowledged,
            Next::Idle => {
                // At rest the write-ahead log goes back to nothing (it grows to a batch's pages
                // while catching up; left at that size it would keep the disk for good).
                if let Err(error) =
                    projection
                        .query
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "audit query tables: WAL checkpoint failed");
                }
                written = false;
                continue;
            }
            Next::Closed => break,
        };
        let to = acknowledged.min(applied + BATCH);
        match apply_range(&log, &mut projection, applied, to) {
            Ok(()) => {
                applied = to;
                written = true;
                applied_tx.send_replace(applied);
            }
            // The events are durable; queries wait until a later attempt catches up.
            Err(error) => {
                tracing::error!(%error, "audit projection failed; will try again");
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }
}

/// Gives the calling thread (only) the niceness [`NICENESS`]; where the system does not allow it,
/// the projector runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take no pointers; on Linux PRIO_PROCESS with a thread id
    // sets that thread's nice value.
    unsafe {
        let thread = libc::gettid();
        if libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, NICENESS) != 0 {
            tracing::debug!("audit projector: could not lower its priority");
        }
    }
}

/// Reads events `[from, to)` back from the log, in place, and applies them — with the tree
/// nodes their blocks complete and the new applied position — in one transaction, then
/// publishes their citizen index entries.
fn apply_range(
    log: &SqliteLog,
    projection: &mut Projection,
    from: u64,
    to: u64,
) -> Result<(), AuditError> {
    if projection.in_memory != from {
        projection.reset();
        projection.replay(log, from, None)?;
    }
    match apply_tables(log, projection, from, to) {
        Ok(()) => projection.citizens.publish(to),
        Err(error) => {
            projection.citizens.discard();
            projection.reset();
            Err(error)
        }
    }
}

/// [`apply_range`]'s transaction: each event applied to the state in memory, each dossier's
/// receipt written, the citizen index's entries collected on the side.
fn apply_tables(
    log: &SqliteLog,
    projection: &mut Projection,
    from: u64,
    to: u64,
) -> Result<(), AuditError> {
    let Projection {
        query,
        dictionary,
        citizens,
        state,
        in_memory,
    } = projection;
    let transaction = query.transaction()?;
    let mut read = 0;
    // The blocks these events complete, with the left sibling of the first.
    let first_block = from / BLOCK_LEAVES;
    let blocks = {
        let mut state = state.write().unwrap_or_else(|e| e.into_inner());
        let mut receipts = transaction.prepare_cached(
            "INSERT OR IGNORE INTO dossiers (seq, agency_id, dossier_id, district, officer_id,
                 procedure, channel, received_at_ms, load_test, commune, province)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        log.snapshot(|log| {
            log.views(dictionary, from, to, &mut |seq, view| {
                read += 1;
                if let Some(receipt) = state.apply(&view) {
                    let view = receipt.view;
                    receipts.execute(rusqlite::params![
                        seq as i64,
                        view.agency_id,
                        view.dossier_id,
                        view.district,
                        view.officer_id,
                        receipt.procedure,
                        receipt.channel,
                        view.occurred_at_ms,
                        view.load_test,
                        view.commune,
                        receipt.province,
                    ])?;
                }
                *in_memory = seq + 1;
                if let ViewKind::Verification { subject, .. } = view.kind {
                    if let Some(subject) = subject.keyed() {
                        citizens.push(seq, &subject);
                    }
                }
                Ok(true)
            })?;
            log.blocks(first_block.saturating_sub(1), to / BLOCK_LEAVES)
        })?
    };
    if read != to - from {
        return Err(AuditError::Corrupt(format!(
            "the log holds {read} of events #{from}..#{}",
            to - 1
        )));
    }
    super::nodes::extend(&transaction, &blocks)?;
    transaction
        .prepare_cached("UPDATE projection_state SET applied = ?1 WHERE id = 0")?
        .execute([to as i64])?;
    transaction.commit()?;
    Ok(())
}

/// Derives the query tables at `query_path` again from the first event of the log at
/// `log_path` (which must not be open for writing). Returns the number of events applied.
pub(super) fn rebuild(log_path: &Path, query_path: &Path) -> Result<u64, AuditError> {
    let log = SqliteLog::open(log_path)?;
    let query = connect(query_path)?;
    query.pragma_update(None, "cache_size", -PROJECTOR_CACHE_KIB)?;
    clear(&query)?;
    let mut dictionary = Dictionary::default();
    let (_, mut citizens) = CitizenIndex::open(
        &query_path.with_file_name(CITIZEN_FILE),
        0,
        &log,
        &mut dictionary,
    )?;
    citizens.clear()?;
    let mut projection = Projection {
        query,
        dictionary,
        citizens,
        state: Arc::new(RwLock::new(QueryState::default())),
        in_memory: 0,
    };
    let size = log.size()?;
    let mut from = 0;
    while from < size {
        let to = size.min(from + BATCH);
        apply_range(&log, &mut projection, from, to)?;
        from = to;
    }
    Ok(size)
}

#[cfg(test)]
mod tests;
