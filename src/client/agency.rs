//! The agency-facing API: open a dossier, then look people up *for that dossier*. Every dossier
//! and every verification becomes an audit event in the durable [`Outbox`] before the call
//! returns, and a background task delivers them to the server's AuditTrail, retrying with
//! backoff for as long as the server is unreachable.
//!
//! Events are checked against the reporting rules ([`crate::reporting`]) before they are queued,
//! so a dossier the server would refuse (another district, a receipt dated too far back) is an
//! error for the caller, not a surprise later. An event the server refuses all the same (its
//! directory changed, the outbox waited too long) moves to the outbox's quarantine, logged at
//! WARN and listed by [`AgencyClient::quarantined`]; delivery of everything else goes on.
//!
//! ```no_run
//! # async fn example() -> Result<(), vnpop::client::ClientError> {
//! use vnpop::client::{AgencyClient, AgencyClientConfig, DossierChannel, ClientTls, DossierInfo};
//!
//! let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-ba-dinh.pem", "certs/one-stop-ba-dinh.key")?;
//! let client = AgencyClient::open(AgencyClientConfig::new("https://localhost:50051", Some(tls), "outbox.sqlite")).await?;
//! let dossier = client
//!     .open_dossier(DossierInfo::new("000.00.01.H26-261123-0001", "1.004227", "Quận Ba Đình", "officer-017", DossierChannel::Desk))
//!     .await?;
//! let answer = dossier.lookup_by_cccd("đăng ký thường trú", "001090012345").await?;
//! client.flush(std::time::Duration::from_secs(10)).await?; // at shutdown
//! # Ok(()) }
//! ```

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

use tokio::{sync::Notify, task::JoinHandle};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::{
    outbox::{Outbox, OutboxError, QuarantinedEvent},
    AuditClient, ChannelBuilder, ClientError, ClientTls, LookupContext, RegistryClient,
    VneidClient,
};
use crate::{
    ids::now_ms,
    proto::{self, reported_event::Kind},
    reason::Reason,
    reporting::{self, ReportPolicy},
};

/// Events sent in one Ingest call.
const DELIVERY_BATCH: usize = 1_000;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the delivery task asks the server for the agency's reporting policy until it knows.
const POLICY_RETRY: Duration = Duration::from_secs(5);

/// How a dossier was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierChannel {
    /// Through the online public-service portal.
    Online,
    /// At the one-stop-shop desk.
    Desk,
}

impl DossierChannel {
    /// As the audit event records it: "online" or "desk".
    pub fn as_str(self) -> &'static str {
        match self {
            DossierChannel::Online => "online",
            DossierChannel::Desk => "desk",
        }
    }
}

/// An administrative dossier as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierInfo {
    /// The dossier's id (mã hồ sơ), e.g. "000.00.01.H26-261123-0001".
    pub id: String,
    /// Procedure code (mã thủ tục hành chính).
    pub procedure_code: String,
    /// District of the receiving unit (dossiers received before 1 July 2025; after, only the
    /// agency's former district, kept for trends).
    pub district: String,
    /// The commune-level unit that received it (since 1 July 2025): its 5-digit code or its
    /// name; empty for the agency's only commune, a province-level unit, or before the reform.
    pub commune: String,
    /// The officer who received it (and, unless [`Dossier::by_officer`], makes its lookups).
    pub officer_id: String,
    /// How it was received.
    pub channel: DossierChannel,
    /// When it was received, Unix ms; `None` for now.
    pub received_at_ms: Option<i64>,
    /// Marks synthetic load-test traffic (allowed only to agencies whose directory entry says so).
    pub load_test: bool,
}

impl DossierInfo {
    /// A dossier received now, of no commune, not load-test traffic.
    pub fn new(
        id: impl Into<String>,
        procedure_code: impl Into<String>,
        district: impl Into<String>,
        officer_id: impl Into<String>,
        channel: DossierChannel,
    ) -> Self {
        DossierInfo {
            id: id.into(),
            procedure_code: procedure_code.into(),
            district: district.into(),
            commune: String::new(),
            officer_id: officer_id.into(),
            channel,
            received_at_ms: None,
            load_test: false,
        }
    }
}

/// Connect timeout of an [`AgencyClient`] unless set: 5 s.
pub const AGENCY_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per-call timeout of an [`AgencyClient`] unless set: 30 s.
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

/// The longest event id the server accepts.
const MAX_EVENT_ID: usize = 128;

/// How a client names its events.
enum EventIds {
    /// `RUN-N`: a random run id and a client-wide counter.
    Random { run: String, counter: AtomicU64 },
    /// `RUN/DOSSIER/SUFFIX`: the same work gives the same ids.
    Deterministic { run: String },
}

impl EventIds {
    /// The id of a dossier's receipt (`verification` `None`) or of its n-th verification.
    fn next(&self, dossier_id: &str, verification: Option<u64>) -> String {
        match self {
            EventIds::Random { run, counter } => {
                format!("{run}-{}", counter.fetch_add(1, Ordering::Relaxed))
            }
            EventIds::Deterministic { run } => {
                let suffix = verification.map_or("received".to_owned(), |n| format!("v{n}"));
                let id = format!("{run}/{dossier_id}/{suffix}");
                if id.len() <= MAX_EVENT_ID {
                    id
                } else {
                    format!("{run}/#{:016x}/{suffix}", fnv1a(dossier_id.as_bytes()))
                }
            }
        }
    }
}

/// FNV-1a, 64 bits: a stable stand-in for a dossier id too long to fit in an event id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

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
            .unwrap_or_else(|_| {
                Err(ClientError::Rpc(tonic::Status::deadline_exceeded(format!(
                    "no answer within {} ms (connecting included)",
                    self.limit.as_millis()
                ))))
            })
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

/// Stops the delivery task when the last clone of the client goes away; what is still in the
/// outbox is delivered by the next client opened on the same file.
struct DeliveryTask(JoinHandle<()>);

impl Drop for DeliveryTask {
    fn drop(&mut self) {
        self.0.abort();
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
                run: crate::ids::run_id::<16>().map_err(|e| OutboxError::Task(e.to_string()))?,
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
        let delivery = tokio::spawn(deliver(Arc::clone(&shared)));
        Ok(AgencyClient {
            shared,
            _delivery: Arc::new(DeliveryTask(delivery)),
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
        let event = self.receipt(&info);
        self.check(&event)?;
        self.record(event).await?;
        Ok(self.dossier(info))
    }

    /// With a fixed [`AgencyClientConfig::run_id`]: records the dossier's receipt unless the
    /// server already holds it from an earlier run of the same work, and then returns `None`
    /// (the work for this dossier was done). The receipt is delivered at once; if the server
    /// cannot be reached it goes through the outbox like any event and the dossier is returned.
    pub async fn open_dossier_once(
        &self,
        info: DossierInfo,
    ) -> Result<Option<Dossier>, ClientError> {
        let event = self.receipt(&info);
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
            Ok(_) => Ok(Some(self.dossier(info))),
            Err(ClientError::Rpc(status)) if status.code() != tonic::Code::Unavailable => {
                Err(ClientError::Rpc(status))
            }
            Err(_) => {
                self.record(event).await?;
                Ok(Some(self.dossier(info)))
            }
        }
    }

    fn receipt(&self, info: &DossierInfo) -> proto::ReportedEvent {
        let at = info.received_at_ms.unwrap_or_else(now_ms);
        self.event(
            info,
            at,
            None,
            Kind::Dossier(proto::DossierReceived {
                procedure_code: info.procedure_code.clone(),
                channel: info.channel.as_str().to_owned(),
            }),
        )
    }

    fn dossier(&self, info: DossierInfo) -> Dossier {
        Dossier {
            client: self.clone(),
            info,
            event_time_ms: None,
            verifications: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A dossier opened earlier (by this process or an earlier run on the same outbox), to make
    /// more lookups for it: nothing is recorded, the dossier's receipt already was. (With a fixed
    /// [`AgencyClientConfig::run_id`] its verifications are numbered from 0 again, so a resumed
    /// deterministic run repeats, and deduplicates, the same ids.)
    pub fn resume_dossier(&self, info: DossierInfo) -> Dossier {
        self.dossier(info)
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
    pub(crate) fn channel(&self) -> Channel {
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

    /// The event of a dossier's receipt (`verification` `None`) or of its n-th verification.
    fn event(
        &self,
        info: &DossierInfo,
        at: i64,
        verification: Option<u64>,
        kind: Kind,
    ) -> proto::ReportedEvent {
        proto::ReportedEvent {
            event_id: self.shared.ids.next(&info.id, verification),
            ..self.event_without_id(info, at, kind)
        }
    }

    /// [`AgencyClient::event`] without an id (none is taken from the sequence).
    fn event_without_id(&self, info: &DossierInfo, at: i64, kind: Kind) -> proto::ReportedEvent {
        proto::ReportedEvent {
            event_id: String::new(),
            dossier_id: info.id.clone(),
            district: info.district.clone(),
            officer_id: info.officer_id.clone(),
            occurred_at_ms: at,
            load_test: info.load_test,
            kind: Some(kind),
            commune: info.commune.clone(),
        }
    }

    /// Commits an event to the outbox (durable when this returns) and wakes the delivery.
    async fn record(&self, event: proto::ReportedEvent) -> Result<(), ClientError> {
        self.shared.outbox.push(event).await?;
        self.shared.wake.notify_one();
        Ok(())
    }
}

/// Delivers the outbox in batches, forever; backs off exponentially while the server is
/// unreachable or refuses a whole batch (for a quota, at least as long as its RetryInfo says).
/// Events the server refuses one by one go to the quarantine with the rest of their batch
/// cleared, so they never hold up what follows.
async fn deliver(shared: Arc<Shared>) {
    let mut backoff = BACKOFF_START;
    let mut policy_asked: Option<Instant> = None;
    loop {
        if shared.known_policy().is_none()
            && policy_asked.is_none_or(|at| at.elapsed() >= POLICY_RETRY)
        {
            policy_asked = Some(Instant::now());
            if let Err(error) = shared.fetch_policy().await {
                tracing::debug!(%error, "cannot ask the server for this agency's reporting rules yet");
            }
        }
        let source = Arc::clone(&shared.outbox);
        let batch = match tokio::task::spawn_blocking(move || source.peek(DELIVERY_BATCH)).await {
            Ok(Ok(batch)) => batch,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the audit outbox");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
            Err(_) => return,
        };
        let Some(&(last, _)) = batch.last() else {
            // Nothing to send: wait for a new event (or look again in a while).
            let _ = tokio::time::timeout(Duration::from_secs(1), shared.wake.notified()).await;
            continue;
        };
        let events = batch.iter().map(|(_, event)| event.clone()).collect();
        match shared.bounded(shared.audit.ingest(events)).await {
            Ok(answer) => {
                let refused = quarantine(&batch, answer.refused);
                if let Err(error) = shared.outbox.settle(last, refused).await {
                    tracing::error!(%error, "cannot clear delivered events; they will be redelivered");
                }
                backoff = BACKOFF_START;
            }
            Err(error) => {
                let asked = match &error {
                    ClientError::Rpc(status) => status
                        .get_error_details()
                        .retry_info()
                        .and_then(|r| r.retry_delay),
                    _ => None,
                };
                let wait = asked.map_or(backoff, |asked| {
                    asked.clamp(backoff, Duration::from_secs(60))
                });
                tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "audit delivery failed; will retry");
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// The events of `batch` the server refused, as the quarantine keeps them; each logged at WARN
/// (ids and the reason only: an event's citizen number never reaches a log).
fn quarantine(
    batch: &[(i64, proto::ReportedEvent)],
    refused: Vec<proto::EventRefusal>,
) -> Vec<QuarantinedEvent> {
    let at = now_ms();
    refused
        .into_iter()
        .filter_map(|refusal| {
            let (_, event) = batch.get(refusal.index as usize)?;
            tracing::warn!(
                event_id = %event.event_id,
                dossier = %event.dossier_id,
                reason = %refusal.reason,
                field = %refusal.field,
                message = %refusal.message,
                "vnpop refused an audit event; it is kept in the outbox's quarantine and the rest is delivered"
            );
            Some(QuarantinedEvent {
                event: event.clone(),
                code: crate::reason::code_from_name(&refusal.code),
                reason: Reason::from(refusal.reason),
                field: refusal.field,
                message: refusal.message,
                quarantined_at_ms: at,
            })
        })
        .collect()
}

/// A dossier being processed: every lookup made through it is recorded against it.
#[derive(Clone, Debug)]
pub struct Dossier {
    client: AgencyClient,
    info: DossierInfo,
    event_time_ms: Option<i64>,
    /// Verifications recorded for this dossier so far (shared by clones).
    verifications: Arc<AtomicU64>,
}

/// The outcome label recorded for a call's result.
fn outcome<T>(result: &Result<T, ClientError>, ok: impl FnOnce(&T) -> String) -> String {
    match result {
        Ok(answer) => ok(answer),
        Err(error) => snake_case(&format!("{:?}", error.code())),
    }
}

/// "NotFound" → "not_found".
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

impl Dossier {
    /// The dossier as it was opened.
    pub fn info(&self) -> &DossierInfo {
        &self.info
    }

    /// The same dossier, with the following verifications made (and recorded) by another
    /// officer of the unit.
    pub fn by_officer(mut self, officer_id: impl Into<String>) -> Self {
        self.info.officer_id = officer_id.into();
        self
    }

    /// Records the following verifications at this time (Unix ms) instead of now: for
    /// simulations, whose time is not the wall clock.
    pub fn set_event_time(&mut self, at_ms: i64) {
        self.event_time_ms = Some(at_ms);
    }

    fn context(&self, purpose: &str) -> LookupContext {
        LookupContext {
            dossier_id: self.info.id.clone(),
            purpose: purpose.to_owned(),
            officer_id: self.info.officer_id.clone(),
            load_test: self.info.load_test,
        }
    }

    /// The verification event this dossier reports for a call.
    fn verification(
        &self,
        id: Option<u64>,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        outcome: String,
    ) -> proto::ReportedEvent {
        let at = self.event_time_ms.unwrap_or_else(now_ms);
        // An input too long to be a number names no citizen: reported as unknown.
        let cccd = cccd.trim();
        let cccd = if cccd.len() > reporting::MAX_CCCD_CHARS {
            ""
        } else {
            cccd
        };
        let kind = Kind::Verification(proto::VerificationMade {
            rpc: rpc.to_owned(),
            outcome,
            purpose: purpose.to_owned(),
            cccd_number: cccd.to_owned(),
        });
        match id {
            Some(n) => self.client.event(&self.info, at, Some(n), kind),
            // A draft, to check before the call: the id is the client's own and always valid.
            None => proto::ReportedEvent {
                event_id: "draft".into(),
                ..self.client.event_without_id(&self.info, at, kind)
            },
        }
    }

    /// Checks, before a call is made, that its report would be accepted: a call whose record
    /// would be refused is not made.
    fn precheck(&self, rpc: &str, purpose: &str, cccd: &str) -> Result<(), ClientError> {
        self.client
            .check(&self.verification(None, rpc, purpose, cccd, "pending".into()))
    }

    async fn verified(
        &self,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        outcome: String,
    ) -> Result<(), ClientError> {
        let n = self.verifications.fetch_add(1, Ordering::Relaxed);
        let event = self.verification(Some(n), rpc, purpose, cccd, outcome);
        self.client.check(&event)?;
        self.client.record(event).await
    }

    /// Makes the call `rpc` for this dossier and records it, as every verification here is:
    /// refused before the call if its record would be; `call` is given the context to send, and
    /// `label` names the outcome of a success. For callers that make the RPC themselves (the
    /// gateway passes the server's answer on as it came).
    pub(crate) async fn recorded<T, Fut>(
        &self,
        rpc: &str,
        purpose: &str,
        cccd: &str,
        call: impl FnOnce(LookupContext) -> Fut,
        label: impl FnOnce(&T) -> String,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        self.precheck(rpc, purpose, cccd)?;
        let result = self
            .client
            .shared
            .bounded(call(self.context(purpose)))
            .await;
        let label = outcome(&result, label);
        self.verified(rpc, purpose, cccd, label).await?;
        result
    }

    /// [`RegistryClient::lookup_by_cccd`] for this dossier, recorded.
    pub async fn lookup_by_cccd(
        &self,
        purpose: &str,
        cccd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        let registry = &self.client.shared.registry;
        self.recorded(
            "LookupByCccd",
            purpose,
            cccd_number,
            |context| async move { registry.lookup_by_cccd(&context, cccd_number).await },
            |_| "found".into(),
        )
        .await
    }

    /// [`RegistryClient::lookup_by_cmnd`] for this dossier, recorded (with the CCCD number found).
    pub async fn lookup_by_cmnd(
        &self,
        purpose: &str,
        cmnd_number: &str,
    ) -> Result<proto::LookupResponse, ClientError> {
        self.precheck("LookupByCmnd", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .registry
                    .lookup_by_cmnd(&self.context(purpose), cmnd_number),
            )
            .await;
        let label = outcome(&result, |_| "found".into());
        let cccd = result
            .as_ref()
            .ok()
            .and_then(|r| r.citizen.as_ref())
            .map(|c| c.cccd_number.clone());
        self.verified("LookupByCmnd", purpose, &cccd.unwrap_or_default(), label)
            .await?;
        result
    }

    /// [`RegistryClient::verify_demographics`] for this dossier, recorded ("match" or "no_match").
    pub async fn verify_demographics(
        &self,
        purpose: &str,
        cccd_number: &str,
        declared: proto::Declared,
    ) -> Result<proto::VerifyDemographicsResponse, ClientError> {
        self.precheck("VerifyDemographics", purpose, cccd_number)?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.registry.verify_demographics(
                &self.context(purpose),
                cccd_number,
                declared,
            ))
            .await;
        let label = outcome(&result, |r| {
            if r.matched { "match" } else { "no_match" }.into()
        });
        self.verified("VerifyDemographics", purpose, cccd_number, label)
            .await?;
        result
    }

    /// [`RegistryClient::verify_qr`] for this dossier, recorded with its verdict.
    pub async fn verify_qr(
        &self,
        purpose: &str,
        qr_payload: &str,
    ) -> Result<proto::VerifyQrResponse, ClientError> {
        self.precheck("VerifyQr", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .registry
                    .verify_qr(&self.context(purpose), qr_payload),
            )
            .await;
        let label = outcome(&result, |r| {
            proto::QrVerdict::try_from(r.verdict)
                .map_or("unspecified", |v| v.as_str_name())
                .trim_start_matches("QR_VERDICT_")
                .to_lowercase()
        });
        let cccd = qr_payload
            .split('|')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        self.verified("VerifyQr", purpose, &cccd, label).await?;
        result
    }

    /// Starts a VNeID authentication of the citizen `cccd_number` for this dossier.
    pub async fn start_vneid(
        &self,
        purpose: &str,
        cccd_number: &str,
        level: proto::VneidLevel,
    ) -> Result<proto::StartAuthenticationResponse, ClientError> {
        self.precheck("StartAuthentication", purpose, cccd_number)?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(
                shared
                    .vneid
                    .start(&self.context(purpose), cccd_number, level),
            )
            .await;
        let label = outcome(&result, |_| "challenge".into());
        self.verified("StartAuthentication", purpose, cccd_number, label)
            .await?;
        result
    }

    /// Answers a VNeID challenge started for this dossier; `chip_read` is required at level 2.
    pub async fn complete_vneid(
        &self,
        purpose: &str,
        challenge_id: &str,
        passcode: &str,
        totp_code: &str,
        chip_read: Option<proto::ChipRead>,
    ) -> Result<proto::CompleteAuthenticationResponse, ClientError> {
        self.precheck("CompleteAuthentication", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.vneid.complete(
                &self.context(purpose),
                challenge_id,
                passcode,
                totp_code,
                chip_read,
            ))
            .await;
        let label = outcome(&result, |_| "authenticated".into());
        // The citizen is the challenge's; the answer names them only inside the token.
        self.verified("CompleteAuthentication", purpose, "", label)
            .await?;
        result
    }

    /// Verifies a chip read (passive authentication and comparison with the database).
    pub async fn verify_chip(
        &self,
        purpose: &str,
        chip_read: proto::ChipRead,
    ) -> Result<proto::VerifyChipReadResponse, ClientError> {
        self.precheck("VerifyChipRead", purpose, "")?;
        let shared = &self.client.shared;
        let result = shared
            .bounded(shared.vneid.verify_chip(&self.context(purpose), chip_read))
            .await;
        let label = outcome(&result, |r| {
            proto::ChipVerdict::try_from(r.verdict)
                .map_or("unspecified", |v| v.as_str_name())
                .trim_start_matches("CHIP_VERDICT_")
                .to_lowercase()
        });
        let cccd = result
            .as_ref()
            .map(|r| r.document_number.clone())
            .unwrap_or_default();
        self.verified("VerifyChipRead", purpose, &cccd, label)
            .await?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_event_ids_depend_on_the_work_only() {
        let ids = EventIds::Deterministic {
            run: "sim-1".into(),
        };
        assert_eq!(ids.next("H35.00-1", None), "sim-1/H35.00-1/received");
        assert_eq!(ids.next("H35.00-1", Some(0)), "sim-1/H35.00-1/v0");
        let long = "d".repeat(200);
        let id = ids.next(&long, Some(3));
        assert!(id.len() <= MAX_EVENT_ID, "{id}");
        assert_eq!(id, ids.next(&long, Some(3)));
        assert_ne!(id, ids.next(&"e".repeat(200), Some(3)));
    }

    /// A server that accepts connections and never answers: a lookup fails after the connect
    /// and call timeouts, recorded as such, instead of waiting for ever.
    #[tokio::test]
    async fn calls_to_a_silent_server_end_at_the_timeouts() {
        use crate::client::channel::tests::{development_tls, silent_server};
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
        assert_eq!(error.origin(), crate::client::Origin::Connection, "{error}");
        // The receipt and the failed lookup both wait in the outbox.
        assert_eq!(client.pending().await.unwrap(), 2);
        silent.abort();
    }

    #[test]
    fn random_event_ids_count_up() {
        let ids = EventIds::Random {
            run: "r".into(),
            counter: AtomicU64::new(0),
        };
        assert_eq!(ids.next("a", None), "r-0");
        assert_eq!(ids.next("a", None), "r-1");
    }
}
