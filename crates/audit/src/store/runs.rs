//! Walking a log's runs of records in order, whichever store they come from.

use super::{RawRecord, RunDamage};
use crate::{
    record::{self, RecordError},
    AuditError,
};

/// A scan of the records `[from, to)` as its runs come, in order, from whichever store: checks
/// that each run follows the last and holds what it says, and passes each record in the range on.
pub(crate) struct RunWalk {
    from: u64,
    to: u64,
    /// Where the next run must start, once one was seen.
    expected: Option<u64>,
}

impl RunWalk {
    /// A walk over the records `[from, to)`, expecting the first run to hold `from`.
    pub(crate) fn new(from: u64, to: u64) -> Self {
        RunWalk {
            from,
            to,
            expected: None,
        }
    }

    /// Takes the run of `count` records from `first` in `body`; false when the scan is over
    /// (the range's end, `each` said so, or damage passed to `damaged`).
    pub(crate) fn run(
        &mut self,
        first: u64,
        count: u64,
        body: &[u8],
        each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
        damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
    ) -> Result<bool, AuditError> {
        let gap = match self.expected {
            Some(expected) if expected != first => Some(expected),
            None if first > self.from => Some(self.from),
            _ => None,
        };
        if let Some(expected) = gap {
            damaged(RunDamage::Gap {
                expected,
                found: first,
            })?;
            return Ok(false);
        }
        let mut rest = body;
        for seq in first..first + count {
            let (payload, crc) = match record::next_record(&mut rest) {
                Ok(record) => record,
                Err(error) => {
                    damaged(RunDamage::Truncated { seq, error })?;
                    return Ok(false);
                }
            };
            if seq < self.from {
                continue;
            }
            if seq >= self.to || !each(RawRecord { seq, payload, crc })? {
                return Ok(false);
            }
        }
        if !rest.is_empty() {
            damaged(RunDamage::Truncated {
                seq: first + count,
                error: RecordError::Invalid("bytes after the run's last record"),
            })?;
            return Ok(false);
        }
        self.expected = Some(first + count);
        Ok(true)
    }
}
