//! The fleet's log of record in PostgreSQL: `audit_records` in runs, `audit_strings`,
//! `audit_blocks`, `audit_heads`, behind [`LogOfRecord`]; appends take the advisory lock
//! [`APPEND_LOCK`] and commit a whole group in one round trip.

use tokio_postgres::{types::ToSql, Row};

use super::{bytes32, PgStore};
use crate::{
    keys::SignedTreeHead,
    store::{Group, LogOfRecord, RawRecord, RunDamage, RunWalk, SharedEnd},
    AuditError,
};

/// The advisory lock held by the sequencer that is appending (transaction-scoped).
const APPEND_LOCK: i64 = 0x766e_706f_705f_6c67; // "vnpop_lg"
/// The number of records stored: one past the last run's end (read through the primary key).
const SIZE: &str =
    "SELECT (first_seq + count)::BIGINT AS size FROM audit_records ORDER BY first_seq DESC LIMIT 1";
/// The number of records stored and the root of the signed head at that size (hex; NULL if
/// none), read under the append lock.
const END: &str = "SELECT r.size, encode(h.root, 'hex') AS root FROM (SELECT (first_seq + count)::BIGINT AS size FROM audit_records ORDER BY first_seq DESC LIMIT 1) r LEFT JOIN audit_heads h ON h.tree_size = r.size";
/// Most records the follower copies in one go.
const MIRROR_BATCH: u64 = 65_536;

/// A position (or id, or block index) as PostgreSQL's `BIGINT` holds it: those past
/// `i64::MAX`, which no row has, as `i64::MAX`, so that a range up to `u64::MAX` means "to the
/// end".
fn position(value: u64) -> i64 {
    value.min(i64::MAX as u64) as i64
}

/// A tree head as `audit_heads` holds it (size, root, time, signature).
fn head_from_row(row: &Row) -> Result<SignedTreeHead, AuditError> {
    Ok(SignedTreeHead {
        tree_size: row.get::<_, i64>(0) as u64,
        root: bytes32(row.get(1), "a tree head's root")?,
        signed_at_ms: row.get(2),
        signature: row
            .get::<_, Vec<u8>>(3)
            .try_into()
            .map_err(|_| AuditError::Corrupt("tree head signature is not 64 bytes".into()))?,
    })
}

/// The fleet's log of record, through one connection.
pub(crate) struct PgLog {
    store: PgStore,
    client: deadpool_postgres::Object,
    /// Whether a transaction holding [`APPEND_LOCK`] is open.
    locked: bool,
}

impl PgLog {
    /// A log handle on `client`, a connection of `store`'s pool.
    pub(super) fn new(store: PgStore, client: deadpool_postgres::Object) -> Self {
        PgLog {
            store,
            client,
            locked: false,
        }
    }

    /// Replaces a connection that has closed (the database restarted, the network broke) with
    /// a new one from the pool; a connection that works is kept.
    pub(crate) fn reconnect_if_closed(&mut self) -> Result<(), AuditError> {
        if self.client.is_closed() {
            self.locked = false;
            self.client = self.store.client()?;
            tracing::info!(store = %self.store.shown, "audit store: reconnected");
        }
        Ok(())
    }

    /// Runs a (cached) statement on this handle's connection.
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, AuditError> {
        let store = &self.store;
        store
            .block_on(async {
                let statement = self.client.prepare_cached(sql).await?;
                self.client.query(&statement, params).await
            })
            .map_err(|e| store.error(e))
    }

    /// The stored runs holding positions `[from, to)`, at most about [`MIRROR_BATCH`] records
    /// (whole runs), as the follower copies them.
    pub(crate) fn runs(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, usize, Vec<u8>)>, AuditError> {
        let rows = self.query(
            "SELECT first_seq, count, body FROM audit_records WHERE first_seq >= $1 AND first_seq < $2 ORDER BY first_seq",
            &[&position(from), &position(to.min(from.saturating_add(MIRROR_BATCH)))],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, i64>(0) as u64,
                    r.get::<_, i32>(1) as usize,
                    r.get::<_, Vec<u8>>(2),
                )
            })
            .collect())
    }

    /// The next batch of a scan's runs from `from` ([`PgLog::runs`]); when none starts within a
    /// batch of `from`, the batch from the next run before `to`, past a gap wider than a batch
    /// (which the scan then reports, instead of ending as if the log did).
    fn batch(&self, from: u64, to: u64) -> Result<Vec<(u64, usize, Vec<u8>)>, AuditError> {
        let rows = self.runs(from, to)?;
        if !rows.is_empty() {
            return Ok(rows);
        }
        match self
            .query(
                "SELECT first_seq FROM audit_records WHERE first_seq >= $1 AND first_seq < $2 ORDER BY first_seq LIMIT 1",
                &[&position(from), &position(to)],
            )?
            .first()
        {
            Some(next) => self.runs(next.get::<_, i64>(0) as u64, to),
            None => Ok(rows),
        }
    }

    /// The signed heads with a size in `(after, upto]`.
    pub(crate) fn heads_between(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Vec<SignedTreeHead>, AuditError> {
        self.query(
            "SELECT tree_size, root, signed_at_ms, signature FROM audit_heads WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size",
            &[&(after as i64), &(upto as i64)],
        )?
        .iter()
        .map(head_from_row)
        .collect()
    }

    /// Runs `read` inside one repeatable-read transaction (one snapshot of the database).
    pub(crate) fn snapshot<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let result = read(self);
        self.execute("COMMIT")?;
        result
    }

    /// Runs `sql` (no parameters, no rows) on this handle's connection.
    fn execute(&self, sql: &str) -> Result<(), AuditError> {
        self.store
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| self.store.error(e))
    }

    /// Stores `group` and commits, in one round trip: the whole group is one statement (every
    /// table's rows as arrays), pipelined with the `COMMIT` that follows it. An insert that
    /// fails leaves the transaction aborted, so the `COMMIT` rolls back.
    fn insert_and_commit(&self, group: &Group) -> Result<(), AuditError> {
        let runs = (
            group.runs.iter().map(|r| r.0 as i64).collect::<Vec<_>>(),
            group.runs.iter().map(|r| r.1 as i32).collect::<Vec<_>>(),
            group
                .runs
                .iter()
                .map(|r| r.2.as_slice())
                .collect::<Vec<_>>(),
        );
        let strings = (
            group.strings.iter().map(|s| s.0 as i64).collect::<Vec<_>>(),
            group
                .strings
                .iter()
                .map(|s| s.1.as_str())
                .collect::<Vec<_>>(),
        );
        let blocks = (
            group.blocks.iter().map(|b| b.0 as i64).collect::<Vec<_>>(),
            group.blocks.iter().map(|b| &b.1[..]).collect::<Vec<_>>(),
        );
        let heads = (
            group
                .heads
                .iter()
                .map(|h| h.tree_size as i64)
                .collect::<Vec<_>>(),
            group.heads.iter().map(|h| &h.root[..]).collect::<Vec<_>>(),
            group
                .heads
                .iter()
                .map(|h| h.signed_at_ms)
                .collect::<Vec<_>>(),
            group
                .heads
                .iter()
                .map(|h| &h.signature[..])
                .collect::<Vec<_>>(),
        );
        let store = &self.store;
        store
            .block_on(async {
                let client = &self.client;
                let statement = client.prepare_cached(INSERT_GROUP).await?;
                let params: [&(dyn ToSql + Sync); 11] = [
                    &runs.0, &runs.1, &runs.2, &strings.0, &strings.1, &blocks.0, &blocks.1,
                    &heads.0, &heads.1, &heads.2, &heads.3,
                ];
                let (inserted, committed) = tokio::join!(
                    client.execute(&statement, &params),
                    client.batch_execute("COMMIT")
                );
                inserted?;
                committed
            })
            .map_err(|e| store.error(e))
    }
}

/// A group commit's rows, all four tables in one statement.
const INSERT_GROUP: &str = "
WITH runs AS (
    INSERT INTO audit_records (first_seq, count, body)
    SELECT * FROM unnest($1::BIGINT[], $2::INTEGER[], $3::BYTEA[])
), strings AS (
    INSERT INTO audit_strings (id, text) SELECT * FROM unnest($4::BIGINT[], $5::TEXT[])
), blocks AS (
    INSERT INTO audit_blocks (block, root) SELECT * FROM unnest($6::BIGINT[], $7::BYTEA[])
    ON CONFLICT (block) DO UPDATE SET root = EXCLUDED.root
)
INSERT INTO audit_heads (tree_size, root, signed_at_ms, signature)
SELECT * FROM unnest($8::BIGINT[], $9::BYTEA[], $10::BIGINT[], $11::BYTEA[])";

impl LogOfRecord for PgLog {
    fn append(&mut self, group: &Group) -> Result<(), AuditError> {
        if !self.locked {
            self.execute("BEGIN")?;
        }
        self.locked = false;
        let stored = self.insert_and_commit(group);
        if stored.is_err() {
            let _ = self.execute("ROLLBACK");
        }
        stored
    }

    fn lock_for_append(&mut self) -> Result<Option<SharedEnd>, AuditError> {
        if self.locked {
            self.abandon();
        }
        self.reconnect_if_closed()?;
        self.locked = true;
        // One round trip. The end is a statement of its own, after the lock's: its snapshot
        // is taken once the lock is held, so it sees every commit made under the lock before.
        let store = &self.store;
        let end = store
            .block_on(self.client.simple_query(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK}); {END}"
            )))
            .map_err(|e| store.error(e))
            .and_then(|messages| {
                // No row: an empty log.
                // (The lock's statement answers a row too, without a `size`.)
                let Some(row) = messages.iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row)
                        if row.columns().iter().any(|c| c.name() == "size") =>
                    {
                        Some(row)
                    }
                    _ => None,
                }) else {
                    return Ok(SharedEnd {
                        size: 0,
                        root: None,
                    });
                };
                let size = row
                    .try_get("size")
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| {
                        AuditError::Corrupt("the shared log's size is unreadable".into())
                    })?;
                let root = match row.try_get("root").ok().flatten() {
                    None => None,
                    Some(hex) => Some(
                        crate::ids::parse_hex(hex)
                            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                            .ok_or_else(|| {
                                AuditError::Corrupt(format!(
                                    "the shared log's head at {size} has an unreadable root"
                                ))
                            })?,
                    ),
                };
                Ok(SharedEnd { size, root })
            });
        match end {
            Ok(end) => Ok(Some(end)),
            Err(error) => {
                self.abandon();
                Err(error)
            }
        }
    }

    fn abandon(&mut self) {
        if std::mem::take(&mut self.locked) {
            let _ = self.execute("ROLLBACK");
        }
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
        // Reads aligned on a run (the usual case: a copy, a catch-up) take one query a batch;
        // otherwise the run holding `from` starts before it.
        let mut rows = self.runs(from, to)?;
        if rows.first().map(|r| r.0) != Some(from) {
            let start = self
                .query(
                    "SELECT first_seq FROM audit_records WHERE first_seq <= $1 ORDER BY first_seq DESC LIMIT 1",
                    &[&position(from)],
                )?
                .first()
                .map_or(0, |r| r.get::<_, i64>(0) as u64);
            rows = self.batch(start, to)?;
        }
        let mut walk = RunWalk::new(from, to);
        while let Some(next) = rows.last().map(|last| last.0 + 1) {
            for (first, count, body) in &rows {
                if !walk.run(*first, *count as u64, body, each, damaged)? {
                    return Ok(());
                }
            }
            if next >= to {
                break;
            }
            rows = self.batch(next, to)?;
        }
        Ok(())
    }

    fn size(&self) -> Result<u64, AuditError> {
        Ok(self
            .query(SIZE, &[])?
            .first()
            .map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError> {
        Ok(self
            .query(
                "SELECT id, text FROM audit_strings WHERE id >= $1 ORDER BY id",
                &[&position(from)],
            )?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }

    fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError> {
        self.query(
            "SELECT tree_size, root, signed_at_ms, signature FROM audit_heads ORDER BY tree_size",
            &[],
        )?
        .iter()
        .map(head_from_row)
        .collect()
    }

    fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        self.query(
            "SELECT tree_size, root, signed_at_ms, signature FROM audit_heads ORDER BY tree_size DESC LIMIT 1",
            &[],
        )?
        .first()
        .map(head_from_row)
        .transpose()
    }

    fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        Ok(self
            .query(
                "SELECT block, root FROM audit_blocks WHERE block >= $1 AND block < $2 ORDER BY block",
                &[&position(from), &position(to)],
            )?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }
}

impl Drop for PgLog {
    fn drop(&mut self) {
        self.abandon();
    }
}
