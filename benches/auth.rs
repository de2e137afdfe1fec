//! VNeID login throughput, in process: how many complete logins (StartAuthentication +
//! CompleteAuthentication, token signed) the server does per second.
//!
//! Two figures:
//! - service: the tonic service called directly (no network, no TLS), from as many tasks as
//!   there are cores — the cost of the authentication logic itself (HMAC derivation, TOTP check,
//!   challenge and lockout maps, Ed25519 signing; at level 2 also chip passive authentication);
//! - mTLS: through the client library over loopback mTLS with 32 logins in flight.
//!
//! Each citizen logs in once: a one-time code is accepted once per 30-second step, so distinct
//! citizens are needed, as in real traffic. `cargo bench --bench auth` (logins per figure:
//! `VNPOP_BENCH_LOGINS`, default 4,000).

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::{bench_config, development_tls, env_number};
use tonic::Request;
use vnpop::{
    chip::{chip_read, DocumentSigner},
    client::{LookupContext, VneidClient},
    config::ServeConfig,
    domain::{CitizenStatus, VneidLevel},
    population,
    proto::{self, vneid_authentication_server::VneidAuthentication},
    security::Authenticator,
    server::{self, ServerState},
    serving::Serving,
    vneid::{TestCredentials, VneidService},
};

fn context() -> Option<proto::RequestContext> {
    Some(proto::RequestContext {
        dossier_id: "BENCH-0001".into(),
        purpose: "benchmark".into(),
        officer_id: "bench".into(),
        load_test: true,
        call_id: String::new(),
    })
}

/// A login as the agency's software performs it, with what the citizen provides.
#[derive(Clone)]
struct Login {
    cccd: String,
    level: proto::VneidLevel,
    passcode: String,
    chip: Option<proto::ChipRead>,
    credentials: TestCredentials,
}

/// `count` distinct citizens who can log in at the level (the generated population is the
/// store's, so it is regenerated here rather than read back from the store).
fn logins(state: &ServerState, config: &ServeConfig, count: usize, level2: bool) -> Vec<Login> {
    let seed = config.population.seed;
    let signer = DocumentSigner::development();
    let wanted = if level2 {
        VneidLevel::Level2
    } else {
        VneidLevel::Level1
    };
    let mut found = Vec::new();
    for citizen in population::generate(config.population_spec(), &population::builtin_fixtures()) {
        let usable = citizen.status == CitizenStatus::Active
            && (citizen.vneid == wanted || (!level2 && citizen.vneid == VneidLevel::Level2))
            && (!level2
                || citizen.card_state(state.clock.today())
                    == Some(vnpop::domain::CardState::Valid));
        if usable {
            found.push(citizen);
            if found.len() == count {
                break;
            }
        }
    }
    found
        .into_iter()
        .map(|c| {
            let credentials = TestCredentials::derive(seed, c.cccd);
            Login {
                cccd: c.cccd.to_string(),
                level: if level2 {
                    proto::VneidLevel::Two
                } else {
                    proto::VneidLevel::One
                },
                passcode: credentials.passcode.clone(),
                chip: level2.then(|| chip_read(seed, &c, &signer).expect("has a card")),
                credentials,
            }
        })
        .collect()
}

fn report(label: &str, count: usize, elapsed: Duration) {
    println!(
        "{label:<32} {count:>6} logins in {:>7.3} s = {:>8.0} logins/s ({:.3} ms each)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / count as f64,
    );
}

async fn direct(service: Arc<VneidService>, logins: Vec<Login>, tasks: usize) -> Duration {
    let started = Instant::now();
    let chunks: Vec<Vec<Login>> = logins
        .chunks(logins.len().div_ceil(tasks))
        .map(<[Login]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                for login in chunk {
                    let started = service
                        .start_authentication(Request::new(proto::StartAuthenticationRequest {
                            context: context(),
                            cccd_number: login.cccd.clone(),
                            level: login.level as i32,
                        }))
                        .await
                        .expect("start")
                        .into_inner();
                    service
                        .complete_authentication(Request::new(
                            proto::CompleteAuthenticationRequest {
                                context: context(),
                                challenge_id: started.challenge_id,
                                passcode: login.passcode.clone(),
                                totp_code: login.credentials.current_code(),
                                chip_read: login.chip.clone(),
                            },
                        ))
                        .await
                        .expect("complete");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    started.elapsed()
}

async fn over_mtls(client: VneidClient, logins: Vec<Login>, in_flight: usize) -> Duration {
    let context = LookupContext::new("BENCH-0001", "benchmark", "bench");
    let started = Instant::now();
    let chunks: Vec<Vec<Login>> = logins
        .chunks(logins.len().div_ceil(in_flight))
        .map(<[Login]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let client = client.clone();
            let context = context.clone();
            tokio::spawn(async move {
                for login in chunk {
                    let started = client
                        .start(&context, &login.cccd, login.level)
                        .await
                        .expect("start");
                    client
                        .complete(
                            &context,
                            &started.challenge_id,
                            &login.passcode,
                            &login.credentials.current_code(),
                            login.chip.clone(),
                        )
                        .await
                        .expect("complete");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    started.elapsed()
}

fn main() {
    let count = env_number("VNPOP_BENCH_LOGINS", 4_000) as usize;
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let config = bench_config(data_dir.path(), count * 8);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "VNeID login throughput, {cores} cores, population {}:",
        config.population.size
    );

    // Service, called directly: a fresh server state per figure so no citizen logs in twice.
    for level2 in [false, true] {
        let state = ServerState::build(&config).expect("state");
        let set = logins(&state, &config, count, level2);
        let agency = state.authn.directory().by_id("simulation").expect("agency");
        let serving = Serving::new(
            Arc::new(Authenticator::insecure(
                state.authn.directory().clone(),
                agency,
            )),
            Arc::clone(&state.recorder),
            state.clock,
        );
        let service = Arc::new(VneidService::new(
            Arc::clone(&state.store),
            serving,
            Arc::clone(&state.chip),
            Arc::clone(&state.tokens),
            state.auth,
        ));
        let n = set.len();
        let elapsed = runtime.block_on(direct(service, set, cores));
        report(
            &format!("service, level {}", if level2 { 2 } else { 1 }),
            n,
            elapsed,
        );
    }

    // Over loopback mTLS through the client library.
    for level2 in [false, true] {
        let state = ServerState::build(&config).expect("state");
        let set = logins(&state, &config, count, level2);
        let n = set.len();
        let elapsed = runtime.block_on(async {
            let running = server::start(config.listen, state).await.expect("server");
            let tls = development_tls("simulation");
            let endpoint = format!("https://localhost:{}", running.local_addr.port());
            let client = VneidClient::connect(&endpoint, Some(tls))
                .await
                .expect("connect");
            let elapsed = over_mtls(client, set, 32).await;
            running.shutdown().await.expect("shutdown");
            elapsed
        });
        report(
            &format!("mTLS loopback, level {}", if level2 { 2 } else { 1 }),
            n,
            elapsed,
        );
    }
}
