//! `vnpop simulate`: a province scenario driven through the client library.

use std::path::PathBuf;

use super::{
    messages::{client_error, common::Common, simulate::Simulate as Says, Message},
    output::{file_error, print, tls_files_error, FileAction},
};
use crate::{
    client::{
        AgencyClient, AgencyClientConfig, ClientError, ClientTls, ConnectionFailure, RegistryClient,
    },
    simulate::{self, RunIdentity, Scenario, SimulationReport, Stop, StopSignal},
};

/// The exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
const STOPPED_EXIT: i32 = 130;

/// How long a stopped run waits for the outbox to deliver what the dossiers in flight recorded.
const STOP_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// The flags of `vnpop simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML, the format of data/scenario.toml); default: the bundled scenario.
    #[arg(long, env = "VNPOP_SCENARIO")]
    scenario: Option<PathBuf>,
    /// Tells this run from earlier runs of the same scenario and seed. Without it a run has the
    /// same dossiers and event ids every time, so running it again adds nothing to the log.
    #[arg(long)]
    run_label: Option<String>,
    /// The server.
    #[arg(long, env = "VNPOP_SERVER", default_value = "https://localhost:50051")]
    server: String,
    /// CA certificate the server's certificate chains to.
    #[arg(long, default_value = "certs/ca.pem")]
    ca: PathBuf,
    /// The agency certificate the simulated units use: an agency whose directory entry lists the
    /// scenario's districts and allows reports dated that far back (`simulation` in development).
    #[arg(long, default_value = "certs/simulation.pem")]
    cert: PathBuf,
    /// Private key of --cert.
    #[arg(long, default_value = "certs/simulation.key")]
    key: PathBuf,
    /// Directory of the client's durable outbox (simulate-outbox.sqlite), created if missing.
    #[arg(long, env = "VNPOP_DATA_DIR", default_value = "vnpop-data")]
    data_dir: PathBuf,
    /// The client's durable outbox file; default: DATA_DIR/simulate-outbox.sqlite.
    #[arg(long)]
    outbox: Option<PathBuf>,
    /// Dossiers processed at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the server's population (lookups ask for its citizens; must match `serve --seed`).
    // `--population-seed`: the older spelling, hidden.
    #[arg(
        long = "seed",
        alias = "population-seed",
        env = "VNPOP_SEED",
        default_value_t = 2026
    )]
    population_seed: u64,
}

/// Plans the scenario, drives it through the client library and prints what the log now holds.
pub fn run(args: SimulateArgs) -> Result<(), String> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|error| Says::Scenario { error }.text())?,
        None => Scenario::bundled(),
    };
    let identity = RunIdentity::new(&scenario, args.population_seed, args.run_label.as_deref())
        .map_err(|error| Says::Scenario { error }.text())?;
    let tls = ClientTls::from_files(&args.ca, &args.cert, &args.key).map_err(tls_files_error)?;
    let outbox = match args.outbox {
        Some(path) => path,
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .map_err(|e| file_error(&args.data_dir, FileAction::CreateDirectory, e))?;
            args.data_dir.join("simulate-outbox.sqlite")
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (signal, stop) = Stop::new();
        tokio::spawn(StopSignals::catch()?.stop(signal));
        check_server(&args.server, &tls).await?;
        let config = AgencyClientConfig::new(args.server, Some(tls), outbox)
            .with_run_id(identity.id.clone());
        let client = AgencyClient::open(config)
            .await
            .map_err(|e| client_error(&e))?;
        let started = std::time::Instant::now();
        let report = simulate::run(
            &client,
            &scenario,
            &identity,
            args.concurrency,
            args.population_seed,
            stop,
            STOP_FLUSH,
            |done, total| eprintln!("{}", Says::Progress { done, total }.text()),
        )
        .await
        .map_err(|e| client_error(&e))?;
        let seconds = started.elapsed().as_secs_f64();
        if report.stopped {
            return Err(stopped(&report, &client).await);
        }
        let mut out = String::new();
        let mut say = |message: Says| outln!(out, "{}", message.text());
        say(Says::Run {
            id: identity.id.clone(),
        });
        if report.dossiers == 0 {
            say(Says::AlreadyInLog {
                dossiers: report.already_logged,
                lookups: report.already_logged_lookups,
            });
        } else {
            say(Says::Simulated {
                dossiers: report.dossiers,
                lookups: report.lookups,
                failed: report.failed_lookups,
                seconds,
            });
            if report.already_logged > 0 {
                say(Says::Resumed {
                    dossiers: report.already_logged,
                    lookups: report.already_logged_lookups,
                });
            }
        }
        if let Some((then, now)) = scenario.province() {
            say(Says::Merged {
                then: then.into(),
                now: now.into(),
            });
        }
        say(Says::Totals);
        for period in &scenario.period {
            say(Says::Period {
                from: period.from.to_string(),
                to: period.to.to_string(),
                dossiers: period.dossiers,
                lookups: period.lookups,
            });
        }
        print(&out)
    })
}

/// SIGINT and SIGTERM, caught from now on (their default action would end the process at once).
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn catch() -> Result<Self, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let catch = |kind| signal(kind).map_err(|error| Says::CannotCatchSignals { error }.text());
        Ok(StopSignals {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// Requests `signal` on the first SIGINT or SIGTERM (saying so), and exits at once with
    /// [`STOPPED_EXIT`] on the second.
    async fn stop(mut self, signal: StopSignal) {
        self.next().await;
        eprintln!("{}", Says::Stopping.text());
        signal.stop();
        self.next().await;
        eprintln!("{}", Says::ExitingAtOnce.text());
        std::process::exit(STOPPED_EXIT);
    }
}

/// Says where a stopped run stopped, then exits with [`STOPPED_EXIT`].
async fn stopped(report: &SimulationReport, client: &AgencyClient) -> String {
    let waiting = client.pending().await.unwrap_or(0);
    let stopped = Says::Stopped {
        done: report.dossiers + report.already_logged,
        planned: report.planned,
        now: report.dossiers,
        already: report.already_logged,
        waiting,
    };
    eprintln!("{}", stopped.text());
    std::process::exit(STOPPED_EXIT);
}

/// Fails with a message naming the address and the cause unless the server at `endpoint` accepts
/// the agency certificate in `tls` (one WhoAmI call, which reads no citizen and is not audited).
async fn check_server(endpoint: &str, tls: &ClientTls) -> Result<(), String> {
    let failed = |error: ClientError| match &error {
        ClientError::Rpc(status) | ClientError::Transport { status, .. } => {
            match ConnectionFailure::of(status, Some(tls)) {
                Some(cause) => Common::CannotConnect {
                    endpoint: endpoint.to_owned(),
                    cause: cause.in_language(super::language::language()),
                }
                .text(),
                None => client_error(&error),
            }
        }
        _ => client_error(&error),
    };
    let client = RegistryClient::connect(endpoint, Some(tls.clone()))
        .await
        .map_err(failed)?;
    client.who_am_i().await.map_err(failed)?;
    Ok(())
}
