//! Started authentications ("challenges") waiting to be completed.
//!
//! A challenge belongs to one agency and one citizen, is single use, and expires after the
//! configured lifetime. Expired challenges are remembered for one more lifetime so that a late
//! answer is told "expired" rather than "unknown"; after that they are swept. The map is capped:
//! when full, expired entries are swept first and then the challenges closest to expiry are
//! dropped, so memory never grows without bound.

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
pub struct Challenge {
    pub cccd: CccdNumber,
    pub level: VneidLevel,
    /// The agency that started it; only it may complete it.
    pub agency_id: String,
    pub expires: Instant,
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    /// Never issued, already used, swept, or another agency's.
    NotFound,
    Expired,
}

#[derive(Debug)]
pub struct ChallengeStore {
    challenges: DashMap<String, Challenge>,
    lifetime: Duration,
    capacity: usize,
    inserted: AtomicU64,
    rng: SystemRandom,
}

impl ChallengeStore {
    pub fn new(lifetime: Duration, capacity: usize) -> Self {
        ChallengeStore {
            challenges: DashMap::new(),
            lifetime,
            capacity: capacity.max(1),
            inserted: AtomicU64::new(0),
            rng: SystemRandom::new(),
        }
    }

    /// Starts a challenge; returns its id (128 random bits, base64url) and the challenge.
    pub fn create(
        &self,
        cccd: CccdNumber,
        level: VneidLevel,
        agency_id: &str,
        now: Instant,
    ) -> (String, Challenge) {
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
        let count = self.inserted.fetch_add(1, Ordering::Relaxed) + 1;
        if self.challenges.len() >= self.capacity || count.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
        while self.challenges.len() >= self.capacity {
            self.evict_closest_to_expiry();
        }
        self.challenges.insert(id.clone(), challenge.clone());
        (id, challenge)
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
    pub fn consume(&self, id: &str) -> bool {
        self.challenges.remove(id).is_some()
    }

    /// Drops challenges that expired more than one lifetime ago.
    pub fn sweep(&self, now: Instant) {
        let lifetime = self.lifetime;
        self.challenges.retain(|_, c| now < c.expires + lifetime);
    }

    fn evict_closest_to_expiry(&self) {
        let oldest = self
            .challenges
            .iter()
            .min_by_key(|entry| entry.value().expires)
            .map(|entry| entry.key().clone());
        if let Some(id) = oldest {
            self.challenges.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.challenges.len()
    }

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
        let store = ChallengeStore::new(Duration::from_secs(60), 10);
        let now = Instant::now();
        let (id, _) = store.create(an(), VneidLevel::Level1, "desk", now);
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
    fn bounded_and_swept() {
        let store = ChallengeStore::new(Duration::from_secs(60), 100);
        let start = Instant::now();
        for i in 0..1_000u64 {
            store.create(
                an(),
                VneidLevel::Level1,
                "desk",
                start + Duration::from_millis(i),
            );
        }
        assert!(store.len() <= 100, "{}", store.len());
        store.sweep(start + Duration::from_secs(200));
        assert!(store.is_empty());
    }
}
