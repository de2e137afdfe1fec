//! The projector: derives the query tables from the log of record, on its own thread.
//!
//! The log's records (and the signed heads over them) are the record; everything an auditor's
//! query reads besides them is derived here, in a file of its own (`audit-query.sqlite`) so
//! that projecting never waits for, or holds up, a group commit: the `dossiers` summary, the
//! per-day `ratio_rollup` and the citizen index `subjects`. The projector reads what the
//! sequencer has acknowledged back from the log, applies it in batches, each in one transaction
//! that also records the position it has applied (`projection_state.applied`), and publishes
//! that position. After a crash or restart it starts again from the recorded position, and
//! [`rebuild`] derives everything again from the first event.
//!
//! Projection transactions are not fsync'd at each commit: they can always be recomputed from
//! the record, and SQLite's write-ahead log keeps a prefix of commits, so the applied position
//! never runs ahead of the rows it stands for.

use std::{
    path::Path,
    sync::{Arc, Condvar, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::watch;

use super::{
    event::EventKind,
    merkle::BLOCK_LEAVES,
    record::{Dictionary, StoredEvent},
    store::{LogOfRecord, SqliteLog},
    summary::Summary,
    AuditError,
};

/// The query tables' file in the data directory, beside the log's
/// [`DATABASE_FILE`](super::store::DATABASE_FILE).
pub const QUERY_FILE: &str = "audit-query.sqlite";

/// Most events applied in one transaction.
const BATCH: u64 = 20_000;
/// Events worth a transaction at once; fewer wait up to [`LINGER`] for more, so that a steady
/// stream of small group commits costs the projector a few transactions a second, not one each.
const MIN_BATCH: u64 = 4_096;
/// How long a few events wait for more before they are applied anyway.
const LINGER: Duration = Duration::from_millis(50);
/// The projector thread's niceness: served calls and their records come first; the projector
/// uses what CPU they leave (and catches up when they pause). Queries wait for it.
const NICENESS: i32 = 10;
/// How long nothing must come before the projector, caught up, truncates the query file's
/// write-ahead log.
const IDLE_AFTER: Duration = Duration::from_secs(1);
/// How long the projector waits before trying again after a failed batch.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The columns of both rollups: `day` is the Vietnam day (days since 1970-01-01) in
/// `ratio_rollup`, the first day of the month in `ratio_rollup_month`.
macro_rules! rollup_columns {
    () => {
        "
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
    -- dossiers with at least one served verification
    served_covered INTEGER NOT NULL,
    -- reported verifications that failed before the server; reported ones that reached it,
    -- by their outcome, beyond those it served (per dossier)
    failed     INTEGER NOT NULL,
    not_served INTEGER NOT NULL,
    -- commune code, current province code; 0: none / not known
    commune    INTEGER NOT NULL DEFAULT 0,
    province   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency_id, district, officer_id, procedure, channel, load_test, commune, province)
"
    };
}

/// The query tables. `dossiers`: one row per dossier with its lookup counts, so ratio queries
/// read dossiers rather than every event. `ratio_rollup`: per Vietnam day and dossier
/// attributes, the dossier counts the ratio queries sum, so a query over years of events reads
/// thousands of rows, not millions. Communes and provinces are stored as their codes (names are
/// looked up when a query answers). `subjects`: the events of each keyed subject hash, under a
/// 31-bit key of it ([`subject_key`]; a query compares the full hash). `projection_state`: the
/// first event not yet applied. `ratio_rollup_month`: the same sums per month, so a query over
/// whole months reads a thirtieth of the rows (the days at either end of a period come from
/// `ratio_rollup`).
pub(super) const SCHEMA: &str = concat!(
    "
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
    -- reported verifications whose outcome says the call never reached the server
    failed         INTEGER NOT NULL DEFAULT 0,
    -- the commune's official code (dossiers received since 1 July 2025)
    commune        INTEGER,
    -- the receiving unit's current province code (an old district's mapped through its old
    -- province), NULL when not known
    province       INTEGER,
    PRIMARY KEY (agency_id, dossier_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dossiers_by_received ON dossiers (received_at_ms);
CREATE TABLE IF NOT EXISTS ratio_rollup (",
    rollup_columns!(),
    ") WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ratio_rollup_month (",
    rollup_columns!(),
    ") WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subjects (
    key INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projection_state (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    applied INTEGER NOT NULL
);
INSERT OR IGNORE INTO projection_state (id, applied) VALUES (0, 0);
"
);

/// The version of [`SCHEMA`] (SQLite's `user_version` of the file). Query tables of another
/// version are dropped and derived again from the log: raise it whenever a table gains a column
/// or a column changes meaning (2: reported-failed and served-covered counts; 3: communes and
/// current provinces; 4: the tree's upper levels, [`super::nodes`]; 5: 31-bit subject keys, the monthly rollup).
const SCHEMA_VERSION: i64 = 5;

/// Opens the query tables' file with the settings every connection uses. Tables of an older
/// [`SCHEMA_VERSION`] are dropped first, so the projector derives them again from the first event.
pub(super) fn connect(path: &Path) -> Result<Connection, AuditError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // Derived data: the write-ahead log is synced at checkpoints only.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.busy_timeout(Duration::from_secs(10))?;
    let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
    if version(&connection)? != SCHEMA_VERSION {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        // Checked again under the write lock: another connection may have just done it.
        let result = if version(&connection)? == SCHEMA_VERSION {
            Ok(())
        } else {
            connection.execute_batch(&format!(
                "DROP TABLE IF EXISTS dossiers;
                 DROP TABLE IF EXISTS ratio_rollup;
                 DROP TABLE IF EXISTS ratio_rollup_month;
                 DROP TABLE IF EXISTS subjects;
                 DROP TABLE IF EXISTS projection_state;
                 DROP TABLE IF EXISTS merkle_nodes;
                 {SCHEMA}
                 {NODES}
                 PRAGMA user_version = {SCHEMA_VERSION};",
                NODES = super::nodes::SCHEMA
            ))
        };
        connection.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        result?;
    }
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(super::nodes::SCHEMA)?;
    Ok(connection)
}

/// The key of a subject hash in the `subjects` index: the top 31 bits of the FNV-1a hash of
/// its text, so SQLite stores it in 4 bytes rather than 8 (a query compares the full hash; at
/// national scale a key is shared by about one subject in twenty, whose events a query reads and
/// skips).
pub(super) fn subject_key(subject: &str) -> i64 {
    let hash = subject
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    (hash >> 33) as i64
}

/// The first event not yet applied to the query tables.
pub(super) fn applied(connection: &Connection) -> Result<u64, AuditError> {
    Ok(connection
        .query_row(
            "SELECT applied FROM projection_state WHERE id = 0",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0) as u64)
}

/// What the sequencer tells the projector: how far the log is acknowledged; and whether to stop
/// (after applying everything) or, in tests, to hold.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    state: Mutex<ProgressState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct ProgressState {
    acknowledged: u64,
    closing: bool,
    held: bool,
    /// A query waits for the projector.
    hurry: bool,
}

impl Progress {
    /// The log is acknowledged up to `size`.
    pub(crate) fn acknowledge(&self, size: u64) {
        self.state.lock().expect("progress lock").acknowledged = size;
        self.changed.notify_all();
    }

    /// TESTS ONLY: stops (or resumes) applying.
    pub(crate) fn hold(&self, hold: bool) {
        self.state.lock().expect("progress lock").held = hold;
        self.changed.notify_all();
    }

    pub(crate) fn held(&self) -> bool {
        self.state.lock().expect("progress lock").held
    }

    fn close(&self) {
        self.state.lock().expect("progress lock").closing = true;
        self.changed.notify_all();
    }

    /// A query is waiting for the projector: apply what is there now, without lingering.
    pub(crate) fn hurry(&self) {
        self.state.lock().expect("progress lock").hurry = true;
        self.changed.notify_all();
    }

    /// Waits until there is something past `applied` worth applying: [`MIN_BATCH`] events, or
    /// anything after [`LINGER`], or anything at once when a query waits or the log closes.
    /// With `idle_after`, gives up waiting once nothing has come for that long.
    fn next(&self, applied: u64, idle_after: Option<Duration>) -> Next {
        let mut state = self.state.lock().expect("progress lock");
        let mut lingered = false;
        loop {
            let pending = state.acknowledged.saturating_sub(applied);
            if !state.held
                && pending > 0
                && (pending >= MIN_BATCH || lingered || state.hurry || state.closing)
            {
                state.hurry = false;
                return Next::Apply(state.acknowledged);
            }
            if state.closing {
                return Next::Closed;
            }
            if pending > 0 && !state.held {
                let (next, timeout) = self
                    .changed
                    .wait_timeout(state, LINGER)
                    .expect("progress lock");
                state = next;
                lingered = timeout.timed_out();
            } else if let Some(idle_after) = idle_after {
                let (next, timeout) = self
                    .changed
                    .wait_timeout(state, idle_after)
                    .expect("progress lock");
                state = next;
                if timeout.timed_out() && state.acknowledged <= applied && !state.closing {
                    return Next::Idle;
                }
            } else {
                state = self.changed.wait(state).expect("progress lock");
            }
        }
    }
}

/// What the projector does next.
enum Next {
    /// Apply the events up to this position.
    Apply(u64),
    /// Nothing came for a while.
    Idle,
    /// The log is closing and everything is applied (or held).
    Closed,
}

/// The running projector thread.
pub(crate) struct Projector {
    progress: Arc<Progress>,
    applied: watch::Receiver<u64>,
    thread: Option<JoinHandle<()>>,
}

impl Projector {
    /// Starts projecting the log at `log_path` (of `size` acknowledged events) into the query
    /// tables at `query_path`, from the position they record.
    pub(crate) fn start(log_path: &Path, query_path: &Path, size: u64) -> Result<Self, AuditError> {
        let log = SqliteLog::open(log_path)?;
        let query = connect(query_path)?;
        let mut from = applied(&query)?;
        if from > size {
            // Tables of another (or a longer, since replaced) log: derive them again.
            clear(&query)?;
            from = 0;
        }
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
                .spawn(move || run(log, query, from, &progress, &applied_tx))
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        Ok(Projector {
            progress,
            applied,
            thread: Some(thread),
        })
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

/// The projector thread: applies batches until closed.
fn run(
    log: SqliteLog,
    mut query: Connection,
    mut applied: u64,
    progress: &Progress,
    applied_tx: &watch::Sender<u64>,
) {
    lower_priority();
    let mut dictionary = Dictionary::default();
    // Whether the query file's write-ahead log holds batches since it was last truncated.
    let mut written = false;
    loop {
        let acknowledged = match progress.next(applied, written.then_some(IDLE_AFTER)) {
            Next::Apply(acknowledged) => acknowledged,
            Next::Idle => {
                // At rest the write-ahead log goes back to nothing (it grows to a batch's pages
                // while catching up; left at that size it would keep the disk for good).
                if let Err(error) =
                    query.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "audit query tables: WAL checkpoint failed");
                }
                written = false;
                continue;
            }
            Next::Closed => break,
        };
        let to = acknowledged.min(applied + BATCH);
        match apply_range(&log, &mut dictionary, &mut query, applied, to) {
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

/// Reads events `[from, to)` back from the log and applies them in one transaction.
fn apply_range(
    log: &SqliteLog,
    dictionary: &mut Dictionary,
    query: &mut Connection,
    from: u64,
    to: u64,
) -> Result<(), AuditError> {
    let mut events = Vec::with_capacity((to - from) as usize);
    // The blocks these events complete, with the left sibling of the first.
    let first_block = from / BLOCK_LEAVES;
    let blocks = log.snapshot(|log| {
        log.events(dictionary, from, to, &mut |stored| {
            events.push(stored);
            Ok(true)
        })?;
        log.blocks(first_block.saturating_sub(1), to / BLOCK_LEAVES)
    })?;
    if events.len() as u64 != to - from {
        return Err(AuditError::Corrupt(format!(
            "the log holds {} of events #{from}..#{}",
            events.len(),
            to - 1
        )));
    }
    apply(query, &events, &blocks, to)
}

/// Applies stored events, and the tree nodes their blocks complete, in one transaction with the
/// new applied position.
fn apply(
    connection: &mut Connection,
    events: &[StoredEvent],
    blocks: &[(u64, Vec<u8>)],
    to: u64,
) -> Result<(), AuditError> {
    let transaction = connection.transaction()?;
    super::nodes::extend(&transaction, blocks)?;
    let mut summary = Summary::default();
    for stored in events {
        let event = &stored.event;
        summary.event(&transaction, event)?;
        if let EventKind::Verification { subject, .. } = &event.kind {
            if !subject.is_empty() {
                transaction
                    .prepare_cached("INSERT OR IGNORE INTO subjects (key, seq) VALUES (?1, ?2)")?
                    .execute([subject_key(subject), stored.seq as i64])?;
            }
        }
    }
    summary.write(&transaction)?;
    transaction
        .prepare_cached("UPDATE projection_state SET applied = ?1 WHERE id = 0")?
        .execute([to as i64])?;
    transaction.commit()?;
    Ok(())
}

fn clear(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch(
        "BEGIN;
         DELETE FROM dossiers;
         DELETE FROM ratio_rollup;
         DELETE FROM ratio_rollup_month;
         DELETE FROM subjects;
         DELETE FROM merkle_nodes;
         UPDATE projection_state SET applied = 0 WHERE id = 0;
         COMMIT;",
    )?;
    Ok(())
}

/// Derives the query tables at `query_path` again from the first event of the log at
/// `log_path` (which must not be open for writing). Returns the number of events applied.
pub(super) fn rebuild(log_path: &Path, query_path: &Path) -> Result<u64, AuditError> {
    let log = SqliteLog::open(log_path)?;
    let mut query = connect(query_path)?;
    clear(&query)?;
    let size = super::store::LogOfRecord::size(&log)?;
    let mut dictionary = Dictionary::default();
    let mut from = 0;
    while from < size {
        let to = size.min(from + BATCH);
        apply_range(&log, &mut dictionary, &mut query, from, to)?;
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
        verify_file, AuditEvent, AuditLog, EventSource,
    };

    const DAY: i64 = 86_400_000;

    /// Dossiers over ten days with client and server verifications, some reported before their
    /// dossier and some duplicated.
    fn event(i: usize) -> AuditEvent {
        let dossier = i / 3 % 400;
        let at = 1_704_067_200_000 + (dossier as i64 % 10) * DAY;
        let kind = match i % 3 {
            0 => EventKind::Dossier {
                procedure: format!("1.00{}", dossier % 4),
                channel: ["desk", "online"][dossier % 2].into(),
            },
            _ => EventKind::Verification {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "p".into(),
                subject: format!("s{}", i % 7),
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
            kind,
        }
    }

    /// Every derived table, row by row.
    fn projection(path: &Path) -> Vec<String> {
        let connection = Connection::open(path).unwrap();
        let mut rows = Vec::new();
        for sql in [
            "SELECT * FROM dossiers ORDER BY agency_id, dossier_id",
            "SELECT * FROM ratio_rollup ORDER BY day, agency_id, district, officer_id, procedure, channel, load_test, commune, province",
            "SELECT * FROM ratio_rollup_month ORDER BY day, agency_id, district, officer_id, procedure, channel, load_test, commune, province",
            "SELECT key, seq FROM subjects ORDER BY key, seq",
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
        rows
    }

    #[test]
    fn a_crash_between_append_and_projection_is_caught_up_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(QUERY_FILE);
        let log = AuditLog::open(dir.path()).unwrap();
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

        drop(AuditLog::open(dir.path()).unwrap());
        assert_eq!(applied(&Connection::open(&path).unwrap()).unwrap(), 6_000);
        let caught_up = projection(&path);
        assert!(caught_up.len() > 400, "{}", caught_up.len());

        assert_eq!(rebuild_projection(dir.path()).unwrap(), 6_000);
        assert_eq!(
            caught_up,
            projection(&path),
            "catch-up equals a clean rebuild"
        );
        let key = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        let report = verify_file(
            &dir.path().join(DATABASE_FILE),
            &parse_public_key(&key).unwrap(),
        )
        .unwrap();
        assert_eq!((report.events, report.tamper), (6_000, None));
    }
}
