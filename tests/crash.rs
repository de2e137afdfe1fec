//! Kill -9 the server during a sustained ingest, or during a `vnpop load` lookup run: after a
//! restart every acknowledged event, and every lookup answered OK, is in the log, and the log
//! verifies. One server per data directory: a second is refused while the first lives, even
//! killed with -9 the first leaves no stale lock.

mod common;

use std::{
    collections::HashSet,
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{agency_tls, receipt};
use vnpop::{
    audit::{log::parse_public_key, verify_file},
    client::AuditClient,
    proto,
};

fn spawn_server(port: u16, data_dir: &Path) -> common::Spawned {
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

/// `vnpop serve` on `data_dir` that must refuse to start: its exit status and standard error,
/// or a failure if it is still running after 30 s (it was not refused).
async fn refused_serve(data_dir: &Path) -> (std::process::ExitStatus, String) {
    let mut second = Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["serve", "--population", "1000", "--listen"])
        .arg(format!("127.0.0.1:{}", common::free_port()))
        .arg("--data-dir")
        .arg(data_dir)
        .env("VNPOP_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        if let Some(status) = second.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status, stderr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    panic!("a second server on the same data directory started and kept running");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused_until_the_first_dies() {
    let data_dir = common::data_dir();
    let port = common::free_port();
    let mut first = spawn_server(port, &data_dir);
    let client = connect(port).await;
    assert_eq!(client.ingest(vec![event(0, 0)]).await.unwrap().stored, 1);

    let (status, stderr) = refused_serve(&data_dir).await;
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&data_dir.display().to_string()),
        "the message names the data directory: {stderr}"
    );
    assert!(
        stderr.contains(&format!("PID {}", first.id())),
        "the message names the PID holding it: {stderr}"
    );
    // The first server goes on serving, and its log is whole.
    assert_eq!(client.ingest(vec![event(0, 1)]).await.unwrap().stored, 1);

    // kill -9: the kernel releases the lock; a new server starts on the directory at once.
    first.kill().unwrap();
    first.wait().unwrap();
    let port = common::free_port();
    let mut again = spawn_server(port, &data_dir);
    let client = connect(port).await;
    let receipt = client.ingest(vec![event(0, 2)]).await.unwrap();
    assert_eq!((receipt.stored, receipt.tree_size), (1, 3));
    again.kill().unwrap();
    again.wait().unwrap();
}
