//! [`run`]: the planned dossiers driven through an [`AgencyClient`] at their simulated times.

use std::{sync::Arc, time::Duration};

use super::{
    plan::{plan, PlannedDossier},
    scenario::{RunIdentity, Scenario},
};
use crate::{
    client::{AgencyClient, ClientError},
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
}

/// Runs the scenario through `client` (opened with `run.id` as its run id), `concurrency`
/// dossiers at a time, looking up citizens of the default population (the first 1,000 of
/// `population_seed`, which every server with that seed holds), then waits for the outbox to
/// drain. A dossier the log already holds from an earlier run of the same identity is skipped,
/// so re-running changes no figure and an interrupted run resumes.
pub async fn run(
    client: &AgencyClient,
    scenario: &Scenario,
    identity: &RunIdentity,
    concurrency: usize,
    population_seed: u64,
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
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, receiver, done, citizens) = (
                client.clone(),
                Arc::clone(&receiver),
                done_tx.clone(),
                Arc::clone(&citizens),
            );
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(planned) = next else { break };
                    let result = async {
                        let Some(mut dossier) =
                            client.open_dossier_once(planned.info.clone()).await?
                        else {
                            return Ok(Done::AlreadyLogged {
                                looked_up: planned.lookup_at_ms.is_some(),
                            });
                        };
                        let Some(at) = planned.lookup_at_ms else {
                            return Ok(Done::Now {
                                looked_up: false,
                                answered: false,
                            });
                        };
                        dossier.set_event_time(at);
                        let cccd = citizens[(at as usize / 1000) % citizens.len()].to_string();
                        let answered = match dossier
                            .lookup_by_cccd("kiểm tra thông tin công dân", &cccd)
                            .await
                        {
                            Ok(_) => true,
                            Err(ClientError::Rpc(_)) => false,
                            Err(other) => return Err(other),
                        };
                        Ok(Done::Now {
                            looked_up: true,
                            answered,
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
    let feeder = tokio::spawn(async move {
        for p in planned {
            if tx.send(p).await.is_err() {
                break;
            }
        }
    });
    let mut report = SimulationReport::default();
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
        if seen % 5_000 == 0 || seen == total {
            progress(seen, total);
        }
    }
    let _ = feeder.await;
    for worker in workers {
        let _ = worker.await;
    }
    client.flush(Duration::from_secs(600)).await?;
    Ok(report)
}

/// What became of one planned dossier.
enum Done {
    /// Done in this run.
    Now { looked_up: bool, answered: bool },
    /// An earlier run of the same identity had done it.
    AlreadyLogged { looked_up: bool },
}
