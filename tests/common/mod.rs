//! Starts a real vnpop server on an ephemeral loopback port with mTLS and the development
//! certificates, and connects clients as the development agencies. Beside it: `processes` (the
//! binary run as a process, ports, a fleet's database) and `reports` (audit events reported and
//! read back, the bundled scenario run through a client), re-exported here.

#![allow(dead_code)]

mod processes;
mod reports;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use vnpop::{
    client::{
        AdminClient, AuditClient, ClientError, ClientTls, LookupContext, RegistryClient,
        VneidClient,
    },
    config::ServeConfig,
    proto,
    server::{self, RunningServer, ServerState},
    vneid::TestCredentials,
};

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
/// desk `one-stop-phuong-ba-dinh`'s entry with `settings` added, for tests of directory settings.
#[allow(dead_code)]
pub fn config_with_desk(settings: &str, more: &str) -> (ServeConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let agencies = dir.path().join("agencies.toml");
    std::fs::write(
        &agencies,
        format!(
            "[[agency]]\nid = \"one-stop-phuong-ba-dinh\"\nname = \"Ba Đình\"\ncommon_name = \"one-stop-phuong-ba-dinh\"\n\
             organization = \"UBND phường Ba Đình\"\ndistrict = \"Quận Ba Đình\"\nrole = \"agency\"\n\
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

    /// A data-cleaning client as `agency`.
    pub async fn cleaning(&self, agency: &str) -> vnpop::client::CleaningClient {
        vnpop::client::CleaningClient::connect(&self.endpoint(), Some(agency_tls(agency)))
            .await
            .expect("client connects")
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

// Not every test uses them.
#[allow(unused_imports)]
pub use processes::*;
#[allow(unused_imports)]
pub use reports::*;
