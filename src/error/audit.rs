//! [`AuditError`]: why the audit log could not do what was asked, kept here, below `audit`, so
//! that the API's errors can carry it.

/// Why the audit log could not do what was asked (the audit domain's error, re-exported as
/// `audit::AuditError`). It lives here, below both, so that `audit`'s service layer can answer
/// [`ApiError`](super::ApiError) while
/// [`ApiError::AuditUnavailable`](super::ApiError::AuditUnavailable) carries it, without an
/// import cycle.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("audit log write failed, nothing of the batch was stored: {0}")]
    Write(String),
    #[error("audit signing key: {0}")]
    Key(String),
    /// Another process holds the data directory's lock (`audit::lock`): one server writes a
    /// data directory's audit log.
    #[error("the data directory {dir} is in use by another vnpop server (PID {pid}): one server writes a data directory's audit log; stop that one or give this one its own --data-dir")]
    DataDirLocked {
        /// The data directory.
        dir: String,
        /// The PID the lock file names ("unknown" if it names none yet).
        pid: String,
    },
    /// The data directory (or its lock file) cannot be made or opened.
    #[error("data directory {dir}: {message}")]
    DataDir {
        /// The data directory.
        dir: String,
        /// What failed.
        message: String,
    },
    #[error("the audit log is corrupt: {0}")]
    Corrupt(String),
    /// The citizen index's file (derived from the log: see `audit::projector`) cannot be read
    /// or written.
    #[error("audit citizen index {file}: {message}")]
    CitizenIndex {
        /// The index's file.
        file: String,
        /// What failed.
        message: String,
    },
    /// A run of the sequencer's stored ids (derived from the log: see `audit::dedup`) cannot be
    /// read or written.
    #[error("audit stored ids {file}: {message}")]
    StoredIds {
        /// The run's file.
        file: String,
        /// What failed.
        message: String,
    },
    #[error("the audit log is closed")]
    Closed,
    /// An auditor's query waited its patience for the query tables to reach what was
    /// acknowledged when it began (read-your-writes), and they are still behind: the projector
    /// is slow or failing (the server's log says which). Nothing is lost; ask again.
    #[error(
        "the query tables are behind the log (applied {applied} of {target} events); try again"
    )]
    Behind {
        /// Events the query tables held when the wait gave up.
        applied: u64,
        /// Events acknowledged when the query began.
        target: u64,
    },
    /// The fleet's shared database (PostgreSQL) failed or refused.
    #[error("audit store: {0}")]
    Store(String),
    /// The fleet's shared database refused the values of a group (SQLSTATE class 22, a data
    /// exception): the same rows would be refused again, unlike a lost connection. The
    /// sequencer commits the rest of the group without the job that carried them.
    #[error("audit store refused the data: {0}")]
    Refused(String),
}
