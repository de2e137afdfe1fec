//! [`run`]: the planned dossiers driven through an [`AgencyClient`] at their simulated times.
//!
//! An outage of the server delays the run and changes nothing in it: a call that fails in
//! transport ([`Origin::Connection`], told by its type in the client library) is made again once
//! the server answers, the waiting said once in the log. A [`Stop`] ends it early and cleanly: no
//! new dossier is started, the ones in flight finish into the outbox, and the report says how
//! far it got (the same command resumes it).

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::watch;

use super::{
    plan::{plan, PlannedDossier},
    scenario::{RunIdentity, Scenario},
};
use crate::{
    client::{AgencyClient, ClientError, Origin},
    domain::CccdNumber,
    population::{self, PopulationSpec},
};

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimulationReport {
    pub dossiers: u64,
    pub lookups: u64,
    /// Lookups the server did not answer with a citizen (still recorded).
    pub failed_lookups: u64,
    /// Dossiers (and their lookups) that an earlier run of the same identity had already put in
    /// the log: their receipts were acknowledged as duplicates and nothing was done again.
    pub already_logged: u64,
    pub already_logged_lookups: u64,
    /// Dossiers the scenario plans for this run (done now, already logged, or not reached).
    pub planned: u64,
    /// Whether a [`Stop`] ended the run before every planned dossier was reached.
    pub stopped: bool,
}

impl SimulationReport {
    /// Whether every planned dossier is in the log, done now or by an earlier run.
    pub fn complete(&self) -> bool {
        self.dossiers + self.already_logged == self.planned
    }
}

/// Asks a running simulation to stop: no new dossier is started, those in flight finish. Made
/// with [`Stop::new`], which also gives the [`StopSignal`] that requests it.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

/// Requests the [`Stop`] it was made with.
#[derive(Debug)]
pub struct StopSignal(watch::Sender<bool>);

impl Stop {
    /// A stop and the signal that requests it.
    pub fn new() -> (StopSignal, Stop) {
        let (tx, rx) = watch::channel(false);
        (StopSignal(tx), Stop(rx))
    }

    /// A stop never requested.
    pub fn never() -> Stop {
        Stop::new().1
    }

    /// Whether the stop was requested.
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the stop is requested.
    async fn wait(&mut self) {
        // An error: the signal is gone, so no stop will ever come.
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl StopSignal {
    /// Requests the stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// The longest a wait for an unreachable server waits between two tries.
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Whether the run is waiting for the server, to say so once rather than for every call.
#[derive(Default)]
struct Waiting(AtomicBool);

impl Waiting {
    /// Notes a failure to reach the server (logged when the waiting starts).
    fn failed(&self, error: &ClientError) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "the server cannot be reached; waiting for it (the run goes on when it answers)");
        }
    }

    /// Notes a call that reached the server (logged when a waiting ends).
    fn reached(&self) {
        if self.0.swap(false, Ordering::Relaxed) {
            tracing::info!("the server answers again; the run goes on");
        }
    }
}

/// `call`, made again while it fails in transport and no stop is requested, waiting a little
/// longer each time (up to [`RETRY_MAX`]); with whether it was made more than once.
async fn until_reached<T, Fut>(
    stop: &Stop,
    waiting: &Waiting,
    mut call: impl FnMut() -> Fut,
) -> (Result<T, ClientError>, bool)
where
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut wait = Duration::from_millis(50);
    let mut again = false;
    loop {
        match call().await {
            Err(error) if error.origin() == Origin::Connection && !stop.requested() => {
                waiting.failed(&error);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
                again = true;
            }
            other => {
                if !matches!(&other, Err(e) if e.origin() == Origin::Connection) {
                    waiting.reached();
                }
                return (other, again);
            }
        }
    }
}

/// Runs the scenario through `client` (opened with `run.id` as its run id), `concurrency`
/// dossiers at a time, looking up citizens of the default population (the first 1,000 of
/// `population_seed`, which every server with that seed holds), then waits for the outbox to
/// drain. A dossier the log already holds from an earlier run of the same identity is skipped,
/// so re-running changes no figure and an interrupted run resumes. An outage only delays it;
/// `stop` ends it early (the outbox is then flushed for at most `stop_flush`: what is left
/// waits in it for the next run).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &AgencyClient,
    scenario: &Scenario,
    identity: &RunIdentity,
    concurrency: usize,
    population_seed: u64,
    stop: Stop,
    stop_flush: Duration,
    mut progress: impl FnMut(u64, u64),
) -> Result<SimulationReport, ClientError> {
    let spec = PopulationSpec {
        seed: population_seed,
        size: 1_000,
        reference_date: PopulationSpec::default_reference_date(),
    };
    let citizens: Arc<Vec<CccdNumber>> = Arc::new(
        population::generate(spec, &population::builtin_fixtures())
            .iter()
            .map(|c| c.cccd)
            .collect(),
    );
    let mut planned = plan(scenario);
    for p in &mut planned {
        p.info.id = identity.dossier_id(&p.info.id);
    }
    let total = planned.len() as u64;
    let (tx, rx) = tokio::sync::mpsc::channel::<PlannedDossier>(concurrency * 2);
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::unbounded_channel::<Result<Done, ClientError>>();
    let receiver = Arc::new(tokio::sync::Mutex::new(rx));
    let waiting = Arc::new(Waiting::default());
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, receiver, done, citizens, stop, waiting) = (
                client.clone(),
                Arc::clone(&receiver),
                done_tx.clone(),
                Arc::clone(&citizens),
                stop.clone(),
                Arc::clone(&waiting),
            );
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(planned) = next else { break };
                    let result = async {
                        let (opened, again) = until_reached(&stop, &waiting, || {
                            client.open_dossier_once(planned.info.clone())
                        })
                        .await;
                        // A receipt already logged: by an earlier try of this run (its
                        // connection broke after the server took it), or by an earlier run.
                        let (mut dossier, earlier_run) = match opened? {
                            Some(dossier) => (dossier, false),
                            None => (client.resume_dossier(planned.info.clone()), !again),
                        };
                        let Some(at) = planned.lookup_at_ms else {
                            return Ok(if earlier_run {
                                Done::AlreadyLogged { looked_up: false }
                            } else {
                                Done::Now {
                                    looked_up: false,
                                    answered: false,
                                }
                            });
                        };
                        dossier.set_event_time(at);
                        let cccd = citizens[(at as usize / 1000) % citizens.len()].to_string();
                        // The lookup is the dossier's verification 0, made until the server
                        // answers it: each try under the same ids, so however many tries the
                        // server served, and whether an earlier run (stopped at any point) made
                        // it, the log holds it once, served and reported.
                        let answered = match until_reached(&stop, &waiting, || {
                            let dossier = dossier.at_verification(0);
                            let cccd = &cccd;
                            async move {
                                dossier
                                    .lookup_by_cccd("kiểm tra thông tin công dân", cccd)
                                    .await
                            }
                        })
                        .await
                        .0
                        {
                            Ok(_) => true,
                            Err(error) if error.origin() == Origin::Server => false,
                            Err(other) => return Err(other),
                        };
                        Ok(if earlier_run {
                            Done::AlreadyLogged { looked_up: true }
                        } else {
                            Done::Now {
                                looked_up: true,
                                answered,
                            }
                        })
                    }
                    .await;
                    if done.send(result).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(done_tx);
    let mut feeder_stop = stop.clone();
    let feeder = tokio::spawn(async move {
        for p in planned {
            tokio::select! {
                biased;
                _ = feeder_stop.wait() => break,
                sent = tx.send(p) => if sent.is_err() { break },
            }
        }
    });
    let mut report = SimulationReport {
        planned: total,
        ..SimulationReport::default()
    };
    while let Some(result) = done_rx.recv().await {
        match result? {
            Done::Now {
                looked_up,
                answered,
            } => {
                report.dossiers += 1;
                report.lookups += u64::from(looked_up);
                report.failed_lookups += u64::from(looked_up && !answered);
            }
            Done::AlreadyLogged { looked_up } => {
                report.already_logged += 1;
                report.already_logged_lookups += u64::from(looked_up);
            }
        }
        let seen = report.dossiers + report.already_logged;
        if seen.is_multiple_of(5_000) || seen == total {
            progress(seen, total);
        }
    }
    let _ = feeder.await;
    for worker in workers {
        let _ = worker.await;
    }
    report.stopped = stop.requested() && !report.complete();
    if report.stopped {
        // What is not delivered in time waits in the outbox for the next run.
        if let Err(error) = client.flush(stop_flush).await {
            tracing::warn!(%error, "stopping with events still in the outbox; the next run delivers them");
        }
    } else {
        client.flush(Duration::from_secs(600)).await?;
    }
    Ok(report)
}

/// What became of one planned dossier.
enum Done {
    /// Done in this run.
    Now { looked_up: bool, answered: bool },
    /// An earlier run of the same identity had done it.
    AlreadyLogged { looked_up: bool },
}
