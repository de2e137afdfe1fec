//! A group whose data the log of record refuses, or that a lost connection fails, on a
//! sequencer over a log that refuses as PostgreSQL does.

use tokio::sync::oneshot;

use super::*;
use crate::{
    event::test_dossier,
    keys,
    merkle::Hash,
    queue::Job,
    store::{RawRecord, RunDamage, SqliteLog, DATABASE_FILE},
};

/// The SQLite log, refusing as PostgreSQL does a group whose dictionary entries hold a NUL
/// (a text column cannot), with [`AuditError::Refused`]; `connection_lost` refuses every
/// group with [`AuditError::Store`] instead.
struct RefusingLog {
    inner: SqliteLog,
    connection_lost: bool,
    attempts: usize,
}

impl LogOfRecord for RefusingLog {
    fn append(&mut self, group: &Group) -> Result<(), AuditError> {
        self.attempts += 1;
        if self.connection_lost {
            return Err(AuditError::Store("connection closed".into()));
        }
        if group.strings.iter().any(|(_, text)| text.contains('\0')) {
            return Err(AuditError::Refused("invalid byte sequence 0x00".into()));
        }
        self.inner.append(group)
    }
    fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        self.inner.scan(from, to, each, damaged)
    }
    fn size(&self) -> Result<u64, AuditError> {
        self.inner.size()
    }
    fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError> {
        self.inner.strings_from(from)
    }
    fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError> {
        self.inner.heads()
    }
    fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        self.inner.latest_head()
    }
    fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
        self.inner.blocks(from, to)
    }
    fn restore_blocks(&mut self, blocks: &[(u64, Hash)]) -> Result<(), AuditError> {
        self.inner.restore_blocks(blocks)
    }
}

/// A job of one dossier event by `officer`, and where its answer arrives.
fn job(id: &str, officer: &str) -> (Job, oneshot::Receiver<Result<AppendReceipt, AuditError>>) {
    let (ack, done) = oneshot::channel();
    let job = Job {
        events: vec![test_dossier(id, "Quận Ba Đình", officer, 1_700_000_000_000)],
        received_at_ms: 1_700_000_000_000,
        probes: Vec::new(),
        ack,
        via_answerer: false,
    };
    (job, done)
}

/// Commits a group of jobs by the `officers` on a sequencer over a [`RefusingLog`]: each
/// job's answer (stored or not), the log's size after, and the commits tried.
fn commit(officers: &[&str], connection_lost: bool) -> (Vec<bool>, u64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let log = RefusingLog {
        inner: SqliteLog::open_for_writing(&dir.path().join(DATABASE_FILE)).unwrap(),
        connection_lost,
        attempts: 0,
    };
    let mut sequencer = Sequencer::open(log, keys::open(dir.path()).unwrap(), None).unwrap();
    let (jobs, answers): (Vec<_>, Vec<_>) = officers
        .iter()
        .enumerate()
        .map(|(i, officer)| job(&format!("D-{i}"), officer))
        .unzip();
    sequencer.commit_group(jobs);
    let stored = answers
        .into_iter()
        .map(|mut done| done.try_recv().unwrap().is_ok_and(|r| r.appended == 1))
        .collect();
    let size = sequencer.log.size().unwrap();
    (stored, size, sequencer.log.attempts)
}

#[test]
fn a_job_whose_data_the_log_refuses_is_refused_alone() {
    let (stored, size, attempts) = commit(&["cb01", "cb02", "cb\0bad", "cb04", "cb05"], false);
    assert_eq!(stored, [true, true, false, true, true]);
    assert_eq!(size, 4);
    // Bisected: the whole, then halves, down to the one job.
    assert!(attempts <= 1 + 2 * 3, "{attempts}");
    let (stored, size, _) = commit(&["cb\0a", "cb02", "cb\0b"], false);
    assert_eq!((stored, size), (vec![false, true, false], 1));
    let (stored, _, _) = commit(&["cb01", "cb02"], false);
    assert_eq!(stored, [true, true]);
}

#[test]
fn a_lost_connection_fails_the_group_without_retrying_it() {
    let (stored, size, attempts) = commit(&["cb01", "cb02", "cb03"], true);
    assert_eq!((stored, size, attempts), (vec![false; 3], 0, 1));
}
