//! [`AgencyClientConfig`]: where an [`AgencyClient`](super::AgencyClient) connects, its timeouts,
//! its outbox file and how it names its events.

use std::{path::PathBuf, time::Duration};

use crate::ClientTls;

/// Connect timeout of an [`AgencyClient`](super::AgencyClient) unless set: 5 s.
pub const AGENCY_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per-call timeout of an [`AgencyClient`](super::AgencyClient) unless set: 30 s.
pub const AGENCY_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the agency client connects and keeps its outbox.
#[derive(Debug, Clone)]
pub struct AgencyClientConfig {
    /// The server, e.g. "https://localhost:50051".
    pub endpoint: String,
    /// The agency's mTLS identity; `None` for a server started with --insecure.
    pub tls: Option<ClientTls>,
    /// The outbox file (SQLite), created if missing.
    pub outbox_path: PathBuf,
    /// How long connecting may take before a call fails as unreachable (and its event waits in
    /// the outbox); default [`AGENCY_CONNECT_TIMEOUT`] (5 s).
    pub connect_timeout: Duration,
    /// How long a call (a lookup, an Ingest batch) may wait for its answer before it fails with
    /// DEADLINE_EXCEEDED; default [`AGENCY_CALL_TIMEOUT`] (30 s).
    pub call_timeout: Duration,
    /// A fixed run identity for work that is replayed deterministically (simulations, batch
    /// re-processing): event ids are then `RUN/DOSSIER/received` and `RUN/DOSSIER/vK` (the
    /// dossier's K-th verification), so doing the same work again reports the same ids, which the
    /// server acknowledges as duplicates. `None` (the default): a random run id per client.
    pub run_id: Option<String>,
}

impl AgencyClientConfig {
    /// The default timeouts, a random run id.
    pub fn new(
        endpoint: impl Into<String>,
        tls: Option<ClientTls>,
        outbox_path: impl Into<PathBuf>,
    ) -> Self {
        AgencyClientConfig {
            endpoint: endpoint.into(),
            tls,
            outbox_path: outbox_path.into(),
            connect_timeout: AGENCY_CONNECT_TIMEOUT,
            call_timeout: AGENCY_CALL_TIMEOUT,
            run_id: None,
        }
    }

    /// Sets [`AgencyClientConfig::connect_timeout`] and [`AgencyClientConfig::call_timeout`].
    pub fn with_timeouts(mut self, connect: Duration, call: Duration) -> Self {
        self.connect_timeout = connect;
        self.call_timeout = call;
        self
    }

    /// Sets [`AgencyClientConfig::run_id`].
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }
}
