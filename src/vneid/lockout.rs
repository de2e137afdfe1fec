//! Account lockout, per (citizen, agency) with a higher ceiling per citizen.
//!
//! After `threshold` failed attempts (wrong passcode, code or chip) by one agency within
//! `window`, the citizen's account is locked *for that agency* for `duration`: one agency, or
//! someone holding its certificate, cannot lock a citizen out of every other desk. Failures from
//! all agencies together also count towards `citizen_threshold` (higher), which locks the account
//! everywhere: a guesser spreading attempts across agencies is still stopped. A success clears
//! the agency's count for the citizen.
//!
//! Both maps are bounded by `capacity`. Entries whose failures have all left the window and that
//! are not locked are swept; live entries are never evicted (that would reset a count). When a
//! map is still full after a sweep, [`Lockout::has_room`] says so and the service refuses new
//! authentications with RESOURCE_EXHAUSTED until entries age out.

use std::{
    collections::VecDeque,
    hash::Hash,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use dashmap::DashMap;

use crate::domain::CccdNumber;

const SWEEP_EVERY: u64 = 1024;

#[derive(Debug, Default)]
struct Failures {
    /// Times of the failures still inside the window (at most the threshold).
    recent: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// Failure counts by key, with one threshold.
#[derive(Debug)]
struct Counter<K: Eq + Hash> {
    entries: DashMap<K, Failures>,
    threshold: u32,
}

impl<K: Eq + Hash + Clone> Counter<K> {
    fn new(threshold: u32) -> Self {
        Counter {
            entries: DashMap::new(),
            threshold: threshold.max(1),
        }
    }

    fn locked(&self, key: &K, now: Instant) -> Option<Duration> {
        match self.entries.get(key).and_then(|f| f.locked_until) {
            Some(until) if now < until => Some(until - now),
            _ => None,
        }
    }

    /// Counts a failure; the attempts left before the lock (0: now locked).
    fn fail(&self, key: K, now: Instant, window: Duration, duration: Duration) -> u32 {
        let mut entry = self.entries.entry(key).or_default();
        let failures = entry.value_mut();
        if failures.locked_until.is_some_and(|until| now >= until) {
            // The lock has run out: start afresh.
            *failures = Failures::default();
        }
        if failures.locked_until.is_some() {
            return 0;
        }
        while failures
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            failures.recent.pop_front();
        }
        failures.recent.push_back(now);
        let count = failures.recent.len() as u32;
        if count >= self.threshold {
            failures.locked_until = Some(now + duration);
            failures.recent.clear();
            0
        } else {
            self.threshold - count
        }
    }

    fn sweep(&self, now: Instant, window: Duration) {
        self.entries.retain(|_, f| {
            let locked = f.locked_until.is_some_and(|until| now < until);
            let recent = f
                .recent
                .back()
                .is_some_and(|t| now.duration_since(*t) < window);
            locked || recent
        });
    }
}

/// The lockout state of every account with recent failures.
#[derive(Debug)]
pub(crate) struct Lockout {
    /// Per (citizen, agency id).
    pairs: Counter<(CccdNumber, String)>,
    /// Per citizen, across agencies.
    citizens: Counter<CccdNumber>,
    window: Duration,
    duration: Duration,
    capacity: usize,
    recorded: AtomicU64,
}

impl Lockout {
    /// `threshold` failures by one agency lock the account for it; `citizen_threshold` failures
    /// by all agencies together lock it for everyone.
    pub fn new(
        threshold: u32,
        citizen_threshold: u32,
        window: Duration,
        duration: Duration,
        capacity: usize,
    ) -> Self {
        Lockout {
            pairs: Counter::new(threshold),
            citizens: Counter::new(citizen_threshold.max(threshold)),
            window,
            duration,
            capacity: capacity.max(1),
            recorded: AtomicU64::new(0),
        }
    }

    /// `Err(time left)` while the account is locked for `agency` (or for everyone).
    pub fn check(&self, cccd: CccdNumber, agency: &str, now: Instant) -> Result<(), Duration> {
        let pair = self.pairs.locked(&(cccd, agency.to_owned()), now);
        let citizen = self.citizens.locked(&cccd, now);
        match pair.max(citizen) {
            Some(left) => Err(left),
            None => Ok(()),
        }
    }

    /// Whether failures of (`cccd`, `agency`) can be counted: both maps have room for them
    /// (after sweeping if full). `false`: refuse to start an authentication.
    pub(crate) fn has_room(&self, cccd: CccdNumber, agency: &str, now: Instant) -> bool {
        let full = |len: usize| len >= self.capacity;
        if full(self.pairs.entries.len()) || full(self.citizens.entries.len()) {
            self.sweep(now);
        }
        let pair_room = !full(self.pairs.entries.len())
            || self.pairs.entries.contains_key(&(cccd, agency.to_owned()));
        let citizen_room =
            !full(self.citizens.entries.len()) || self.citizens.entries.contains_key(&cccd);
        pair_room && citizen_room
    }

    /// Records a failed attempt by `agency`; returns the attempts left before a lock (0: now
    /// locked for this agency, or for everyone).
    pub(crate) fn record_failure(&self, cccd: CccdNumber, agency: &str, now: Instant) -> u32 {
        let count = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        if count.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
        let pair = self
            .pairs
            .fail((cccd, agency.to_owned()), now, self.window, self.duration);
        let citizen = self.citizens.fail(cccd, now, self.window, self.duration);
        pair.min(citizen)
    }

    /// A successful authentication clears the agency's failures for the citizen (not the
    /// citizen-wide count, which only the window clears).
    pub(crate) fn record_success(&self, cccd: CccdNumber, agency: &str) {
        self.pairs.entries.remove(&(cccd, agency.to_owned()));
    }

    /// Drops entries that are not locked and whose failures have all left the window.
    pub(crate) fn sweep(&self, now: Instant) {
        self.pairs.sweep(now, self.window);
        self.citizens.sweep(now, self.window);
    }

    #[cfg(test)]
    /// Entries kept, both maps together.
    pub fn len(&self) -> usize {
        self.pairs.entries.len() + self.citizens.entries.len()
    }

    #[cfg(test)]
    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn an() -> CccdNumber {
        CccdNumber::parse("001090012345").unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn locks_after_threshold_in_window_and_unlocks_later() {
        let lockout = Lockout::new(5, 20, secs(60), secs(30), 100);
        let t = Instant::now();
        for (i, left) in [4, 3, 2, 1].into_iter().enumerate() {
            assert_eq!(
                lockout.record_failure(an(), "desk", t + secs(i as u64)),
                left
            );
        }
        assert!(lockout.check(an(), "desk", t + secs(4)).is_ok());
        assert_eq!(lockout.record_failure(an(), "desk", t + secs(4)), 0);
        assert_eq!(lockout.check(an(), "desk", t + secs(5)), Err(secs(29)));
        assert!(lockout.check(an(), "desk", t + secs(34)).is_ok());
        // After the lock: a fresh count.
        assert_eq!(lockout.record_failure(an(), "desk", t + secs(35)), 4);
    }

    #[test]
    fn one_agency_does_not_lock_the_citizen_for_another() {
        let lockout = Lockout::new(5, 12, secs(600), secs(300), 100);
        let t = Instant::now();
        for _ in 0..5 {
            lockout.record_failure(an(), "attacker", t);
        }
        assert!(lockout.check(an(), "attacker", t).is_err());
        assert!(lockout.check(an(), "desk", t).is_ok());
        // Failures spread over agencies still reach the citizen-wide ceiling.
        for agency in ["a", "b", "c", "d", "e", "f", "g"] {
            assert!(lockout.check(an(), "desk", t).is_ok(), "{agency}");
            lockout.record_failure(an(), agency, t);
        }
        assert!(lockout.check(an(), "desk", t).is_err());
    }

    #[test]
    fn failures_outside_the_window_do_not_count_and_are_swept() {
        let lockout = Lockout::new(3, 20, secs(10), secs(30), 100);
        let t = Instant::now();
        lockout.record_failure(an(), "desk", t);
        lockout.record_failure(an(), "desk", t + secs(1));
        assert_eq!(lockout.record_failure(an(), "desk", t + secs(20)), 2);
        lockout.sweep(t + secs(40));
        assert!(lockout.is_empty());
    }

    #[test]
    fn full_maps_keep_live_entries_and_say_so() {
        let lockout = Lockout::new(5, 20, secs(60), secs(30), 50);
        let t = Instant::now();
        for serial in 0..50 {
            let n = an().with_serial(serial);
            assert!(lockout.has_room(n, "desk", t));
            lockout.record_failure(n, "desk", t);
        }
        let newcomer = an().with_serial(999);
        assert!(!lockout.has_room(newcomer, "desk", t + secs(1)));
        // A live entry keeps its count: 4 more failures lock it.
        let first = an().with_serial(0);
        assert!(lockout.has_room(first, "desk", t + secs(1)));
        assert_eq!(lockout.record_failure(first, "desk", t + secs(1)), 3);
        // Once the window has passed, the entries are swept and there is room again.
        assert!(lockout.has_room(newcomer, "desk", t + secs(120)));
    }
}
