//! Read-your-writes: waiting until the query tables hold everything acknowledged
//! ([`AuditLog::caught_up`]), and [`CaughtUpRead`], the one way an auditor's read is opened
//! after that wait.

use std::{
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use super::{
    super::{
        projector::{Projector, QuerySide},
        query::AuditReader,
        reads::{PooledReader, ReaderPool},
        AuditError,
    },
    AuditLog,
};

/// How long a query waits for the projector before giving up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);

/// A read of the log that sees every event acknowledged before [`AuditLog::caught_up_read`]
/// was called: only that wait makes one.
#[derive(Debug)]
pub struct CaughtUpRead {
    path: PathBuf,
    side: Option<QuerySide>,
    readers: Arc<ReaderPool>,
}

impl CaughtUpRead {
    /// A reader (blocking: on the blocking pool): one from the pool, given the projector's
    /// query side as it is now, or a new one. Without a projector (no query side in memory)
    /// a reader of its own, which derives the query side from the files.
    pub fn open(&self) -> Result<PooledReader, AuditError> {
        let Some(side) = &self.side else {
            return Ok(PooledReader::alone(AuditReader::open(&self.path)?));
        };
        let reader = match self.readers.take() {
            Some(reader) => {
                reader.read_side(side.clone());
                reader
            }
            None => AuditReader::open_with(&self.path, side.clone())?,
        };
        Ok(self.readers.lend(reader))
    }
}
impl AuditLog {
    /// TESTS ONLY (the `testing` feature). While set, committed groups are acknowledged but not
    /// projected, which is the state a crash between the log append and the projection leaves
    /// behind; the next open catches up. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn hold_projection_for_test(&self, hold: bool) {
        if let Some(projector) = &self.projector {
            projector.progress().hold(hold);
        }
    }

    /// Resolves once the query tables hold every event acknowledged before the call
    /// (read-your-writes for auditors' queries); an error if they stay behind for
    /// `CATCH_UP_PATIENCE` (the projector is failing: see the server's log).
    /// In a fleet, "acknowledged" is what every server had committed to the shared database
    /// when the call began.
    pub async fn caught_up(&self) -> Result<(), AuditError> {
        let target = match &self.fleet {
            Some((store, follower)) => tokio::time::timeout(CATCH_UP_PATIENCE, follower.sync())
                .await
                .map_err(|_| {
                    AuditError::Store(format!(
                        "{} did not answer within {CATCH_UP_PATIENCE:?}",
                        store.shown()
                    ))
                })??,
            None => self.acknowledged.load(Ordering::Acquire),
        };
        if *self.applied.borrow() < target {
            if let Some(projector) = &self.projector {
                projector.progress().hurry();
            }
        }
        let mut applied = self.applied.clone();
        let waited = tokio::time::timeout(
            CATCH_UP_PATIENCE,
            applied.wait_for(|&position| position >= target),
        )
        .await
        .map(|result| result.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuditError::Closed),
            Err(_) => Err(AuditError::Behind {
                applied: *self.applied.borrow(),
                target,
            }),
        }
    }

    /// Waits as [`AuditLog::caught_up`] does, then hands out the read it guards: the one way the
    /// AuditTrail service opens an [`AuditReader`], so no auditor query can skip the wait.
    pub async fn caught_up_read(&self) -> Result<CaughtUpRead, AuditError> {
        self.caught_up().await?;
        Ok(CaughtUpRead {
            path: self.path.clone(),
            side: self.projector.as_ref().map(Projector::side),
            readers: Arc::clone(&self.readers),
        })
    }

    /// [`AuditLog::caught_up`] for synchronous callers.
    pub fn caught_up_blocking(&self) -> Result<(), AuditError> {
        let target = self.acknowledged.load(Ordering::Acquire);
        if self.fleet.is_none() && *self.applied.borrow() >= target {
            return Ok(());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| AuditError::Write(e.to_string()))?
            .block_on(self.caught_up())
    }

    /// [`AuditLog::caught_up_blocking`], then a reader as the AuditTrail service opens one
    /// (reading the projector's citizen index as it stands).
    pub fn caught_up_reader_blocking(&self) -> Result<PooledReader, AuditError> {
        self.caught_up_blocking()?;
        CaughtUpRead {
            path: self.path.clone(),
            side: self.projector.as_ref().map(Projector::side),
            readers: Arc::clone(&self.readers),
        }
        .open()
    }
}
