//! One-time codes are accepted once (RFC 6238 section 5.2): per account, the last TOTP time step
//! accepted; a code of that step or an earlier one is refused as reused.
//!
//! An entry matters only while its step could still be accepted (one step of skew), so entries
//! older than that are swept; the map is also capped.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::{mapref::entry::Entry, DashMap};

use crate::domain::CccdNumber;

const SWEEP_EVERY: u64 = 1024;

#[derive(Debug)]
pub(crate) struct UsedCodes {
    last_step: DashMap<CccdNumber, u64>,
    capacity: usize,
    recorded: AtomicU64,
}

impl UsedCodes {
    pub fn new(capacity: usize) -> Self {
        UsedCodes {
            last_step: DashMap::new(),
            capacity: capacity.max(1),
            recorded: AtomicU64::new(0),
        }
    }

    /// Records that the code of `step` was used for `cccd`; `false` if it (or a later one)
    /// already was. `current_step` is the step of the present time, for sweeping.
    pub(crate) fn use_step(&self, cccd: CccdNumber, step: u64, current_step: u64) -> bool {
        let count = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        if count.is_multiple_of(SWEEP_EVERY) || self.last_step.len() >= self.capacity {
            self.sweep(current_step);
            if self.last_step.len() >= self.capacity {
                // Every entry is live: forget the oldest ones rather than grow.
                let oldest = self
                    .last_step
                    .iter()
                    .min_by_key(|e| *e.value())
                    .map(|e| *e.key());
                if let Some(key) = oldest {
                    self.last_step.remove(&key);
                }
            }
        }
        match self.last_step.entry(cccd) {
            Entry::Occupied(mut entry) => {
                if *entry.get() >= step {
                    return false;
                }
                entry.insert(step);
                true
            }
            Entry::Vacant(entry) => {
                entry.insert(step);
                true
            }
        }
    }

    /// Drops steps that can no longer be presented (more than one step in the past).
    pub(crate) fn sweep(&self, current_step: u64) {
        self.last_step.retain(|_, step| *step + 1 >= current_step);
    }

    /// Whether nothing is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.last_step.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_used_once_and_old_steps_are_swept() {
        let used = UsedCodes::new(100);
        let an = CccdNumber::parse("001090012345").unwrap();
        assert!(used.use_step(an, 10, 10));
        assert!(!used.use_step(an, 10, 10));
        assert!(!used.use_step(an, 9, 10));
        assert!(used.use_step(an, 11, 11));
        used.sweep(13);
        assert!(used.is_empty());
    }
}
