//! The gateway's health: whether the server it forwards to answers, and whether its outbox
//! takes events.
//!
//! A probe task asks the server who the agency is (WhoAmI: mTLS identity checked, nothing
//! recorded, the server's cheapest answer) every `--health-interval`, within the same time, and
//! keeps the answer. `/health` and the gRPC health service (`grpc.health.v1.Health`) both read
//! [`Status::of`] that and the outbox:
//! - `SERVING`: the server answers and the outbox takes events;
//! - `DEGRADED`: the server does not answer (or has not yet been asked) but the outbox takes
//!   events — dossiers open and are recorded, verifications fail UNAVAILABLE;
//! - `NOT_SERVING`: the outbox cannot be read (HTTP 503).
//!
//! gRPC health: the overall service `""` and the forwarded services are SERVING only when the
//! gateway is; `vnpop.v1.AgencyGateway` (opening dossiers, answered here) while the outbox takes
//! events.

use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::task::JoinHandle;
use tonic_health::{server::HealthReporter, ServingStatus};

use super::Gateway;

/// What the last probe of the server found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Not asked yet (the first probe runs at start).
    Unknown = 0,
    Reachable = 1,
    Unreachable = 2,
}

impl Reach {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reach::Unknown => "UNKNOWN",
            Reach::Reachable => "REACHABLE",
            Reach::Unreachable => "UNREACHABLE",
        }
    }
}

/// The server's reachability as last probed, shared by the probe and the health answers.
#[derive(Debug, Default)]
pub(crate) struct Upstream(AtomicU8);

impl Upstream {
    pub(crate) fn get(&self) -> Reach {
        match self.0.load(Ordering::Relaxed) {
            1 => Reach::Reachable,
            2 => Reach::Unreachable,
            _ => Reach::Unknown,
        }
    }

    fn set(&self, reach: Reach) {
        self.0.store(reach as u8, Ordering::Relaxed);
    }
}

/// The gateway's state, as `/health` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Serving,
    Degraded,
    NotServing,
}

impl Status {
    /// The one rule both health answers follow (see the module documentation).
    pub(crate) fn of(reach: Reach, outbox_accepting: bool) -> Status {
        match (outbox_accepting, reach) {
            (false, _) => Status::NotServing,
            (true, Reach::Reachable) => Status::Serving,
            (true, Reach::Unknown | Reach::Unreachable) => Status::Degraded,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Serving => "SERVING",
            Status::Degraded => "DEGRADED",
            Status::NotServing => "NOT_SERVING",
        }
    }
}

/// The forwarded services: SERVING only when the server answers.
const FORWARDED: [&str; 4] = [
    "",
    "vnpop.v1.CitizenRegistry",
    "vnpop.v1.VneidAuthentication",
    "vnpop.v1.ChipVerification",
];
/// Answered by the gateway itself (the outbox and the dossier index).
const OWN: &str = "vnpop.v1.AgencyGateway";

async fn publish(reporter: &HealthReporter, status: Status) {
    let forwarded = if status == Status::Serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    for service in FORWARDED {
        reporter.set_service_status(service, forwarded).await;
    }
    let own = if status == Status::NotServing {
        ServingStatus::NotServing
    } else {
        ServingStatus::Serving
    };
    reporter.set_service_status(OWN, own).await;
}

/// Probes the server every `interval` (the first at once) until aborted, keeping
/// [`Gateway::upstream`] and the gRPC health service up to date. `interval` is not zero
/// (checked at start).
pub(crate) fn spawn_probe(
    gateway: Arc<Gateway>,
    reporter: HealthReporter,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        publish(&reporter, Status::of(Reach::Unknown, true)).await;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let answered =
                tokio::time::timeout(interval, gateway.client().registry().who_am_i()).await;
            let reach = match answered {
                Ok(Ok(_)) => Reach::Reachable,
                Ok(Err(_)) | Err(_) => Reach::Unreachable,
            };
            let before = gateway.upstream.get();
            if reach != before {
                match reach {
                    Reach::Reachable => tracing::info!("gateway: the server answers"),
                    _ => tracing::warn!("gateway: the server does not answer (health DEGRADED)"),
                }
            }
            gateway.upstream.set(reach);
            let outbox = gateway.client().pending().await.is_ok();
            publish(&reporter, Status::of(reach, outbox)).await;
        }
    })
}
