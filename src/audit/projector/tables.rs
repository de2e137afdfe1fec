//! The query tables' file (`audit-query.sqlite`): its schema and version, the connection
//! settings and the applied position it records.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, OptionalExtension};

use crate::audit::AuditError;

/// The query tables' file in the data directory, beside the log's
/// [`DATABASE_FILE`](crate::audit::store::DATABASE_FILE).
pub const QUERY_FILE: &str = "audit-query.sqlite";

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
    -- dossiers with at least one served verification that consulted a citizen record
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
/// looked up when a query answers). `projection_state`: the
/// first event not yet applied. `ratio_rollup_month`: the same sums per month, so a query over
/// whole months reads a thirtieth of the rows (the days at either end of a period come from
/// `ratio_rollup`).
const SCHEMA: &str = concat!(
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
    -- served verifications that consulted a citizen record (coverage counts these only: not a
    -- request refused as malformed)
    served_consulted INTEGER NOT NULL DEFAULT 0,
    -- the commune's official code (dossiers received since 1 July 2025)
    commune        INTEGER,
    -- the receiving unit's current province code (an old district's mapped through its old
    -- province), NULL when not known
    province       INTEGER,
    PRIMARY KEY (agency_id, dossier_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dossiers_by_received ON dossiers (received_at_ms);
-- The dossiers no served lookup has covered yet (what the unverified list reads): a dossier
-- enters at its receipt and leaves at its first covering lookup, near the index's end either
-- way, so the index stays small and cheap to keep. It holds the district and officer the list
-- is filtered by, so only the rows listed are read from the table.
CREATE INDEX IF NOT EXISTS dossiers_unverified
    ON dossiers (received_at_ms, agency_id, dossier_id, district, officer_id)
    WHERE served_consulted = 0 AND load_test = 0;
CREATE TABLE IF NOT EXISTS ratio_rollup (",
    rollup_columns!(),
    ") WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ratio_rollup_month (",
    rollup_columns!(),
    ") WITHOUT ROWID;
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
/// current provinces; 4: the tree's upper levels, [`nodes`](crate::audit::nodes); 5: 31-bit subject keys, the monthly rollup; 6: verifications that consulted a record, which
/// alone cover a dossier; 7: subjects in buckets, the unverified dossiers' index; 8: no
/// `subjects` table, the citizen index being [`super::citizens`]).
const SCHEMA_VERSION: i64 = 8;

/// The page cache of the projector's connection (KiB): the query tables' hot parts — the
/// newest dossiers, the rollups — stay in memory as the file grows.
pub(crate) const PROJECTOR_CACHE_KIB: i64 = 256 * 1024;

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
                 {NODES}
                 PRAGMA user_version = {SCHEMA_VERSION};",
                NODES = crate::audit::nodes::SCHEMA
            ))
        };
        connection.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        result?;
    }
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(crate::audit::nodes::SCHEMA)?;
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

/// Empties every query table and sets the applied position back to 0.
pub(super) fn clear(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch(
        "BEGIN;
         DELETE FROM dossiers;
         DELETE FROM ratio_rollup;
         DELETE FROM ratio_rollup_month;
         DELETE FROM merkle_nodes;
         UPDATE projection_state SET applied = 0 WHERE id = 0;
         COMMIT;",
    )?;
    Ok(())
}
