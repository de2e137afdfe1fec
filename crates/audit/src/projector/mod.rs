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

//! The module's files: the thread and what it applies here; `writer` (the second thread, which
//! stores each batch and publishes its position); `state` (the query side in memory) and
//! `dossiers` (its table of every dossier's counts); `tables` (the query file, its schema and
//! the position it stores); `citizens` (the citizen index); `progress` (what the sequencer
//! tells the thread, and when it applies).

mod citizens;
mod dossiers;
mod progress;
mod state;
mod tables;
mod writer;

use std::{
    path::Path,
    sync::{Arc, RwLock},
    thread::JoinHandle,
    time::Duration,
};

use tokio::sync::watch;

use super::{
    merkle::BLOCK_LEAVES,
    record::{Dictionary, ViewKind},
    store::{LogOfRecord, SqliteLog},
    AuditError,
};
pub(crate) use citizens::CitizenIndex;
pub use citizens::CITIZEN_FILE;
use progress::Next;
pub(crate) use progress::Progress;
pub use state::StateMemory;
pub(crate) use state::{QueryState, RollupKey, UnverifiedKey};
use tables::clear;
use tables::PROJECTOR_CACHE_KIB;
pub use tables::QUERY_FILE;
pub(crate) use tables::{applied, connect};
use writer::{Batch, Writer};

/// Most events applied in one transaction.
const BATCH: u64 = 20_000;
/// The projector thread's niceness: served calls and their records come first; the projector
/// uses what CPU they leave (and catches up when they pause). Queries wait for it.
const NICENESS: i32 = 10;
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
    /// What the state in memory holds.
    pub(crate) fn memory(&self) -> StateMemory {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .memory()
    }

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
        let (index, citizens) = CitizenIndex::open(
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
        // What the log holds is durable: applied at once, while the sequencer reads it back.
        progress.acknowledge(stored);
        // Nothing is applied until the state in memory is derived again up to `from`.
        let (applied_tx, applied) = watch::channel(0);
        let state = Arc::new(RwLock::new(QueryState::default()));
        let side = QuerySide {
            citizens: index,
            state: Arc::clone(&state),
        };
        let thread = {
            let progress = Arc::clone(&progress);
            std::thread::Builder::new()
                .name("audit-projector".into())
                .spawn(move || {
                    lower_priority();
                    let mut projection = Projection {
                        dictionary,
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
                    match Writer::start(query, citizens, from, applied_tx) {
                        Ok(writer) => run(log, projection, writer, &progress),
                        Err(error) => {
                            tracing::error!(%error, "audit projector: no writer thread; auditor queries will wait");
                        }
                    }
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

    /// The log failed to open: stops without applying what is left.
    pub(crate) fn abandon(&self) {
        self.progress.abandon();
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

/// The projector thread's side: the state in memory and the copy of the log's dictionary its
/// reads use. What goes to disk goes through the [`Writer`].
struct Projection {
    dictionary: Dictionary,
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

    /// Forgets the state in memory (a batch failed after its events were applied to it), and
    /// derives it again up to `to`, where the query file ends.
    fn restart_at(&mut self, log: &SqliteLog, to: u64) -> Result<(), AuditError> {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = QueryState::default();
        self.in_memory = 0;
        self.replay(log, to, None).map(|_| ())
    }

    /// Reads events `[from, to)` back from the log, in place, applies them to the state in
    /// memory and collects what the writer stores of them.
    fn apply(
        &mut self,
        log: &SqliteLog,
        from: u64,
        to: u64,
        caught_up: bool,
    ) -> Result<Batch, AuditError> {
        debug_assert_eq!(self.in_memory, from);
        let Projection {
            dictionary,
            state,
            in_memory,
        } = self;
        let mut batch = Batch {
            from,
            to,
            caught_up,
            ..Batch::default()
        };
        let mut read = 0;
        // The blocks these events complete, with the left sibling of the first.
        let first_block = from / BLOCK_LEAVES;
        let result = {
            let mut state = state.write().unwrap_or_else(|e| e.into_inner());
            log.snapshot(|log| {
                log.views(dictionary, from, to, &mut |seq, view| {
                    read += 1;
                    if let Some(receipt) = state.apply(&view) {
                        batch.receipts.push(seq, &receipt);
                    }
                    *in_memory = seq + 1;
                    if let ViewKind::Verification { subject, .. } = view.kind {
                        if let Some(subject) = subject.keyed() {
                            batch.citizens.push((seq, citizens::subject_key(&subject)));
                        }
                    }
                    Ok(true)
                })?;
                log.blocks(first_block.saturating_sub(1), to / BLOCK_LEAVES)
            })
        };
        batch.blocks = result?;
        if read != to - from {
            return Err(AuditError::Corrupt(format!(
                "the log holds {read} of events #{from}..#{}",
                to - 1
            )));
        }
        Ok(batch)
    }

    /// Applies events `[from, to)` and hands them to `writer`, first starting again where the
    /// query file ends if a batch failed (or the state in memory is not at `from`). Returns
    /// the position handed over, or the error (after which the state is derived again).
    fn hand_over(
        &mut self,
        log: &SqliteLog,
        writer: &Writer,
        from: u64,
        to: u64,
        caught_up: bool,
    ) -> Result<u64, AuditError> {
        let result = self
            .apply(log, from, to, caught_up)
            .map(|batch| writer.send(batch));
        match result {
            Ok(true) => Ok(to),
            Ok(false) => Err(AuditError::Closed),
            Err(error) => {
                self.in_memory = u64::MAX; // derived again before the next batch
                Err(error)
            }
        }
    }
}

/// The projector thread: applies batches until closed, the writer storing them behind it.
fn run(log: SqliteLog, mut projection: Projection, writer: Writer, progress: &Progress) {
    // Handed over to the writer up to here.
    let mut sent = projection.in_memory;
    loop {
        if let Some(applied) = writer.failed() {
            // The writer stopped at `applied`: the state goes back there too.
            std::thread::sleep(RETRY_AFTER);
            sent = applied;
            projection.in_memory = u64::MAX;
        }
        if projection.in_memory != sent {
            if let Err(error) = projection.restart_at(&log, sent) {
                tracing::error!(%error, "audit projection failed; will try again");
                std::thread::sleep(RETRY_AFTER);
                continue;
            }
        }
        let acknowledged = match progress.next(sent) {
            Next::Apply(acknowledged) => acknowledged,
            Next::Closed => break,
        };
        let to = acknowledged.min(sent + BATCH);
        match projection.hand_over(&log, &writer, sent, to, to == acknowledged) {
            Ok(to) => sent = to,
            Err(AuditError::Closed) => break,
            // The events are durable; queries wait until a later attempt catches up.
            Err(error) => {
                tracing::error!(%error, "audit projection failed; will try again");
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }
    // A failed last batch is applied again at the next start.
    let _ = writer.finish();
}

/// Gives the calling thread (only) the niceness [`NICENESS`]; where the system does not allow it,
/// the thread runs at normal priority.
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
    let (published, _) = watch::channel(0);
    let writer = Writer::start(query, citizens, 0, published)?;
    let mut projection = Projection {
        dictionary,
        state: Arc::new(RwLock::new(QueryState::default())),
        in_memory: 0,
    };
    let size = log.size()?;
    let mut from = 0;
    while from < size {
        if let Some(applied) = writer.failed() {
            return Err(AuditError::Write(format!(
                "the query tables could not be written after event #{applied}"
            )));
        }
        let to = size.min(from + BATCH);
        from = projection.hand_over(&log, &writer, from, to, to == size)?;
    }
    writer.finish().map_err(|applied| {
        AuditError::Write(format!(
            "the query tables could not be written after event #{applied}"
        ))
    })?;
    Ok(size)
}

#[cfg(test)]
mod tests;
