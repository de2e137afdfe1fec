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

use tokio::sync::watch;

use super::{
    postgres::{PgLog, PgStore},
    projector::{Progress, QUERY_FILE},
    store::{Group, LogOfRecord, SqliteLog, DATABASE_FILE},
    AuditError,
};

/// In a fleet: the id of the fleet's log that `DATABASE_FILE` is a copy of.
pub const COPY_OF_FILE: &str = "audit-copy-of";

/// Makes sure [`DATABASE_FILE`] in `data_dir` is a copy of the fleet's log `log_id` that the
/// database extends (same signed head at the copy's size); a copy of another log, or one
/// without a head at its end, is removed with its query tables, to be copied again. Returns
/// the copy's size.
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
    let extends = same_log
        && {
            let copy = SqliteLog::open(&path)?;
            match copy.latest_head()? {
                None => copy.size()? == 0,
                Some(head) if copy.size()? != head.tree_size => false,
                Some(head) => {
                    let theirs = store
                        .log()?
                        .heads_between(head.tree_size - 1, head.tree_size)?;
                    if theirs.first().is_none_or(|h| h.root != head.root) {
                        let message = format!(
                        "the fleet's log has split: its database does not extend the signed head at {} events this server last saw (kept in {}); this server will not record anything on it until an operator finds out which log is the true one (to follow the database as it is, remove {} and {QUERY_FILE} from {})",
                        head.tree_size,
                        path.display(),
                        DATABASE_FILE,
                        data_dir.display()
                    );
                        tracing::error!("{message}");
                        return Err(AuditError::Corrupt(message));
                    }
                    true
                }
            }
        };
    if !extends {
        if path.exists() {
            tracing::warn!(
                "audit: {} is not a copy of this fleet's log; copying the fleet's log afresh",
                path.display()
            );
        }
        for file in [DATABASE_FILE, QUERY_FILE] {
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

/// How often the follower looks for what other servers appended.
const POLL: Duration = Duration::from_millis(25);
/// How long the follower waits after a failure before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Requests from queries, and the stop signal.
#[derive(Default)]
struct Requests {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
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
                .spawn(move || run(source, copy, copied, &requests, &progress, &tell))
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
            state.0 += 1;
            state.0
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

impl Drop for Follower {
    fn drop(&mut self) {
        self.requests.state.lock().expect("follower lock").1 = true;
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
    loop {
        let request = {
            let state = requests.state.lock().expect("follower lock");
            let (state, _) = requests
                .changed
                .wait_timeout_while(state, POLL, |(request, stop)| {
                    *request == answered && !*stop
                })
                .expect("follower lock");
            if state.1 {
                return;
            }
            state.0
        };
        let copied_now = source
            .reconnect_if_closed()
            .and_then(|()| copy_new(&source, &mut copy, copied, &mut strings));
        match copied_now {
            Ok((size, now)) => {
                copied = now;
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
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }
}

/// Copies everything the database holds past `copied` (the copy's dictionary holding
/// `strings` entries); returns the database's size as read
/// first and the copy's size after.
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
        if ours.is_some() && ours != theirs {
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
