//! The query tables' file (`audit-query.sqlite`): its schema and version, the connection
//! settings and the applied position it records.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, OptionalExtension};

use crate::AuditError;

/// The query tables' file in the data directory, beside the log's
/// [`DATABASE_FILE`](crate::store::DATABASE_FILE).
pub const QUERY_FILE: &str = "audit-query.sqlite";

/// The query tables. `dossiers`: each dossier's receipt (its first, keyed by its position in
/// the log), what a dossier is received with and never changes: the periods' dossiers that
/// reconciliation and the per-dossier ratio read, by receipt time. A dossier's counts and the
/// rollups are not here: they change with every verification, and are kept in memory
/// ([`super::state`]). Communes and provinces are stored as their codes (names are looked up
/// when a query answers). `projection_state`: the first event not yet applied.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dossiers (
    seq            INTEGER PRIMARY KEY,
    agency_id      TEXT NOT NULL,
    dossier_id     TEXT NOT NULL,
    district       TEXT NOT NULL,
    officer_id     TEXT NOT NULL,
    procedure      TEXT NOT NULL,
    channel        TEXT NOT NULL,
    -- when the dossier was received (the receipt's occurred_at_ms)
    received_at_ms INTEGER NOT NULL,
    load_test      INTEGER NOT NULL,
    -- the commune's official code (dossiers received since 1 July 2025)
    commune        INTEGER,
    -- the receiving unit's current province code (an old district's mapped through its old
    -- province), NULL when not known
    province       INTEGER
);
CREATE TABLE IF NOT EXISTS projection_state (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    applied INTEGER NOT NULL
);
INSERT OR IGNORE INTO projection_state (id, applied) VALUES (0, 0);
";

/// The receipts' index on the receipt time (periods' dossiers). Made with the tables; dropped
/// while a backlog is applied and made again once caught up (see the writer).
const RECEIVED_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS dossiers_by_received ON dossiers (received_at_ms);";

/// The version of [`SCHEMA`] (SQLite's `user_version` of the file). Query tables of another
/// version are dropped and derived again from the log: raise it whenever a table gains a column
/// or a column changes meaning (2: reported-failed and served-covered counts; 3: communes and
/// current provinces; 4: the tree's upper levels, [`nodes`](crate::nodes); 5: 31-bit subject keys, the monthly rollup; 6: verifications that consulted a record, which
/// alone cover a dossier; 7: subjects in buckets, the unverified dossiers' index; 8: no
/// `subjects` table, the citizen index being [`super::citizens`]; 9: receipts only in
/// `dossiers`, no rollup tables, counts and rollups being in memory).
const SCHEMA_VERSION: i64 = 9;

/// The page cache of the projector's connection (KiB): the newest receipts and their index
/// stay in memory as the file grows.
pub(crate) const PROJECTOR_CACHE_KIB: i64 = 64 * 1024;

/// Opens the query tables' file with the settings every connection uses. Tables of an older
/// [`SCHEMA_VERSION`] are dropped first, so the projector derives them again from the first event.
pub(crate) fn connect(path: &Path) -> Result<Connection, AuditError> {
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
                 {RECEIVED_INDEX}
                 {NODES}
                 PRAGMA user_version = {SCHEMA_VERSION};",
                NODES = crate::nodes::SCHEMA
            ))
        };
        connection.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        result?;
    }
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(crate::nodes::SCHEMA)?;
    Ok(connection)
}

/// The first event not yet applied to the query tables.
pub(crate) fn applied(connection: &Connection) -> Result<u64, AuditError> {
    Ok(connection
        .query_row(
            "SELECT applied FROM projection_state WHERE id = 0",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0) as u64)
}

/// Drops the receipts' index on the receipt time (a backlog is applied: it is built once, by
/// [`create_received_index`], when the writer catches up).
pub(super) fn drop_received_index(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch("DROP INDEX IF EXISTS dossiers_by_received")?;
    Ok(())
}

/// Builds the receipts' index on the receipt time, if it is missing.
pub(super) fn create_received_index(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch(RECEIVED_INDEX)?;
    Ok(())
}

/// Records, in `transaction`, that every event before `applied` is applied.
pub(super) fn set_applied(
    transaction: &rusqlite::Transaction<'_>,
    applied: u64,
) -> Result<(), AuditError> {
    transaction
        .prepare_cached("UPDATE projection_state SET applied = ?1 WHERE id = 0")?
        .execute([applied as i64])?;
    Ok(())
}

/// Checkpoints the write-ahead log into the file and truncates it to nothing.
pub(super) fn truncate_wal(connection: &Connection) -> Result<(), AuditError> {
    connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Empties every query table and sets the applied position back to 0.
pub(super) fn clear(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch(
        "BEGIN;
         DELETE FROM dossiers;
         DELETE FROM merkle_nodes;
         UPDATE projection_state SET applied = 0 WHERE id = 0;
         COMMIT;",
    )?;
    Ok(())
}
