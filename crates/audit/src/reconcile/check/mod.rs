//! The reconciliation itself: the dossiers of the period ([`Scope`]), then one scan of the
//! log's events — in consecutive ranges read on as many threads, whose counts merge into those of
//! one scan —, then the comparison (see [`super`]).
//!
//! Here: the ranges and the threads that read them; `scan` counts one range's records,
//! `compare` makes the findings.

mod compare;
mod scan;
#[cfg(test)]
mod tests;

use std::path::Path;

use super::{scope::Scope, tally::RangeTally, ReconcileQuery, Reconciliation};
use crate::{
    query::AuditReader,
    record::Dictionary,
    store::{LogOfRecord, SqliteLog},
    AuditError,
};
use compare::compare;
use scan::Scanner;

/// Ranges the log is read in at most, each on its own thread (each holds counts for every
/// dossier of the period, so more cost memory).
const MAX_RANGES: usize = 2;

/// Fewest records in a range: a shorter log is read on one thread (a thread and a connection
/// cost more than they save).
const MIN_RANGE: u64 = 1 << 16;

/// How the log's records are split into ranges read in parallel.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// Ranges at most.
    ranges: usize,
    /// Fewest records in a range.
    min_range: u64,
}

impl Split {
    /// The consecutive ranges `[0, size)` is read in.
    fn ranges(self, size: u64) -> Vec<(u64, u64)> {
        let count = (size / self.min_range.max(1)).clamp(1, self.ranges.max(1) as u64);
        (0..count)
            .map(|i| (size * i / count, size * (i + 1) / count))
            .collect()
    }
}

impl AuditReader {
    /// Reconciles the dossiers received in the period (see the module documentation).
    pub fn reconcile(&self, query: &ReconcileQuery) -> Result<Reconciliation, AuditError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.reconcile_split(
            query,
            Split {
                ranges: threads.min(MAX_RANGES),
                min_range: MIN_RANGE,
            },
        )
    }

    /// [`AuditReader::reconcile`], the log read in the ranges of `split`.
    fn reconcile_split(
        &self,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<Reconciliation, AuditError> {
        let connection = self.connection();
        // One read transaction: the scan and the dossier lookups see the same snapshot.
        connection.execute_batch("BEGIN")?;
        let result = self.reconcile_in_snapshot(query, split);
        connection.execute_batch("COMMIT")?;
        result
    }

    /// [`AuditReader::reconcile`], inside the caller's read transaction.
    fn reconcile_in_snapshot(
        &self,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<Reconciliation, AuditError> {
        let scope = Scope::load(self.connection(), query)?;
        let tally = self.count_ranges(&scope, query, split)?;
        compare(self, &scope, query, tally)
    }

    /// Counts the log's records for `scope`: the first range on this thread, through this
    /// reader, and each other on a thread of its own, through a connection of its own. Records
    /// are never rewritten or removed, so a connection opened after this reader's snapshot
    /// began reads the same records (and the dictionary entries they use) up to its size.
    fn count_ranges(
        &self,
        scope: &Scope,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<RangeTally, AuditError> {
        let size = self.size()?;
        let path = self.connection().path().filter(|p| !p.is_empty());
        let ranges = match path {
            Some(_) => split.ranges(size),
            None => vec![(0, size)],
        };
        let (&(from, to), others) = ranges.split_first().expect("one range at least");
        std::thread::scope(|threads| {
            let others: Vec<_> = others
                .iter()
                .map(|&(from, to)| {
                    let path = Path::new(path.expect("a file when split"));
                    threads.spawn(move || -> Result<RangeTally, AuditError> {
                        let log = SqliteLog::open(path)?;
                        let mut scanner = Scanner::new(scope, query);
                        log.views(&mut Dictionary::default(), from, to, &mut |_, view| {
                            scanner.event(view);
                            Ok(true)
                        })?;
                        Ok(scanner.tally)
                    })
                })
                .collect();
            let mut scanner = Scanner::new(scope, query);
            let first = self.scan_views(from, to, &mut |_, view| {
                scanner.event(view);
                Ok(true)
            });
            let mut tally = scanner.tally;
            // Every thread joined before the first error in the log's order is returned.
            let others: Vec<_> = others
                .into_iter()
                .map(|thread| thread.join().expect("a reconcile scan panicked"))
                .collect();
            first?;
            for later in others {
                tally.merge(later?);
            }
            Ok(tally)
        })
    }
}
