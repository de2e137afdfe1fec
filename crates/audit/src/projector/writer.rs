//! The query file's writer: a second thread that stores what the projector's thread derives.
//!
//! The projector's thread reads the log back and applies each batch to the state in memory;
//! what goes to disk — the batch's receipts, the tree nodes its blocks complete and the applied
//! position, in one transaction, then its citizen index entries — it hands to this thread as a
//! [`Batch`], and goes on with the next batch meanwhile. This thread alone publishes the
//! applied position, once the batch is on disk: a query that waits for a position finds the
//! receipts, the citizen index and the state in memory all holding it (the state may be a
//! batch ahead, which a read-your-writes query allows).
//!
//! A batch that fails is not retried here: the writer drops every later batch that does not
//! start where the file ends, and says where that is ([`Writer::failed`]); the projector
//! derives its state in memory again up to there and sends the batches again.
//!
//! While a long backlog is applied (a rebuild), the receipts' index on the receipt time is
//! dropped and built once, when the writer first catches up ([`Batch::caught_up`]): one sort
//! instead of an index insert per receipt. Queries are correct without the index (slower), and
//! none answers before the writer has caught up anyway.

use std::{
    sync::{
        mpsc::{self, RecvTimeoutError},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::Connection;
use tokio::sync::watch;

use super::{citizens::CitizenWriter, tables};
use crate::{record::View, AuditError};

/// Batches waiting for the writer before the projector's thread waits: enough to keep both
/// threads busy, few enough to bound the memory a backlog takes.
const IN_FLIGHT: usize = 2;
/// How long nothing must come before the writer, caught up, truncates the query file's
/// write-ahead log.
const IDLE_AFTER: Duration = Duration::from_secs(1);

/// A batch's receipts, packed: their texts in one buffer.
#[derive(Debug, Default)]
pub(super) struct Receipts {
    text: String,
    rows: Vec<ReceiptRow>,
}

/// One receipt of [`Receipts`]: its texts are `text[ends[i-1]..ends[i]]`, in the order agency,
/// dossier, district, officer, procedure, channel.
#[derive(Debug)]
struct ReceiptRow {
    seq: u64,
    ends: [u32; 6],
    received_at_ms: i64,
    load_test: bool,
    commune: Option<u32>,
    province: Option<u16>,
}

impl Receipts {
    /// Adds the receipt at `seq`.
    pub(super) fn push(&mut self, seq: u64, receipt: &super::state::Receipt<'_>) {
        let view: &View<'_> = receipt.view;
        let mut ends = [0u32; 6];
        for (end, text) in ends.iter_mut().zip([
            view.agency_id,
            view.dossier_id,
            view.district,
            view.officer_id,
            receipt.procedure,
            receipt.channel,
        ]) {
            self.text.push_str(text);
            *end = self.text.len() as u32;
        }
        self.rows.push(ReceiptRow {
            seq,
            ends,
            received_at_ms: view.occurred_at_ms,
            load_test: view.load_test,
            commune: view.commune,
            province: receipt.province,
        });
    }

    /// The receipts, each with its six texts.
    fn each(&self) -> impl Iterator<Item = (&ReceiptRow, [&str; 6])> {
        let mut start = 0usize;
        self.rows.iter().map(move |row| {
            let texts = row.ends.map(|end| {
                let text = &self.text[start..end as usize];
                start = end as usize;
                text
            });
            (row, texts)
        })
    }
}

/// What the projector's thread hands over for events `[from, to)`.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The first event of the batch.
    pub(super) from: u64,
    /// The first event after it.
    pub(super) to: u64,
    /// Its dossiers' receipts.
    pub(super) receipts: Receipts,
    /// Its citizen index entries: position and subject key.
    pub(super) citizens: Vec<(u64, u32)>,
    /// The block roots its events complete, with the left sibling of the first.
    pub(super) blocks: Vec<(u64, Vec<u8>)>,
    /// Nothing more was acknowledged when the batch was read: the writer has caught up.
    pub(super) caught_up: bool,
}

/// The writer's handle, on the projector's thread.
pub(super) struct Writer {
    batches: Option<mpsc::SyncSender<Batch>>,
    /// Set by the writer when a batch failed: the file's applied position, where the projector
    /// must start again.
    failed: Arc<Mutex<Option<u64>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer on `query` (which records `applied`), with the citizen index's writer,
    /// publishing each position it stores through `published`.
    pub(super) fn start(
        query: Connection,
        citizens: CitizenWriter,
        applied: u64,
        published: watch::Sender<u64>,
    ) -> Result<Self, AuditError> {
        let (batches, receive) = mpsc::sync_channel(IN_FLIGHT);
        let failed = Arc::new(Mutex::new(None));
        let mut thread = WriterThread {
            query,
            citizens,
            applied,
            published,
            failed: Arc::clone(&failed),
            index_missing: false,
        };
        let thread = std::thread::Builder::new()
            .name("audit-query-writer".into())
            .spawn(move || {
                super::lower_priority();
                thread.run(&receive)
            })
            .map_err(|e| AuditError::Key(e.to_string()))?;
        Ok(Writer {
            batches: Some(batches),
            failed,
            thread: Some(thread),
        })
    }

    /// Hands `batch` over, waiting while [`IN_FLIGHT`] batches wait already. False if the
    /// writer is gone (it stops only when this handle is finished or dropped).
    pub(super) fn send(&self, batch: Batch) -> bool {
        self.batches
            .as_ref()
            .is_some_and(|batches| batches.send(batch).is_ok())
    }

    /// If a batch failed since the last call: the file's applied position, where the batches
    /// must start again.
    pub(super) fn failed(&self) -> Option<u64> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Stores every batch handed over, then stops; `Err` with the file's applied position if
    /// a batch failed since [`Writer::failed`] was last asked.
    pub(super) fn finish(mut self) -> Result<(), u64> {
        self.stop();
        self.failed().map_or(Ok(()), Err)
    }

    fn stop(&mut self) {
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread's side.
struct WriterThread {
    query: Connection,
    citizens: CitizenWriter,
    /// The file's applied position: the next batch must start here.
    applied: u64,
    published: watch::Sender<u64>,
    failed: Arc<Mutex<Option<u64>>>,
    /// The receipts' index on the receipt time was dropped for a backlog.
    index_missing: bool,
}

impl WriterThread {
    /// Stores batches until the handle goes; truncates the write-ahead log when idle.
    fn run(&mut self, batches: &mpsc::Receiver<Batch>) {
        if self.applied == 0 {
            // Everything is to be applied: the index is built once, caught up.
            match tables::drop_received_index(&self.query) {
                Ok(()) => self.index_missing = true,
                Err(error) => tracing::warn!(%error, "audit query tables: index kept"),
            }
        }
        // Whether the write-ahead log holds batches since it was last truncated.
        let mut written = false;
        loop {
            let batch = if written {
                match batches.recv_timeout(IDLE_AFTER) {
                    Ok(batch) => batch,
                    Err(RecvTimeoutError::Timeout) => {
                        // At rest the write-ahead log goes back to nothing (it grows to a
                        // batch's pages while catching up).
                        if let Err(error) = tables::truncate_wal(&self.query) {
                            tracing::warn!(%error, "audit query tables: WAL checkpoint failed");
                        }
                        written = false;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match batches.recv() {
                    Ok(batch) => batch,
                    Err(_) => break,
                }
            };
            if batch.from != self.applied {
                continue; // after a failed batch, until the projector starts again here
            }
            match self.store(&batch) {
                Ok(()) => {
                    self.applied = batch.to;
                    written = true;
                    self.published.send_replace(batch.to);
                }
                Err(error) => {
                    tracing::error!(%error, "audit projection failed; will try again");
                    self.citizens.discard();
                    *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.applied);
                }
            }
        }
        if self.index_missing {
            // Closed before catching up: built now, so the file is whole for its readers.
            if let Err(error) = tables::create_received_index(&self.query) {
                tracing::warn!(%error, "audit query tables: index not built");
            }
        }
    }

    /// One transaction: the batch's receipts, its tree nodes and the new applied position
    /// (with the index, caught up); then its citizen index entries, published.
    fn store(&mut self, batch: &Batch) -> Result<(), AuditError> {
        let transaction = self.query.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO dossiers (seq, agency_id, dossier_id, district, officer_id,
                     procedure, channel, received_at_ms, load_test, commune, province)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for (row, texts) in batch.receipts.each() {
                // Bound in place (the statement's parameters are 1..=11 in the table's order).
                insert.raw_bind_parameter(1, row.seq as i64)?;
                for (i, text) in texts.into_iter().enumerate() {
                    insert.raw_bind_parameter(i + 2, text)?;
                }
                insert.raw_bind_parameter(8, row.received_at_ms)?;
                insert.raw_bind_parameter(9, row.load_test)?;
                insert.raw_bind_parameter(10, row.commune)?;
                insert.raw_bind_parameter(11, row.province)?;
                insert.raw_execute()?;
            }
        }
        crate::nodes::extend(&transaction, &batch.blocks)?;
        tables::set_applied(&transaction, batch.to)?;
        if batch.caught_up && self.index_missing {
            tables::create_received_index(&transaction)?;
        }
        transaction.commit()?;
        if batch.caught_up {
            self.index_missing = false;
        }
        for &(seq, key) in &batch.citizens {
            self.citizens.push_key(seq, key);
        }
        self.citizens.publish(batch.to)
    }
}
