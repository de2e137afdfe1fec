//! Starts a real vnpop server on an ephemeral loopback port with mTLS and the development
//! certificates, and connects clients as the development agencies.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use vnpop::{
    client::{
        AdminClient, AgencyClient, AgencyClientConfig, AuditClient, ClientError, ClientTls,
        LookupContext, RegistryClient, VneidClient,
    },
    config::ServeConfig,
    proto,
    server::{self, RunningServer, ServerState},
    simulate,
    vneid::TestCredentials,
};

/// A free loopback port, for a server started on it later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The bundled scenario (`data/scenario.toml`) with every total divided by 100, as TOML.
pub fn small_bundled_scenario() -> String {
    let bundled =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenario.toml"))
            .unwrap();
    bundled
        .lines()
        .map(|line| match line.split_once(" = ") {
            Some((key @ ("dossiers" | "lookups"), n)) => {
                format!("{key} = {}", n.trim().parse::<u64>().unwrap() / 100)
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `scenario` as `identity` through a new agency client (the simulation agency's
/// certificate) with its own outbox.
pub async fn simulate_through(
    server: &RunningServer,
    scenario: &simulate::Scenario,
    identity: &simulate::RunIdentity,
) -> simulate::SimulationReport {
    let outbox = tempfile::tempdir().unwrap();
    let config = AgencyClientConfig::new(
        format!("https://localhost:{}", server.local_addr.port()),
        Some(agency_tls("simulation")),
        outbox.path().join("outbox.sqlite"),
    )
    .with_run_id(identity.id.clone());
    let client = AgencyClient::open(config).await.unwrap();
    simulate::run(&client, scenario, identity, 16, 2026, |_, _| {})
        .await
        .unwrap()
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

/// The fixed "today" of the tests, so card expiry does not depend on the day they run.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

pub fn certs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs")
}

/// A fresh, empty data directory under the target directory.
pub fn data_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "vnpop-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A small population, mTLS, loopback port 0, a fresh audit log.
pub fn test_config() -> ServeConfig {
    let mut config = ServeConfig::defaults();
    config.data_dir = data_dir();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.population.size = 5_000;
    config.population.today = Some(today());
    config
}

/// [`test_config`] with the agency directory `toml` (kept in the returned directory), and the
/// desk `one-stop-ba-dinh`'s entry with `settings` added, for tests of directory settings.
#[allow(dead_code)]
pub fn config_with_desk(settings: &str, more: &str) -> (ServeConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(
        &agencies,
        format!(
            "[[agency]]\nid = \"one-stop-ba-dinh\"\nname = \"Ba Đình\"\ncommon_name = \"one-stop-ba-dinh\"\n\
             organization = \"UBND quận Ba Đình\"\ndistrict = \"Quận Ba Đình\"\nrole = \"agency\"\n\
             fields = [\"all\"]\n{settings}\n\n{more}"
        ),
    )
    .unwrap();
    let mut config = test_config();
    config.agencies = Some(agencies);
    (config, dir)
}

pub async fn start_server(config: ServeConfig) -> RunningServer {
    let state = ServerState::build(&config).expect("server state");
    server::start(config.listen, state)
        .await
        .expect("server starts")
}

/// The real server on an ephemeral loopback port with mTLS (see [`test_config`]), and clients
/// of it as the development agencies. It shuts down when dropped; [`TestServer::stop`] also
/// waits for it to end (for a test that reads its data directory afterwards, or checks that it
/// stops cleanly). It dereferences to the [`RunningServer`] (its store, recorder, faults).
pub struct TestServer {
    running: Option<RunningServer>,
    /// The population seed it serves (test credentials and chip reads derive from it).
    pub seed: u64,
    /// Its data directory (audit log, keys).
    pub data_dir: PathBuf,
}

impl TestServer {
    /// A server on [`test_config`].
    pub async fn start() -> Self {
        Self::with_config(test_config()).await
    }

    /// A server on `config` (from [`test_config`] or [`config_with_desk`], changed as the test needs).
    pub async fn with_config(config: ServeConfig) -> Self {
        let (seed, data_dir) = (config.population.seed, config.data_dir.clone());
        TestServer {
            running: Some(start_server(config).await),
            seed,
            data_dir,
        }
    }

    /// `https://localhost:<port>`: the name the development server certificate carries.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.local_addr.port())
    }

    /// A registry client as `agency`.
    pub async fn registry(&self, agency: &str) -> RegistryClient {
        connect(self, agency).await
    }

    /// A VNeID (and chip) client as `agency`.
    pub async fn vneid(&self, agency: &str) -> VneidClient {
        connect_vneid(self, agency).await
    }

    /// An audit client as `agency`.
    pub async fn audit(&self, agency: &str) -> AuditClient {
        connect_audit(self, agency).await
    }

    /// An admin (QA) client as `agency`.
    pub async fn admin(&self, agency: &str) -> AdminClient {
        AdminClient::connect(&self.endpoint(), Some(agency_tls(agency)))
            .await
            .expect("client connects")
    }

    /// Stops accepting calls, lets calls in flight finish and waits for the server to end;
    /// panics if it does not end cleanly.
    pub async fn stop(mut self) {
        let running = self
            .running
            .take()
            .expect("running until stopped or dropped");
        running.shutdown().await.expect("the server stops cleanly");
    }
}

impl std::ops::Deref for TestServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        self.running
            .as_ref()
            .expect("running until stopped or dropped")
    }
}

impl Drop for TestServer {
    /// Asks the server to stop (in the background: a destructor cannot wait). When the test's
    /// runtime ends first, it ends the server's tasks itself.
    fn drop(&mut self) {
        if let (Some(running), Ok(runtime)) =
            (self.running.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = running.shutdown().await;
            });
        }
    }
}

pub fn agency_tls(agency: &str) -> ClientTls {
    let dir = certs_dir();
    ClientTls::from_files(
        dir.join("ca.pem"),
        dir.join(format!("{agency}.pem")),
        dir.join(format!("{agency}.key")),
    )
    .expect("development certificates")
}

pub async fn connect(server: &RunningServer, agency: &str) -> RegistryClient {
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    RegistryClient::connect(&endpoint, Some(agency_tls(agency)))
        .await
        .expect("client connects")
}

pub async fn connect_vneid(server: &RunningServer, agency: &str) -> VneidClient {
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    VneidClient::connect(&endpoint, Some(agency_tls(agency)))
        .await
        .expect("client connects")
}

/// Asserts the gRPC code and the google.rpc.ErrorInfo reason of a failed call.
pub fn assert_reason(error: &ClientError, code: tonic::Code, reason: &str) {
    assert_eq!(error.code(), code, "{error}");
    assert_eq!(
        error.reason().as_ref().map(|r| r.as_str()),
        Some(reason),
        "{error}"
    );
}

/// The google.rpc.ErrorInfo metadata of a failed call.
pub fn error_metadata(error: &ClientError) -> std::collections::HashMap<String, String> {
    use tonic_types::StatusExt;
    match error {
        ClientError::Rpc(status) => status
            .get_error_details()
            .error_info()
            .map(|info| info.metadata.clone())
            .unwrap_or_default(),
        _ => Default::default(),
    }
}

/// Answers the VNeID challenge `challenge_id` with the citizen's own passcode and current
/// one-time code (and `chip_read`, required at level 2).
pub async fn answer_challenge(
    client: &VneidClient,
    challenge_id: &str,
    creds: &TestCredentials,
    chip_read: Option<proto::ChipRead>,
) -> Result<proto::CompleteAuthenticationResponse, ClientError> {
    client
        .complete(
            &context(),
            challenge_id,
            &creds.passcode,
            &creds.current_code(),
            chip_read,
        )
        .await
}

/// `creds` with a passcode that is not the citizen's.
pub fn wrong_passcode(creds: &TestCredentials) -> TestCredentials {
    let passcode = if creds.passcode == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut wrong = creds.clone();
    wrong.passcode = passcode.into();
    wrong
}

/// The report of a dossier's receipt at the desk (procedure 1.004227) of `district` by
/// `officer` at `at` (Unix ms). Other fields: struct update syntax over it.
pub fn receipt(
    event_id: impl Into<String>,
    dossier_id: &str,
    district: &str,
    officer: &str,
    at: i64,
) -> proto::ReportedEvent {
    proto::ReportedEvent {
        event_id: event_id.into(),
        dossier_id: dossier_id.into(),
        district: district.into(),
        officer_id: officer.into(),
        occurred_at_ms: at,
        kind: Some(proto::reported_event::Kind::Dossier(
            proto::DossierReceived {
                procedure_code: "1.004227".into(),
                channel: "desk".into(),
            },
        )),
        ..Default::default()
    }
}

/// `event` (see [`receipt`]) reporting a verification instead: `rpc` of the citizen `cccd`, with
/// `outcome`, for `purpose`.
pub fn as_verification(
    event: proto::ReportedEvent,
    rpc: &str,
    outcome: &str,
    purpose: &str,
    cccd: &str,
) -> proto::ReportedEvent {
    proto::ReportedEvent {
        kind: Some(proto::reported_event::Kind::Verification(
            proto::VerificationMade {
                rpc: rpc.into(),
                outcome: outcome.into(),
                purpose: purpose.into(),
                cccd_number: cccd.into(),
            },
        )),
        ..event
    }
}

pub fn context() -> LookupContext {
    LookupContext::new(
        "000.00.01.H26-261123-0001",
        "đăng ký thường trú",
        "officer-017",
    )
}

pub async fn connect_audit(server: &RunningServer, agency: &str) -> AuditClient {
    let endpoint = format!("https://localhost:{}", server.local_addr.port());
    AuditClient::connect(&endpoint, Some(agency_tls(agency)))
        .await
        .expect("client connects")
}

/// The events an auditor lists with `request` (ListEvents), in log order.
pub async fn list_events(
    server: &RunningServer,
    request: vnpop::proto::ListEventsRequest,
) -> Vec<vnpop::proto::LoggedEvent> {
    use tokio_stream::StreamExt;
    let auditor = connect_audit(server, "auditor-thanh-tra").await;
    let mut stream = auditor
        .raw()
        .list_events(request)
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    events
}

/// Every event in the audit log of `data_dir`, in log order, read back through the library.
#[allow(dead_code)]
pub fn logged_events(data_dir: &std::path::Path) -> Vec<vnpop::audit::AuditEvent> {
    let reader = vnpop::audit::query::AuditReader::open(&data_dir.join("audit.sqlite")).unwrap();
    let mut events = Vec::new();
    reader
        .events(&Default::default(), |logged| {
            events.push(logged.event);
            true
        })
        .unwrap();
    events
}

/// (rpc, outcome, dossier, agency, subject) of every server-observed verification, in order.
#[allow(dead_code)]
pub fn served_calls(data_dir: &std::path::Path) -> Vec<(String, String, String, String, String)> {
    logged_events(data_dir)
        .into_iter()
        .filter(|e| e.source == vnpop::audit::EventSource::Server)
        .filter_map(|e| match e.kind {
            vnpop::audit::EventKind::Verification {
                rpc,
                outcome,
                subject,
                ..
            } => Some((rpc, outcome, e.dossier_id, e.agency_id, subject)),
            vnpop::audit::EventKind::Dossier { .. } => None,
        })
        .collect()
}

/// A new, empty PostgreSQL database for one test, in the throwaway cluster that
/// `tests/with-postgres` (the README's test command) starts; its URL.
pub async fn postgres_database() -> String {
    let base = std::env::var("VNPOP_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "VNPOP_TEST_POSTGRES is not set: the fleet tests need a PostgreSQL server; run them as `bash tests/with-postgres cargo test` (the README's test command), which starts one"
        )
    });
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    let connection = tokio::spawn(connection);
    let name = format!("vnpop_test_{}", vnpop::ids::run_id::<6>().unwrap());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    drop(client);
    let _ = connection.await;
    let (prefix, _) = base.rsplit_once('/').expect("a URL ending in /database");
    format!("{prefix}/{name}")
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

/// A `vnpop serve` process (1,000 citizens, development certificates) on `port` with its audit
/// log in `data_dir`, and `extra` flags; its output discarded.
pub fn spawn_serve(port: u16, data_dir: &Path, extra: &[&str]) -> std::process::Child {
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
        .expect("the vnpop binary starts")
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
