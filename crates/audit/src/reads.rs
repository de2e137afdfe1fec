//! The read side of a running audit log, apart from its writer: [`AuditReads`], the handle the
//! AuditTrail service answers auditors through, and the [`ReaderPool`] its queries take their
//! [`AuditReader`]s from.
//!
//! A reader (a read connection to the log with the query file attached) costs some 0.5 ms to
//! open; a query takes one from the pool and gives it back when done, so only the first
//! queries, or many at once, open one. A reader holds no snapshot between queries (each of its
//! statements reads in a transaction of its own), its dictionary grows as its reads need, and
//! it is given the projector's current query side each time it is taken: a reader from the
//! pool answers as a new one would.

use std::{
    ops::Deref,
    sync::{Arc, Mutex},
};

use super::{
    keys::{SignedTreeHead, VerifyingKey},
    log::CaughtUpRead,
    query::AuditReader,
    verify::VerifyReport,
    AuditError, AuditLog,
};

/// Readers kept open between queries, at most: as many as queries usually run at once.
const IDLE_READERS: usize = 8;

/// Readers kept open between queries: see the module.
#[derive(Default)]
pub(crate) struct ReaderPool {
    idle: Mutex<Vec<AuditReader>>,
}

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        f.debug_struct("ReaderPool").field("idle", &idle).finish()
    }
}

impl ReaderPool {
    /// Readers idle in the pool (for tests).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().expect("reader pool lock").len()
    }

    /// An idle reader, if the pool has one.
    pub(crate) fn take(self: &Arc<Self>) -> Option<AuditReader> {
        self.idle.lock().expect("reader pool lock").pop()
    }

    /// `reader`, taken from the pool or opened, handed out until it is dropped.
    pub(crate) fn lend(self: &Arc<Self>, reader: AuditReader) -> PooledReader {
        PooledReader {
            reader: Some(reader),
            pool: Some(Arc::clone(self)),
        }
    }
}

/// A reader lent by the [`ReaderPool`] (back in the pool when dropped), or one of its own.
pub struct PooledReader {
    reader: Option<AuditReader>,
    pool: Option<Arc<ReaderPool>>,
}

impl std::fmt::Debug for PooledReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledReader")
            .field("pooled", &self.pool.is_some())
            .finish_non_exhaustive()
    }
}

impl PooledReader {
    /// `reader`, for one read only: dropped with it, never pooled.
    pub(crate) fn alone(reader: AuditReader) -> Self {
        Self {
            reader: Some(reader),
            pool: None,
        }
    }
}

impl Deref for PooledReader {
    type Target = AuditReader;

    fn deref(&self) -> &AuditReader {
        self.reader.as_ref().expect("lent until dropped")
    }
}

impl Drop for PooledReader {
    fn drop(&mut self) {
        if let (Some(reader), Some(pool)) = (self.reader.take(), &self.pool) {
            let mut idle = pool.idle.lock().expect("reader pool lock");
            if idle.len() < IDLE_READERS {
                idle.push(reader);
            }
        }
    }
}

/// What auditors' queries may do with a running log: wait for it to be caught up and read it,
/// ask its heads, checkpoints and key, verify it. Cheap to clone; it cannot append.
#[derive(Clone)]
pub struct AuditReads {
    log: Arc<AuditLog>,
}

impl std::fmt::Debug for AuditReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditReads")
            .field("log", &self.log.path())
            .finish()
    }
}

impl AuditReads {
    /// The read side of `log`.
    pub fn new(log: Arc<AuditLog>) -> Self {
        Self { log }
    }

    /// Waits until the query side holds everything acknowledged (read-your-writes), then hands
    /// out the read it guards ([`CaughtUpRead::open`], blocking, lends a pooled reader).
    pub async fn caught_up_read(&self) -> Result<CaughtUpRead, AuditError> {
        self.log.caught_up_read().await
    }

    /// Waits as [`AuditReads::caught_up_read`] does, without reading.
    pub async fn caught_up(&self) -> Result<(), AuditError> {
        self.log.caught_up().await
    }

    /// The key that verifies this log's tree heads.
    pub fn public_key(&self) -> VerifyingKey {
        self.log.public_key()
    }

    /// `head` (one this log signed) as a signed C2SP checkpoint.
    pub fn checkpoint(&self, head: &SignedTreeHead) -> String {
        self.log.checkpoint(head)
    }

    /// Recomputes the log of record and checks it against the signed heads (blocking: run it
    /// off the async workers).
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.log.verify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{event::test_dossier, lock::DataDirLock};

    /// Dossier `id`'s receipt.
    fn dossier(id: &str) -> crate::AuditEvent {
        test_dossier(id, "Quận Ba Đình", "cb01", 1_700_000_000_000)
    }

    #[test]
    fn a_pooled_reader_answers_as_a_new_one_would() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        log.append_blocking(vec![dossier("A"), dossier("B")])
            .unwrap();
        let first = log.caught_up_reader_blocking().unwrap();
        assert_eq!(first.size().unwrap(), 2);
        assert!(first.received("one-stop-phuong-ba-dinh", "B").unwrap());
        // Two at once: the second is opened; both go back to the pool.
        let second = log.caught_up_reader_blocking().unwrap();
        drop((first, second));
        assert_eq!(log.readers_idle(), 2);
        // Later events are seen by a reader from the pool (its side and dictionary follow).
        log.append_blocking(vec![dossier("C")]).unwrap();
        let again = log.caught_up_reader_blocking().unwrap();
        assert_eq!(log.readers_idle(), 1);
        assert_eq!(again.size().unwrap(), 3);
        assert!(again.received("one-stop-phuong-ba-dinh", "C").unwrap());
        assert_eq!(again.event(2).unwrap().unwrap().dossier_id, "C");
        assert_eq!(again.leaf_hashes(3).unwrap().len(), 3);
    }
}
