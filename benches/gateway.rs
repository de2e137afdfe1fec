//! What the gateway adds to a lookup: `cargo bench --bench gateway`.
//!
//! One process starts the real server (200,000 citizens, development mTLS, a fresh audit log)
//! and a gateway forwarding to it, then measures `LookupByCccd` four ways, closed loop with the
//! same number of calls in flight:
//!
//! - (a) direct gRPC, `RegistryClient` over mTLS: no outbox (what the server alone costs);
//! - (b) direct gRPC through `AgencyClient`'s `Dossier`: each call also committed to a durable
//!   outbox before it returns — the same promise the gateway makes, so the fair baseline;
//! - (c) gRPC through the gateway (h2c on loopback; the gateway does (b) for the caller);
//! - (d) REST/JSON through the gateway (HTTP/1.1 keep-alive, one connection per caller; the
//!   answer read into the typed `LookupResponse`, as (b)'s and (c)'s callers read it);
//!
//! and, to show what the hop to the gateway costs by itself, a call the gateway answers alone
//! (`GetDossier`: no server, no outbox) both ways:
//!
//! - (e) gRPC `AgencyGateway/GetDossier`, over the same kind of connection as (c);
//! - (f) REST `GET /v1/dossiers/{id}`, over the same kind of connections as (d).
//!
//! The machine is noisy, so the figures are measured in interleaved rounds (a, b, c, d, e, f, a,
//! …) and each is the median of its rounds. Printed: throughput and p50/p99, throughput against (b)
//! and (a), the p50 the gateway adds to (b), the process's CPU time per call (every thread,
//! delivery included) and the SQLite writer threads' part of it. Targets: (c) and (d) at 80% or
//! more of (b)'s throughput, and at most 1 ms added to its p50; and, since with every party on the
//! same cores throughput follows CPU per call, what 80% leaves the gateway: a quarter of (b)'s CPU
//! per call, against what it adds and what the hop alone costs. `VNPOP_BENCH_ROUNDS` (default 5),
//! `VNPOP_BENCH_SECONDS` per figure and round (default 3), `VNPOP_BENCH_CONCURRENCY` (default 32),
//! `VNPOP_BENCH_FIGURES` (default `abcdef`: which figures to measure, e.g. `c` alone to profile
//! it; the ratios need (a) and (b)).

mod common;
#[path = "../tests/common/rest.rs"]
mod rest;

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

/// The allocator the `vnpop` binary uses, so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use common::{
    bench_config, certs, cpu_time, development_tls, env_number, interleaved, writers_cpu_time,
    Figure,
};
use serde_json::json;
use vnpop::{
    client::{
        AgencyClient, AgencyClientConfig, DossierChannel, DossierInfo, LookupContext,
        RegistryClient,
    },
    gateway::{self, GatewayConfig},
    server::{self, ServerState},
};

const AN: &str = "001090012345";
const PURPOSE: &str = "đăng ký thường trú";

type Call = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Runs `callers` closed loops for `seconds` after a warm-up; every call must succeed. Returns
/// the figure (its `cpu_us` left at 0) and the number of calls made, warm-up included.
async fn measure(callers: Vec<Call>, seconds: u64) -> (Figure, usize) {
    let warmup = Duration::from_millis(500);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut call| {
            tokio::spawn(async move {
                let (mut latencies, mut calls) = (Vec::new(), 0);
                loop {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    call().await;
                    calls += 1;
                    if began >= start {
                        latencies.push(began.elapsed());
                    }
                }
                (latencies, calls)
            })
        })
        .collect();
    let (mut all, mut calls) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, made) = task.await.expect("caller");
        all.extend(latencies);
        calls += made;
    }
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    let figure = Figure {
        throughput: all.len() as f64 / seconds as f64,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        ..Figure::default()
    };
    (figure, calls)
}

fn main() {
    let seconds = env_number("VNPOP_BENCH_SECONDS", 3);
    let rounds = env_number("VNPOP_BENCH_ROUNDS", 5).max(1) as usize;
    let concurrency = env_number("VNPOP_BENCH_CONCURRENCY", 32) as usize;
    let only = std::env::var("VNPOP_BENCH_FIGURES").unwrap_or_else(|_| "abcdef".into());
    let selected: [bool; 6] = std::array::from_fn(|i| only.contains((b'a' + i as u8) as char));
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = bench_config(&dir.path().join("server"), 200_000);
    // The development directory with no ingest quota: each figure reports tens of thousands of
    // events in seconds, which the default quota (60,000 a minute an agency) would make the
    // drain between figures wait out for most of the run. The figures do not include the drain.
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(
        &agencies,
        format!(
            "{}\n[defaults]\ningest_per_minute = \"unlimited\"\n",
            include_str!("../data/agencies.toml")
        ),
    )
    .expect("agency directory");
    config.agencies = Some(agencies);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "LookupByCccd direct and through the gateway: {cores} cores, closed loop {concurrency} in flight, {rounds} interleaved rounds of {seconds} s per figure, medians"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let state = ServerState::build(&config).expect("server state");
    let figures = runtime.block_on(async {
        let running = server::start(config.listen, state).await.expect("server");
        let endpoint = format!("https://localhost:{}", running.local_addr.port());

        let mut gateway_config = GatewayConfig::defaults();
        gateway_config.listen = "127.0.0.1:0".parse().expect("address");
        gateway_config.server = endpoint.clone();
        gateway_config.ca = certs().join("ca.pem");
        gateway_config.cert = certs().join("one-stop-phuong-ba-dinh.pem");
        gateway_config.key = certs().join("one-stop-phuong-ba-dinh.key");
        gateway_config.data_dir = dir.path().join("gateway");
        gateway_config.api_key = None;
        let gateway = gateway::start(&gateway_config).await.expect("gateway");
        let gateway_addr = gateway.local_addr;

        let direct = RegistryClient::connect(&endpoint, Some(development_tls("one-stop-phuong-ba-dinh"))).await.expect("direct");
        let agency = AgencyClient::open(AgencyClientConfig::new(
            endpoint.clone(),
            Some(development_tls("one-stop-phuong-ba-dinh")),
            dir.path().join("agency-outbox.sqlite"),
        ))
        .await
        .expect("agency client");
        let info = DossierInfo::new("BENCH-1", "1.004227", "Quận Ba Đình", "officer-017", DossierChannel::Desk);
        let dossier = agency.open_dossier(info).await.expect("dossier");
        let mut opener = rest::Rest::new(gateway_addr);
        let opened = opener
            .post(
                "/v1/dossiers",
                &json!({"dossierId": "BENCH-1", "procedureCode": "1.004227", "district": "Quận Ba Đình",
                        "officerId": "officer-017", "channel": "DOSSIER_CHANNEL_DESK"}),
            )
            .await
            .expect("open through the gateway");
        assert_eq!(opened.status, 201);
        let via_gateway = RegistryClient::connect(&format!("http://{gateway_addr}"), None)
            .await
            .expect("gRPC to the gateway");
        let hop = vnpop::proto::agency_gateway_client::AgencyGatewayClient::connect(format!(
            "http://{gateway_addr}"
        ))
        .await
        .expect("AgencyGateway on the gateway");
        let context = LookupContext::new("BENCH-1", PURPOSE, "officer-017");
        let body = Arc::new(json!({"context": {"purpose": PURPOSE}, "cccdNumber": AN}).to_string());

        let make = |figure: usize| -> Vec<Call> {
            (0..concurrency)
                .map(|_| -> Call {
                    match figure {
                        0 => {
                            let (client, context) = (direct.clone(), context.clone());
                            Box::new(move || {
                                let (client, context) = (client.clone(), context.clone());
                                Box::pin(async move {
                                    client.lookup_by_cccd(&context, AN).await.expect("direct lookup");
                                })
                            })
                        }
                        1 => {
                            let dossier = dossier.clone();
                            Box::new(move || {
                                let dossier = dossier.clone();
                                Box::pin(async move {
                                    dossier.lookup_by_cccd(PURPOSE, AN).await.expect("agency lookup");
                                })
                            })
                        }
                        2 => {
                            let (client, context) = (via_gateway.clone(), context.clone());
                            Box::new(move || {
                                let (client, context) = (client.clone(), context.clone());
                                Box::pin(async move {
                                    client.lookup_by_cccd(&context, AN).await.expect("gateway gRPC lookup");
                                })
                            })
                        }
                        4 => {
                            let hop = hop.clone();
                            Box::new(move || {
                                let mut hop = hop.clone();
                                Box::pin(async move {
                                    hop.get_dossier(vnpop::proto::GetDossierRequest { dossier_id: "BENCH-1".into() })
                                        .await
                                        .expect("gateway GetDossier");
                                })
                            })
                        }
                        5 => {
                            let rest = Arc::new(tokio::sync::Mutex::new(rest::Rest::new(gateway_addr)));
                            Box::new(move || {
                                let rest = Arc::clone(&rest);
                                Box::pin(async move {
                                    let answer = rest.lock().await.get("/v1/dossiers/BENCH-1").await.expect("gateway REST get");
                                    assert_eq!(answer.status, 200, "{answer:?}");
                                })
                            })
                        }
                        _ => {
                            let rest = Arc::new(tokio::sync::Mutex::new(rest::Rest::new(gateway_addr)));
                            let body = Arc::clone(&body);
                            Box::new(move || {
                                let (rest, body) = (Arc::clone(&rest), Arc::clone(&body));
                                Box::pin(async move {
                                    let (status, _, answer) = rest
                                        .lock()
                                        .await
                                        .send("POST", "/v1/dossiers/BENCH-1/lookup-by-cccd", body.as_bytes())
                                        .await
                                        .expect("gateway REST lookup");
                                    assert_eq!(status, 200, "{answer:?}");
                                    // Read into the typed answer, as (b)'s and (c)'s callers do.
                                    let answer: vnpop::proto::LookupResponse =
                                        serde_json::from_slice(&answer).expect("a LookupResponse");
                                    assert!(answer.citizen.is_some());
                                })
                            })
                        }
                    }
                })
                .collect()
        };
        let figures = interleaved(rounds, 6, |figure| {
            let (make, agency, gateway) = (&make, &agency, &gateway);
            async move {
                if !selected[figure] {
                    return None;
                }
                let (cpu, writers) = (cpu_time(), writers_cpu_time());
                let (mut measured, calls) = measure(make(figure), seconds).await;
                // Each figure's events are delivered before the next figure starts, so no
                // figure pays for another's delivery (and its own counts in its CPU time).
                agency.flush(Duration::from_secs(60)).await.expect("agency outbox drains");
                gateway.flush(Duration::from_secs(60)).await.expect("gateway outbox drains");
                measured.cpu_us = (cpu_time() - cpu).as_secs_f64() * 1e6 / calls as f64;
                measured.writers_us =
                    (writers_cpu_time() - writers).as_secs_f64() * 1e6 / calls as f64;
                Some(measured)
            }
        })
        .await;
        gateway.shutdown().await;
        running.shutdown().await.expect("shutdown");
        figures
    });

    let labels = [
        "(a) direct gRPC, no outbox",
        "(b) direct AgencyClient",
        "(c) gateway gRPC",
        "(d) gateway REST/JSON",
        "(e) hop: gRPC GetDossier",
        "(f) hop: REST GET dossier",
    ];
    let (a, b) = (figures[0], figures[1]);
    let ratio = |figure: &Figure, base: Option<Figure>| {
        base.map_or("-".to_owned(), |base| {
            format!("{:.0}%", 100.0 * figure.throughput / base.throughput)
        })
    };
    println!();
    println!(
        "| {:<28} | {:>8} | {:>7} | {:>7} | {:>7} | {:>7} | {:>13} | {:>11} | {:>14} |",
        "figure",
        "req/s",
        "p50 ms",
        "p99 ms",
        "vs (b)",
        "vs (a)",
        "p50 added (b)",
        "CPU µs/call",
        "writers µs/call"
    );
    println!(
        "|{:-<30}|{:->10}|{:->9}|{:->9}|{:->9}|{:->9}|{:->15}|{:->13}|{:->16}|",
        "", "", "", "", "", "", "", "", ""
    );
    for (label, figure) in labels.iter().zip(&figures) {
        let Some(figure) = figure else { continue };
        println!(
            "| {:<28} | {:>8.0} | {:>7.3} | {:>7.3} | {:>7} | {:>7} | {:>13} | {:>11.0} | {:>15.1} |",
            label,
            figure.throughput,
            figure.p50_ms,
            figure.p99_ms,
            ratio(figure, b),
            ratio(figure, a),
            b.map_or("-".to_owned(), |b| format!(
                "{:+.3}",
                figure.p50_ms - b.p50_ms
            )),
            figure.cpu_us,
            figure.writers_us,
        );
    }
    let Some(b) = b else { return };
    for (label, figure) in labels.iter().zip(&figures).skip(2).take(2) {
        let Some(figure) = figure else { continue };
        let met = figure.throughput >= 0.8 * b.throughput && figure.p50_ms - b.p50_ms <= 1.0;
        println!(
            "target {label}: ≥ 80% of (b)'s throughput and ≤ 1 ms added p50: {}",
            if met { "met" } else { "NOT met" }
        );
    }
    // With every party on the same cores, calls a second are the cores' time over the CPU time
    // of a call: 80% of (b)'s throughput leaves the gateway a quarter of (b)'s CPU per call.
    println!(
        "at 80% of (b), the gateway may add {:.0} µs of CPU a call (a quarter of (b)'s {:.0} µs)",
        b.cpu_us / 4.0,
        b.cpu_us
    );
    let pairs = [
        ("(c) gRPC", figures[2], figures[4], "(e)"),
        ("(d) REST", figures[3], figures[5], "(f)"),
    ];
    for (what, through, hop, hop_label) in pairs {
        let (Some(through), Some(hop)) = (through, hop) else {
            continue;
        };
        println!(
            "{what}: adds {:.0} µs a call; the hop alone {hop_label} costs {:.0} µs; the SQLite writers' part grows by {:+.1} µs",
            through.cpu_us - b.cpu_us,
            hop.cpu_us,
            through.writers_us - b.writers_us,
        );
    }
}
