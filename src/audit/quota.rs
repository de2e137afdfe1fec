//! Per-agency ingest quotas, so that no agency's reports can crowd out the others' or the served
//! calls' records: a token bucket per agency, refilled at its directory entry's
//! `ingest_per_minute` and holding at most one minute's worth.
//!
//! A batch is admitted while the agency's bucket holds at least one event and then takes one token
//! per event,
//! even into debt: a batch larger than the bucket still gets through, and the agency then waits
//! longer. A refused batch takes nothing and nothing of it is stored, so the client sends it again
//! later and no accepted report is ever lost.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{error::ApiError, security::Agency};

/// The buckets of the agencies that have ingested since the server started (at most one per
/// directory entry).
#[derive(Default)]
pub struct IngestQuotas {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// One agency's token bucket.
struct Bucket {
    /// Events the agency may still send; negative after a batch larger than what was left.
    tokens: f64,
    at: Instant,
}

impl IngestQuotas {
    /// Admits a batch of `events` from `agency` at `now`, or says when to try again.
    pub fn take(&self, agency: &Agency, events: usize, now: Instant) -> Result<(), ApiError> {
        let Some(per_minute) = agency.ingest_per_minute else {
            return Ok(());
        };
        let capacity = per_minute as f64;
        let per_second = capacity / 60.0;
        // A panic elsewhere cannot leave a bucket half-updated: keep going.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&agency.id) {
            buckets.insert(
                agency.id.clone(),
                Bucket {
                    tokens: capacity,
                    at: now,
                },
            );
        }
        let bucket = buckets.get_mut(&agency.id).expect("inserted above");
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            // Until the bucket holds one event again.
            let wait = (1.0 - bucket.tokens) / per_second;
            return Err(ApiError::IngestQuotaExceeded {
                agency: agency.id.clone(),
                per_minute,
                retry_after: Duration::from_secs_f64(wait.min(3_600.0)),
            });
        }
        bucket.tokens -= events as f64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::AgencyDirectory;

    #[test]
    fn admits_while_not_empty_then_refills() {
        let mut agency = (*AgencyDirectory::development()
            .by_id("one-stop-phuong-ba-dinh")
            .unwrap())
        .clone();
        agency.ingest_per_minute = Some(600); // 10 a second
        let quotas = IngestQuotas::default();
        let start = Instant::now();
        quotas.take(&agency, 500, start).unwrap();
        // 100 left: a batch of 1,000 still passes, into debt.
        quotas.take(&agency, 1_000, start).unwrap();
        let refused = quotas.take(&agency, 1, start).unwrap_err();
        match refused {
            ApiError::IngestQuotaExceeded { retry_after, .. } => {
                assert_eq!(retry_after.as_secs(), 90, "901 events at 10 a second")
            }
            other => panic!("{other:?}"),
        }
        assert!(quotas
            .take(&agency, 1, start + Duration::from_secs(89))
            .is_err());
        quotas
            .take(&agency, 1, start + Duration::from_secs(91))
            .unwrap();
        agency.ingest_per_minute = None;
        quotas.take(&agency, 1_000_000, start).unwrap();
    }
}
