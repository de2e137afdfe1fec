//! The sequencer's queue: two lanes, served calls ahead of agencies' reports, bounded per lane;
//! the sequencer takes a whole group at a time.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Condvar, Mutex, OnceLock,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::{event::AuditEvent, AuditError};

/// Most events written in one group commit.
const MAX_GROUP: usize = 20_000;
/// Batches waiting per lane before `append` waits for the sequencer.
const QUEUE: usize = 1024;
/// The commit delay ([`Queue::set_commit_delay`]) is waited only after a group of at least this
/// many batches: one caller alone, or a few, are never delayed.
const DELAY_AFTER_GROUP: usize = 8;

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
    /// The caller waits on a multi-threaded runtime where the [`Answerer`] runs.
    pub via_answerer: bool,
}

/// A job's answer: where it goes, and what it is.
pub(crate) type Answer = (
    oneshot::Sender<Result<AppendReceipt, AuditError>>,
    Result<AppendReceipt, AuditError>,
);

/// Answers committed groups' async callers from a task on their runtime. A caller woken from
/// the sequencer's thread is scheduled from outside the runtime: its task goes through the
/// runtime's shared queue and a parked worker is woken for it (a system call and a context
/// switch, per caller). The sequencer instead hands the group's answers to this one task (one
/// such wake-up per group), which wakes each caller from a worker thread, onto that worker's
/// own run queue. Callers not on a multi-threaded runtime (`append_blocking`, a current-thread
/// runtime that might be blocked while the group commits) are answered by the sequencer
/// itself, as are all callers when the task is gone (its runtime shut down): no answer waits
/// on a runtime that cannot run it.
#[derive(Default)]
pub(crate) struct Answerer {
    tx: OnceLock<mpsc::UnboundedSender<Vec<Answer>>>,
}

/// The answering task's receiver: answers what is left in it when the task is dropped.
struct Pending(mpsc::UnboundedReceiver<Vec<Answer>>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.close();
        while let Ok(batch) = self.0.try_recv() {
            for (ack, answer) in batch {
                let _ = ack.send(answer);
            }
        }
    }
}

impl Answerer {
    /// For an async caller: whether its answer can come through the answering task (started
    /// on the caller's runtime by the first caller on a multi-threaded one).
    pub(crate) fn ready_here(&self) -> bool {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return false;
        }
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            handle.spawn(async move {
                let mut pending = Pending(rx);
                while let Some(batch) = pending.0.recv().await {
                    for (ack, answer) in batch {
                        let _ = ack.send(answer);
                    }
                }
            });
            tx
        });
        !tx.is_closed()
    }

    /// TESTS ONLY: whether the task was started (`None` if not), and is still there.
    #[cfg(test)]
    pub(crate) fn running(&self) -> Option<bool> {
        self.tx.get().map(|tx| !tx.is_closed())
    }

    /// Answers `batch` through the task, or here when it is gone.
    pub(crate) fn answer(&self, batch: Vec<Answer>) {
        let batch = match self.tx.get() {
            Some(tx) if !batch.is_empty() => match tx.send(batch) {
                Ok(()) => return,
                Err(error) => error.0,
            },
            _ => batch,
        };
        for (ack, answer) in batch {
            let _ = ack.send(answer);
        }
    }
}

/// The sequencer's two queues.
#[derive(Default)]
struct Queues {
    served: VecDeque<Job>,
    ingest: VecDeque<Job>,
    closed: bool,
    /// The sequencer waits for work on `ready`.
    sequencer_waiting: bool,
    /// While the sequencer waits out the commit delay: the batches it waits for (the last
    /// group's size); the push that brings that many wakes it. 0: it waits for any batch.
    delay_until: usize,
    /// Appenders waiting on `room`.
    waiting_for_room: usize,
    /// Batches in the group taken last.
    last_group: usize,
}

impl Queues {
    /// Batches waiting, in both lanes.
    fn waiting(&self) -> usize {
        self.served.len() + self.ingest.len()
    }
}

/// The queues with their wake-ups: `ready` for the sequencer, `room` for waiting appenders.
#[derive(Default)]
pub(crate) struct Queue {
    queues: Mutex<Queues>,
    ready: Condvar,
    room: Condvar,
    /// The commit delay in microseconds; 0: none.
    commit_delay_us: AtomicU64,
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
                // A wake-up is a system call: only for a sequencer that waits, and in the
                // commit delay only once the group it waits for is there.
                if queues.sequencer_waiting && queues.waiting() >= queues.delay_until {
                    self.ready.notify_one();
                }
                return Ok(());
            }
            if !wait {
                return Err(Some(job));
            }
            queues.waiting_for_room += 1;
            queues = self.room.wait(queues).expect("queue lock");
            queues.waiting_for_room -= 1;
        }
    }

    /// TESTS ONLY ([`AuditLog::append_together_for_test`](super::AuditLog::append_together_for_test)):
    /// queues `jobs` at once, past the lane's bound, so the sequencer takes them in one group
    /// (up to [`MAX_GROUP`] events).
    #[cfg(any(test, feature = "testing"))]
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

    /// Sets the commit delay: under load — after a group of [`DELAY_AFTER_GROUP`] batches or
    /// more — the sequencer, finding fewer batches waiting than the last group had, waits until
    /// that many are, for this long at most, before it takes a group, so that more calls share
    /// the group's commit, signature and fsync (PostgreSQL's `commit_delay` with
    /// `commit_siblings`, by the last group's size, ended early once the group is there). A
    /// caller alone is never delayed. Zero turns it off.
    pub(crate) fn set_commit_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.commit_delay_us.store(micros, Ordering::Relaxed);
    }

    /// The delay [`Queue::take`] waits before taking a group from `queues`, if any.
    fn delay(&self, queues: &Queues) -> Option<Duration> {
        commit_delay(
            self.commit_delay_us.load(Ordering::Relaxed),
            queues.last_group,
            queues.waiting(),
            queues.closed,
        )
    }

    /// Waits for work and takes a group: every served call waiting, then reports, up to
    /// [`MAX_GROUP`] events (after the commit delay, when one applies). `None` once closed and
    /// drained.
    pub(crate) fn take(&self) -> Option<Vec<Job>> {
        let mut queues = self.queues.lock().expect("queue lock");
        while queues.served.is_empty() && queues.ingest.is_empty() {
            if queues.closed {
                return None;
            }
            queues.sequencer_waiting = true;
            queues = self.ready.wait(queues).expect("queue lock");
            queues.sequencer_waiting = false;
        }
        if let Some(delay) = self.delay(&queues) {
            // Until as many batches are waiting as the last group had (the push that brings
            // them wakes the sequencer), or the delay is out, or the queue closes.
            let until = queues.last_group;
            queues.delay_until = until;
            queues.sequencer_waiting = true;
            queues = self
                .ready
                .wait_timeout_while(queues, delay, |q| q.waiting() < until && !q.closed)
                .expect("queue lock")
                .0;
            queues.sequencer_waiting = false;
            queues.delay_until = 0;
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
        queues.last_group = group.len();
        if queues.waiting_for_room > 0 {
            self.room.notify_all();
        }
        Some(group)
    }

    /// Refuses every later push; the sequencer takes what is queued, then stops.
    pub(crate) fn close(&self) {
        self.queues.lock().expect("queue lock").closed = true;
        self.ready.notify_all();
        self.room.notify_all();
    }
}

/// The commit delay's rule ([`Queue::set_commit_delay`]): `micros` (0: off) when the last group
/// had [`DELAY_AFTER_GROUP`] batches or more and fewer than that many are `waiting`, and the
/// queue is not closing.
pub(crate) fn commit_delay(
    micros: u64,
    last_group: usize,
    waiting: usize,
    closed: bool,
) -> Option<Duration> {
    (micros > 0 && !closed && last_group >= DELAY_AFTER_GROUP && waiting < last_group)
        .then(|| Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job of no events, as the queue sees it.
    fn job() -> Job {
        Job {
            events: Vec::new(),
            received_at_ms: 0,
            probes: Vec::new(),
            ack: oneshot::channel().0,
            via_answerer: false,
        }
    }

    /// Waits until the sequencer (another thread in `take`) waits on `ready`.
    fn until_the_sequencer_waits(queue: &Queue) {
        let start = std::time::Instant::now();
        while !queue.queues.lock().expect("queue lock").sequencer_waiting {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "take never waited"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Queues `count` jobs in `lane`.
    fn push(queue: &Queue, lane: Lane, count: usize) {
        for _ in 0..count {
            assert!(queue.push(lane, job(), false).is_ok(), "queued");
        }
    }

    /// A queue with the commit `delay` that has just given a group of [`DELAY_AFTER_GROUP`]
    /// batches: a smaller group is delayed.
    fn under_load(delay: Duration) -> std::sync::Arc<Queue> {
        let queue = std::sync::Arc::new(Queue::default());
        queue.set_commit_delay(delay);
        push(&queue, Lane::Served, DELAY_AFTER_GROUP);
        assert_eq!(queue.take().map(|g| g.len()), Some(DELAY_AFTER_GROUP));
        queue
    }

    /// `take` on another thread: the group's size, and how long it took.
    fn take_apart(
        queue: &std::sync::Arc<Queue>,
    ) -> std::thread::JoinHandle<(Option<usize>, Duration)> {
        let queue = std::sync::Arc::clone(queue);
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            (queue.take().map(|g| g.len()), start.elapsed())
        })
    }

    #[test]
    fn the_commit_delay_ends_once_as_many_wait_as_the_last_group_had() {
        let queue = under_load(Duration::from_secs(30));
        push(&queue, Lane::Served, 1);
        let taker = take_apart(&queue);
        // The sequencer waits out the delay for the rest of the group; the push that brings
        // it wakes the sequencer, long before the 30 s are out.
        until_the_sequencer_waits(&queue);
        push(&queue, Lane::Ingest, DELAY_AFTER_GROUP - 1);
        let (group, waited) = taker.join().expect("taker");
        assert_eq!(group, Some(DELAY_AFTER_GROUP));
        assert!(waited < Duration::from_secs(10), "{waited:?}");
    }

    #[test]
    fn the_commit_delay_ends_when_it_is_out_or_the_queue_closes() {
        // Fewer than the last group, and no more coming: taken once the delay is out.
        let queue = under_load(Duration::from_millis(100));
        push(&queue, Lane::Served, 1);
        let start = std::time::Instant::now();
        assert_eq!(queue.take().map(|g| g.len()), Some(1));
        assert!(start.elapsed() >= Duration::from_millis(100));
        // Closing ends a long delay at once, and what is queued is still taken.
        let queue = under_load(Duration::from_secs(30));
        push(&queue, Lane::Served, 1);
        let taker = take_apart(&queue);
        until_the_sequencer_waits(&queue);
        queue.close();
        let (group, waited) = taker.join().expect("taker");
        assert_eq!(group, Some(1));
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        assert_eq!(queue.take().map(|g| g.len()), None);
    }

    #[test]
    fn the_commit_delay_is_waited_only_under_load_for_a_group_that_would_be_smaller() {
        let delay = Some(Duration::from_micros(400));
        // Off.
        assert_eq!(commit_delay(0, 64, 1, false), None);
        // A caller alone, or a few: never delayed, however small the group.
        assert_eq!(commit_delay(400, 1, 1, false), None);
        assert_eq!(commit_delay(400, DELAY_AFTER_GROUP - 1, 1, false), None);
        // Under load, a group smaller than the last one waits for more.
        assert_eq!(commit_delay(400, DELAY_AFTER_GROUP, 1, false), delay);
        assert_eq!(commit_delay(400, 64, 63, false), delay);
        // As many waiting as the last group had: taken at once.
        assert_eq!(commit_delay(400, 64, 64, false), None);
        // Closing: what is queued is taken at once.
        assert_eq!(commit_delay(400, 64, 1, true), None);
    }
}
