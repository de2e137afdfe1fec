//! The auditor's answers: each query of the AuditTrail service as a plain function from a read
//! connection and the protobuf request to the protobuf answer. The gRPC service calls them after
//! checking the caller's role; `vnpop audit --db FILE` calls the same functions on the file, so
//! both ways give the same figures, the same lists and the same errors.
//!
//! Answers that can grow without bound come in chunks ([`lookup_ratio_chunks`],
//! [`reconcile_chunks`]; ListEvents one event at a time, ListUnverifiedDossiers in pages): each
//! chunk is handed to the caller as it is made, at most [`CHUNK_ROWS`] rows and about
//! [`CHUNK_BYTES`], so neither the server nor `--db` ever holds the whole answer in one message.
//! The unary LookupRatio and Reconcile are those chunks put together.
//!
//! Here: the chunks and what every answer shares; `days` checks an auditor's period, and each
//! file answers its questions: `ratio`, `lists` (events, unverified dossiers, a citizen's
//! accesses), `reconcile`, `anomalies`.

mod anomalies;
mod days;
mod lists;
mod ratio;
mod reconcile;
#[cfg(test)]
mod tests;

pub use anomalies::{anomaly_chunks, anomaly_query};
pub use days::{days, parse_day, period, MAX_PERIOD_YEARS, YEARS};
pub use lists::{citizen_accesses, event_filter, logged_event, unverified_dossiers};
pub use ratio::{lookup_ratio, lookup_ratio_chunks, ratio_query};
pub use reconcile::{reconcile, reconcile_chunks, reconcile_query};

/// Rows (ratio rows, findings) in one chunk of a streamed answer at most.
pub const CHUNK_ROWS: usize = 1_000;
/// A chunk of a streamed answer is sent once its rows' encoded size reaches this, whatever
/// their number: well under any receiver's message limit (tonic's default is 4 MiB).
pub const CHUNK_BYTES: usize = 1 << 20;

/// Rows gathered into chunks of at most [`CHUNK_ROWS`] rows and about [`CHUNK_BYTES`].
struct Chunker<T> {
    rows: Vec<T>,
    bytes: usize,
}

impl<T: prost::Message> Chunker<T> {
    fn new() -> Self {
        Chunker {
            rows: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds `row`; the chunk to send when it is full.
    fn push(&mut self, row: T) -> Option<Vec<T>> {
        self.bytes += row.encoded_len() + 4;
        self.rows.push(row);
        (self.rows.len() >= CHUNK_ROWS || self.bytes >= CHUNK_BYTES).then(|| self.take())
    }

    /// The rows not sent yet.
    fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        std::mem::take(&mut self.rows)
    }
}

/// `text` trimmed, or `None` when nothing is left (an unset protobuf string).
fn optional(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}
