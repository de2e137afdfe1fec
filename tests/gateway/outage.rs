//! The bundled scenario through the gateway's REST API across an outage of the server.

use super::*;

/// The bundled scenario's first 1,000 dossiers through REST, with the server down for 10 s in
/// the middle: the auditor's figures for them are exactly the plan's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_1000_scenario_dossiers_through_rest_give_the_exact_ratio_across_an_outage() {
    let port = free_port();
    let mut config = test_config();
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let server = TestServer::with_config(config.clone()).await;
    let gateway = start_gateway(port).await;

    let planned: Vec<_> = simulate::plan(&Scenario::bundled())
        .into_iter()
        .take(1_000)
        .collect();
    let expected_lookups = planned.iter().filter(|p| p.lookup_at_ms.is_some()).count();
    assert!(expected_lookups > 100, "{expected_lookups}");
    let spec = PopulationSpec {
        seed: config.population.seed,
        size: 1_000,
        reference_date: PopulationSpec::default_reference_date(),
    };
    let citizens: Arc<Vec<String>> = Arc::new(
        population::generate(spec, &population::builtin_fixtures())
            .iter()
            .map(|c| c.cccd.to_string())
            .collect(),
    );
    let queue = Arc::new(Mutex::new(planned.into_iter().collect::<VecDeque<_>>()));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let slowest_failure = Arc::new(Mutex::new(Duration::ZERO));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (queue, done, failed, slowest, citizens) = (
                Arc::clone(&queue),
                Arc::clone(&done),
                Arc::clone(&failed),
                Arc::clone(&slowest_failure),
                Arc::clone(&citizens),
            );
            let mut rest = Rest::new(gateway.local_addr);
            tokio::spawn(async move {
                loop {
                    let Some(next) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let info = &next.info;
                    let opened = rest
                        .post(
                            "/v1/dossiers",
                            &json!({
                                "dossierId": info.id,
                                "procedureCode": info.procedure_code,
                                "district": info.district,
                                "officerId": info.officer_id,
                                "channel": format!("DOSSIER_CHANNEL_{}", info.channel.as_str().to_uppercase()),
                                "receivedAtMs": info.received_at_ms.unwrap().to_string(),
                            }),
                        )
                        .await
                        .unwrap();
                    assert_eq!(opened.status, 201, "{opened:?}");
                    if let Some(at) = next.lookup_at_ms {
                        let cccd = &citizens[(at as usize / 1000) % citizens.len()];
                        let started = Instant::now();
                        let answer = rest
                            .post(
                                &format!("/v1/dossiers/{}/lookup-by-cccd", info.id),
                                &lookup_body(cccd),
                            )
                            .await
                            .unwrap();
                        if answer.status != 200 {
                            // Only the outage may fail a call, fast and as UNAVAILABLE.
                            answer.assert_problem(503, "UNAVAILABLE", "SERVER_UNREACHABLE");
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut slowest = slowest.lock().unwrap();
                            *slowest = (*slowest).max(started.elapsed());
                        } else {
                            assert_eq!(answer.json["citizen"]["cccdNumber"], cccd.as_str());
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    // Paced, so that the outage falls in the middle of the run.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        })
        .collect();

    while done.load(Ordering::Relaxed) < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during_outage = done.load(Ordering::Relaxed);
    let server = TestServer::with_config(config).await;
    for worker in workers {
        worker.await.unwrap();
    }
    let failed = failed.load(Ordering::Relaxed);
    assert!(failed > 0, "no call met the outage");
    assert!(during_outage < 1_000, "the run ended during the outage");
    let slowest = *slowest_failure.lock().unwrap();
    assert!(
        slowest < Duration::from_secs(6),
        "a failure took {slowest:?}"
    );

    gateway.flush(Duration::from_secs(60)).await.unwrap();
    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let rows = auditor
        .lookup_ratio(ratio("2022-12-01", "2023-12-31"))
        .await
        .unwrap();
    // Every attempted lookup is a lookup (the officer did look); those the outage failed were
    // not served.
    assert_eq!(
        (rows[0].dossiers, rows[0].lookups),
        (1_000, expected_lookups as u64)
    );
    // A call the outage cut off after the server had recorded it (answer lost on the way back)
    // is served in the server's record and failed in the agency's: at most the calls in flight.
    let served = rows[0].served as usize;
    assert!(
        (expected_lookups - failed..=expected_lookups - failed + 8).contains(&served),
        "served {served} of {expected_lookups} lookups, {failed} failed"
    );
    gateway.shutdown().await;
}
