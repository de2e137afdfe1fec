//! The client's durable outbox: audit events wait here, on the agency's own disk, until the
//! server has stored them.
//!
//! An event is committed to the outbox (SQLite, WAL, `synchronous=FULL`: fsync'd) before the call
//! that produced it returns, so neither a crash of the agency process nor a server outage loses
//! it. Delivery removes events only after the server acknowledged them; a crash between the two
//! redelivers them, and the server deduplicates by event id.

use std::{path::Path, sync::Mutex};

use prost::Message;
use rusqlite::{params, Connection};

use crate::proto::ReportedEvent;

/// Why the outbox could not keep an event.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("audit outbox: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("audit outbox holds an unreadable event #{0}")]
    Corrupt(i64),
    #[error("audit outbox task failed: {0}")]
    Task(String),
}

/// A durable FIFO of events to deliver.
pub struct Outbox {
    connection: Mutex<Connection>,
}

impl Outbox {
    /// Opens (or creates) the outbox file.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS outbox (
                 seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                 event_id TEXT NOT NULL UNIQUE,
                 event    BLOB NOT NULL
             )",
        )?;
        Ok(Outbox {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: keep going.
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores an event durably. Blocking (one fsync): call from a blocking context.
    pub fn push(&self, event: &ReportedEvent) -> Result<(), OutboxError> {
        self.lock().execute(
            "INSERT OR IGNORE INTO outbox (event_id, event) VALUES (?1, ?2)",
            params![event.event_id, event.encode_to_vec()],
        )?;
        Ok(())
    }

    /// The oldest `limit` events with their outbox sequence numbers.
    pub fn peek(&self, limit: usize) -> Result<Vec<(i64, ReportedEvent)>, OutboxError> {
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
    pub fn acknowledge(&self, up_to: i64) -> Result<(), OutboxError> {
        self.lock()
            .execute("DELETE FROM outbox WHERE seq <= ?1", [up_to])?;
        Ok(())
    }

    /// Events waiting for delivery.
    pub fn len(&self) -> Result<u64, OutboxError> {
        Ok(self
            .lock()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }
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
                outbox.push(&event(id)).unwrap();
            }
        }
        let outbox = Outbox::open(&path).unwrap();
        let waiting = outbox.peek(10).unwrap();
        let ids: Vec<_> = waiting.iter().map(|(_, e)| e.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        outbox.acknowledge(waiting[1].0).unwrap();
        assert_eq!(outbox.len().unwrap(), 1);
        assert_eq!(outbox.peek(10).unwrap()[0].1.event_id, "c");
    }
}
