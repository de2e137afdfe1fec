//! The `vnpop serve` process the test kills ([`Server`]), the killer that kills and restarts
//! it, and the in-process gateway's configuration.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use vnpop::gateway::GatewayConfig;

use crate::{
    common::{self, certs_dir},
    Lcg, AGENCY,
};

/// Waits until something listens on `port` (the server is ready once it does).
pub(crate) fn wait_listening(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A `vnpop serve` process on `port` and `data_dir`, killed (SIGKILL) when dropped, so that a
/// failing test leaves no server behind.
pub(crate) struct Server(pub(crate) common::Spawned);

impl Server {
    pub(crate) fn spawn(port: u16, data_dir: &Path) -> Self {
        Server(common::spawn_serve(port, data_dir, &[]))
    }

    /// kill -9, and reaped.
    pub(crate) fn kill(&mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.kill();
        }
    }
}

/// Kills the server `kills` times at seeded moments (up 0–250 ms after it listens, down 0–30 ms
/// before the restart), restarting it on the same port and data directory each time; returns
/// the last server, up, and the kills made.
pub(crate) fn killer(
    mut server: Server,
    port: u16,
    data_dir: PathBuf,
    seed: u64,
    kills: usize,
) -> (Server, usize) {
    let mut lcg = Lcg::new(seed);
    let mut made = 0;
    let deadline = Instant::now() + Duration::from_secs(150);
    while made < kills {
        assert!(
            Instant::now() < deadline,
            "only {made} kills in 150 s: restarts are too slow"
        );
        std::thread::sleep(Duration::from_millis(lcg.below(250)));
        server.kill();
        made += 1;
        std::thread::sleep(Duration::from_millis(lcg.below(30)));
        server = Server::spawn(port, &data_dir);
        wait_listening(port);
    }
    (server, made)
}

pub(crate) fn gateway_config(server_port: u16, data_dir: &Path) -> GatewayConfig {
    let mut config = GatewayConfig::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.server = format!("https://localhost:{server_port}");
    config.ca = certs_dir().join("ca.pem");
    config.cert = certs_dir().join(format!("{AGENCY}.pem"));
    config.key = certs_dir().join(format!("{AGENCY}.key"));
    config.data_dir = data_dir.to_owned();
    config.api_key = None;
    config
}
