//! The load driver: workers that send requests in a closed loop (a fixed number in flight) or an
//! open loop (a fixed arrival rate), and record what came back.
//!
//! Both loops share one mechanism: a phase hands out numbered tickets. In a closed loop a worker
//! takes a ticket and sends at once; the latency runs from the send. In an open loop ticket `n`
//! is due at `start + n / rate`: the worker that takes it waits until then, sends, and measures
//! the latency from that *intended* time. When every worker is busy (the server is slow), the due
//! times pass unserved and the wait counts in the latency, instead of silently lowering the rate
//! and hiding the stall — the "coordinated omission" that naive load generators suffer from. The
//! number of workers bounds the requests in flight.

use std::{
    io::{BufWriter, IsTerminal, Write},
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tonic::{transport::Channel, Code};

use super::{
    citizens::CitizenPool,
    config::{Pace, Stop},
    mix::{Clients, Mix},
    report::Tally,
};
use crate::proto;

/// The `purpose` of every load request.
pub(crate) const LOAD_PURPOSE: &str = "load test";
/// The `officer_id` of every load request.
pub(crate) const LOAD_OFFICER: &str = "load-generator";

/// Sends a mix of requests about a prepared pool of citizens over one or more channels.
#[derive(Debug)]
pub struct Driver {
    pool: Arc<CitizenPool>,
    mix: Mix,
    clients: Vec<Clients>,
    timeout: Duration,
    run_id: String,
    /// Numbers the requests across phases: dossier `LOAD-<run_id>-<n>`.
    sequence: AtomicU64,
    /// Where the dossier ids of calls answered OK go, if asked for (`--answered`).
    answered: Option<AnsweredLog>,
    /// Set to end the run early (Ctrl-C): no new request is sent, those in flight finish.
    interrupted: Arc<AtomicBool>,
}

/// The dossier ids of the calls answered OK, one a line (`vnpop load --answered FILE`).
#[derive(Debug)]
pub struct AnsweredLog {
    file: Mutex<BufWriter<std::fs::File>>,
}

impl AnsweredLog {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(AnsweredLog {
            file: Mutex::new(BufWriter::new(std::fs::File::create(path)?)),
        })
    }

    fn record(&self, dossier_id: &str) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        writeln!(file, "{dossier_id}")
    }

    fn flush(&self) -> std::io::Result<()> {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// The shared state of one phase (warm-up or measured).
struct Phase {
    started: Instant,
    /// No ticket is due at or after this.
    deadline: Option<Instant>,
    /// No ticket at or beyond this number is served.
    limit: Option<u64>,
    /// Open loop: tickets due per second.
    rate: Option<f64>,
    next_ticket: AtomicU64,
    completed: AtomicU64,
    /// Where workers record, a few shards so they seldom wait on each other; `None` in warm-up.
    shards: Option<Vec<Mutex<Tally>>>,
}

impl Driver {
    /// `channels` must not be empty; requests are spread over them by worker.
    pub fn new(
        pool: Arc<CitizenPool>,
        mix: Mix,
        channels: Vec<Channel>,
        timeout: Duration,
        run_id: String,
    ) -> Self {
        assert!(
            !channels.is_empty(),
            "the driver needs at least one channel"
        );
        Driver {
            pool,
            mix,
            clients: channels.into_iter().map(Clients::new).collect(),
            timeout,
            run_id,
            sequence: AtomicU64::new(0),
            answered: None,
            interrupted: Arc::default(),
        }
    }

    /// Ends the run early when `flag` is set: no new request is sent, those in flight finish,
    /// and the phase reports what was done.
    pub(crate) fn with_interrupt(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupted = flag;
        self
    }

    /// Whether the run was ended early.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Lists the dossier id of every call answered OK in `answered`.
    pub(crate) fn with_answered(mut self, answered: AnsweredLog) -> Self {
        self.answered = Some(answered);
        self
    }

    /// Writes out what is buffered of the answered calls.
    pub fn finish(&self) -> std::io::Result<()> {
        self.answered.as_ref().map_or(Ok(()), AnsweredLog::flush)
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Runs `warmup` (not recorded), then the measured part; returns what was recorded and how
    /// long the measured part took, from its start to its last answer. With `progress`, a bar on
    /// stderr follows the run when stderr is a terminal.
    pub async fn run(
        self: &Arc<Self>,
        pace: Pace,
        stop: Stop,
        warmup: Duration,
        progress: bool,
    ) -> (Tally, Duration) {
        if !warmup.is_zero() {
            self.phase(pace, Stop::After(warmup), false, progress).await;
        }
        self.phase(pace, stop, true, progress).await
    }

    async fn phase(
        self: &Arc<Self>,
        pace: Pace,
        stop: Stop,
        record: bool,
        progress: bool,
    ) -> (Tally, Duration) {
        let (workers, rate) = match pace {
            Pace::Closed { concurrency } => (concurrency, None),
            Pace::Open {
                per_second,
                max_in_flight,
            } => (max_in_flight, Some(per_second)),
        };
        let shard_count = workers.clamp(1, 16);
        let started = Instant::now();
        let phase = Arc::new(Phase {
            started,
            deadline: match stop {
                Stop::After(duration) => Some(started + duration),
                Stop::Requests(_) => None,
            },
            limit: match stop {
                Stop::Requests(n) => Some(n),
                Stop::After(_) => None,
            },
            rate,
            next_ticket: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            shards: record.then(|| (0..shard_count).map(|_| Mutex::default()).collect()),
        });
        let bar = progress_bar(stop, record, progress);
        let ticker = {
            let phase = Arc::clone(&phase);
            let bar = bar.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(200));
                loop {
                    every.tick().await;
                    let done = phase.completed.load(Ordering::Relaxed);
                    let seconds = phase.started.elapsed().as_secs_f64();
                    match stop {
                        Stop::Requests(_) => bar.set_position(done),
                        Stop::After(_) => bar.set_position((seconds * 1000.0) as u64),
                    }
                    bar.set_message(format!(
                        "{done} requests, {:.0}/s",
                        done as f64 / seconds.max(1e-3)
                    ));
                }
            })
        };
        let handles: Vec<_> = (0..workers)
            .map(|worker| tokio::spawn(Arc::clone(self).work(Arc::clone(&phase), worker)))
            .collect();
        for handle in handles {
            // A worker cannot panic on a server's answer; if one did, the others' figures stand.
            let _ = handle.await;
        }
        let elapsed = started.elapsed();
        ticker.abort();
        bar.finish_and_clear();
        let mut tally = Tally::default();
        for shard in phase.shards.iter().flatten() {
            tally.merge(&shard.lock().unwrap_or_else(PoisonError::into_inner));
        }
        (tally, elapsed)
    }

    /// One worker: takes tickets until the phase ends.
    async fn work(self: Arc<Self>, phase: Arc<Phase>, worker: usize) {
        let mut clients = self.clients[worker % self.clients.len()].clone();
        let mut rng = ChaCha8Rng::seed_from_u64(worker as u64);
        loop {
            if self.interrupted() {
                break;
            }
            let ticket = phase.next_ticket.fetch_add(1, Ordering::Relaxed);
            if phase.limit.is_some_and(|limit| ticket >= limit) {
                break;
            }
            let sent_at = match phase.rate {
                Some(rate) => {
                    let due = phase.started + Duration::from_secs_f64(ticket as f64 / rate);
                    if phase.deadline.is_some_and(|deadline| due >= deadline) {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    due
                }
                None => {
                    let now = Instant::now();
                    if phase.deadline.is_some_and(|deadline| now >= deadline) {
                        break;
                    }
                    now
                }
            };
            let kind = self.mix.pick(&mut rng);
            let target = self.pool.pick(&mut rng);
            let n = self.sequence.fetch_add(1, Ordering::Relaxed);
            let dossier_id = format!("LOAD-{}-{n}", self.run_id);
            let context = proto::RequestContext {
                dossier_id: dossier_id.clone(),
                purpose: LOAD_PURPOSE.to_owned(),
                officer_id: LOAD_OFFICER.to_owned(),
                load_test: true,
                call_id: String::new(),
            };
            let sent = clients.send(kind, target, &self.pool, context);
            let code = tokio::time::timeout(self.timeout, sent)
                .await
                .unwrap_or(Code::DeadlineExceeded);
            if code == Code::Ok {
                if let Some(answered) = &self.answered {
                    if let Err(error) = answered.record(&dossier_id) {
                        tracing::error!(%error, "cannot list an answered call");
                    }
                }
            }
            let latency = sent_at.elapsed();
            if let Some(shards) = &phase.shards {
                shards[worker % shards.len()]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(kind, code, latency);
            }
            phase.completed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A progress bar on stderr, hidden unless stderr is a terminal and `show` is set.
fn progress_bar(stop: Stop, measured: bool, show: bool) -> ProgressBar {
    let length = match stop {
        Stop::Requests(n) => n,
        Stop::After(duration) => duration.as_millis() as u64,
    };
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(length), target);
    let label = if measured { "load   " } else { "warm-up" };
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{label} [{{elapsed_precise}}] {{wide_bar}} {{percent:>3}}% {{msg}}"
    )) {
        bar.set_style(style);
    }
    bar
}
