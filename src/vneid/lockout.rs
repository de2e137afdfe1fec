//! Account lockout: after `threshold` failed attempts (wrong passcode or code) within `window`,
//! an account is locked for `duration`, then unlocks by itself. A success clears the count.
//!
//! One small entry per account with recent failures; entries whose failures have all left the
//! window and that are not locked are swept, and the map is capped (when full after a sweep, the
//! entry with the oldest activity is dropped), so it cannot grow without bound.

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use dashmap::DashMap;

use crate::domain::CccdNumber;

const SWEEP_EVERY: u64 = 1024;

#[derive(Debug, Default)]
struct Failures {
    /// Times of the failures still inside the window (at most `threshold`).
    recent: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

impl Failures {
    fn last_activity(&self) -> Option<Instant> {
        self.recent.back().copied().max(self.locked_until)
    }
}

#[derive(Debug)]
pub struct Lockout {
    accounts: DashMap<CccdNumber, Failures>,
    threshold: u32,
    window: Duration,
    duration: Duration,
    capacity: usize,
    recorded: AtomicU64,
}

impl Lockout {
    pub fn new(threshold: u32, window: Duration, duration: Duration, capacity: usize) -> Self {
        Lockout {
            accounts: DashMap::new(),
            threshold: threshold.max(1),
            window,
            duration,
            capacity: capacity.max(1),
            recorded: AtomicU64::new(0),
        }
    }

    /// `Err(time left)` while the account is locked.
    pub fn check(&self, cccd: CccdNumber, now: Instant) -> Result<(), Duration> {
        match self.accounts.get(&cccd).and_then(|f| f.locked_until) {
            Some(until) if now < until => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns the attempts left before the lock (0: now locked).
    pub fn record_failure(&self, cccd: CccdNumber, now: Instant) -> u32 {
        let count = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        if count.is_multiple_of(SWEEP_EVERY) || self.accounts.len() >= self.capacity {
            self.sweep(now);
            while self.accounts.len() >= self.capacity && !self.accounts.contains_key(&cccd) {
                self.evict_least_recent();
            }
        }
        let mut entry = self.accounts.entry(cccd).or_default();
        let failures = entry.value_mut();
        if failures.locked_until.is_some_and(|until| now >= until) {
            // The lock has run out: start afresh.
            *failures = Failures::default();
        }
        while failures
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            failures.recent.pop_front();
        }
        failures.recent.push_back(now);
        let count = failures.recent.len() as u32;
        if count >= self.threshold {
            failures.locked_until = Some(now + self.duration);
            failures.recent.clear();
            0
        } else {
            self.threshold - count
        }
    }

    /// A successful authentication clears the account's failures.
    pub fn record_success(&self, cccd: CccdNumber) {
        self.accounts.remove(&cccd);
    }

    /// Drops entries that are not locked and whose failures have all left the window.
    pub fn sweep(&self, now: Instant) {
        let window = self.window;
        self.accounts.retain(|_, f| {
            let locked = f.locked_until.is_some_and(|until| now < until);
            let recent = f
                .recent
                .back()
                .is_some_and(|t| now.duration_since(*t) < window);
            locked || recent
        });
    }

    fn evict_least_recent(&self) {
        let oldest = self
            .accounts
            .iter()
            .min_by_key(|e| e.value().last_activity())
            .map(|e| *e.key());
        if let Some(cccd) = oldest {
            self.accounts.remove(&cccd);
        }
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_threshold_in_window_and_unlocks_later() {
        let lockout = Lockout::new(5, Duration::from_secs(60), Duration::from_secs(30), 100);
        let an = CccdNumber::parse("001090012345").unwrap();
        let t = Instant::now();
        for (i, left) in [4, 3, 2, 1].into_iter().enumerate() {
            assert_eq!(
                lockout.record_failure(an, t + Duration::from_secs(i as u64)),
                left
            );
        }
        assert!(lockout.check(an, t + Duration::from_secs(4)).is_ok());
        assert_eq!(lockout.record_failure(an, t + Duration::from_secs(4)), 0);
        assert_eq!(
            lockout.check(an, t + Duration::from_secs(5)),
            Err(Duration::from_secs(29))
        );
        assert!(lockout.check(an, t + Duration::from_secs(34)).is_ok());
        // After the lock: a fresh count.
        assert_eq!(lockout.record_failure(an, t + Duration::from_secs(35)), 4);
    }

    #[test]
    fn failures_outside_the_window_do_not_count_and_are_swept() {
        let lockout = Lockout::new(3, Duration::from_secs(10), Duration::from_secs(30), 100);
        let an = CccdNumber::parse("001090012345").unwrap();
        let t = Instant::now();
        lockout.record_failure(an, t);
        lockout.record_failure(an, t + Duration::from_secs(1));
        assert_eq!(lockout.record_failure(an, t + Duration::from_secs(20)), 2);
        lockout.sweep(t + Duration::from_secs(40));
        assert!(lockout.is_empty());
    }

    #[test]
    fn bounded() {
        let lockout = Lockout::new(5, Duration::from_secs(60), Duration::from_secs(30), 50);
        let t = Instant::now();
        for serial in 0..500 {
            let n = CccdNumber::parse("001090000000")
                .unwrap()
                .with_serial(serial);
            lockout.record_failure(n, t);
        }
        assert!(lockout.len() <= 50, "{}", lockout.len());
    }
}
