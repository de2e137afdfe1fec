//! Kill -9 the server during a sustained ingest, or during a `vnpop load` lookup run: after a
//! restart every acknowledged event, and every lookup answered OK, is in the log, and the log
//! verifies.

mod common;

use std::{
    collections::HashSet,
    path::Path,
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{agency_tls, receipt};
use vnpop::{
    audit::{log::parse_public_key, verify_file},
    client::AuditClient,
    proto,
};

fn spawn_server(port: u16, data_dir: &Path) -> Child {
    common::spawn_serve(port, data_dir, &[])
}

async fn connect(port: u16) -> AuditClient {
    for _ in 0..200 {
        if let Ok(client) = AuditClient::connect(
            &format!("https://localhost:{port}"),
            Some(agency_tls("simulation")),
        )
        .await
        {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up on port {port}");
}

fn event(task: usize, n: usize) -> proto::ReportedEvent {
    receipt(
        format!("crash-{task}-{n}"),
        &format!("D-{task}-{}", n / 10),
        "Quận Ba Đình",
        &format!("officer-{task}"),
        1_700_000_000_000 + n as i64,
    )
}

#[tokio::test]
async fn every_acknowledged_event_survives_kill_9() {
    let port = common::free_port();
    let data_dir = common::data_dir();
    let mut server = spawn_server(port, &data_dir);
    let client = connect(port).await;

    // Four writers ingest batches of 50 until the server dies; acknowledged ids are kept.
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let writers: Vec<_> = (0..4)
        .map(|task| {
            let (client, acknowledged) = (client.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                for batch in 0.. {
                    let events: Vec<_> = (0..50).map(|i| event(task, batch * 50 + i)).collect();
                    let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
                    match client.ingest(events).await {
                        Ok(_) => acknowledged.lock().unwrap().extend(ids),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 200,
        "only {} events were acknowledged",
        acknowledged.len()
    );

    // Restart on the same data directory: the log reopens, and keeps growing.
    let mut server = spawn_server(port, &data_dir);
    let client = connect(port).await;
    let after = client.ingest(vec![event(9, 0)]).await.unwrap();
    assert_eq!(after.stored, 1);
    server.kill().unwrap();
    server.wait().unwrap();

    let stored: HashSet<String> = common::logged_events(&data_dir)
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).take(5).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");

    let key =
        parse_public_key(&std::fs::read_to_string(data_dir.join("audit-signing.pub")).unwrap())
            .unwrap();
    let report = verify_file(&data_dir.join("audit.sqlite"), &key).unwrap();
    assert_eq!(report.tamper, None);
    assert_eq!(report.events as usize, stored.len());
}

#[tokio::test]
async fn every_lookup_answered_under_load_survives_kill_9() {
    let port = common::free_port();
    let data_dir = common::data_dir();
    let mut server = spawn_server(port, &data_dir);
    drop(connect(port).await);

    // The real load generator, lookups only, listing the dossier of every call answered OK.
    let answered = data_dir.with_extension("answered");
    let target = format!("127.0.0.1:{port}");
    let answered = common::lookups_across_a_kill(&target, 32, &answered, &mut server).await;
    assert!(
        answered.len() >= 100,
        "only {} lookups were answered before the kill",
        answered.len()
    );

    // Restart: the log reopens (its projection catches up), then stop again.
    let mut server = spawn_server(port, &data_dir);
    drop(connect(port).await);
    server.kill().unwrap();
    server.wait().unwrap();

    let recorded: HashSet<String> = common::served_calls(&data_dir)
        .into_iter()
        .filter(|call| call.0 == "LookupByCccd")
        .map(|call| call.2)
        .collect();
    let lost: Vec<_> = answered.difference(&recorded).take(5).collect();
    assert!(lost.is_empty(), "answered OK but not in the log: {lost:?}");

    let verify = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && out.starts_with("OK:"), "{out}");
}
