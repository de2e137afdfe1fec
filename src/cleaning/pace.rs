//! Pacing data-cleaning jobs to the directory's `cleaning_per_second`: one schedule per agency,
//! shared by every job of that agency, so two jobs run at once share the agency's rate rather
//! than each having it.
//!
//! A schedule is a virtual clock (the "theoretical arrival time" of GCRA, a token bucket with
//! no burst): admitting `n` records moves it `n / rate` seconds on from whichever is later, now
//! or where it stood, and the batch waits until the clock's new time. So a job of `N` records
//! takes at least `N / rate` seconds however its batches are sized or interleaved with other
//! jobs of the agency, and time a job spent idle earns it nothing. Agencies the directory
//! marks `unlimited` (`simulation`, `qa-admin`) have no schedule.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The schedules of the agencies that have run cleaning jobs (at most one per directory entry).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    schedules: Mutex<HashMap<String, Arc<Schedule>>>,
}

impl Pacer {
    /// The schedule `agency`'s jobs share at `per_second` records a second (a new one when the
    /// directory's rate for it changed).
    pub(crate) fn schedule(&self, agency: &str, per_second: u64) -> Arc<Schedule> {
        let mut schedules = self
            .schedules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match schedules.get(agency) {
            Some(schedule) if schedule.per_second == per_second => Arc::clone(schedule),
            _ => {
                let schedule = Arc::new(Schedule::new(per_second));
                schedules.insert(agency.to_owned(), Arc::clone(&schedule));
                schedule
            }
        }
    }
}

/// One agency's virtual clock.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// The rate (records a second, at least 1).
    per_second: u64,
    /// When the records admitted so far will have had their time.
    next: Mutex<Instant>,
}

impl Schedule {
    fn new(per_second: u64) -> Self {
        Schedule {
            per_second: per_second.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// When `records` more records, admitted now, will have had their time: the clock moved on.
    fn reserve(&self, records: usize, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let cost = Duration::from_secs_f64(records as f64 / self.per_second as f64);
        *next = (*next).max(now) + cost;
        *next
    }

    /// Waits until `records` more records of the agency may be verified.
    pub(crate) async fn admit(&self, records: usize) {
        let due = self.reserve(records, Instant::now());
        tokio::time::sleep_until(due.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_of_one_agency_share_its_rate() {
        let pacer = Pacer::default();
        let (a, b) = (pacer.schedule("bhxh", 1_000), pacer.schedule("bhxh", 1_000));
        assert!(Arc::ptr_eq(&a, &b));
        let now = Instant::now();
        // Two jobs' batches of 500, one after the other in time: 0.5 s, then 1 s.
        let first = a.reserve(500, now);
        let second = b.reserve(500, now);
        assert!(first >= now + Duration::from_millis(499), "{first:?}");
        assert!(second >= now + Duration::from_millis(999), "{second:?}");
        // Another agency has its own clock; a changed rate a new one.
        assert!(pacer.schedule("thue", 1_000).reserve(500, now) < second);
        assert!(!Arc::ptr_eq(&a, &pacer.schedule("bhxh", 2_000)));
    }

    #[test]
    fn idle_time_earns_no_burst() {
        let schedule = Schedule::new(1_000);
        let later = Instant::now() + Duration::from_secs(10);
        let due = schedule.reserve(1_000, later);
        assert!(due >= later + Duration::from_millis(999));
    }
}
