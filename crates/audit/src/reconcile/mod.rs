//! Reconciliation: what agencies reported against what the server observed serving.
//!
//! Every verification appears in the log twice when all is well: once reported by the agency's
//! client library (source `client`) and once recorded by the server as it answered (source
//! `server`). Reconciling a period compares the two, dossier by dossier and RPC by RPC, for the
//! dossiers received in the period:
//!
//! - more served than reported: the agency looked someone up without reporting it (a lookup made
//!   outside the client library, or a report lost before it reached the outbox);
//! - more reported than served: the agency reported verifications that never happened, among
//!   the reports whose outcome says the call reached the server (a report of a call that failed
//!   with UNAVAILABLE is not expected on the server);
//! - served for a dossier the agency never reported receiving, in the period;
//! - reported failures the server contradicts: a call the agency says failed before reaching
//!   the server (`unavailable`, `deadline_exceeded`, …) at a time the server was answering that
//!   same agency's other calls (within [`FAILURE_WINDOW`] either side). A failure report adds
//!   nothing to the served figures, but an agency can use it to explain away a dossier it never
//!   looked up;
//! - reports that arrived late: accepted, but received more than [`LATE_AFTER`] after the time
//!   they say they happened (the directory's backdate limit refuses older ones outright). The
//!   client library delivers within seconds while the server is up, so a late report is either a
//!   delivery held up by an outage (then many of the agency's reports arrive together) or an
//!   event written down after the fact.
//!
//! Counting per (dossier, RPC) rather than per event is what makes this exact without a shared
//! id: the client cannot know the server's event ids, and the server records one event per call.
//! The check reads every verification event of the log once (the client's and the server's copy
//! of a lookup can be months apart in simulations, whose client times are simulated), so it is a
//! batch job: about 0.4 s of CPU per million events, the log read in two ranges on two threads
//! (`cargo bench --bench audit`, 10 million events: about 650,000 dossiers a second).

//!
//! The module's files: the query and its findings here; `scope` (the period's dossiers, read
//! once), `check/` (the scan, in parallel ranges, and the comparison), `tally` (the per-dossier
//! counts, and how two ranges' counts merge), `findings` (the bounded list of the oldest
//! findings).

mod check;
mod findings;
mod scope;
mod tally;

use std::{collections::HashMap, time::Duration};

use crate::vocabulary::Rpc;

/// How near a served call of the same agency must be to a reported failure for the server to
/// contradict it: the clock skew tolerated on reports ([`crate::reporting::MAX_AHEAD`]).
pub const FAILURE_WINDOW: Duration = crate::reporting::MAX_AHEAD;

/// How long after it happened a report may arrive before it is a `reported_late` finding. The
/// client library delivers within seconds while the server is up and retries with a backoff of
/// at most a minute, so an hour is well beyond any delivery that went as designed; the
/// directory's backdate limit (7 days by default) is where a report stops being accepted at all.
pub const LATE_AFTER: Duration = Duration::from_secs(3600);

/// Which dossiers to reconcile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileQuery {
    /// Dossiers received in `[from_ms, to_ms)`.
    pub from_ms: i64,
    /// End of the period (Unix ms, exclusive).
    pub to_ms: i64,
    /// Only this agency's (any when `None`).
    pub agency_id: Option<String>,
    /// Count load-test dossiers too (left out by default).
    pub include_load_test: bool,
    /// At most this many findings are kept, the oldest (every one is counted); 0: all of them.
    pub max_findings: usize,
}

/// What kind of discrepancy a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    ServedNotReported,
    ReportedNotServed,
    DossierNotReported,
    ReportedFailureUnconfirmed,
    ReportedLate,
}

impl FindingKind {
    /// Every kind, in the order declared (each at its discriminant).
    const ALL: [FindingKind; 5] = [
        FindingKind::ServedNotReported,
        FindingKind::ReportedNotServed,
        FindingKind::DossierNotReported,
        FindingKind::ReportedFailureUnconfirmed,
        FindingKind::ReportedLate,
    ];

    /// The name answers use ("served_not_reported", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::ServedNotReported => "served_not_reported",
            FindingKind::ReportedNotServed => "reported_not_served",
            FindingKind::DossierNotReported => "dossier_not_reported",
            FindingKind::ReportedFailureUnconfirmed => "reported_failure_unconfirmed",
            FindingKind::ReportedLate => "reported_late",
        }
    }
}

/// One discrepancy, for one dossier and one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of discrepancy it is.
    pub kind: FindingKind,
    /// The agency's directory id.
    pub agency_id: String,
    /// The dossier, as the agency numbers it.
    pub dossier_id: String,
    /// The district (the directory's spelling).
    pub district: String,
    /// The officer who handled it.
    pub officer_id: String,
    /// The RPC (`None` for findings about a dossier's reports as a whole).
    pub rpc: Option<Rpc>,
    /// Reported verifications that reached the server; for `reported_failure_unconfirmed` the
    /// failures the server contradicts; for `reported_late` the late reports (the dossier's
    /// receipt and its verifications; `rpc` is empty).
    pub reported: u64,
    /// Verifications the server served for this dossier and RPC.
    pub served: u64,
    /// The earliest of the events concerned, as they state it.
    pub first_at_ms: i64,
    /// `reported_late`: when the server received the earliest of them; otherwise 0.
    pub received_at_ms: i64,
}

impl Finding {
    /// The order findings are listed in: oldest first.
    fn order(&self) -> (i64, &str, &str, &str, FindingKind) {
        (
            self.first_at_ms,
            &self.agency_id,
            &self.dossier_id,
            self.rpc.as_ref().map_or("", Rpc::as_str),
            self.kind,
        )
    }
}

/// The result of reconciling a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Dossiers received in the period.
    pub dossiers: u64,
    /// Reported verifications that reached the server, by their outcome.
    pub reported: u64,
    /// Verifications the server served for these dossiers.
    pub served: u64,
    /// Reported verifications whose outcome says they never reached the server.
    pub not_reaching_server: u64,
    /// The findings kept ([`ReconcileQuery::max_findings`]), oldest first.
    pub findings: Vec<Finding>,
    /// Every finding, by kind.
    counts: HashMap<FindingKind, u64>,
}

impl Reconciliation {
    /// How many findings are of `kind` (kept or not).
    pub fn count(&self, kind: FindingKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// How many findings there are (kept or not).
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}
