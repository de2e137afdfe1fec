//! The log of record in an SQLite file (`audit.sqlite`): one row a run of records, the
//! dictionary, the block roots and the signed heads, each group commit one fsync'd transaction.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Group, LogOfRecord, RawRecord, RunDamage, RunWalk};
use crate::{keys::SignedTreeHead, AuditError};

/// The log of record's file in the data directory.
pub const DATABASE_FILE: &str = "audit.sqlite";

/// The log file's tables (see the module documentation of [`super`]).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    first_seq INTEGER PRIMARY KEY,
    count     INTEGER NOT NULL,
    body      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS strings (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);
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

/// The log of record in an SQLite file.
pub(crate) struct SqliteLog {
    connection: Connection,
}

/// Opens the log file with the settings every connection uses.
fn connect(path: &Path) -> Result<Connection, AuditError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: the WAL is fsync'd at every commit, so a commit that returned survives power loss.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    let old_format: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events')",
        [],
        |r| r.get(0),
    )?;
    if old_format {
        return Err(AuditError::Corrupt(format!(
            "{} holds an audit log in the format of vnpop before the binary log of record (one `events` row an event); read it with the vnpop that wrote it, or give `--data-dir` a new directory",
            path.display()
        )));
    }
    connection.execute_batch(SCHEMA)?;
    Ok(connection)
}

impl SqliteLog {
    /// Opens (or creates) the log file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
        Ok(SqliteLog {
            connection: connect(path)?,
        })
    }

    /// The connection, for the checkpoints of its owner.
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Opens the file for its one writer, the sequencer: no checkpoint inside a commit an answer
    /// waits for (the sequencer and the checkpointer thread run them after); the write-ahead log
    /// goes back to 64 MiB at most once a checkpoint completes (kept that large: a write-ahead
    /// log that must grow again makes every fdatasync also commit the file's new size).
    pub(crate) fn open_for_writing(path: &Path) -> Result<Self, AuditError> {
        let log = Self::open(path)?;
        log.connection
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        log.connection
            .pragma_update(None, "journal_size_limit", 64 << 20)?;
        Ok(log)
    }

    /// Runs `read` inside one read transaction (one snapshot of the file).
    pub(crate) fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        self.connection.execute_batch("BEGIN")?;
        let result = read(self);
        self.connection.execute_batch("COMMIT")?;
        result
    }
}

/// A position (or block index) as SQLite's signed integers hold it: those past `i64::MAX`,
/// which no row has, as `i64::MAX`, so that a range up to `u64::MAX` means "to the end".
fn position(value: u64) -> i64 {
    value.min(i64::MAX as u64) as i64
}

/// A tree head as `tree_heads` holds it (size, root, time, signature).
fn head_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<SignedTreeHead, AuditError>> {
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

impl LogOfRecord for SqliteLog {
    fn append(&mut self, group: &Group) -> Result<(), AuditError> {
        let transaction = self.connection.transaction()?;
        {
            let mut strings =
                transaction.prepare_cached("INSERT INTO strings (id, text) VALUES (?1, ?2)")?;
            for (id, text) in &group.strings {
                strings.execute(params![*id as i64, text])?;
            }
            let mut runs = transaction.prepare_cached(
                "INSERT INTO records (first_seq, count, body) VALUES (?1, ?2, ?3)",
            )?;
            for (first, count, body) in &group.runs {
                runs.execute(params![*first as i64, *count as i64, body])?;
            }
            let mut blocks = transaction.prepare_cached(
                "INSERT OR REPLACE INTO merkle_blocks (block, root) VALUES (?1, ?2)",
            )?;
            for (index, root) in &group.blocks {
                blocks.execute(params![*index as i64, &root[..]])?;
            }
            for head in &group.heads {
                transaction
                    .prepare_cached(
                        "INSERT INTO tree_heads (tree_size, root, signed_at_ms, signature) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        head.tree_size as i64,
                        &head.root[..],
                        head.signed_at_ms,
                        &head.signature[..]
                    ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        if from >= to {
            return Ok(());
        }
        // The run holding `from` starts at or before it.
        let start: i64 = self
            .connection
            .prepare_cached(
                "SELECT first_seq FROM records WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
            )?
            .query_row([position(from)], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let mut statement = self.connection.prepare_cached(
            "SELECT first_seq, count, body FROM records WHERE first_seq >= ?1 AND first_seq < ?2 ORDER BY first_seq",
        )?;
        let mut rows = statement.query([start, position(to)])?;
        let mut walk = RunWalk::new(from, to);
        while let Some(row) = rows.next()? {
            let first = row.get::<_, i64>(0)? as u64;
            let count = row.get::<_, i64>(1)? as u64;
            let body = row
                .get_ref(2)?
                .as_blob()
                .map_err(|e| AuditError::Corrupt(format!("the run at #{first}: {e}")))?;
            if !walk.run(first, count, body, each, damaged)? {
                break;
            }
        }
        Ok(())
    }

    fn size(&self) -> Result<u64, AuditError> {
        Ok(self
            .connection
            .prepare_cached(
                "SELECT first_seq + count FROM records ORDER BY first_seq DESC LIMIT 1",
            )?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64)
    }

    fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError> {
        Ok(self
            .connection
            .prepare_cached("SELECT id, text FROM strings WHERE id >= ?1 ORDER BY id")?
            .query_map([position(from)], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?)
    }

    fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError> {
        self.connection
            .prepare_cached(
                "SELECT tree_size, root, signed_at_ms, signature FROM tree_heads ORDER BY tree_size",
            )?
            .query_map([], head_from_row)?
            .collect::<Result<Result<Vec<_>, _>, _>>()?
    }

    fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        self.connection
            .prepare_cached(
                "SELECT tree_size, root, signed_at_ms, signature FROM tree_heads ORDER BY tree_size DESC LIMIT 1",
            )?
            .query_row([], head_from_row)
            .optional()?
            .transpose()
    }

    fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        Ok(self
            .connection
            .prepare_cached(
                "SELECT block, root FROM merkle_blocks WHERE block >= ?1 AND block < ?2 ORDER BY block",
            )?
            .query_map([position(from), position(to)], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Copies what the write-ahead log holds into the database file (passive: never waits for
    /// readers or the writer).
    fn checkpoint(&self) -> Result<(), AuditError> {
        self.connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The storage test suite on an SQLite file.

    use super::{SqliteLog, DATABASE_FILE};
    use crate::store::suite::{log_of_record_suite, Backend};

    /// A log file in a temporary directory of its own.
    struct TempFile(tempfile::TempDir);

    impl Backend for TempFile {
        type Log = SqliteLog;
        const SHARED: bool = false;
        fn open(&self) -> SqliteLog {
            SqliteLog::open_for_writing(&self.0.path().join(DATABASE_FILE)).unwrap()
        }
    }

    /// A fresh, empty log file.
    fn fresh() -> TempFile {
        TempFile(tempfile::tempdir().unwrap())
    }

    log_of_record_suite!(fresh);
}
