//! The log of record of a fleet: one PostgreSQL database shared by every vnpop server
//! (`serve --audit-store postgres://…`), behind the same `LogOfRecord` interface as the
//! embedded SQLite file.
//!
//! The tables mirror the SQLite file's (`audit_records` in runs, `audit_strings`,
//! `audit_blocks`, `audit_heads`) plus `audit_meta` (the fleet's public key and a check of its
//! subject key) and `vnpop_schema` (the migrations applied).
//!
//! Positions are assigned under one lock: each server's sequencer opens a transaction, takes
//! the transaction-scoped advisory lock `APPEND_LOCK`, reads the size every server has
//! committed, catches up with what the others appended since its last group (their leaves,
//! their dictionary entries, their client event ids), then encodes its own group from that
//! size on and commits. The lock is released by the commit — or by PostgreSQL itself when the
//! server holding it dies (its connection closes and the transaction rolls back), which is the
//! takeover: the next server waiting on the lock goes on from the last committed size. A
//! primary key on each run's first position makes a double assignment fail instead of fork.
//!
//! Here: the connection pool, its runtime and the fleet's keys (`audit_meta`); the schema and
//! its migrations in `migrations`; `PgLog`, the log of record itself, in `pg_log`; the storage
//! test suite run on it, in `log_tests`.
//!
//! The sync threads of the audit log (sequencer, follower, `verify`) call in through a small
//! runtime of their own, on which the pool's connections live.

#[cfg(test)]
mod log_tests;
mod migrations;
mod pg_log;

use std::{str::FromStr, sync::Arc};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::AuditError;
use migrations::{apply_migrations, MIGRATION_LOCK};
pub(crate) use pg_log::PgLog;

/// Connections a server keeps: its sequencer, its follower, verification and spare.
const POOL_SIZE: usize = 6;
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
    /// The runtime (there until drop).
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
    /// The fleet's signing key (its public half).
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

    /// Applies the missing migrations under the migration lock.
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

    /// The error for a failed statement, naming the database (its password masked): a
    /// refusal of the data itself — SQLSTATE class 22, "data exception", such as a NUL byte in a
    /// text column — is [`AuditError::Refused`], which retrying the same rows cannot mend;
    /// anything else (connection lost, database down, lock or constraint) is
    /// [`AuditError::Store`].
    fn error(&self, error: tokio_postgres::Error) -> AuditError {
        let message = format!("{}: {error}", self.shown);
        if error.code().is_some_and(is_data_exception) {
            AuditError::Refused(message)
        } else {
            AuditError::Store(message)
        }
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
        Ok(PgLog::new(self.clone(), self.client()?))
    }
}

/// Whether `state` is of SQLSTATE class 22, "data exception": the statement's values were
/// refused (a character not in the encoding, a value out of range), not the connection.
fn is_data_exception(state: &tokio_postgres::error::SqlState) -> bool {
    state.code().starts_with("22")
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

/// `bytes` as 32 bytes, or the error naming `what` is corrupt.
fn bytes32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], AuditError> {
    bytes
        .try_into()
        .map_err(|_| AuditError::Corrupt(format!("{what} is not 32 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_exceptions_are_told_from_other_failures_by_sqlstate() {
        use tokio_postgres::error::SqlState;
        for refused in [
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            SqlState::UNTRANSLATABLE_CHARACTER,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
        ] {
            assert!(is_data_exception(&refused), "{refused:?}");
        }
        for other in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CONNECTION_FAILURE,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ] {
            assert!(!is_data_exception(&other), "{other:?}");
        }
    }

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
}
