//! The sequencer's queue: two lanes, served calls ahead of agencies' reports, bounded per lane;
//! the sequencer takes a whole group at a time.

use std::{
    collections::VecDeque,
    sync::{Condvar, Mutex},
};

use tokio::sync::oneshot;

use super::{event::AuditEvent, AuditError};

/// Most events written in one group commit.
const MAX_GROUP: usize = 20_000;
/// Batches waiting per lane before `append` waits for the sequencer.
const QUEUE: usize = 1024;

/// Which queue a batch waits in: served calls go to the log ahead of agencies' reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Records of calls the server served.
    Served,
    /// Agencies' reports.
    Ingest,
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Events stored by this call.
    pub appended: usize,
    /// Events already in the log (same agency and event id), not stored again.
    pub duplicates: usize,
    /// The log's size after the group commit that included this call.
    pub tree_size: u64,
    /// For each probed event id ([`AuditLog::append_received`](super::AuditLog::append_received)), whether the log holds it.
    pub probed: Vec<bool>,
}

/// A client event as deduplication knows it: event ids are each agency's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKey {
    /// The reporting agency's directory id.
    pub agency_id: String,
    /// The event id the agency gave it.
    pub event_id: String,
}

/// A batch waiting for the sequencer, and where its receipt goes.
pub(crate) struct Job {
    /// The events to append.
    pub events: Vec<AuditEvent>,
    /// When the server took the events in (stored with each).
    pub received_at_ms: i64,
    /// Client events to look up only: the receipt says which are already stored (checked
    /// after the events of the job, as a redelivery of them would be).
    pub probes: Vec<EventKey>,
    /// Where the receipt goes.
    pub ack: oneshot::Sender<Result<AppendReceipt, AuditError>>,
}

/// The sequencer's two queues.
#[derive(Default)]
struct Queues {
    served: VecDeque<Job>,
    ingest: VecDeque<Job>,
    closed: bool,
}

/// The queues with their wake-ups: `ready` for the sequencer, `room` for waiting appenders.
#[derive(Default)]
pub(crate) struct Queue {
    queues: Mutex<Queues>,
    ready: Condvar,
    room: Condvar,
}

impl Queue {
    /// Queues a job, waiting for room if `wait`; gives it back when full (and not waiting) or
    /// closed (as `Err(Some)` / `Err(None)`).
    pub(crate) fn push(&self, lane: Lane, job: Job, wait: bool) -> Result<(), Option<Job>> {
        let mut queues = self.queues.lock().expect("queue lock");
        loop {
            if queues.closed {
                return Err(None);
            }
            let queue = match lane {
                Lane::Served => &mut queues.served,
                Lane::Ingest => &mut queues.ingest,
            };
            if queue.len() < QUEUE {
                queue.push_back(job);
                self.ready.notify_one();
                return Ok(());
            }
            if !wait {
                return Err(Some(job));
            }
            queues = self.room.wait(queues).expect("queue lock");
        }
    }

    /// TESTS ONLY ([`AuditLog::append_together_for_test`](super::AuditLog::append_together_for_test)):
    /// queues `jobs` at once, past the lane's bound, so the sequencer takes them in one group
    /// (up to [`MAX_GROUP`] events).
    pub(crate) fn push_together(&self, lane: Lane, jobs: Vec<Job>) -> Result<(), ()> {
        let mut queues = self.queues.lock().expect("queue lock");
        if queues.closed {
            return Err(());
        }
        match lane {
            Lane::Served => queues.served.extend(jobs),
            Lane::Ingest => queues.ingest.extend(jobs),
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Waits for work and takes a group: every served call waiting, then reports, up to
    /// [`MAX_GROUP`] events. `None` once closed and drained.
    pub(crate) fn take(&self) -> Option<Vec<Job>> {
        let mut queues = self.queues.lock().expect("queue lock");
        while queues.served.is_empty() && queues.ingest.is_empty() {
            if queues.closed {
                return None;
            }
            queues = self.ready.wait(queues).expect("queue lock");
        }
        let mut group = Vec::new();
        let mut count = 0;
        while count < MAX_GROUP {
            let Some(job) = queues
                .served
                .pop_front()
                .or_else(|| queues.ingest.pop_front())
            else {
                break;
            };
            count += job.events.len();
            group.push(job);
        }
        self.room.notify_all();
        Some(group)
    }

    /// Refuses every later push; the sequencer takes what is queued, then stops.
    pub(crate) fn close(&self) {
        self.queues.lock().expect("queue lock").closed = true;
        self.ready.notify_all();
        self.room.notify_all();
    }
}
