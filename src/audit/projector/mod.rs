//! The projector: derives the query tables from the log of record, on its own thread.
//!
//! The log's records (and the signed heads over them) are the record; everything an auditor's
//! query reads besides them is derived here, in a file of its own (`audit-query.sqlite`) so
//! that projecting never waits for, or holds up, a group commit: the `dossiers` summary, the
//! per-day `ratio_rollup` and the citizen index `subjects`. The projector reads what the
//! sequencer has acknowledged back from the log, applies it in batches, each in one transaction
//! that also records the position it has applied (`projection_state.applied`), and publishes
//! that position. The citizen index is not a table: it is `citizens` (sorted runs in a file of
//! its own and a tail in memory), published with each batch. After a crash or restart it starts again from the recorded position, and
//! [`rebuild`] derives everything again from the first event.
//!
//! Projection transactions are not fsync'd at each commit: they can always be recomputed from
//! the record, and SQLite's write-ahead log keeps a prefix of commits, so the applied position
//! never runs ahead of the rows it stands for.

//!
//! The module's files: the thread and what it applies here; `tables` (the query tables' file,
//! its schema and the position it stores); `citizens` (the citizen index); `progress` (what the
//! sequencer tells the thread, and when it applies).

mod citizens;
mod progress;
mod tables;

use std::{path::Path, sync::Arc, thread::JoinHandle, time::Duration};

use rusqlite::Connection;
use tokio::sync::watch;

use super::{
    merkle::BLOCK_LEAVES,
    record::{Dictionary, ViewKind},
    store::{LogOfRecord, SqliteLog},
    summary::Summary,
    AuditError,
};
pub(crate) use citizens::CitizenIndex;
use citizens::CitizenWriter;
pub use citizens::CITIZEN_FILE;
use progress::Next;
pub(crate) use progress::Progress;
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
    citizens: CitizenIndex,
    thread: Option<JoinHandle<()>>,
}

impl Projector {
    /// Starts projecting the log at `log_path` (of `size` acknowledged events) into the query
    /// tables at `query_path`, from the position they record.
    pub(crate) fn start(log_path: &Path, query_path: &Path, size: u64) -> Result<Self, AuditError> {
        let log = SqliteLog::open(log_path)?;
        let query = connect(query_path)?;
        query.pragma_update(None, "cache_size", -PROJECTOR_CACHE_KIB)?;
        let mut from = applied(&query)?;
        if from > size {
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
        if from < size {
            tracing::info!(
                events = size - from,
                "audit projector catching up with the log"
            );
        }
        let progress = Arc::new(Progress::default());
        progress.acknowledge(size);
        let (applied_tx, applied) = watch::channel(from);
        let thread = {
            let progress = Arc::clone(&progress);
            std::thread::Builder::new()
                .name("audit-projector".into())
                .spawn(move || {
                    run(
                        log,
                        Projection {
                            query,
                            dictionary,
                            citizens: writer,
                        },
                        from,
                        &progress,
                        &applied_tx,
                    )
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        Ok(Projector {
            progress,
            applied,
            citizens,
            thread: Some(thread),
        })
    }

    /// The citizen index, as the projector extends it (what a running server's readers read).
    pub(crate) fn citizens(&self) -> CitizenIndex {
        self.citizens.clone()
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

/// Where the projector applies events: the query tables, the citizen index, and the copy of
/// the log's dictionary its reads use.
struct Projection {
    query: Connection,
    dictionary: Dictionary,
    citizens: CitizenWriter,
}

/// The projector thread: applies batches until closed.
fn run(
    log: SqliteLog,
    mut projection: Projection,
    mut applied: u64,
    progress: &Progress,
    applied_tx: &watch::Sender<u64>,
) {
    lower_priority();
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
    let result = apply_tables(log, projection, from, to);
    match result {
        Ok(()) => projection.citizens.publish(to),
        Err(error) => {
            projection.citizens.discard();
            Err(error)
        }
    }
}

/// [`apply_range`]'s transaction, collecting the citizen index's entries on the side.
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
    } = projection;
    let transaction = query.transaction()?;
    let mut summary = Summary::default();
    let mut read = 0;
    // The blocks these events complete, with the left sibling of the first.
    let first_block = from / BLOCK_LEAVES;
    let blocks = log.snapshot(|log| {
        log.views(dictionary, from, to, &mut |seq, view| {
            read += 1;
            summary.event(&transaction, &view)?;
            if let ViewKind::Verification { subject, .. } = view.kind {
                if let Some(subject) = subject.keyed() {
                    citizens.push(seq, &subject);
                }
            }
            Ok(true)
        })?;
        log.blocks(first_block.saturating_sub(1), to / BLOCK_LEAVES)
    })?;
    if read != to - from {
        return Err(AuditError::Corrupt(format!(
            "the log holds {read} of events #{from}..#{}",
            to - 1
        )));
    }
    super::nodes::extend(&transaction, &blocks)?;
    summary.write(&transaction)?;
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
mod tests {
    use std::path::Path;

    use super::*;
    use crate::audit::{
        log::{parse_public_key, rebuild_projection, DATABASE_FILE, PUBLIC_KEY_FILE, QUERY_FILE},
        verify_file, AuditEvent, AuditLog, EventKind, EventSource,
    };
    use crate::vocabulary::{Answer, Channel, Rpc, Subject};

    const DAY: i64 = 86_400_000;

    /// Dossiers over ten days with client and server verifications, some reported before their
    /// dossier and some duplicated.
    fn event(i: usize) -> AuditEvent {
        let dossier = i / 3 % 400;
        let at = 1_704_067_200_000 + (dossier as i64 % 10) * DAY;
        let kind = match i % 3 {
            0 => EventKind::Dossier {
                procedure: format!("1.00{}", dossier % 4),
                channel: [Channel::Desk, Channel::Online][dossier % 2].clone(),
            },
            _ => EventKind::Verification {
                rpc: Rpc::LookupByCccd,
                outcome: Answer::Found.into(),
                purpose: "p".into(),
                subject: Some(Subject([(i % 7) as u8; 32])),
            },
        };
        AuditEvent {
            event_id: format!("e-{i}"),
            source: [EventSource::Client, EventSource::Server][i % 3 / 2],
            dossier_id: format!("D{dossier}"),
            agency_id: format!("agency-{}", dossier % 3),
            district: format!("district-{}", dossier % 5),
            officer_id: format!("officer-{}", dossier % 11),
            occurred_at_ms: at,
            load_test: dossier.is_multiple_of(13),
            commune: None,
            province: None,
            call_id: None,
            kind,
        }
    }

    /// Every derived table, row by row, then the citizen index's entries.
    fn projection(path: &Path) -> Vec<String> {
        let connection = Connection::open(path).unwrap();
        let mut rows = Vec::new();
        for sql in [
            "SELECT * FROM dossiers ORDER BY agency_id, dossier_id",
            "SELECT * FROM ratio_rollup ORDER BY day, agency_id, district, officer_id, procedure, channel, load_test, commune, province",
            "SELECT * FROM ratio_rollup_month ORDER BY day, agency_id, district, officer_id, procedure, channel, load_test, commune, province",
        ] {
            let mut statement = connection.prepare(sql).unwrap();
            let columns = statement.column_count();
            let mut result = statement.query([]).unwrap();
            while let Some(row) = result.next().unwrap() {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                rows.push(values.join("|"));
            }
        }
        let log = SqliteLog::open(&path.with_file_name(DATABASE_FILE)).unwrap();
        let size = applied(&connection).unwrap();
        let index = CitizenIndex::read(
            &path.with_file_name(CITIZEN_FILE),
            size,
            &log,
            &mut Dictionary::default(),
        )
        .unwrap();
        rows.extend(index.dump().unwrap().iter().map(|e| format!("{e:?}")));
        rows
    }

    /// The citizen index's entries of `[0, size)` read from the log itself.
    fn citizens_in_log(data_dir: &Path, size: u64) -> Vec<(u64, u32)> {
        let log = SqliteLog::open(&data_dir.join(DATABASE_FILE)).unwrap();
        let mut all = Vec::new();
        log.views(&mut Dictionary::default(), 0, size, &mut |seq, view| {
            if let ViewKind::Verification { subject, .. } = view.kind {
                if let Some(subject) = subject.keyed() {
                    all.push((seq, citizens::subject_key(&subject)));
                }
            }
            Ok(true)
        })
        .unwrap();
        all
    }

    #[test]
    fn a_crash_between_append_and_projection_is_caught_up_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(QUERY_FILE);
        let log =
            AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        let events: Vec<_> = (0..6_000).map(event).collect();
        for chunk in events[..2_500].chunks(500) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        // From here on groups are durable and acknowledged but never projected: the state a
        // kill between the log append and the projection leaves.
        log.hold_projection_for_test(true);
        // Clients redeliver some reports already stored (server records are never sent twice).
        let again = events[2_000..2_500]
            .iter()
            .filter(|e| e.source == EventSource::Client);
        let rest: Vec<_> = again.chain(&events[2_500..]).cloned().collect();
        for chunk in rest.chunks(700) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        drop(log);
        let behind = applied(&Connection::open(&path).unwrap()).unwrap();
        assert_eq!(behind, 2_500, "the held groups were not projected");

        drop(
            AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap(),
        );
        assert_eq!(applied(&Connection::open(&path).unwrap()).unwrap(), 6_000);
        let caught_up = projection(&path);
        assert!(caught_up.len() > 400, "{}", caught_up.len());

        assert_eq!(rebuild_projection(dir.path()).unwrap(), 6_000);
        assert_eq!(
            caught_up,
            projection(&path),
            "catch-up equals a clean rebuild"
        );

        // The citizen index holds runs: opened for query tables that hold fewer events (their
        // last commits lost), it drops the runs beyond them and reads the rest from the log.
        let log = SqliteLog::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let index_path = dir.path().join(CITIZEN_FILE);
        let (index, _) =
            CitizenIndex::open(&index_path, 6_000, &log, &mut Dictionary::default()).unwrap();
        assert_eq!(index.dump().unwrap(), citizens_in_log(dir.path(), 6_000));
        for applied in [4_321, 1_024, 0] {
            let (index, _) =
                CitizenIndex::open(&index_path, applied, &log, &mut Dictionary::default()).unwrap();
            assert_eq!(
                index.dump().unwrap(),
                citizens_in_log(dir.path(), applied),
                "{applied}"
            );
        }
        let key = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        let report = verify_file(
            &dir.path().join(DATABASE_FILE),
            &parse_public_key(&key).unwrap(),
        )
        .unwrap();
        assert_eq!((report.events, report.tamper), (6_000, None));
    }
}
