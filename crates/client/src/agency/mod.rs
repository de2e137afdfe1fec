//! The agency-facing API: open a dossier, then look people up *for that dossier*. Every dossier
//! and every verification becomes an audit event in the durable [`Outbox`] before the call
//! returns, and a background task delivers them to the server's AuditTrail, retrying with
//! backoff for as long as the server is unreachable.
//!
//! Events are checked against the reporting rules ([`vnpop_core::reporting`]) before they are queued,
//! so a dossier the server would refuse (another district, a receipt dated too far back) is an
//! error for the caller, not a surprise later. An event the server refuses all the same (its
//! directory changed, the outbox waited too long) moves to the outbox's quarantine, logged at
//! WARN and listed by [`AgencyClient::quarantined`]; delivery of everything else goes on.
//!
//! ```no_run
//! # async fn example() -> Result<(), vnpop_client::ClientError> {
//! use vnpop_client::{AgencyClient, AgencyClientConfig, DossierChannel, ClientTls, DossierInfo};
//!
//! let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-phuong-ba-dinh.pem", "certs/one-stop-phuong-ba-dinh.key")?;
//! let client = AgencyClient::open(AgencyClientConfig::new("https://localhost:50051", Some(tls), "outbox.sqlite")).await?;
//! let dossier = client
//!     .open_dossier(DossierInfo::new("000.00.01.H26-261123-0001", "1.004227", "Quận Ba Đình", "officer-017", DossierChannel::Desk))
//!     .await?;
//! let answer = dossier.lookup_by_cccd("đăng ký thường trú", "001090012345").await?;
//! client.flush(std::time::Duration::from_secs(10)).await?; // at shutdown
//! # Ok(()) }
//! ```
//!
//! Inside: this file holds [`AgencyClient`] and the state its clones share; `config` its
//! settings, `info` what a dossier is ([`DossierInfo`]), `dossier` the calls made for one
//! ([`Dossier`]), `events` the audit events they report and their ids, `delivery` the task that
//! sends the outbox to the server.

mod config;
mod delivery;
mod dossier;
mod events;
mod info;

use std::{
    sync::{atomic::AtomicU64, Arc, RwLock},
    time::Duration,
};

use tokio::sync::Notify;
use tonic::transport::Channel;

pub use self::{
    config::{AgencyClientConfig, AGENCY_CALL_TIMEOUT, AGENCY_CONNECT_TIMEOUT},
    dossier::Dossier,
    info::{DossierChannel, DossierInfo},
};
use self::{
    delivery::DeliveryTask,
    events::{EventIds, Which},
};
use super::{
    error::CallTimedOut,
    outbox::{Outbox, OutboxError, QuarantinedEvent},
    AuditClient, ChannelBuilder, ClientError, RegistryClient, VneidClient,
};
use crate::{
    ids::now_ms,
    proto,
    reporting::{self, ReportPolicy},
};

/// What every clone of an [`AgencyClient`] (and every [`Dossier`] it opened) shares.
struct Shared {
    /// The connection the clients below share, for calls made without them (the gateway's).
    channel: Channel,
    registry: RegistryClient,
    vneid: VneidClient,
    audit: AuditClient,
    outbox: Arc<Outbox>,
    wake: Arc<Notify>,
    ids: EventIds,
    /// What the server's directory lets this agency report, once the server told us.
    policy: RwLock<Option<ReportPolicy>>,
    /// The longest a call may take, connecting included: connect plus call timeout.
    limit: Duration,
}

impl Shared {
    fn known_policy(&self) -> Option<ReportPolicy> {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `call`, failed with DEADLINE_EXCEEDED if it takes longer than [`Shared::limit`]. The
    /// channel's own call timeout does not cover (re)connecting, which tonic does before the
    /// call starts: a server that accepts connections and never answers would hold every call,
    /// and the delivery, for ever.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        tokio::time::timeout(self.limit, call)
            .await
            .unwrap_or_else(|_| Err(ClientError::transport(CallTimedOut(self.limit.as_millis()))))
    }

    /// Asks the server (WhoAmI) and keeps the answer.
    async fn fetch_policy(&self) -> Result<ReportPolicy, ClientError> {
        let me = self.bounded(self.registry.who_am_i()).await?;
        let policy = ReportPolicy::from_who_am_i(&me);
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Some(policy.clone());
        Ok(policy)
    }
}

/// An agency's connection to vnpop with a durable audit outbox. Cheap to clone.
#[derive(Clone)]
pub struct AgencyClient {
    shared: Arc<Shared>,
    /// Held only so the delivery task stops with the last clone.
    _delivery: Arc<DeliveryTask>,
}

impl std::fmt::Debug for AgencyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgencyClient")
            .field("outbox", &self.shared.outbox)
            .field("report_policy", &self.shared.known_policy())
            .finish_non_exhaustive()
    }
}

impl AgencyClient {
    /// Opens the outbox and starts delivering what it holds. Does not need the server to be up:
    /// the connection is made lazily and re-made after outages.
    pub async fn open(config: AgencyClientConfig) -> Result<Self, ClientError> {
        let path = config.outbox_path.clone();
        let outbox = Arc::new(tokio::task::spawn_blocking(move || Outbox::open(&path)).await??);
        let channel = ChannelBuilder::new(config.endpoint, config.tls)
            .connect_timeout(config.connect_timeout)
            .call_timeout(config.call_timeout)
            .connect_lazy()?;
        let ids = match config.run_id {
            Some(run) => EventIds::Deterministic { run },
            None => EventIds::Random {
                run: vnpop_core::ids::run_id::<16>()
                    .map_err(|e| OutboxError::Task(e.to_string()))?,
                counter: AtomicU64::new(0),
            },
        };
        let shared = Arc::new(Shared {
            channel: channel.clone(),
            registry: RegistryClient::from_channel(channel.clone()),
            vneid: VneidClient::from_channel(channel.clone()),
            audit: AuditClient::from_channel(channel),
            outbox,
            wake: Arc::new(Notify::new()),
            ids,
            policy: RwLock::new(None),
            limit: config.connect_timeout + config.call_timeout,
        });
        let delivery = DeliveryTask::start(Arc::clone(&shared));
        Ok(AgencyClient {
            shared,
            _delivery: Arc::new(delivery),
        })
    }

    /// What the server's agency directory lets this agency report (districts, how late, load
    /// tests), asked of the server once (WhoAmI) and kept; the delivery task asks as soon as the
    /// server can be reached. Until it is known, events are checked only against the rules that
    /// hold for every agency.
    pub async fn report_policy(&self) -> Result<ReportPolicy, ClientError> {
        match self.shared.known_policy() {
            Some(policy) => Ok(policy),
            None => self.shared.fetch_policy().await,
        }
    }

    /// The events the server refused, set aside in the outbox's quarantine (oldest first), with
    /// the server's reason for each. They are kept, and no longer delivered.
    pub async fn quarantined(&self) -> Result<Vec<QuarantinedEvent>, ClientError> {
        let outbox = Arc::clone(&self.shared.outbox);
        Ok(tokio::task::spawn_blocking(move || outbox.quarantined()).await??)
    }

    /// Checks an event against the reporting rules before it is queued or sent.
    fn check(&self, event: &proto::ReportedEvent) -> Result<(), ClientError> {
        match self.shared.known_policy() {
            Some(policy) => policy.check(event, now_ms()).map(drop)?,
            None => reporting::check_fields(event)?,
        }
        Ok(())
    }

    /// Records that a dossier was received and returns it, to make lookups for it. A receipt the
    /// server would refuse is an error ([`ClientError::EventRefused`]) and nothing is recorded.
    pub async fn open_dossier(&self, info: DossierInfo) -> Result<Dossier, ClientError> {
        let base = self.shared.ids.base(&info.id);
        let event = self.receipt(&info, &base);
        self.check(&event)?;
        self.record(event).await?;
        Ok(Dossier::new(self.clone(), info, base))
    }

    /// With a fixed [`AgencyClientConfig::run_id`]: records the dossier's receipt unless the
    /// server already holds it from an earlier run of the same work, and then returns `None`
    /// (the work for this dossier was done). The receipt is delivered at once, not through the
    /// outbox: if the call fails in transport ([`Origin::Connection`](super::Origin)) nothing is
    /// recorded here and the error is returned, so the caller can wait for the server and call
    /// again with the same `info` (a receipt that did reach the log is then a duplicate).
    pub async fn open_dossier_once(
        &self,
        info: DossierInfo,
    ) -> Result<Option<Dossier>, ClientError> {
        let base = self.shared.ids.base(&info.id);
        let event = self.receipt(&info, &base);
        self.check(&event)?;
        let shared = &self.shared;
        match shared
            .bounded(shared.audit.ingest(vec![event.clone()]))
            .await
        {
            Ok(answer) if answer.duplicates > 0 => Ok(None),
            Ok(mut answer) if !answer.refused.is_empty() => Err(ClientError::refused_by_server(
                answer.refused.swap_remove(0),
            )),
            Ok(_) => Ok(Some(Dossier::new(self.clone(), info, base))),
            Err(error) => Err(error),
        }
    }

    /// The receipt of the dossier `info`, whose events are named under `base`.
    fn receipt(&self, info: &DossierInfo, base: &str) -> proto::ReportedEvent {
        let at = info.received_at_ms.unwrap_or_else(now_ms);
        let id = events::event_id(base, Which::Receipt);
        events::event(id, info, at, events::receipt(info))
    }

    /// A dossier opened earlier (by this process or an earlier run on the same outbox), to make
    /// more lookups for it: nothing is recorded, the dossier's receipt already was. (With a fixed
    /// [`AgencyClientConfig::run_id`] its verifications have the ids they had, numbered from 0
    /// again, so a resumed deterministic run repeats the same calls and reports, which the
    /// server records once.)
    pub fn resume_dossier(&self, info: DossierInfo) -> Dossier {
        let base = self.shared.ids.base(&info.id);
        Dossier::new(self.clone(), info, base)
    }

    /// The registry connection, for calls that concern no dossier (`who_am_i`).
    pub fn registry(&self) -> &RegistryClient {
        &self.shared.registry
    }

    /// The VNeID and chip connection, for calls that concern no dossier (JWKS, introspection).
    pub fn vneid(&self) -> &VneidClient {
        &self.shared.vneid
    }

    /// The connection to the server, for calls made through [`Dossier::recorded`].
    pub fn channel(&self) -> Channel {
        self.shared.channel.clone()
    }

    /// Waits until every recorded event has been delivered, or `timeout` passes (an error that
    /// says how many are still waiting; they stay in the outbox).
    pub async fn flush(&self, timeout: Duration) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = self.pending().await?;
            if pending == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::FlushTimeout { pending });
            }
            self.shared.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Events recorded but not yet acknowledged by the server.
    pub async fn pending(&self) -> Result<u64, ClientError> {
        let outbox = Arc::clone(&self.shared.outbox);
        Ok(tokio::task::spawn_blocking(move || outbox.len()).await??)
    }

    /// Commits an event to the outbox (durable when this returns) and wakes the delivery.
    async fn record(&self, event: proto::ReportedEvent) -> Result<(), ClientError> {
        self.shared.outbox.push(event).await?;
        self.shared.wake.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A server that accepts connections and never answers: a lookup fails after the connect
    /// and call timeouts, recorded as such, instead of waiting for ever.
    #[tokio::test]
    async fn calls_to_a_silent_server_end_at_the_timeouts() {
        use crate::channel::tests::{development_tls, silent_server};
        let (port, silent) = silent_server().await;
        let dir = tempfile::tempdir().unwrap();
        let config = AgencyClientConfig::new(
            format!("https://localhost:{port}"),
            Some(development_tls()),
            dir.path().join("outbox.sqlite"),
        )
        .with_timeouts(Duration::from_millis(200), Duration::from_millis(300));
        let client = AgencyClient::open(config).await.unwrap();
        let dossier = client
            .open_dossier(DossierInfo::new(
                "H26-1",
                "1.004227",
                "Quận Ba Đình",
                "officer-017",
                DossierChannel::Desk,
            ))
            .await
            .unwrap();
        let started = Instant::now();
        let error = tokio::time::timeout(
            Duration::from_secs(10),
            dossier.lookup_by_cccd("cư trú", "001090012345"),
        )
        .await
        .expect("the lookup ends")
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{error}");
        assert_eq!(error.code(), tonic::Code::DeadlineExceeded, "{error}");
        assert_eq!(error.origin(), crate::Origin::Connection, "{error}");
        // The receipt and the failed lookup both wait in the outbox.
        assert_eq!(client.pending().await.unwrap(), 2);
        silent.abort();
    }
}
