//! The overload model: a fixed number of service slots with a bounded queue in front.
//!
//! A call takes a free slot at once if there is one. Otherwise it joins the queue, unless
//! `max_queue` calls already wait there, and waits at most `max_queue_wait_ms` for a slot to free
//! up (tokio's semaphore is fair, so the queue is first come, first served). A call that cannot
//! queue or waits too long is shed. The queueing delay a caller sees is exactly the time spent
//! waiting for a slot, as at a saturated database.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::OverloadSpec;

/// Why a call was shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// `max_queue` calls were already waiting.
    QueueFull,
    /// No slot freed up within `max_queue_wait_ms`.
    WaitedTooLong,
}

impl Shed {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Shed::QueueFull => "its queue is full",
            Shed::WaitedTooLong => "the call waited too long in its queue",
        }
    }
}

/// The slots and queue of one overload rule.
#[derive(Debug)]
pub struct Overload {
    spec: OverloadSpec,
    slots: Arc<Semaphore>,
    waiting: AtomicU32,
}

/// Leaves the queue when dropped, however the wait ends.
struct InQueue<'a>(&'a AtomicU32);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Overload {
    pub fn new(spec: OverloadSpec) -> Self {
        Overload {
            slots: Arc::new(Semaphore::new(spec.capacity as usize)),
            waiting: AtomicU32::new(0),
            spec,
        }
    }

    pub fn spec(&self) -> OverloadSpec {
        self.spec
    }

    pub(crate) fn service_time(&self) -> Duration {
        Duration::from_millis(u64::from(self.spec.service_time_ms))
    }

    /// Calls waiting for a slot now.
    pub fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Acquire)
    }

    /// Takes a slot, queueing for it if need be; the slot is freed when the permit is dropped.
    pub(crate) async fn admit(&self) -> Result<OwnedSemaphorePermit, Shed> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let position = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _in_queue = InQueue(&self.waiting);
        if position >= self.spec.max_queue {
            return Err(Shed::QueueFull);
        }
        let acquire = Arc::clone(&self.slots).acquire_owned();
        let permit = if self.spec.max_queue_wait_ms == 0 {
            acquire.await
        } else {
            let wait = Duration::from_millis(u64::from(self.spec.max_queue_wait_ms));
            tokio::time::timeout(wait, acquire)
                .await
                .map_err(|_| Shed::WaitedTooLong)?
        };
        // The semaphore is never closed; treat it as a full queue if it ever were.
        permit.map_err(|_| Shed::QueueFull)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overload(capacity: u32, max_queue: u32, max_queue_wait_ms: u32) -> Arc<Overload> {
        Arc::new(Overload::new(OverloadSpec {
            capacity,
            service_time_ms: 0,
            max_queue,
            max_queue_wait_ms,
        }))
    }

    #[tokio::test]
    async fn sheds_beyond_capacity_and_queue_then_recovers() {
        let o = overload(2, 1, 0);
        let a = o.admit().await.unwrap();
        let _b = o.admit().await.unwrap();
        let queued = tokio::spawn({
            let o = Arc::clone(&o);
            async move { o.admit().await.map(drop) }
        });
        while o.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(o.admit().await.unwrap_err(), Shed::QueueFull);
        drop(a);
        assert_eq!(queued.await.unwrap(), Ok(()));
        assert_eq!(o.waiting(), 0);
        assert!(o.admit().await.is_ok());
    }

    #[tokio::test]
    async fn a_call_waits_at_most_the_queue_wait() {
        let o = overload(1, 10, 50);
        let _held = o.admit().await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(o.admit().await.unwrap_err(), Shed::WaitedTooLong);
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(o.waiting(), 0);
    }
}
