//! Where the log of record lives: the narrow interface the sequencer, the projector, the
//! queries and `verify` use ([`LogOfRecord`]), and its SQLite implementation (`audit.sqlite`).
//!
//! The file holds, in one database:
//! - `records`: the events in runs of at most [`RUN`] consecutive records, one row a run
//!   (`first_seq`, `count`, `body`, the records of [`record`](super::record) back to back);
//! - `strings`: the dictionary the records' interned strings refer to;
//! - `tree_heads`: one signed tree head per group commit;
//! - `merkle_blocks`: the root of every complete block of 1,024 leaves (derived from the
//!   records in the same commit; `verify` checks them, proofs read them).
//!
//! A group commit writes all four in one SQLite transaction, fsync'd (WAL, `synchronous=FULL`).
//! A fleet of servers sharing one database server is another implementation of the same trait.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    keys::SignedTreeHead,
    merkle::Hash,
    record::{self, Dictionary, RecordError, StoredEvent},
    AuditError,
};

/// The log of record's file in the data directory.
pub const DATABASE_FILE: &str = "audit.sqlite";

/// Most records in one `records` row.
pub(crate) const RUN: usize = 128;

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

/// One group commit: runs of encoded records, the dictionary entries they introduced, the
/// Merkle blocks they completed, and the signed head(s) over the log after them.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// (first seq, count, records).
    pub runs: Vec<(u64, usize, Vec<u8>)>,
    pub strings: Vec<(u64, String)>,
    pub blocks: Vec<(u64, Hash)>,
    /// The signed head over the log after the group (a copy may take in several at once).
    pub heads: Vec<SignedTreeHead>,
}

/// One record as read from the store, before decoding.
pub(crate) struct RawRecord<'a> {
    pub seq: u64,
    pub payload: &'a [u8],
    pub crc: u32,
}

/// What can go wrong reading a run of records (besides the database).
#[derive(Debug)]
pub(crate) enum RunDamage {
    /// The run starting at `first_seq` holds fewer well-formed records than it says.
    Truncated { seq: u64, error: RecordError },
    /// A run starts at `found` where `expected` should follow.
    Gap { expected: u64, found: u64 },
}

/// The log of record as the sequencer, the projector and the readers need it.
pub(crate) trait LogOfRecord {
    /// Stores a group atomically and durably; nothing of it is visible before it returns.
    fn append(&mut self, group: &Group) -> Result<(), AuditError>;
    /// Calls `each` with every record in `[from, to)`, in order, until it returns false.
    /// Structural damage (a short run, a gap) is passed to `damaged` and ends the scan.
    fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<(), AuditError>;
    /// Number of records stored (one past the last run's end).
    fn size(&self) -> Result<u64, AuditError>;
    /// Dictionary entries from id `from` on.
    fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError>;
    /// Every signed head, oldest first.
    fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError>;
    /// The newest signed head.
    fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError>;
    /// Stored block roots with index in `[from, to)`, in order.
    fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError>;
    /// Stores block roots missing from the file (derived data, restored on open).
    fn restore_blocks(&mut self, blocks: &[(u64, Hash)]) -> Result<(), AuditError> {
        self.append(&Group {
            blocks: blocks.to_vec(),
            ..Group::default()
        })
    }
    /// Before a group is encoded: a log shared by several writers takes its write lock (held
    /// until [`LogOfRecord::append`] or [`LogOfRecord::abandon`]) and returns the size all of
    /// them have committed, which the caller must catch up with first; a log with one writer
    /// returns `None`.
    fn lock_for_append(&mut self) -> Result<Option<u64>, AuditError> {
        Ok(None)
    }
    /// Gives up the write lock taken by [`LogOfRecord::lock_for_append`] without storing.
    fn abandon(&mut self) {}
    /// After answering, now and then: housekeeping the store may need off the commits
    /// answers wait for (SQLite: a WAL checkpoint).
    fn checkpoint(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// The dictionary as stored.
    fn dictionary(&self) -> Result<Dictionary, AuditError> {
        Dictionary::from_entries(self.strings_from(0)?).map_err(|e| {
            AuditError::Corrupt(format!("the log's string dictionary is damaged: {e}"))
        })
    }

    /// Decodes every record in `[from, to)` with `dictionary` (brought up to date with the file
    /// first), calling `each` until it returns false. Damage of any kind is an error naming the
    /// record.
    fn events(
        &self,
        dictionary: &mut Dictionary,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(StoredEvent) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.views(dictionary, from, to, &mut |seq, view| {
            each(view.to_stored(seq))
        })
    }

    /// [`LogOfRecord::events`] read in place, without allocating: `each` gets each record's
    /// position and a view of it.
    fn views(
        &self,
        dictionary: &mut Dictionary,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, record::View<'_>) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        dictionary
            .extend(self.strings_from(dictionary.len())?)
            .map_err(|e| AuditError::Corrupt(format!("the log's dictionary: {e}")))?;
        let dictionary = &*dictionary;
        self.scan(
            from,
            to,
            &mut |raw| {
                if !record::checks(raw.seq, raw.payload, raw.crc) {
                    return Err(damaged_record(raw.seq, &RecordError::Checksum));
                }
                let view = record::view(raw.payload, dictionary)
                    .map_err(|e| damaged_record(raw.seq, &e))?;
                each(raw.seq, view)
            },
            &mut |damage| Err(damage_error(&damage)),
        )
    }
}

/// A scan of the records `[from, to)` as its runs come, in order, from whichever store: checks
/// that each run follows the last and holds what it says, and passes each record in the range on.
pub(crate) struct RunWalk {
    from: u64,
    to: u64,
    /// Where the next run must start, once one was seen.
    expected: Option<u64>,
}

impl RunWalk {
    pub(crate) fn new(from: u64, to: u64) -> Self {
        RunWalk {
            from,
            to,
            expected: None,
        }
    }

    /// Takes the run of `count` records from `first` in `body`; false when the scan is over
    /// (the range's end, `each` said so, or damage passed to `damaged`).
    pub(crate) fn run(
        &mut self,
        first: u64,
        count: u64,
        body: &[u8],
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<bool, AuditError> {
        let gap = match self.expected {
            Some(expected) if expected != first => Some(expected),
            None if first > self.from => Some(self.from),
            _ => None,
        };
        if let Some(expected) = gap {
            damaged(RunDamage::Gap {
                expected,
                found: first,
            })?;
            return Ok(false);
        }
        let mut rest = body;
        for seq in first..first + count {
            let (payload, crc) = match record::next_record(&mut rest) {
                Ok(record) => record,
                Err(error) => {
                    damaged(RunDamage::Truncated { seq, error })?;
                    return Ok(false);
                }
            };
            if seq < self.from {
                continue;
            }
            if seq >= self.to || !each(RawRecord { seq, payload, crc })? {
                return Ok(false);
            }
        }
        if !rest.is_empty() {
            damaged(RunDamage::Truncated {
                seq: first + count,
                error: RecordError::Invalid("bytes after the run's last record"),
            })?;
            return Ok(false);
        }
        self.expected = Some(first + count);
        Ok(true)
    }
}

/// The log of record in an SQLite file.
pub(crate) struct SqliteLog {
    connection: Connection,
}

/// Opens the log file with the settings every connection uses.
pub(crate) fn connect(path: &Path) -> Result<Connection, AuditError> {
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

/// The error for a record that cannot be read.
pub(crate) fn damaged_record(seq: u64, error: &RecordError) -> AuditError {
    AuditError::Corrupt(format!("event #{seq} cannot be read: {error}"))
}

/// The error for structural damage.
pub(crate) fn damage_error(damage: &RunDamage) -> AuditError {
    match damage {
        RunDamage::Truncated { seq, error } => damaged_record(*seq, error),
        RunDamage::Gap { expected, found } => AuditError::Corrupt(format!(
            "event #{expected} is missing: the next stored event is #{found}"
        )),
    }
}

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
                        "INSERT OR REPLACE INTO tree_heads (tree_size, root, signed_at_ms, signature) VALUES (?1, ?2, ?3, ?4)",
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
            .query_row([from as i64], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let mut statement = self.connection.prepare_cached(
            "SELECT first_seq, count, body FROM records WHERE first_seq >= ?1 AND first_seq < ?2 ORDER BY first_seq",
        )?;
        let mut rows = statement.query([start, to as i64])?;
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
            .query_map([from as i64], |r| {
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
            .query_map([from as i64, to as i64], |r| {
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
