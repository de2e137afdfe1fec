//! Prometheus metrics: calls and their latency per RPC and status code, the store's size, audit
//! events written and faults injected, served as text on a separate port
//! (`--metrics-listen ADDR`, off by default; see [`http`]).
//!
//! The hot path allocates nothing: labels are `&'static str` from the [`crate::methods`] table
//! and the status code names, and each (method, code) pair's counter and histogram are looked up
//! in the metric families once, then kept in a fixed table of `OnceLock`s indexed by method and
//! code. Recording a call is then an atomic increment and a histogram observation.

pub mod http;
mod layer;

use std::sync::{Mutex, OnceLock};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

pub use layer::MetricsLayer;

use crate::{
    audit::AuditMemory,
    methods::{self, Method},
};

/// The 17 gRPC status codes, by number.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    rpc: &'static str,
    code: &'static str,
}

/// The part of the audit log's memory a gauge counts.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemoryLabels {
    part: &'static str,
}

/// What a scrape reports of the audit log.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFigures {
    /// Events this process stored ([`AuditLog::events_written`](crate::audit::AuditLog::events_written)).
    pub events_written: u64,
    /// What its structures hold in memory.
    pub memory: AuditMemory,
    /// Events acknowledged but not yet applied to the query side.
    pub projection_behind: u64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    kind: &'static str,
    rpc: &'static str,
}

type HistogramFamily = Family<CallLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The per-(method, code) handles, resolved on first use.
type CallHandles = OnceLock<(Counter, Histogram)>;

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: HistogramFamily,
    faults: Family<FaultLabels, Counter>,
    citizens: Gauge,
    audit_events: Counter,
    audit_memory: Family<MemoryLabels, Gauge>,
    audit_behind: Gauge,
    /// `events_written` of the audit log at the last scrape.
    audit_seen: Mutex<u64>,
    /// `[method index][code]`, with one row more for unknown methods.
    handles: Box<[[CallHandles; 17]]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vnpop");
        let calls = Family::<CallLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let faults = Family::<FaultLabels, Counter>::default();
        let citizens = Gauge::default();
        let audit_events = Counter::default();
        let audit_memory = Family::<MemoryLabels, Gauge>::default();
        let audit_behind = Gauge::default();
        registry.register(
            "grpc_requests",
            "gRPC calls answered, by method and status code",
            calls.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "Time from request to response headers, by method and status code",
            durations.clone(),
        );
        registry.register(
            "faults_injected",
            "Faults injected by kind (latency, unavailable, deadline_exceeded, resource_exhausted, internal, overload_shed) and method",
            faults.clone(),
        );
        registry.register("store_citizens", "Citizens in the store", citizens.clone());
        registry.register(
            "audit_events_written",
            "Events this process stored in the audit log",
            audit_events.clone(),
        );
        registry.register(
            "audit_memory_bytes",
            "What the audit log's structures hold in memory, by part (stored_ids: the dedup map; dossiers: every dossier's counts; unverified: the unverified list; rollups: counters and texts), estimated",
            audit_memory.clone(),
        );
        registry.register(
            "audit_projection_behind_events",
            "Audit events acknowledged but not yet applied to the query side (auditor queries wait for them)",
            audit_behind.clone(),
        );
        let handles = (0..=methods::METHODS.len())
            .map(|_| std::array::from_fn(|_| OnceLock::new()))
            .collect();
        Metrics {
            registry,
            calls,
            durations,
            faults,
            citizens,
            audit_events,
            audit_memory,
            audit_behind,
            audit_seen: Mutex::new(0),
            handles,
        }
    }

    /// Records one answered call. `method` is an index into [`methods::METHODS`] (`None`:
    /// unknown path); `code` a gRPC status code number.
    pub(crate) fn record_call(&self, method: Option<usize>, code: usize, seconds: f64) {
        let code = code.min(CODE_NAMES.len() - 1);
        let row = method.unwrap_or(methods::METHODS.len());
        let Some(slot) = self.handles.get(row).map(|r| &r[code]) else {
            return;
        };
        let (counter, histogram) = slot.get_or_init(|| {
            let m: &Method = method.map_or(&methods::UNKNOWN, |i| &methods::METHODS[i]);
            let labels = CallLabels {
                rpc: m.name,
                code: CODE_NAMES[code],
            };
            (
                self.calls.get_or_create(&labels).clone(),
                self.durations.get_or_create(&labels).clone(),
            )
        });
        counter.inc();
        histogram.observe(seconds);
    }

    /// Counts one injected fault.
    pub(crate) fn fault_injected(&self, kind: &'static str, rpc: &'static str) {
        self.faults.get_or_create(&FaultLabels { kind, rpc }).inc();
    }

    /// The exposition text, after bringing the store size and the audit figures up to date.
    pub fn encode(&self, citizens: usize, audit: AuditFigures) -> String {
        self.citizens.set(citizens as i64);
        let memory = audit.memory;
        for (part, bytes) in [
            ("stored_ids", memory.stored_ids),
            ("dossiers", memory.state.dossiers),
            ("unverified", memory.state.unverified),
            ("rollups", memory.state.rollups),
        ] {
            self.audit_memory
                .get_or_create(&MemoryLabels { part })
                .set(bytes as i64);
        }
        self.audit_behind.set(audit.projection_behind as i64);
        let audit_events_written = audit.events_written;
        {
            let mut seen = self.audit_seen.lock().unwrap_or_else(|e| e.into_inner());
            if audit_events_written > *seen {
                self.audit_events.inc_by(audit_events_written - *seen);
                *seen = audit_events_written;
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_calls_faults_store_and_audit() {
        let metrics = Metrics::new();
        let lookup = methods::index_of_path("/vnpop.v1.CitizenRegistry/LookupByCccd");
        metrics.record_call(lookup, 0, 0.002);
        metrics.record_call(lookup, 0, 0.004);
        metrics.record_call(lookup, 14, 0.001);
        metrics.record_call(None, 12, 0.001);
        metrics.fault_injected("unavailable", "LookupByCccd");
        let figures = |events_written| AuditFigures {
            events_written,
            memory: AuditMemory {
                stored_ids: 1_000,
                ..AuditMemory::default()
            },
            projection_behind: 5,
        };
        let text = metrics.encode(42, figures(7));
        assert!(
            text.contains(r#"vnpop_grpc_requests_total{rpc="LookupByCccd",code="OK"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"vnpop_grpc_requests_total{rpc="LookupByCccd",code="UNAVAILABLE"} 1"#)
        );
        assert!(text.contains(r#"vnpop_grpc_requests_total{rpc="unknown",code="UNIMPLEMENTED"} 1"#));
        assert!(text.contains(
            r#"vnpop_grpc_request_duration_seconds_count{rpc="LookupByCccd",code="OK"} 2"#
        ));
        assert!(text
            .contains(r#"vnpop_faults_injected_total{kind="unavailable",rpc="LookupByCccd"} 1"#));
        assert!(text.contains("vnpop_store_citizens 42"));
        assert!(text.contains("vnpop_audit_events_written_total 7"));
        assert!(
            text.contains(r#"vnpop_audit_memory_bytes{part="stored_ids"} 1000"#),
            "{text}"
        );
        assert!(text.contains("vnpop_audit_projection_behind_events 5"));
        let text = metrics.encode(42, figures(9));
        assert!(text.contains("vnpop_audit_events_written_total 9"));
    }
}
