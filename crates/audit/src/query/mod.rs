//! The auditor's questions, answered from the query side (the state in memory, the receipts
//! in the query file, the citizen index: see [`super::projector`]) and from the log of
//! record's events, through one [`AuditReader`]: a read connection to the log with the query
//! file attached, and the query side it reads.
//!
//! One file a question: `ratio` (lookups per dossier, the central figure), `unverified`
//! (dossiers without a served lookup), `events` (the log's events, filtered), `citizen`
//! (who looked a citizen up). Reconciliation is [`super::reconcile`], proofs read
//! [`StoredTree`]. Nothing here writes: the projector derives the query side, the sequencer the log.

mod citizen;
mod events;
mod ratio;
mod unverified;

use std::{cell::RefCell, path::Path};

use rusqlite::Connection;

use crate::domain::geography::{CommuneCode, CurrentProvince};

pub use super::tree::StoredTree;
use super::{
    keys::SignedTreeHead,
    merkle::Hash,
    projector::{CitizenIndex, QuerySide, QueryState, CITIZEN_FILE, QUERY_FILE},
    record::{self, Dictionary, StoredEvent},
    store::{LogOfRecord, SqliteLog},
    AuditError, AuditEvent,
};
pub use events::{EventFilter, LoggedEvent};
pub use ratio::{GroupBy, RatioQuery, RatioRow, RatioSource};
pub use unverified::{DossierRow, UnverifiedQuery};

/// "Xã Mai Châu, Phú Thọ" for a stored commune code; "" for none (or a code the tables lack).
pub fn commune_label(code: i64) -> String {
    u32::try_from(code)
        .ok()
        .and_then(CommuneCode::new)
        .map(CommuneCode::label)
        .unwrap_or_default()
}

/// "Phú Thọ" for a stored current province code; "" for not known.
fn province_name(code: i64) -> String {
    u16::try_from(code)
        .ok()
        .and_then(CurrentProvince::by_code)
        .map(|p| p.name.to_owned())
        .unwrap_or_default()
}

/// Read-only access to a log and its query tables.
pub struct AuditReader {
    /// The log file's connection, with the query tables' file attached (as `query`), so the
    /// query tables are read by their plain names.
    pub(super) log: SqliteLog,
    dictionary: RefCell<Dictionary>,
    /// The state in memory and the citizen index: a running server's (as its projector
    /// extends them), or derived from the file when first needed.
    side: RefCell<Option<QuerySide>>,
}

impl AuditReader {
    /// Opens the log at `path` (`DATA_DIR/audit.sqlite`) and the query tables beside it.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let log = SqliteLog::open(path)?;
        let query = path.with_file_name(QUERY_FILE);
        // Creates the tables if no projector ever ran here (they then hold nothing).
        drop(super::projector::connect(&query)?);
        log.connection()
            .execute("ATTACH DATABASE ?1 AS query", [query.to_string_lossy()])?;
        let dictionary = RefCell::new(log.dictionary()?);
        Ok(AuditReader {
            log,
            dictionary,
            side: RefCell::new(None),
        })
    }

    /// [`AuditReader::open`], reading a running server's query side.
    pub(crate) fn open_with(path: &Path, side: QuerySide) -> Result<Self, AuditError> {
        let reader = Self::open(path)?;
        *reader.side.borrow_mut() = Some(side);
        Ok(reader)
    }

    /// Reads `side` from now on: a running server's query side as it is now (a reader taken
    /// from the pool again, `reads`).
    pub(crate) fn read_side(&self, side: QuerySide) {
        *self.side.borrow_mut() = Some(side);
    }

    /// The query side: the server's, or derived from the log (up to the position the query
    /// file holds) and the citizen index's file.
    fn side(&self) -> Result<QuerySide, AuditError> {
        if let Some(side) = &*self.side.borrow() {
            return Ok(side.clone());
        }
        let path = self
            .log
            .connection()
            .path()
            .map(|p| Path::new(p).with_file_name(CITIZEN_FILE))
            .ok_or_else(|| AuditError::Corrupt("the log is not a file".into()))?;
        let size = super::projector::applied(self.connection())?.min(self.size()?);
        let side = QuerySide::read(&path, size, &self.log, &mut self.dictionary.borrow_mut())?;
        *self.side.borrow_mut() = Some(side.clone());
        Ok(side)
    }

    /// Whether `agency`'s dossier `dossier_id` has been received.
    pub(crate) fn received(&self, agency: &str, dossier_id: &str) -> Result<bool, AuditError> {
        self.with_state(|state| Ok(state.received(agency, dossier_id)))
    }

    /// The citizen index.
    pub(super) fn citizens(&self) -> Result<CitizenIndex, AuditError> {
        Ok(self.side()?.citizens)
    }

    /// The state in memory, for reading: held while a query reads it (the projector waits).
    pub(super) fn with_state<T>(
        &self,
        read: impl FnOnce(&QueryState) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        let side = self.side()?;
        let state = side.state.read().unwrap_or_else(|e| e.into_inner());
        read(&state)
    }

    /// Opens the file once its query tables hold every event of the log, waiting up to
    /// `patience` for a running server's projector (read-your-writes for readers of the file).
    pub fn open_current(path: &Path, patience: std::time::Duration) -> Result<Self, AuditError> {
        let reader = Self::open(path)?;
        let deadline = std::time::Instant::now() + patience;
        loop {
            let size = reader.log.size()?;
            let applied = super::projector::applied(reader.connection())?;
            if applied >= size {
                return Ok(reader);
            }
            if std::time::Instant::now() >= deadline {
                return Err(AuditError::Corrupt(format!(
                    "the query tables hold {applied} of the log's {size} events; start `vnpop serve` on this data directory once to bring them up to date"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// The read connection (query tables attached), for queries kept in their own modules.
    pub(super) fn connection(&self) -> &Connection {
        self.log.connection()
    }

    /// Calls `each` with the stored events `[from, to)`, in order, until it returns false.
    pub(super) fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(StoredEvent) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.log
            .events(&mut self.dictionary.borrow_mut(), from, to, each)
    }

    /// [`AuditReader::scan`] without allocating: each record's position and a view of it.
    pub(super) fn scan_views(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, record::View<'_>) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.log
            .views(&mut self.dictionary.borrow_mut(), from, to, each)
    }

    /// Number of events in the log.
    pub fn size(&self) -> Result<u64, AuditError> {
        self.log.size()
    }

    /// The hashes of the first `size` leaves, in order.
    pub fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        super::tree::leaves(&self.log, &mut self.dictionary.borrow_mut(), 0, size)
    }

    /// The tree of the first `size` events, for proofs (see [`StoredTree`]).
    pub fn tree(&self, size: u64) -> StoredTree<'_> {
        StoredTree::new(&self.log, &self.dictionary, size)
    }

    /// The event stored at leaf `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<AuditEvent>, AuditError> {
        Ok(self.stored(seq)?.map(|stored| stored.event))
    }

    /// The event stored at leaf `seq`, with its receive time.
    pub fn stored(&self, seq: u64) -> Result<Option<StoredEvent>, AuditError> {
        let mut found = None;
        self.scan(seq, seq + 1, &mut |stored| {
            found = Some(stored);
            Ok(false)
        })?;
        Ok(found)
    }

    /// The canonical leaf bytes of the event at `seq`.
    pub fn leaf_data(&self, seq: u64) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(self
            .stored(seq)?
            .map(|s| record::leaf_bytes(s.seq, &s.event, s.received_at_ms)))
    }

    /// The newest signed tree head.
    pub fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        self.log.latest_head()
    }
}
