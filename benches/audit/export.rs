//! The log served (an in-process server with mTLS on a loopback port) and its first events
//! exported through ListEvents by the client library.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crate::{common, measure::status_bytes};

/// Serves the log in `data_dir` and exports its first events through ListEvents (see the
/// module documentation), printing the time and the growth of resident memory.
pub(crate) fn export_through_the_server(
    data_dir: &std::path::Path,
    runtime: &tokio::runtime::Runtime,
) {
    let wanted = common::env_number("VNPOP_BENCH_EXPORTED", 1_000_000);
    let config = common::bench_config(data_dir, 1_000);
    let state = vnpop::server::ServerState::build(&config).expect("server state");
    // A server opened on a long log derives its query side first (auditor answers wait for it;
    // at 100M events, more than a client's patience): measured above, not here.
    while let Err(error) = state.recorder.log().caught_up_blocking() {
        eprintln!("export: the server's query side is not derived yet ({error}); waiting");
    }
    runtime.block_on(async {
        let running = vnpop::server::start(config.listen, state)
            .await
            .expect("server");
        let auditor = vnpop::client::AuditClient::connect(
            &format!("https://localhost:{}", running.local_addr.port()),
            Some(common::development_tls("auditor-thanh-tra")),
        )
        .await
        .expect("auditor connects");
        let request = |limit| vnpop::proto::ListEventsRequest {
            limit,
            ..Default::default()
        };
        // A short export first, so what every call sets up once is in place.
        let mut warm = auditor.events(request(1_000)).await.expect("export");
        while warm.next().await.expect("event").is_some() {}

        let before = status_bytes("VmRSS");
        let (peak, done) = (
            Arc::new(AtomicU64::new(before)),
            Arc::new(AtomicBool::new(false)),
        );
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(status_bytes("VmRSS"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let started = Instant::now();
        let mut stream = auditor.events(request(wanted)).await.expect("export");
        let (mut events, mut bytes) = (0u64, 0usize);
        while let Some(event) = stream.next().await.expect("event") {
            bytes += prost::Message::encoded_len(&event);
            events += 1;
        }
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        sampler.join().expect("sampler");
        let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
        println!();
        println!(
            "{:<58} {:>14} {:>8}",
            "export through the server (ListEvents, mTLS)", "seconds", "MiB"
        );
        println!(
            "{:<58} {:>14.3} {:>8.1}",
            format!(
                "{events} events, {} MB: time, resident memory growth",
                bytes / 1_000_000
            ),
            took.as_secs_f64(),
            growth as f64 / f64::from(1 << 20)
        );
        running.shutdown().await.expect("server stops");
    });
}
