//! The log of record of a fleet: one PostgreSQL database shared by every vnpop server
//! (`serve --audit-store postgres://…`), behind the same [`LogOfRecord`] interface as the
//! embedded SQLite file.
//!
//! The tables mirror the SQLite file's (`audit_records` in runs, `audit_strings`,
//! `audit_blocks`, `audit_heads`) plus `audit_meta` (the fleet's public key and a check of its
//! subject key) and `vnpop_schema` (the migrations applied).
//!
//! Positions are assigned under one lock: each server's sequencer opens a transaction, takes
//! the transaction-scoped advisory lock [`APPEND_LOCK`], reads the size every server has
//! committed, catches up with what the others appended since its last group (their leaves,
//! their dictionary entries, their client event ids), then encodes its own group from that
//! size on and commits. The lock is released by the commit — or by PostgreSQL itself when the
//! server holding it dies (its connection closes and the transaction rolls back), which is the
//! takeover: the next server waiting on the lock goes on from the last committed size. A
//! primary key on each run's first position makes a double assignment fail instead of fork.
//!
//! The sync threads of the audit log (sequencer, follower, `verify`) call in through a small
//! runtime of their own, on which the pool's connections live.

use std::{str::FromStr, sync::Arc};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{types::ToSql, NoTls, Row};

use super::{
    keys::SignedTreeHead,
    store::{Group, LogOfRecord, RawRecord, RunDamage, RunWalk},
    AuditError,
};

/// The advisory lock held by the sequencer that is appending (transaction-scoped).
const APPEND_LOCK: i64 = 0x766e_706f_705f_6c67; // "vnpop_lg"
/// The number of records stored: one past the last run's end (read through the primary key).
const SIZE: &str =
    "SELECT (first_seq + count)::BIGINT AS size FROM audit_records ORDER BY first_seq DESC LIMIT 1";
/// The advisory lock held while migrations run (session-scoped, released at once).
const MIGRATION_LOCK: i64 = 0x766e_706f_705f_6d67; // "vnpop_mg"
/// Connections a server keeps: its sequencer, its follower, verification and spare.
const POOL_SIZE: usize = 6;
/// Most records the follower copies in one go.
pub(crate) const MIRROR_BATCH: u64 = 65_536;

/// The schema, one migration per version, applied in order at start in a transaction each.
/// Never edit a released migration: add the next.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "
CREATE TABLE audit_meta (
    only_row          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    log_id            TEXT NOT NULL,
    public_key        BYTEA NOT NULL,
    subject_key_check BYTEA NOT NULL,
    created_at_ms     BIGINT NOT NULL
);
CREATE TABLE audit_records (
    first_seq BIGINT PRIMARY KEY,
    count     INTEGER NOT NULL,
    body      BYTEA NOT NULL
);
CREATE TABLE audit_strings (
    id   BIGINT PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE TABLE audit_blocks (
    block BIGINT PRIMARY KEY,
    root  BYTEA NOT NULL
);
CREATE TABLE audit_heads (
    tree_size    BIGINT PRIMARY KEY,
    root         BYTEA NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature    BYTEA NOT NULL
);
",
)];

/// The newest schema version this binary knows.
pub(crate) fn schema_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// A connection pool to the fleet's database and the runtime its connections live on.
#[derive(Clone)]
pub struct PgStore {
    runtime: Arc<OwnRuntime>,
    pool: Pool,
    /// The address without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.shown).finish()
    }
}

/// The store's runtime, shut down without waiting when the last handle goes (which may be
/// inside an async context, where a plain drop would panic).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("the runtime lives until drop")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Who the fleet's log belongs to, as `audit_meta` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// A random id given to the database's log when it was created.
    pub log_id: String,
    pub public_key: [u8; 32],
    /// `SHA-256("vnpop-subject-key-check" || subject key)`: servers must share the subject key.
    pub subject_key_check: [u8; 32],
}

impl Meta {
    /// The check of a subject key stored for the fleet: a hash of it, never the key.
    pub(crate) fn subject_key_check(subject_key: &[u8; 32]) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(b"vnpop-subject-key-check");
        context.update(subject_key);
        context
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes")
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), applies the
    /// migrations this binary has and the database lacks, and refuses a database whose schema
    /// is newer than the binary.
    pub fn connect(url: &str) -> Result<Self, AuditError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| AuditError::Store(format!("--audit-store {}: {e}", shown(url))))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("audit-postgres")
            .enable_all()
            .build()
            .map_err(|e| AuditError::Store(e.to_string()))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| AuditError::Store(e.to_string()))?;
        let store = PgStore {
            runtime: Arc::new(OwnRuntime(Some(runtime))),
            pool,
            shown: shown(url),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The address, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `future` on the store's runtime and waits for it: directly from the audit log's
    /// own threads, and from a scoped thread when called inside an async context (start-up,
    /// the CLI), where blocking on another runtime is not allowed.
    pub(crate) fn block_on<F>(&self, future: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.runtime.get().block_on(future);
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.get().block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A pooled connection.
    fn client(&self) -> Result<deadpool_postgres::Object, AuditError> {
        self.block_on(self.pool.get())
            .map_err(|e| AuditError::Store(format!("{}: {e}", self.shown)))
    }

    fn migrate(&self) -> Result<(), AuditError> {
        let mut client = self.client()?;
        self.block_on(async {
            client
                .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            let result = apply_migrations(&mut client).await;
            client
                .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
                .await?;
            result
        })
        .map_err(|e| self.error(e))?
    }

    /// The error for a failed statement, naming the database.
    fn error(&self, error: tokio_postgres::Error) -> AuditError {
        AuditError::Store(format!("{}: {error}", self.shown))
    }

    /// The fleet's keys as stored, if a server has claimed the log already.
    pub(crate) fn meta(&self) -> Result<Option<Meta>, AuditError> {
        let client = self.client()?;
        let row = self
            .block_on(client.query_opt(
                "SELECT log_id, public_key, subject_key_check FROM audit_meta",
                &[],
            ))
            .map_err(|e| self.error(e))?;
        row.map(|row| {
            Ok(Meta {
                log_id: row.get(0),
                public_key: bytes32(row.get(1), "audit_meta.public_key")?,
                subject_key_check: bytes32(row.get(2), "audit_meta.subject_key_check")?,
            })
        })
        .transpose()
    }

    /// Records `meta` as the fleet's keys unless some are recorded already; returns what the
    /// database holds afterwards.
    pub(crate) fn claim(&self, meta: &Meta) -> Result<Meta, AuditError> {
        let client = self.client()?;
        self.block_on(client.execute(
            "INSERT INTO audit_meta (log_id, public_key, subject_key_check, created_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (only_row) DO NOTHING",
            &[
                &meta.log_id,
                &&meta.public_key[..],
                &&meta.subject_key_check[..],
                &super::keys::now_ms(),
            ],
        ))
        .map_err(|e| self.error(e))?;
        self.meta()?
            .ok_or_else(|| AuditError::Store("audit_meta is empty after the claim".into()))
    }

    /// A log handle with a connection of its own.
    pub(crate) fn log(&self) -> Result<PgLog, AuditError> {
        Ok(PgLog {
            store: self.clone(),
            client: self.client()?,
            locked: false,
        })
    }
}

/// `url` with any password replaced by `***`.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn apply_migrations(
    client: &mut deadpool_postgres::Object,
) -> Result<Result<(), AuditError>, tokio_postgres::Error> {
    let fresh: bool = client
        .query_one("SELECT to_regclass('vnpop_schema') IS NULL", &[])
        .await?
        .get(0);
    if fresh {
        client
            .batch_execute("CREATE TABLE vnpop_schema (version INTEGER NOT NULL)")
            .await?;
    }
    let applied: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM vnpop_schema", &[])
        .await?
        .get(0);
    if applied > schema_version() {
        return Ok(Err(AuditError::Store(format!(
            "the database's audit schema is version {applied}, newer than this vnpop's {}: upgrade vnpop on every server of the fleet",
            schema_version()
        ))));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let transaction = client.transaction().await?;
        transaction.batch_execute(sql).await?;
        transaction
            .execute("INSERT INTO vnpop_schema (version) VALUES ($1)", &[version])
            .await?;
        transaction.commit().await?;
        tracing::info!(version, "audit store: schema migration applied");
    }
    Ok(Ok(()))
}

fn bytes32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], AuditError> {
    bytes
        .try_into()
        .map_err(|_| AuditError::Corrupt(format!("{what} is not 32 bytes")))
}

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
            &[&(from as i64), &(to.min(from + MIRROR_BATCH) as i64)],
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

    fn lock_for_append(&mut self) -> Result<Option<u64>, AuditError> {
        if self.locked {
            self.abandon();
        }
        self.reconnect_if_closed()?;
        self.locked = true;
        // One round trip. The size is a statement of its own, after the lock's: its snapshot
        // is taken once the lock is held, so it sees every commit made under the lock before.
        let store = &self.store;
        let size = store
            .block_on(self.client.simple_query(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK}); {SIZE}"
            )))
            .map_err(|e| store.error(e))
            .map(|messages| {
                // No row: an empty log.
                messages
                    .iter()
                    .find_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => row
                            .try_get("size")
                            .ok()
                            .flatten()
                            .and_then(|v| v.parse::<u64>().ok()),
                        _ => None,
                    })
                    .unwrap_or(0)
            });
        match size {
            Ok(size) => Ok(Some(size)),
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
                    &[&(from as i64)],
                )?
                .first()
                .map_or(0, |r| r.get::<_, i64>(0) as u64);
            rows = self.runs(start, to)?;
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
            rows = self.runs(next, to)?;
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
                &[&(from as i64)],
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
                &[&(from as i64), &(to.min(i64::MAX as u64) as i64)],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            shown("postgres://vnpop:secret@127.0.0.1:5432/audit"),
            "postgres://vnpop:***@127.0.0.1:5432/audit"
        );
        assert_eq!(
            shown("postgres://vnpop@127.0.0.1/audit"),
            "postgres://vnpop@127.0.0.1/audit"
        );
        assert_eq!(shown("host=/tmp dbname=x"), "host=/tmp dbname=x");
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=versions.len() as i32).collect::<Vec<_>>());
    }
}
