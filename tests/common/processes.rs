//! What tests run as processes (the `vnpop` binary: `serve`, `load`, any command) and the ports
//! they listen on, and the PostgreSQL database of a fleet test.

use std::path::Path;

/// A free loopback port, for a server started on it later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the `vnpop` binary with `args` in the repository's top directory (logging at WARN), to
/// its end.
pub async fn run_vnpop_binary(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("VNPOP_LOG", "warn")
            .output()
            .expect("vnpop runs")
    })
    .await
    .unwrap()
}

/// A new, empty PostgreSQL database for one test, in the throwaway cluster that
/// `tests/with-postgres` (the README's test command) starts; its URL.
pub async fn postgres_database() -> String {
    vnpop::audit::testing::postgres_database().await
}

/// Copies the audit keys of a fleet's first server into another's data directory.
pub fn copy_fleet_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for file in [
        "audit-signing.key",
        "audit-signing.pub",
        "audit-subject.key",
    ] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, so a test that fails half-way never
/// leaves a server running behind it. Derefs to the [`Child`](std::process::Child).
#[derive(Debug)]
pub struct Spawned(pub std::process::Child);

impl std::ops::Deref for Spawned {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Already ended (killed and reaped by the test) is fine: both calls then fail harmlessly.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `vnpop serve` process (1,000 citizens, development certificates) on `port` with its audit
/// log in `data_dir`, and `extra` flags; its output discarded. Killed when dropped.
pub fn spawn_serve(port: u16, data_dir: &Path, extra: &[&str]) -> Spawned {
    Spawned(
        std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(["serve", "--population", "1000", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("VNPOP_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the vnpop binary starts"),
    )
}

/// The real load generator against `targets` (`host:port`, comma-separated): lookups of known
/// citizens only, `concurrency` in flight for 6 s, listing the dossier of every call answered OK
/// in `answered`.
pub fn spawn_lookup_load(
    targets: &str,
    concurrency: usize,
    answered: &Path,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
        .args(["load", "--target", targets])
        .args(["--population", "1000", "--citizen-sample", "1000"])
        .args([
            "--mix",
            "lookup=1",
            "--unknown-share",
            "0",
            "--invalid-share",
            "0",
        ])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--warmup", "0s", "--duration", "6s"])
        .args(["--timeout", "2s", "--json", "--answered"])
        .arg(answered)
        .env("VNPOP_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("vnpop load starts")
}

/// [`spawn_lookup_load`] for 2.5 s, then `victim` killed with SIGKILL while the load goes on;
/// once the load has ended (and succeeded), the dossier of every call answered OK.
pub async fn lookups_across_a_kill(
    targets: &str,
    concurrency: usize,
    answered: &Path,
    victim: &mut std::process::Child,
) -> std::collections::HashSet<String> {
    let mut load = spawn_lookup_load(targets, concurrency, answered);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    victim.kill().expect("SIGKILL");
    victim.wait().unwrap();
    let status = tokio::task::spawn_blocking(move || load.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "vnpop load failed: {status}");
    std::fs::read_to_string(answered)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs the `vnpop` binary with `args` as [`run_vnpop_binary`] does, but for at most `limit`:
/// its output, and whether it ended by itself (`false`: it was still running and was killed).
pub async fn run_vnpop_binary_within(
    args: Vec<String>,
    limit: std::time::Duration,
) -> (std::process::Output, bool) {
    tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vnpop"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("VNPOP_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("vnpop runs");
        let started = std::time::Instant::now();
        let mut ended = false;
        while started.elapsed() < limit {
            if child.try_wait().expect("the child's status").is_some() {
                ended = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !ended {
            let _ = child.kill();
        }
        (child.wait_with_output().expect("its output"), ended)
    })
    .await
    .unwrap()
}
