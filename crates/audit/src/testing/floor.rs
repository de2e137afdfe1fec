//! BENCHMARKS ONLY (the `testing` feature): the least an answer that waits for a durable write
//! can cost on this machine, to measure the audit log's recording against.
//!
//! [`DurableFloor`] does what any log of record must do before a served call is answered, and
//! nothing else. In its [`FloorMode::Writer`] form, as the sequencer does: callers queue, one
//! writer thread takes every caller waiting, writes a fixed 128 bytes for each into a file and
//! `fdatasync`s it, then answers the group through the [`Answerer`] (one wake-up per group).
//! No encoding, no Merkle tree, no signature, no SQLite, no projector. Under load it waits the
//! log's commit delay by the log's rule, so its groups are as large as the log's. The file is
//! written in full once at start and then overwritten in a ring, so `fdatasync` has no file
//! size or block allocation to journal: the cheapest durable write the file system offers.
//!
//! Two other forms tell the parts apart: [`FloorMode::Leader`] waits without a writer thread
//! (the caller that finds no write under way writes for the others), and
//! [`FloorMode::HandOff`] hands off to the writer thread and back without touching the disk.
//!
//! `cargo bench --bench baseline` serves figures (f), (g) and (h) through them: each one's CPU
//! per call over (b)'s is what waiting that way costs a lookup, whatever the log of record is.

use std::{
    fs::File,
    io,
    os::unix::fs::FileExt,
    path::Path,
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};

use tokio::sync::oneshot;

use crate::queue::{commit_delay, Answer, Answerer, AppendReceipt};

/// Bytes written per waiting caller (about a served call's record).
const RECORD: usize = 128;
/// The ring's size: written once at start, then overwritten.
const RING: u64 = 64 << 20;

/// Callers waiting for the next group's `fdatasync`.
#[derive(Default)]
struct Waiting {
    /// Callers on a multi-threaded runtime, answered through the [`Answerer`].
    answers: Vec<Answer>,
    /// Callers answered from the writer thread itself.
    direct: Vec<oneshot::Sender<()>>,
    /// The writer waits for callers on `ready`.
    writer_waiting: bool,
    /// In the commit delay: the callers the writer waits for (0: any).
    until: usize,
}

impl Waiting {
    /// Callers waiting.
    fn len(&self) -> usize {
        self.answers.len() + self.direct.len()
    }
}

/// How the floor's callers wait for their group's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorMode {
    /// One writer thread writes and syncs each group, as the sequencer does, and answers it
    /// through the [`Answerer`].
    Writer,
    /// As [`FloorMode::Writer`], but the writer thread neither writes nor syncs: what the
    /// hand-off to another thread and back costs a call, without the disk.
    HandOff,
    /// No writer thread: the first caller to find no write under way writes and syncs for
    /// every caller waiting, on its own worker thread (`block_in_place`), then wakes them from
    /// there (a group commit's leader, as in RocksDB's write path).
    Leader,
}

/// The leader mode's state.
#[derive(Default)]
struct Leading {
    /// The group callers join now (numbered from 1).
    open: u64,
    /// Callers that joined it.
    joined: usize,
    /// The last group durable (0: none yet).
    durable: u64,
    /// A leader is writing.
    writing: bool,
    /// Where the next write goes in the ring.
    at: u64,
}

/// A durable group write and nothing else: see the module's documentation.
pub struct DurableFloor {
    mode: FloorMode,
    /// The ring, for the leader mode (the writer thread has its own handle).
    file: File,
    /// The leader mode's groups.
    leading: Mutex<Leading>,
    /// Wakes the leader mode's callers when a group is durable.
    durable: tokio::sync::Notify,
    /// The writer thread's callers.
    waiting: Mutex<Waiting>,
    /// Wakes the writer thread.
    ready: Condvar,
    /// Answers the writer thread's groups on the callers' runtime.
    answerer: Answerer,
    /// The commit delay, in microseconds (0: none).
    delay_us: u64,
}

impl DurableFloor {
    /// Makes a file of [`RING`] bytes in `dir` (or takes the one there) and, in the forms with a writer thread
    /// ([`FloorMode::Writer`], [`FloorMode::HandOff`]), starts it with the log's commit `delay`
    /// (zero: none).
    pub fn start(dir: &Path, mode: FloorMode, delay: Duration) -> io::Result<Arc<Self>> {
        // The ring is written in full once per directory: a floor started again (each round of
        // the bench) overwrites the one already there.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("durable-floor"))?;
        if file.metadata()?.len() < RING {
            let zeros = vec![0u8; 1 << 20];
            for at in (0..RING).step_by(zeros.len()) {
                file.write_all_at(&zeros, at)?;
            }
            file.sync_all()?;
        }
        let floor = Arc::new(DurableFloor {
            mode,
            file: file.try_clone()?,
            leading: Mutex::new(Leading {
                open: 1,
                ..Leading::default()
            }),
            durable: tokio::sync::Notify::new(),
            waiting: Mutex::new(Waiting::default()),
            ready: Condvar::new(),
            answerer: Answerer::default(),
            delay_us: u64::try_from(delay.as_micros()).unwrap_or(u64::MAX),
        });
        if mode == FloorMode::Leader {
            return Ok(floor);
        }
        let writer = Arc::downgrade(&floor);
        std::thread::Builder::new()
            .name("audit-floor".into())
            .spawn(move || write_groups(&writer, &file))?;
        Ok(floor)
    }

    /// Resolves once a group write that began after this call is durable.
    pub async fn wait(&self) {
        if self.mode == FloorMode::Leader {
            self.lead_or_follow().await;
        } else if self.answerer.ready_here() {
            let (ack, done) = oneshot::channel();
            let receipt = AppendReceipt {
                appended: 1,
                duplicates: 0,
                tree_size: 0,
                probed: Vec::new(),
            };
            self.queue(|w| w.answers.push((ack, Ok(receipt))));
            let _ = done.await;
        } else {
            let (ack, done) = oneshot::channel();
            self.queue(|w| w.direct.push(ack));
            let _ = done.await;
        }
    }

    /// [`FloorMode::Leader`]: joins the open group, then either writes it (no write under way)
    /// or waits for the write under way, until a write that closed the group is durable.
    async fn lead_or_follow(&self) {
        let mine = {
            let mut leading = self.leading.lock().expect("floor lock");
            leading.joined += 1;
            leading.open
        };
        loop {
            let notified = self.durable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // What to do, decided under the lock: return, wait, or write this group.
            let closed = {
                let mut leading = self.leading.lock().expect("floor lock");
                if leading.durable >= mine {
                    return;
                }
                if leading.writing {
                    None
                } else {
                    let bytes = leading.joined as u64 * RECORD as u64;
                    if leading.at + bytes > RING {
                        leading.at = 0;
                    }
                    let closed = (leading.open, leading.joined, leading.at);
                    leading.writing = true;
                    leading.open += 1;
                    leading.joined = 0;
                    leading.at += bytes;
                    Some(closed)
                }
            };
            let Some((group, callers, at)) = closed else {
                notified.await;
                continue;
            };
            let bytes = vec![0x5a_u8; callers * RECORD];
            let written = tokio::task::block_in_place(|| {
                self.file
                    .write_all_at(&bytes, at)
                    .and_then(|()| self.file.sync_data())
            });
            assert!(written.is_ok(), "the floor's file: {written:?}");
            {
                let mut leading = self.leading.lock().expect("floor lock");
                leading.durable = group;
                leading.writing = false;
            }
            self.durable.notify_waiters();
            return;
        }
    }

    /// Adds a caller to the next group and wakes the writer.
    fn queue(&self, add: impl FnOnce(&mut Waiting)) {
        let mut waiting = self.waiting.lock().expect("floor lock");
        add(&mut waiting);
        // A wake-up is a system call: only for a writer that waits, and in the commit delay
        // only once the group it waits for is there (as the sequencer's queue does).
        if waiting.writer_waiting && waiting.len() >= waiting.until {
            self.ready.notify_one();
        }
    }
}

/// The writer thread: each group, one write of [`RECORD`] bytes per caller and one
/// `fdatasync` (none in [`FloorMode::HandOff`]), then the answers. Ends when the floor is
/// dropped.
fn write_groups(floor: &std::sync::Weak<DurableFloor>, file: &File) {
    let (mut at, mut last_group) = (0u64, 0);
    let mut bytes = Vec::new();
    loop {
        let Some(floor) = floor.upgrade() else { return };
        let group = {
            let mut waiting = floor.waiting.lock().expect("floor lock");
            waiting.writer_waiting = true;
            let (mut waiting, timeout) = floor
                .ready
                .wait_timeout_while(waiting, Duration::from_millis(100), |w| w.len() == 0)
                .expect("floor lock");
            waiting.writer_waiting = false;
            if timeout.timed_out() {
                continue;
            }
            if let Some(delay) = commit_delay(floor.delay_us, last_group, waiting.len(), false) {
                (waiting.writer_waiting, waiting.until) = (true, last_group);
                waiting = floor
                    .ready
                    .wait_timeout_while(waiting, delay, |w| w.len() < last_group)
                    .expect("floor lock")
                    .0;
            }
            std::mem::take(&mut *waiting)
        };
        let callers = group.len();
        last_group = callers;
        bytes.resize(callers * RECORD, 0x5a);
        if at + bytes.len() as u64 > RING {
            at = 0;
        }
        let written = if floor.mode == FloorMode::HandOff {
            Ok(())
        } else {
            file.write_all_at(&bytes, at)
                .and_then(|()| file.sync_data())
        };
        assert!(written.is_ok(), "the floor's file: {written:?}");
        at += bytes.len() as u64;
        for ack in group.direct {
            let _ = ack.send(());
        }
        floor.answerer.answer(group.answers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every caller is answered in each form, under concurrent waits (a lost wake-up in the
    /// leader's hand-over, or a group the writer never takes, would hang here).
    #[test]
    fn every_waiting_caller_is_answered_in_each_form() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .expect("runtime");
        for mode in [FloorMode::Writer, FloorMode::Leader, FloorMode::HandOff] {
            let dir = tempfile::tempdir().expect("temporary directory");
            let floor =
                DurableFloor::start(dir.path(), mode, Duration::from_micros(200)).expect("floor");
            runtime.block_on(async {
                for _ in 0..3 {
                    let waits: Vec<_> = (0..200)
                        .map(|_| {
                            let floor = Arc::clone(&floor);
                            tokio::spawn(async move { floor.wait().await })
                        })
                        .collect();
                    let all = async {
                        for wait in waits {
                            wait.await.expect("a waiting caller");
                        }
                    };
                    tokio::time::timeout(Duration::from_secs(20), all)
                        .await
                        .unwrap_or_else(|_| panic!("{mode:?}: a caller was never answered"));
                }
            });
        }
        // A caller off any runtime's workers is answered directly.
        let dir = tempfile::tempdir().expect("temporary directory");
        let floor =
            DurableFloor::start(dir.path(), FloorMode::Writer, Duration::ZERO).expect("floor");
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(floor.wait());
    }
}
