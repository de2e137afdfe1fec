//! Kill -9 of the gateway process during a run: every dossier and lookup it answered reaches the
//! audit trail after a restart on the same data directory, and the restarted gateway still knows
//! every dossier it answered for.

mod common;
#[path = "common/rest.rs"]
mod rest;

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{certs_dir, TestServer};
use rest::Rest;
use serde_json::json;
use vnpop::proto;

/// 2024-03-01 07:00 in Vietnam.
const RECEIVED: i64 = 1_709_254_800_000;
const DAY: &str = "2024-03-01";

/// Its log goes to `DATA_DIR.log`.
fn spawn_gateway(port: u16, server_port: u16, data_dir: &Path) -> Child {
    let certs = certs_dir();
    Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .arg("gateway")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--server", &format!("https://localhost:{server_port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--ca")
        .arg(certs.join("ca.pem"))
        .arg("--cert")
        .arg(certs.join("simulation.pem"))
        .arg("--key")
        .arg(certs.join("simulation.key"))
        .env("VNPOP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data_dir.with_extension("log"))
                .map_or_else(|_| Stdio::null(), Stdio::from),
        )
        .spawn()
        .expect("the vnpop binary starts")
}

async fn wait_until_up(addr: SocketAddr) -> Rest {
    let mut rest = Rest::new(addr);
    for _ in 0..400 {
        if rest.get("/health").await.is_ok_and(|a| a.status == 200) {
            return rest;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway did not come up on {addr}");
}

#[derive(Default)]
struct Tally {
    attempted: HashSet<String>,
    answered: HashSet<String>,
    /// Answered dossiers that get no lookup: the auditor lists them as unverified.
    answered_unverified: HashSet<String>,
    lookups_attempted: u64,
    lookups_answered: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_the_gateway_loses_nothing_it_answered() {
    let server = TestServer::start().await;
    let port = common::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let data_dir = common::data_dir();
    let mut gateway = spawn_gateway(port, server.local_addr.port(), &data_dir);
    wait_until_up(addr).await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let tally = Arc::clone(&tally);
            tokio::spawn(async move {
                let mut rest = Rest::new(addr);
                for n in 0.. {
                    let id = format!("K-{w}-{n}");
                    tally.lock().unwrap().attempted.insert(id.clone());
                    let body = json!({
                        "dossierId": id,
                        "procedureCode": "1.004227",
                        "district": "Quận Ba Đình",
                        "officerId": format!("officer-{w}"),
                        "channel": "DOSSIER_CHANNEL_DESK",
                        "receivedAtMs": RECEIVED + n,
                    });
                    match rest.post("/v1/dossiers", &body).await {
                        Ok(answer) => assert_eq!(answer.status, 201, "{answer:?}"),
                        Err(_) => return,
                    }
                    if n % 2 == 1 {
                        let mut tally = tally.lock().unwrap();
                        tally.answered.insert(id.clone());
                        tally.answered_unverified.insert(id);
                        continue;
                    }
                    tally.lock().unwrap().answered.insert(id.clone());
                    tally.lock().unwrap().lookups_attempted += 1;
                    let lookup = json!({"context": {"purpose": "đăng ký thường trú"}, "cccdNumber": "001090012345"});
                    match rest
                        .post(&format!("/v1/dossiers/{id}/lookup-by-cccd"), &lookup)
                        .await
                    {
                        Ok(answer) => {
                            assert_eq!(answer.status, 200, "{answer:?}");
                            tally.lock().unwrap().lookups_answered += 1;
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    gateway.kill().expect("SIGKILL");
    gateway.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    assert!(
        tally.answered.len() >= 20,
        "only {} answered",
        tally.answered.len()
    );

    // Restarted on the same data directory: it knows every dossier it answered for, and delivers
    // what the outbox holds.
    let mut gateway = spawn_gateway(port, server.local_addr.port(), &data_dir);
    let mut rest = wait_until_up(addr).await;
    for id in &tally.answered {
        let answer = rest.get(&format!("/v1/dossiers/{id}")).await.unwrap();
        assert_eq!(answer.status, 200, "{id}: {answer:?}");
    }
    let mut pending = u64::MAX;
    for _ in 0..600 {
        pending = rest.get("/health").await.unwrap().json["pendingEvents"]
            .as_u64()
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "the outbox did not drain");
    gateway.kill().unwrap();
    gateway.wait().unwrap();

    let auditor = common::connect_audit(&server, "auditor-thanh-tra").await;
    let rows = auditor
        .lookup_ratio(proto::LookupRatioRequest {
            from: DAY.into(),
            to: DAY.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (dossiers, lookups) = (rows[0].dossiers, rows[0].lookups);
    assert!(
        (tally.answered.len() as u64..=tally.attempted.len() as u64).contains(&dossiers),
        "{dossiers} dossiers stored; {} answered, {} attempted",
        tally.answered.len(),
        tally.attempted.len()
    );
    assert!(
        (tally.lookups_answered..=tally.lookups_attempted).contains(&lookups),
        "{lookups} lookups stored; {} answered, {} attempted",
        tally.lookups_answered,
        tally.lookups_attempted
    );
    let mut unverified = HashSet::new();
    let mut page_token = String::new();
    loop {
        let page = auditor
            .raw()
            .list_unverified_dossiers(proto::ListUnverifiedDossiersRequest {
                from: DAY.into(),
                to: DAY.into(),
                page_size: 1_000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        unverified.extend(page.dossiers.into_iter().map(|d| d.dossier_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let lost: Vec<_> = tally
        .answered_unverified
        .difference(&unverified)
        .take(5)
        .collect();
    assert!(
        lost.is_empty(),
        "answered but not in the audit trail: {lost:?}"
    );
}
