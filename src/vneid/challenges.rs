//! Started authentications ("challenges") waiting to be completed.
//!
//! A challenge belongs to one agency and one citizen, is single use, and expires after the
//! configured lifetime. Expired challenges are remembered for one more lifetime so that a late
//! answer is told "expired" rather than "unknown"; after that they are swept. The map is capped,
//! and so is each agency's share of it: when full, expired entries are swept, and if it is still
//! full the new challenge is refused ([`ChallengeRefused`]); a pending challenge is never dropped
//! to make room, so one agency cannot push out another's.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use dashmap::DashMap;
use ring::rand::{SecureRandom, SystemRandom};

use crate::domain::{CccdNumber, VneidLevel};

/// Sweep expired entries every this many insertions even when not full.
const SWEEP_EVERY: u64 = 1024;

/// One started authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub cccd: CccdNumber,
    pub level: VneidLevel,
    /// The agency that started it; only it may complete it.
    pub agency_id: String,
    pub expires: Instant,
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeError {
    /// Never issued, already used, swept, or another agency's.
    NotFound,
    Expired,
}

/// Why a challenge was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeRefused {
    /// The store holds `capacity` live challenges.
    Full,
    /// The agency holds its quota of live challenges.
    AgencyQuota { max: usize },
}

#[derive(Debug)]
pub(crate) struct ChallengeStore {
    challenges: DashMap<String, Challenge>,
    /// Challenges held per agency (every entry of `challenges`, expired ones included).
    per_agency: DashMap<String, usize>,
    lifetime: Duration,
    capacity: usize,
    agency_quota: usize,
    inserted: AtomicU64,
    rng: SystemRandom,
}

impl ChallengeStore {
    pub fn new(lifetime: Duration, capacity: usize, agency_quota: usize) -> Self {
        ChallengeStore {
            challenges: DashMap::new(),
            per_agency: DashMap::new(),
            lifetime,
            capacity: capacity.max(1),
            agency_quota: agency_quota.max(1),
            inserted: AtomicU64::new(0),
            rng: SystemRandom::new(),
        }
    }

    fn held_by(&self, agency_id: &str) -> usize {
        self.per_agency.get(agency_id).map_or(0, |n| *n)
    }

    fn release(&self, agency_id: &str) {
        if let Some(mut held) = self.per_agency.get_mut(agency_id) {
            *held = held.saturating_sub(1);
        }
        self.per_agency.remove_if(agency_id, |_, held| *held == 0);
    }

    /// Starts a challenge; returns its id (128 random bits, base64url) and the challenge, or why
    /// it was refused.
    pub fn create(
        &self,
        cccd: CccdNumber,
        level: VneidLevel,
        agency_id: &str,
        now: Instant,
    ) -> Result<(String, Challenge), ChallengeRefused> {
        let count = self.inserted.fetch_add(1, Ordering::Relaxed) + 1;
        if self.challenges.len() >= self.capacity
            || self.held_by(agency_id) >= self.agency_quota
            || count.is_multiple_of(SWEEP_EVERY)
        {
            self.sweep(now);
        }
        if self.challenges.len() >= self.capacity {
            return Err(ChallengeRefused::Full);
        }
        {
            let mut held = self.per_agency.entry(agency_id.to_owned()).or_insert(0);
            if *held >= self.agency_quota {
                return Err(ChallengeRefused::AgencyQuota {
                    max: self.agency_quota,
                });
            }
            *held += 1;
        }
        let mut bytes = [0u8; 16];
        self.rng
            .fill(&mut bytes)
            .expect("the system random generator works");
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = Challenge {
            cccd,
            level,
            agency_id: agency_id.to_owned(),
            expires: now + self.lifetime,
        };
        self.challenges.insert(id.clone(), challenge.clone());
        Ok((id, challenge))
    }

    /// The challenge `id` if `agency_id` started it and it has not expired.
    pub fn get(
        &self,
        id: &str,
        agency_id: &str,
        now: Instant,
    ) -> Result<Challenge, ChallengeError> {
        let challenge = self
            .challenges
            .get(id)
            .map(|c| c.value().clone())
            .filter(|c| c.agency_id == agency_id)
            .ok_or(ChallengeError::NotFound)?;
        if now >= challenge.expires {
            return Err(ChallengeError::Expired);
        }
        Ok(challenge)
    }

    /// Uses up a challenge; `false` if it was already used (a concurrent completion won).
    pub(crate) fn consume(&self, id: &str) -> bool {
        match self.challenges.remove(id) {
            Some((_, challenge)) => {
                self.release(&challenge.agency_id);
                true
            }
            None => false,
        }
    }

    /// Drops challenges that expired more than one lifetime ago (and, when the store is full,
    /// those that have expired at all: a late answer is then told "unknown").
    pub(crate) fn sweep(&self, now: Instant) {
        let lifetime = self.lifetime;
        let full = self.challenges.len() >= self.capacity;
        let mut dropped = Vec::new();
        self.challenges.retain(|_, c| {
            let keep = if full {
                now < c.expires
            } else {
                now < c.expires + lifetime
            };
            if !keep {
                dropped.push(c.agency_id.clone());
            }
            keep
        });
        for agency_id in dropped {
            self.release(&agency_id);
        }
    }

    #[cfg(test)]
    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.challenges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn an() -> CccdNumber {
        CccdNumber::parse("001090012345").unwrap()
    }

    #[test]
    fn single_use_per_agency_and_expiring() {
        let store = ChallengeStore::new(Duration::from_secs(60), 10, 10);
        let now = Instant::now();
        let (id, _) = store.create(an(), VneidLevel::Level1, "desk", now).unwrap();
        assert_eq!(
            store.get(&id, "hospital", now),
            Err(ChallengeError::NotFound)
        );
        assert!(store.get(&id, "desk", now).is_ok());
        assert_eq!(
            store.get(&id, "desk", now + Duration::from_secs(61)),
            Err(ChallengeError::Expired)
        );
        assert!(store.consume(&id));
        assert!(!store.consume(&id));
        assert_eq!(store.get(&id, "desk", now), Err(ChallengeError::NotFound));
    }

    #[test]
    fn full_refuses_rather_than_evicts_and_quotas_hold() {
        let store = ChallengeStore::new(Duration::from_secs(60), 100, 60);
        let start = Instant::now();
        let mut ids = Vec::new();
        for i in 0..60u64 {
            let at = start + Duration::from_millis(i);
            ids.push(
                store
                    .create(an(), VneidLevel::Level1, "desk", at)
                    .unwrap()
                    .0,
            );
        }
        assert_eq!(
            store.create(an(), VneidLevel::Level1, "desk", start),
            Err(ChallengeRefused::AgencyQuota { max: 60 })
        );
        for _ in 0..40 {
            store
                .create(an(), VneidLevel::Level1, "hospital", start)
                .unwrap();
        }
        assert_eq!(
            store
                .create(an(), VneidLevel::Level1, "other", start)
                .map(|_| ()),
            Err(ChallengeRefused::Full)
        );
        // Every pending challenge is still there.
        assert!(ids.iter().all(|id| store
            .get(id, "desk", start + Duration::from_secs(1))
            .is_ok()));
        // Completing one frees the agency's share.
        assert!(store.consume(&ids[0]));
        assert!(store
            .create(an(), VneidLevel::Level1, "desk", start)
            .is_ok());
        // Once they expire, the store empties.
        store.sweep(start + Duration::from_secs(200));
        assert!(store.is_empty());
        assert!(store.per_agency.is_empty());
    }
}
