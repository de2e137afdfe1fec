//! In a fleet, each server keeps a copy of the shared log of record in its own data directory
//! (`audit.sqlite`, the same file a single server writes) so that its projector, its queries
//! and its proofs run unchanged and locally. The follower is the only writer of that copy: it
//! copies what the fleet's database holds past the copy's end — whole runs of records, the
//! dictionary entries, the block roots and the signed heads — in one commit a batch, then
//! tells the projector how far the copy goes.
//!
//! It polls every [`POLL`] and at once when a query asks ([`Follower::sync`]): a query learns
//! the database's size *after* it was asked, and waits until the copy and the query tables
//! reach it, so an auditor on any server sees every call any server answered before the query.

use std::{
    path::Path,
    sync::{Arc, Condvar, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::OptionalExtension;
use tokio::sync::{oneshot, watch};

use super::{
    merkle::Hash,
    postgres::{PgLog, PgStore},
    projector::{Progress, CITIZEN_FILE, QUERY_FILE},
    queue::AppendReceipt,
    store::{Group, LogOfRecord, SqliteLog, DATABASE_FILE},
    AuditError,
};

/// In a fleet: the id of the fleet's log that `DATABASE_FILE` is a copy of.
pub const COPY_OF_FILE: &str = "audit-copy-of";

/// Makes sure [`DATABASE_FILE`] in `data_dir` is a copy of the fleet's log `log_id` that the
/// database extends (same signed head at the copy's last head, and the same records after it
/// if it holds any that head does not cover); a copy of another log, or one whose records past
/// its last head the database holds too, is removed with its query tables, to be copied again.
/// Returns the copy's size.
///
/// The copy is also this server's memory of the last tree head it saw of the fleet's log: a
/// database holding the same log that does not extend it (fewer events, or another root at
/// that size — restored from an older backup and written again, say) is a split, and start-up
/// stops, naming it, rather than follow or sign it.
pub(super) fn open_copy(data_dir: &Path, store: &PgStore, log_id: &str) -> Result<u64, AuditError> {
    let path = data_dir.join(DATABASE_FILE);
    let marker = data_dir.join(COPY_OF_FILE);
    let io = |e: std::io::Error| AuditError::Key(format!("{}: {e}", data_dir.display()));
    let same_log = std::fs::read_to_string(&marker).is_ok_and(|id| id.trim() == log_id);
    let extends = same_log && {
        let copy = SqliteLog::open(&path)?;
        let source = store.log()?;
        source.snapshot(|source| database_extends(&copy, source, &path, data_dir))?
    };
    if !extends {
        if path.exists() {
            tracing::warn!(
                "audit: {} is not a copy of this fleet's log; copying the fleet's log afresh",
                path.display()
            );
        }
        for file in [DATABASE_FILE, QUERY_FILE, CITIZEN_FILE] {
            for suffix in ["", "-wal", "-shm"] {
                match std::fs::remove_file(data_dir.join(format!("{file}{suffix}"))) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                    _ => {}
                }
            }
        }
        std::fs::write(&marker, format!("{log_id}\n")).map_err(io)?;
    }
    SqliteLog::open(&path)?.size()
}

/// Whether the database extends the copy at `path` (`copy`): the same signed head at the
/// copy's last head, and the same records after it, if the copy holds any its head does not
/// cover (a copy written before the follower read each batch in one snapshot could). A copy
/// whose records the database does not hold is what this server saw of a log that has since
/// split: an error, never wiped. `false` (copy afresh) only when nothing the copy holds is lost
/// by it: the copy is not at a head, and every record of it is the database's.
fn database_extends(
    copy: &SqliteLog,
    source: &PgLog,
    path: &Path,
    data_dir: &Path,
) -> Result<bool, AuditError> {
    let refuse = |what: String| {
        let message = format!(
            "the fleet's log has split: its database does not extend {what} (kept in {}); this server will not record anything on it until an operator finds out which log is the true one (to follow the database as it is, remove {DATABASE_FILE} and {QUERY_FILE} from {})",
            path.display(),
            data_dir.display()
        );
        tracing::error!("{message}");
        AuditError::Corrupt(message)
    };
    let size = copy.size()?;
    let head = copy.latest_head()?;
    let covered = head.as_ref().map_or(0, |h| h.tree_size);
    if let Some(head) = &head {
        let theirs = source.heads_between(head.tree_size - 1, head.tree_size)?;
        if theirs.first().is_none_or(|h| h.root != head.root) {
            return Err(refuse(format!(
                "the signed head at {} events this server last saw",
                head.tree_size
            )));
        }
    }
    if size > covered {
        // Records past the last head: kept unless the database holds the very same.
        let mut statement = copy.connection().prepare(
            "SELECT first_seq, count, body FROM records WHERE first_seq >= ?1 ORDER BY first_seq",
        )?;
        let ours = statement
            .query_map([covered as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut theirs = Vec::with_capacity(ours.len());
        let mut from = covered;
        while from < size {
            let runs = source.runs(from, size)?;
            let Some(last) = runs.last() else { break };
            from = last.0 + last.1 as u64;
            theirs.extend(runs);
        }
        if ours != theirs {
            return Err(refuse(format!(
                "the {} events after the signed head at {covered} events that this server's copy of it holds",
                size - covered
            )));
        }
        tracing::warn!(
            "audit: {} holds {} events past its last signed head, all in the fleet's database; copying the fleet's log afresh",
            path.display(),
            size - covered
        );
        return Ok(false);
    }
    // A copy with heads past its records is damaged: copied afresh.
    Ok(size == covered)
}

/// A group this server's sequencer committed to the fleet's database, whose callers are
/// answered once the copy holds its signed head (so the copy, this server's memory of the log,
/// never lacks a head it signed and answered by).
pub(super) struct Committed {
    /// The tree head the group ends at: its size and root.
    pub size: u64,
    pub root: Hash,
    /// Each caller and its receipt.
    pub answers: Vec<(Ack, AppendReceipt)>,
}

type Ack = oneshot::Sender<Result<AppendReceipt, AuditError>>;

/// How often the follower looks for what other servers appended.
const POLL: Duration = Duration::from_millis(25);
/// How long the follower waits after a failure before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Requests from queries, the groups this server committed, and the stop signal.
#[derive(Default)]
struct Requests {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The last request made.
    request: u64,
    stop: bool,
    /// The follower thread has ended: nothing handed over is answered by it.
    gone: bool,
    /// Committed groups whose callers wait for the copy.
    committed: Vec<Committed>,
}

/// Hands the groups the sequencer committed over to the follower, which answers their callers
/// once the copy holds them.
#[derive(Clone)]
pub(super) struct Handover(Arc<Requests>);

impl Handover {
    pub(super) fn committed(&self, group: Committed) {
        let mut state = self.0.state.lock().expect("follower lock");
        if state.gone {
            drop(state);
            answer_error(group, &AuditError::Closed);
            return;
        }
        state.committed.push(group);
        drop(state);
        self.0.changed.notify_all();
    }
}

/// Answers every caller of `group` with `error`.
fn answer_error(group: Committed, error: &AuditError) {
    for (ack, _) in group.answers {
        let _ = ack.send(Err(match error {
            AuditError::Closed => AuditError::Closed,
            AuditError::Corrupt(message) => AuditError::Corrupt(message.clone()),
            other => AuditError::Write(other.to_string()),
        }));
    }
}

/// The running follower thread.
pub(super) struct Follower {
    requests: Arc<Requests>,
    /// (the last request answered, the database's size read after it was made).
    synced: watch::Receiver<(u64, u64)>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Starts copying from `store` into the file at `copy_path` (which holds `copied` events)
    /// and telling `progress`.
    pub(super) fn start(
        store: &PgStore,
        copy_path: &Path,
        copied: u64,
        progress: Arc<Progress>,
    ) -> Result<Self, AuditError> {
        let source = store.log()?;
        let copy = SqliteLog::open_for_writing(copy_path)?;
        let requests = Arc::new(Requests::default());
        let (tell, synced) = watch::channel((0, copied));
        let thread = {
            let requests = Arc::clone(&requests);
            std::thread::Builder::new()
                .name("audit-follower".into())
                .spawn(move || {
                    run(source, copy, copied, &requests, &progress, &tell);
                    let committed = {
                        let mut state = requests.state.lock().expect("follower lock");
                        state.gone = true;
                        std::mem::take(&mut state.committed)
                    };
                    for group in committed {
                        answer_error(group, &AuditError::Closed);
                    }
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        Ok(Follower {
            requests,
            synced,
            thread: Some(thread),
        })
    }

    /// The database's size as of now (read after this call began); the copy is brought up to
    /// it and the projector hurried.
    pub(super) async fn sync(&self) -> Result<u64, AuditError> {
        let request = {
            let mut state = self.requests.state.lock().expect("follower lock");
            state.request += 1;
            state.request
        };
        self.requests.changed.notify_all();
        let mut synced = self.synced.clone();
        let answered = synced
            .wait_for(|(answered, _)| *answered >= request)
            .await
            .map_err(|_| AuditError::Closed)?;
        Ok(answered.1)
    }
}

impl Follower {
    /// What the sequencer hands its committed groups over with.
    pub(super) fn handover(&self) -> Handover {
        Handover(Arc::clone(&self.requests))
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.requests.state.lock().expect("follower lock").stop = true;
        self.requests.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The follower thread: waits for a request or the poll interval, copies, tells.
fn run(
    mut source: PgLog,
    mut copy: SqliteLog,
    mut copied: u64,
    requests: &Requests,
    progress: &Progress,
    tell: &watch::Sender<(u64, u64)>,
) {
    let mut answered = 0;
    let mut checkpointed = copied;
    let mut strings = match copy.dictionary() {
        Ok(dictionary) => dictionary.len(),
        Err(error) => {
            tracing::error!(%error, "audit follower: the copy's dictionary cannot be read");
            return;
        }
    };
    let mut committed: Vec<Committed> = Vec::new();
    loop {
        let request = {
            let state = requests.state.lock().expect("follower lock");
            let (mut state, _) = requests
                .changed
                .wait_timeout_while(state, POLL, |state| {
                    state.request == answered && state.committed.is_empty() && !state.stop
                })
                .expect("follower lock");
            // Taken before the copy's snapshot begins, which therefore holds them.
            committed.append(&mut state.committed);
            if state.stop && committed.is_empty() {
                return;
            }
            state.request
        };
        let copied_now = source.reconnect_if_closed().and_then(|()| {
            source.snapshot(|source| copy_new(source, &mut copy, copied, &mut strings))
        });
        match copied_now {
            Ok((size, now)) => {
                copied = now;
                for group in committed.drain(..) {
                    answer(&copy, copied, group);
                }
                progress.acknowledge(copied);
                if request > answered {
                    progress.hurry();
                    answered = request;
                    let _ = tell.send((answered, size));
                }
                if copied - checkpointed >= 65_536 {
                    checkpointed = copied;
                    if let Err(error) = copy.checkpoint() {
                        tracing::warn!(%error, "audit copy: WAL checkpoint failed");
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "audit follower: copying the fleet's log failed; retrying");
                // A split is for an operator to settle: the callers waiting for the copy are
                // refused. Otherwise (the database out of reach) they wait for the retry.
                if matches!(error, AuditError::Corrupt(_)) {
                    for group in committed.drain(..) {
                        answer_error(group, &error);
                    }
                }
                if requests.state.lock().expect("follower lock").stop {
                    for group in committed.drain(..) {
                        answer_error(group, &error);
                    }
                    return;
                }
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }
}

/// Answers the callers of `group`, which this server committed: their receipts once the copy
/// (holding `copied` events) holds the group's head, else (the database no longer holds it:
/// restored from a backup in between) a split.
fn answer(copy: &SqliteLog, copied: u64, group: Committed) {
    let held: Result<bool, AuditError> = (|| {
        if group.size == 0 {
            return Ok(true);
        }
        if group.size > copied {
            return Ok(false);
        }
        let root: Option<Vec<u8>> = copy
            .connection()
            .query_row(
                "SELECT root FROM tree_heads WHERE tree_size = ?1",
                [group.size as i64],
                |r| r.get(0),
            )
            .optional()?;
        Ok(root.as_deref() == Some(&group.root[..]))
    })();
    match held {
        Ok(true) => {
            for (ack, receipt) in group.answers {
                let _ = ack.send(Ok(receipt));
            }
        }
        Ok(false) => {
            let error = AuditError::Corrupt(format!(
                "the fleet's log has split: its database no longer holds the signed head at {} events this server committed; this server refuses to record anything on it (calls are refused AUDIT_UNAVAILABLE) until an operator finds out which log is the true one",
                group.size
            ));
            tracing::error!("{error}");
            answer_error(group, &error);
        }
        Err(error) => answer_error(group, &error),
    }
}

/// Copies everything the database holds past `copied` (the copy's dictionary holding
/// `strings` entries); returns the database's size as read first and the copy's size after.
/// `source` reads one snapshot ([`PgLog::snapshot`]): were the reads apart, a backup restored
/// between the records' and the heads' would leave the copy with records no head covers.
fn copy_new(
    source: &PgLog,
    copy: &mut SqliteLog,
    mut copied: u64,
    strings: &mut u64,
) -> Result<(u64, u64), AuditError> {
    // The size first: everything below it is committed, with its strings, blocks and heads.
    let size = source.size()?;
    if copied < size && copied > 0 {
        // Only after the tree the copy holds: the database's head at the copy's end must be
        // the copy's (else the log has split, and the copy keeps what this server saw).
        let ours = copy.latest_head()?.map(|h| (h.tree_size, h.root));
        let theirs = source
            .heads_between(copied - 1, copied)?
            .first()
            .map(|h| (h.tree_size, h.root));
        if ours != theirs {
            return Err(AuditError::Corrupt(format!(
                "the fleet's log has split: its database does not extend the signed head at {copied} events this server's copy holds; not copied"
            )));
        }
    }
    while copied < size {
        let runs = source.runs(copied, size)?;
        let Some(last) = runs.last() else {
            return Err(AuditError::Corrupt(format!(
                "the fleet's log says {size} events but none is stored from #{copied}"
            )));
        };
        if runs[0].0 != copied {
            return Err(AuditError::Corrupt(format!(
                "the fleet's log: event #{copied} is missing (the next run starts at #{})",
                runs[0].0
            )));
        }
        let end = last.0 + last.1 as u64;
        let group = Group {
            strings: source.strings_from(*strings)?,
            blocks: source
                .blocks(
                    copied / super::merkle::BLOCK_LEAVES,
                    end / super::merkle::BLOCK_LEAVES,
                )?
                .into_iter()
                .map(|(index, root)| {
                    let root = root.try_into().map_err(|_| {
                        AuditError::Corrupt(format!(
                            "the fleet's block root {index} is not 32 bytes"
                        ))
                    })?;
                    Ok((index, root))
                })
                .collect::<Result<_, AuditError>>()?,
            heads: source.heads_between(copied, end)?,
            runs,
        };
        copy.append(&group)?;
        *strings += group.strings.len() as u64;
        copied = end;
    }
    Ok((size, copied))
}
