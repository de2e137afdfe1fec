//! The client's durable outbox: audit events wait here, on the agency's own disk, until the
//! server has stored them.
//!
//! An event is committed to the outbox (SQLite, WAL, `synchronous=FULL`: fsync'd) before the call
//! that produced it returns, so neither a crash of the agency process nor a server outage loses
//! it. Delivery removes events only after the server acknowledged them; a crash between the two
//! redelivers them, and the server deduplicates by event id.
//!
//! An event the server refuses (its Ingest answer names it: a district its agency does not
//! receive dossiers for, a report too late, …) would be refused again at every redelivery, so it
//! moves to the `quarantine` table, in the same transaction that clears the batch it came with:
//! it is kept, with the server's reason, and no longer holds up the events behind it.

use std::{
    path::Path,
    sync::{mpsc, Mutex},
};

use prost::Message;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use crate::{
    proto::ReportedEvent,
    reason::{code_from_name, code_name, Reason},
};

/// Why the outbox could not keep an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// SQLite failed (the file cannot be opened or written: disk full, permissions).
    #[error("audit outbox: {0}")]
    Database(#[from] rusqlite::Error),
    /// The event stored under this sequence number cannot be decoded.
    #[error("audit outbox holds an unreadable event #{0}")]
    Corrupt(i64),
    /// The outbox's writer thread, or a blocking task reading it, failed or stopped.
    #[error("audit outbox task failed: {0}")]
    Task(String),
}

/// Most events committed in one outbox transaction.
const MAX_GROUP: usize = 4_096;

/// An event the server refused, kept aside with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedEvent {
    /// The event as it was queued.
    pub event: ReportedEvent,
    /// The gRPC status code the event alone had, e.g. INVALID_ARGUMENT.
    pub code: tonic::Code,
    /// Its reason code (the error catalogue, docs/errors.md), e.g. [`Reason::DistrictNotServed`].
    pub reason: Reason,
    /// The field concerned, e.g. `events[3].district` (the position in the batch it came with).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
    /// When it was set aside, Unix ms.
    pub quarantined_at_ms: i64,
}

enum Job {
    Push(ReportedEvent, oneshot::Sender<Result<(), String>>),
    /// Clears every event up to `seq` (delivered), moving the given ones to the quarantine.
    Settle {
        up_to: i64,
        quarantine: Vec<QuarantinedEvent>,
        ack: oneshot::Sender<Result<(), String>>,
    },
}

/// A durable FIFO of events to deliver; [`super::AgencyClient`] keeps one and delivers it. Open
/// one yourself only to queue events it will deliver (say, from another process, before the
/// client starts): a client opened on the same file delivers them.
///
/// Writes go through one writer thread that commits whatever is waiting in one transaction (one
/// fsync for many concurrent callers: group commit); reads use their own connection.
pub struct Outbox {
    reader: Mutex<Connection>,
    queue: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

fn open_connection(path: &Path) -> Result<Connection, OutboxError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS outbox (
             seq      INTEGER PRIMARY KEY AUTOINCREMENT,
             event_id TEXT NOT NULL UNIQUE,
             event    BLOB NOT NULL
         );
         CREATE TABLE IF NOT EXISTS quarantine (
             seq               INTEGER PRIMARY KEY AUTOINCREMENT,
             event_id          TEXT NOT NULL UNIQUE,
             event             BLOB NOT NULL,
             code              TEXT NOT NULL,
             reason            TEXT NOT NULL,
             field             TEXT NOT NULL,
             message           TEXT NOT NULL,
             quarantined_at_ms INTEGER NOT NULL
         );",
    )?;
    Ok(connection)
}

impl Outbox {
    /// Opens (or creates) the outbox file.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let mut writer_connection = open_connection(path)?;
        let reader = open_connection(path)?;
        let (queue, jobs) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("audit-outbox".into())
            .spawn(move || write_groups(&mut writer_connection, jobs))
            .map_err(|e| OutboxError::Task(e.to_string()))?;
        Ok(Outbox {
            reader: Mutex::new(reader),
            queue: Some(queue),
            writer: Some(writer),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: keep going.
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn submit(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Job,
    ) -> Result<oneshot::Receiver<Result<(), String>>, OutboxError> {
        let (ack, done) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| OutboxError::Task("the outbox is closed".into()))?
            .send(job(ack))
            .map_err(|_| OutboxError::Task("the outbox writer stopped".into()))?;
        Ok(done)
    }

    /// Stores an event durably: resolves once it is committed (fsync'd).
    pub async fn push(&self, event: ReportedEvent) -> Result<(), OutboxError> {
        let done = self.submit(|ack| Job::Push(event, ack))?;
        done.await
            .map_err(|_| OutboxError::Task("the outbox writer stopped".into()))?
            .map_err(OutboxError::Task)
    }

    /// [`Outbox::push`] for synchronous callers.
    #[cfg(test)]
    fn push_blocking(&self, event: ReportedEvent) -> Result<(), OutboxError> {
        let done = self.submit(|ack| Job::Push(event, ack))?;
        done.blocking_recv()
            .map_err(|_| OutboxError::Task("the outbox writer stopped".into()))?
            .map_err(OutboxError::Task)
    }

    /// The oldest `limit` events with their outbox sequence numbers.
    pub(crate) fn peek(&self, limit: usize) -> Result<Vec<(i64, ReportedEvent)>, OutboxError> {
        let connection = self.lock();
        let mut statement =
            connection.prepare_cached("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = statement
            .query_map([limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(seq, bytes)| {
                ReportedEvent::decode(bytes.as_slice())
                    .map(|event| (seq, event))
                    .map_err(|_| OutboxError::Corrupt(seq))
            })
            .collect()
    }

    /// Removes delivered events (all with `seq <= up_to`).
    #[cfg(test)]
    async fn acknowledge(&self, up_to: i64) -> Result<(), OutboxError> {
        self.settle(up_to, Vec::new()).await
    }

    /// Removes the events with `seq <= up_to`, moving `refused` (events among them) to the
    /// quarantine, in one transaction.
    pub(crate) async fn settle(
        &self,
        up_to: i64,
        refused: Vec<QuarantinedEvent>,
    ) -> Result<(), OutboxError> {
        let done = self.submit(|ack| Job::Settle {
            up_to,
            quarantine: refused,
            ack,
        })?;
        done.await
            .map_err(|_| OutboxError::Task("the outbox writer stopped".into()))?
            .map_err(OutboxError::Task)
    }

    /// The events the server refused, oldest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedEvent>, OutboxError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT seq, event, code, reason, field, message, quarantined_at_ms
             FROM quarantine ORDER BY seq",
        )?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    QuarantinedEvent {
                        event: ReportedEvent::default(),
                        code: code_from_name(&r.get::<_, String>(2)?),
                        reason: Reason::from(r.get::<_, String>(3)?),
                        field: r.get(4)?,
                        message: r.get(5)?,
                        quarantined_at_ms: r.get(6)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(seq, bytes, mut kept)| {
                kept.event = ReportedEvent::decode(bytes.as_slice())
                    .map_err(|_| OutboxError::Corrupt(seq))?;
                Ok(kept)
            })
            .collect()
    }

    /// Events waiting for delivery.
    pub fn len(&self) -> Result<u64, OutboxError> {
        Ok(self
            .lock()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Whether no event waits for delivery.
    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("pending", &self.len().ok())
            .finish_non_exhaustive()
    }
}

impl Drop for Outbox {
    /// Commits what is queued, then stops the writer.
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The writer thread: commits every waiting job in one transaction, then answers them all.
fn write_groups(connection: &mut Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let result = commit(connection, &group).map_err(|e| e.to_string());
        for job in group {
            let ack = match job {
                Job::Push(_, ack) | Job::Settle { ack, .. } => ack,
            };
            let _ = ack.send(result.clone());
        }
    }
}

fn commit(connection: &mut Connection, group: &[Job]) -> rusqlite::Result<()> {
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction
            .prepare_cached("INSERT OR IGNORE INTO outbox (event_id, event) VALUES (?1, ?2)")?;
        let mut delete = transaction.prepare_cached("DELETE FROM outbox WHERE seq <= ?1")?;
        let mut set_aside = transaction.prepare_cached(
            "INSERT OR IGNORE INTO quarantine
                 (event_id, event, code, reason, field, message, quarantined_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for job in group {
            match job {
                Job::Push(event, _) => {
                    insert.execute(params![event.event_id, event.encode_to_vec()])?;
                }
                Job::Settle {
                    up_to, quarantine, ..
                } => {
                    for kept in quarantine {
                        set_aside.execute(params![
                            kept.event.event_id,
                            kept.event.encode_to_vec(),
                            code_name(kept.code),
                            kept.reason.as_str(),
                            kept.field,
                            kept.message,
                            kept.quarantined_at_ms,
                        ])?;
                    }
                    delete.execute([up_to])?;
                }
            }
        }
    }
    transaction.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> ReportedEvent {
        ReportedEvent {
            event_id: id.into(),
            dossier_id: "D".into(),
            officer_id: "o".into(),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_order_across_reopening_and_ignores_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        {
            let outbox = Outbox::open(&path).unwrap();
            for id in ["a", "b", "c", "b"] {
                outbox.push_blocking(event(id)).unwrap();
            }
        }
        let outbox = Outbox::open(&path).unwrap();
        let waiting = outbox.peek(10).unwrap();
        let ids: Vec<_> = waiting.iter().map(|(_, e)| e.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(outbox.acknowledge(waiting[1].0))
            .unwrap();
        assert_eq!(outbox.len().unwrap(), 1);
        assert_eq!(outbox.peek(10).unwrap()[0].1.event_id, "c");
    }

    #[test]
    fn refused_events_move_to_the_quarantine_with_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let outbox = Outbox::open(&path).unwrap();
        for id in ["a", "b", "c"] {
            outbox.push_blocking(event(id)).unwrap();
        }
        let waiting = outbox.peek(2).unwrap();
        let refused = QuarantinedEvent {
            event: waiting[1].1.clone(),
            code: tonic::Code::InvalidArgument,
            reason: Reason::DistrictNotServed,
            field: "events[1].district".into(),
            message: "district …".into(),
            quarantined_at_ms: 7,
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(outbox.settle(waiting[1].0, vec![refused.clone()]))
            .unwrap();
        drop(outbox);
        let outbox = Outbox::open(&path).unwrap();
        assert_eq!(outbox.len().unwrap(), 1, "c still waits");
        assert_eq!(outbox.quarantined().unwrap(), vec![refused]);
    }
}
