//! Fleet mode: several vnpop servers sharing one audit trail in a real PostgreSQL database
//! (started by `tests/with-postgres`, the README's test command). Three servers under one
//! `vnpop load` spread across them, one killed with SIGKILL mid-run; a sequencer that dies
//! holding the append lock; auditor answers compared across servers; the bundled scenario
//! through two servers; every auditor query, ListEvents included, sees what was acknowledged
//! before it (read-your-writes) on every server.

mod common;

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use common::{
    agency_tls, copy_fleet_keys, free_port, postgres_database, simulate_through,
    small_bundled_scenario, test_config, TestServer,
};
use vnpop::{
    audit::{
        lock::DataDirLock, log::parse_public_key, postgres::PgStore, verify::verify_store,
        AuditEvent, AuditLog, EventKind, EventSource,
    },
    client::{AuditClient, RegistryClient},
    proto,
    simulate::{RunIdentity, Scenario},
};

/// A `vnpop serve` process of the fleet in `store`.
fn spawn_server(port: u16, data_dir: &Path, store: &str) -> common::Spawned {
    common::spawn_serve(port, data_dir, &["--audit-store", store])
}

async fn auditor(port: u16) -> AuditClient {
    for _ in 0..300 {
        if let Ok(client) = AuditClient::connect(
            &format!("https://localhost:{port}"),
            Some(agency_tls("auditor-thanh-tra")),
        )
        .await
        {
            if client.tree_head().await.is_ok() {
                return client;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up on port {port}");
}

/// What an auditor asks every server, to compare the answers.
async fn auditor_answers(client: &AuditClient) -> (Vec<proto::RatioRow>, u64, Vec<u8>, bool) {
    let ratio = client
        .lookup_ratio(proto::LookupRatioRequest {
            from: "2020-01-01".into(),
            to: "2030-01-01".into(),
            group_by: vec!["agency".into(), "officer".into()],
            include_load_test: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let head = client.tree_head().await.unwrap();
    let verified = client
        .raw()
        .verify_log(proto::VerifyLogRequest::default())
        .await
        .unwrap()
        .into_inner();
    (ratio, head.tree_size, head.root_hash, verified.intact)
}

fn public_key(data_dir: &Path) -> vnpop::audit::keys::VerifyingKey {
    parse_public_key(&std::fs::read_to_string(data_dir.join("audit-signing.pub")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_share_one_log_and_a_killed_one_loses_nothing() {
    let store = postgres_database().await;
    let dirs: Vec<PathBuf> = (0..3).map(|_| common::data_dir()).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut first = spawn_server(ports[0], &dirs[0], &store);
    drop(auditor(ports[0]).await);
    copy_fleet_keys(&dirs[0], &dirs[1]);
    copy_fleet_keys(&dirs[0], &dirs[2]);
    let mut second = spawn_server(ports[1], &dirs[1], &store);
    let mut third = spawn_server(ports[2], &dirs[2], &store);
    drop(auditor(ports[1]).await);
    drop(auditor(ports[2]).await);

    // The real load generator across all three, listing the dossier of every call answered OK.
    let answered = dirs[0].with_extension("answered");
    let targets = ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let answered = common::lookups_across_a_kill(&targets, 24, &answered, &mut second).await;
    assert!(
        answered.len() >= 300,
        "only {} lookups were answered",
        answered.len()
    );

    // Every call answered OK by any server is in the fleet's log (read through the first
    // server's copy once it has caught up), and the database verifies.
    let one = auditor(ports[0]).await;
    let answers = auditor_answers(&one).await;
    assert!(answers.3, "VerifyLog on the first server");
    let recorded: HashSet<String> = common::served_calls(&dirs[0])
        .into_iter()
        .filter(|call| call.0 == "LookupByCccd")
        .map(|call| call.2)
        .collect();
    let lost: Vec<_> = answered.difference(&recorded).take(5).collect();
    assert!(lost.is_empty(), "answered OK but not in the log: {lost:?}");
    let pg = PgStore::connect(&store).unwrap();
    let report = verify_store(&pg, &public_key(&dirs[0])).unwrap();
    assert_eq!(report.tamper, None);
    assert_eq!(report.events, answers.1);

    // Every auditor answer is the same on every server, the restarted one included.
    let mut second = spawn_server(ports[1], &dirs[1], &store);
    let two = auditor(ports[1]).await;
    let three = auditor(ports[2]).await;
    assert_eq!(auditor_answers(&two).await, answers);
    assert_eq!(auditor_answers(&three).await, answers);

    // And `vnpop audit verify` agrees, against the database and against a server's copy.
    let remote = format!("https://localhost:{}", ports[1]);
    for args in [
        vec!["--audit-store", store.as_str()],
        vec![],
        vec!["--remote", "--server", remote.as_str()],
    ] {
        let verify = Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["audit", "verify", "--data-dir"])
            .arg(&dirs[2])
            .args(&args)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&verify.stdout);
        assert!(
            verify.status.success() && out.starts_with("OK"),
            "{args:?}: {out}"
        );
    }
    for server in [&mut first, &mut second, &mut third] {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_dying_with_the_append_lock_is_taken_over() {
    let store = postgres_database().await;
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    let data_dir = config.data_dir.clone();
    let server = TestServer::with_config(config).await;
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    let registry = RegistryClient::connect(&endpoint, Some(agency_tls("one-stop-phuong-ba-dinh")))
        .await
        .unwrap();
    let citizen = "001090012345";
    registry
        .lookup_by_cccd(&common::context(), citizen)
        .await
        .expect("a first lookup");

    // Another sequencer takes the append lock and dies holding it: lookups wait (nothing is
    // answered unrecorded) until PostgreSQL ends its session, then go on from where it was.
    let (holder, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&0x766e_706f_705f_6c67_i64],
        )
        .await
        .unwrap();
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let waiting = {
        let registry = registry.clone();
        tokio::spawn(async move { registry.lookup_by_cccd(&common::context(), citizen).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !waiting.is_finished(),
        "a lookup was answered while another held the lock"
    );
    let (killer, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    killer
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the lookup is answered once the lock is free")
        .unwrap()
        .expect("the lookup succeeds");

    // The database drops every connection of the server (as in a restart): calls fail closed
    // (AUDIT_UNAVAILABLE, never answered unrecorded) until the server has reconnected.
    killer
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    let mut answered = false;
    for _ in 0..100 {
        match registry.lookup_by_cccd(&common::context(), citizen).await {
            Ok(_) => {
                answered = true;
                break;
            }
            Err(error) => {
                common::assert_reason(&error, tonic::Code::Unavailable, "AUDIT_UNAVAILABLE");
                // The agency is told to retry, never where the fleet's database is.
                let message = error.to_string();
                let database = store.rsplit_once('/').unwrap().1;
                let host = store
                    .split('@')
                    .next_back()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap();
                assert!(message.contains("try again"), "{message}");
                for secret in [store.as_str(), database, host, "postgres"] {
                    assert!(!message.contains(secret), "{message} names {secret}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(answered, "the server did not reconnect to the database");

    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    assert_eq!(auditor.tree_head().await.unwrap().tree_size, 3);
    let key = public_key(&data_dir);
    let pg = PgStore::connect(&store).unwrap();
    assert_eq!(verify_store(&pg, &key).unwrap().tamper, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refuses_to_sequence_on_a_log_that_does_not_extend_what_it_saw() {
    let store = postgres_database().await;
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    let first_dir = config.data_dir.clone();
    let first = TestServer::with_config(config).await;
    let registry = |server: &TestServer| {
        let endpoint = format!("https://localhost:{}", server.local_addr.port());
        async move {
            RegistryClient::connect(&endpoint, Some(agency_tls("one-stop-phuong-ba-dinh")))
                .await
                .unwrap()
        }
    };
    let at_first = registry(&first).await;
    let citizen = "001090012345";
    // Answered once the first server's copy holds the head it signed.
    at_first
        .lookup_by_cccd(&common::context(), citizen)
        .await
        .expect("a first lookup");

    // The database is put back to an empty log (a backup from before the first lookup), and
    // a second server, which saw nothing of the first log (started on the restored
    // database: a server that had copied the first lookup would refuse to write another log
    // too), writes a different log on it.
    let (admin, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(
            "DELETE FROM audit_records; DELETE FROM audit_heads; DELETE FROM audit_blocks; DELETE FROM audit_strings;",
        )
        .await
        .unwrap();
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    copy_fleet_keys(&first_dir, &config.data_dir);
    let second = TestServer::with_config(config).await;
    let at_second = registry(&second).await;
    for _ in 0..2 {
        at_second
            .lookup_by_cccd(&common::context(), citizen)
            .await
            .expect("the second server writes its own log");
    }

    // The first server's tree is not a prefix of the database's: it refuses to sequence
    // (its call is not served unrecorded, nor recorded in a tree no one else holds).
    let error = at_first
        .lookup_by_cccd(&common::context(), citizen)
        .await
        .expect_err("a server must not sequence on a log that does not extend its own");
    common::assert_reason(&error, tonic::Code::Unavailable, "AUDIT_UNAVAILABLE");
    // The database's log is whole: two events, each signed head verifying.
    let size: i64 = admin
        .query_one("SELECT COALESCE(MAX(tree_size), 0) FROM audit_heads", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(size, 2);
    let key = public_key(&first_dir);
    let pg = PgStore::connect(&store).unwrap();
    let report = tokio::task::spawn_blocking(move || verify_store(&pg, &key).unwrap())
        .await
        .unwrap();
    assert_eq!(report.tamper, None);

    // Restarted on its data directory, the first server remembers the head it saw (its copy
    // of the log, which it did not extend with the other log's events) and refuses to start
    // on the split log, saying so.
    drop(at_first);
    drop(first);
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    config.data_dir = first_dir.clone();
    let mut refused = None;
    for _ in 0..100 {
        let config = config.clone();
        let built = tokio::task::spawn_blocking(move || {
            vnpop::server::ServerState::build(&config).map(|_| ())
        })
        .await
        .unwrap();
        match built {
            // The stopping server still holds its data directory for a moment.
            Err(error) if error.to_string().contains("in use by another") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => {
                refused = Some(error.to_string());
                break;
            }
            Ok(()) => panic!("a server started on a log that does not extend its copy"),
        }
    }
    let refused = refused.expect("the first server's data directory was never released");
    assert!(refused.contains("split"), "{refused}");
    drop(second);
}

/// A dossier event reported by `officer` (as the edge would never let a NUL through, this goes
/// straight to the log).
fn dossier_by(id: &str, officer: &str) -> AuditEvent {
    AuditEvent {
        event_id: format!("receipt-{id}"),
        source: EventSource::Client,
        dossier_id: id.into(),
        agency_id: "one-stop-phuong-ba-dinh".into(),
        district: "Quận Ba Đình".into(),
        officer_id: officer.into(),
        occurred_at_ms: vnpop::ids::now_ms(),
        load_test: false,
        commune: None,
        province: None,
        call_id: None,
        kind: EventKind::Dossier {
            procedure: "1.004227".into(),
            channel: vnpop::vocabulary::Channel::Desk,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_postgresql_refuses_fails_alone_and_the_rest_of_its_group_is_stored() {
    let store = postgres_database().await;
    let data_dir = common::data_dir();
    let answers = tokio::task::spawn_blocking(move || {
        let pg = PgStore::connect(&store).unwrap();
        let log = AuditLog::open_fleet(DataDirLock::acquire(&data_dir).unwrap(), &pg).unwrap();
        // One group: PostgreSQL refuses the NUL in the second job's officer (a text column),
        // which used to fail every job of the group.
        let answers = log.append_together_for_test(vec![
            vec![dossier_by("A", "cb01")],
            vec![dossier_by("B", "cb\0bad")],
            vec![dossier_by("C", "cb03"), dossier_by("D", "cb04")],
        ]);
        let answers: Vec<_> = answers
            .into_iter()
            .map(|answer| answer.map(|receipt| receipt.appended))
            .collect();
        let after = log.append_blocking(vec![dossier_by("E", "cb05")]).unwrap();
        let report = log.verify().unwrap();
        (answers, after.tree_size, report.tamper)
    })
    .await
    .unwrap();
    let (answers, size, tamper) = answers;
    assert!(matches!(answers[0], Ok(1)), "{answers:?}");
    assert!(answers[1].is_err(), "{answers:?}");
    assert!(matches!(answers[2], Ok(2)), "{answers:?}");
    assert_eq!(size, 4);
    assert_eq!(tamper, None);
}

/// The bundled scenario (`data/scenario.toml`) with every total divided by 100, as
/// tests/readme.rs runs it: 3,000 dossiers and 654 lookups, then 296 and 2.
fn bundled_scenario() -> Scenario {
    Scenario::parse(&small_bundled_scenario()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_through_two_servers_keeps_its_figures() {
    let store = postgres_database().await;
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    let first_dir = config.data_dir.clone();
    let first = TestServer::with_config(config).await;
    let mut config = test_config();
    copy_fleet_keys(&first_dir, &config.data_dir);
    config.audit_store = Some(store.clone());
    let second = TestServer::with_config(config).await;

    let scenario = bundled_scenario();
    // One run through the first server, another (labelled) through the second; then the first
    // run again through the second: every dossier is already in the fleet's log.
    let run = RunIdentity::new(&scenario, 2026, None).unwrap();
    let labelled = RunIdentity::new(&scenario, 2026, Some("second")).unwrap();
    let one = simulate_through(&first, &scenario, &run).await;
    let two = simulate_through(&second, &scenario, &labelled).await;
    assert_eq!((one.dossiers, one.lookups), (3_296, 656));
    assert_eq!((two.dossiers, two.lookups), (3_296, 656));
    let again = simulate_through(&second, &scenario, &run).await;
    assert_eq!(
        (again.dossiers, again.lookups, again.already_logged),
        (0, 0, 3_296)
    );

    for server in [&first, &second] {
        let auditor = common::connect_audit(server, "auditor-thanh-tra").await;
        let ratio = |from: &str, to: &str| proto::LookupRatioRequest {
            from: from.into(),
            to: to.into(),
            ..Default::default()
        };
        let period = auditor
            .lookup_ratio(ratio("2022-12-01", "2023-12-31"))
            .await
            .unwrap();
        // Both runs: twice the scenario's figures, every lookup served.
        assert_eq!(
            (period[0].dossiers, period[0].lookups, period[0].served),
            (6_000, 1_308, 1_308)
        );
        let period = auditor
            .lookup_ratio(ratio("2024-01-01", "2024-02-21"))
            .await
            .unwrap();
        assert_eq!(
            (period[0].dossiers, period[0].lookups, period[0].served),
            (592, 4, 4)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_events_right_after_an_acknowledged_ingest_sees_the_event() {
    let store = postgres_database().await;
    let mut config = test_config();
    config.audit_store = Some(store.clone());
    let first_dir = config.data_dir.clone();
    let first = TestServer::with_config(config).await;
    let mut config = test_config();
    copy_fleet_keys(&first_dir, &config.data_dir);
    config.audit_store = Some(store.clone());
    let second = TestServer::with_config(config).await;
    let desk = first.audit("simulation").await;

    // Each time: acknowledged by the first server, then listed at once through either. The
    // servers' own copies of the log follow the database a moment later: only the caught-up
    // wait makes the listing see it.
    for n in 0..6 {
        let dossier = format!("RYW-{n}");
        let at = vnpop::ids::now_ms();
        let stored = desk
            .ingest(vec![common::receipt(
                format!("ryw-{n}"),
                &dossier,
                "Huyện Mai Châu",
                "huyen-mai-chau-cb01",
                at,
            )])
            .await
            .unwrap();
        assert_eq!(stored.stored, 1, "{stored:?}");
        let server = if n % 2 == 0 { &first } else { &second };
        let listed = common::list_events(
            server,
            proto::ListEventsRequest {
                dossier_id: dossier.clone(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            listed
                .iter()
                .map(|e| e.dossier_id.as_str())
                .collect::<Vec<_>>(),
            [dossier.as_str()],
            "ListEvents on the {} server right after the acknowledgement",
            if n % 2 == 0 { "first" } else { "second" }
        );
    }
}

#[tokio::test]
async fn a_database_from_a_newer_vnpop_is_refused() {
    let store = postgres_database().await;
    drop(PgStore::connect(&store).expect("a new database is migrated"));
    // Applying the migrations again changes nothing.
    drop(PgStore::connect(&store).expect("an up-to-date database opens"));
    let (client, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute("INSERT INTO vnpop_schema (version) VALUES (999)", &[])
        .await
        .unwrap();
    let error = PgStore::connect(&store).unwrap_err().to_string();
    assert!(
        error.contains("version 999, newer than this vnpop's"),
        "{error}"
    );
}
