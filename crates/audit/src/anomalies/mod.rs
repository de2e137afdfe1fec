//! Findings an inspector acts on, computed from the log: lookups outside working hours or on
//! days off, a dossier used to look up many citizens, a citizen looked up by many officers in a
//! short window, an officer whose lookups per dossier stand far from their peers', bursts of
//! lookups, and dossiers of a procedure that calls for a lookup left without one.
//!
//! What is read is what the agencies reported (their dossiers and lookups, at the times they
//! report them: simulated time in simulations), through [`AuditReader::events`], in one pass in
//! log order with bounded state per key (`scan`); what the server itself served is compared with
//! those reports by reconciliation. `peers` holds the robust z-score, `explain` the one
//! Vietnamese sentence each finding is written as. Every threshold is a field of [`Thresholds`],
//! with its documented default; the command line and the request may change each.
//! The FindAnomalies answer (request and messages) is the `vnpop` package's
//! (`audit::answers::anomalies`).

mod explain;
mod peers;
mod scan;

use crate::{query::AuditReader, AuditError};

pub use explain::explain;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// Lookups on a working day outside its sessions (and their grace).
    OffHours,
    /// Lookups on a day offices do not work (weekend, public holiday).
    DayOff,
    /// One dossier used to look up many different citizens.
    DossierManyCitizens,
    /// One citizen looked up by many officers in a short window.
    CitizenManyOfficers,
    /// An officer's lookups per dossier far from their peers' of the same procedure.
    PeerOutlier,
    /// Lookups in one minute far above the officer's norm.
    Burst,
    /// Dossiers of a procedure that calls for a lookup, with none.
    NoLookup,
}

impl AnomalyKind {
    /// Every kind, in the order findings are listed.
    pub const ALL: [AnomalyKind; 7] = [
        AnomalyKind::DossierManyCitizens,
        AnomalyKind::CitizenManyOfficers,
        AnomalyKind::Burst,
        AnomalyKind::PeerOutlier,
        AnomalyKind::DayOff,
        AnomalyKind::OffHours,
        AnomalyKind::NoLookup,
    ];

    /// Its name in answers and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::OffHours => "off_hours",
            AnomalyKind::DayOff => "day_off",
            AnomalyKind::DossierManyCitizens => "dossier_many_citizens",
            AnomalyKind::CitizenManyOfficers => "citizen_many_officers",
            AnomalyKind::PeerOutlier => "peer_outlier",
            AnomalyKind::Burst => "burst",
            AnomalyKind::NoLookup => "no_lookup",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Its place in [`AnomalyKind::ALL`].
    pub(crate) fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// When something is a finding. Each default is documented; every one is a flag of
/// `vnpop audit anomalies` and a field of its request (0 there: the default).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Minutes after a session's end (11:30, 17:00) that still count as working hours: 15.
    pub grace_minutes: u32,
    /// Different citizens looked up for one dossier that make a finding: 5.
    pub dossier_citizens: u32,
    /// Different officers looking one citizen up within [`Self::citizen_window_minutes`] that
    /// make a finding: 3.
    pub citizen_officers: u32,
    /// The window of [`Self::citizen_officers`], in minutes: 1,440 (a day).
    pub citizen_window_minutes: u32,
    /// Robust z-score (0.6745 × (x − median) / MAD) of an officer's lookups per dossier among
    /// the officers of the same procedure beyond which it is a finding: 3.5 (Iglewicz and
    /// Hoaglin's cut-off).
    pub peer_z: f64,
    /// How far (in lookups per dossier) from the peers' median an officer must also stand: 0.25,
    /// so that among peers who all look up exactly once an officer at 0.96 is no finding.
    pub peer_min_difference: f64,
    /// Dossiers of a procedure an officer must have received to be compared: 20.
    pub peer_min_dossiers: u32,
    /// Officers a procedure must have (each with enough dossiers) for a comparison: 5.
    pub peer_min_officers: u32,
    /// Lookups in one minute below which nothing is a burst: 10.
    pub burst_per_minute: u32,
    /// How many times the officer's usual lookups per active minute (the median) a burst is: 5.
    pub burst_factor: f64,
    /// Hours after its receipt by which a dossier's lookup is expected (later ones are not
    /// waited for: the dossier is counted as handled without): 72.
    pub dossier_window_hours: u32,
    /// Evidence rows kept per finding: 10.
    pub evidence: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            grace_minutes: 15,
            dossier_citizens: 5,
            citizen_officers: 3,
            citizen_window_minutes: 24 * 60,
            peer_z: 3.5,
            peer_min_difference: 0.25,
            peer_min_dossiers: 20,
            peer_min_officers: 5,
            burst_per_minute: 10,
            burst_factor: 5.0,
            dossier_window_hours: 72,
            evidence: 10,
        }
    }
}

/// Which events to look at, and when something is a finding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnomalyQuery {
    /// Events that happened in `[from_ms, to_ms)` (Unix ms), as reported.
    pub from_ms: i64,
    pub to_ms: i64,
    /// Only this agency's (any when `None`).
    pub agency_id: Option<String>,
    pub thresholds: Thresholds,
    /// Findings kept at most (all are counted).
    pub max_findings: usize,
}

/// One row of a finding's evidence: an event of the log (a lookup), or a dossier with its
/// lookups counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Its position in the log.
    pub seq: u64,
    pub occurred_at_ms: i64,
    pub agency_id: String,
    pub district: String,
    pub officer_id: String,
    pub dossier_id: String,
    /// The RPC of a lookup; empty for a dossier row.
    pub rpc: String,
    /// The citizen as the first 16 hex digits of the log's keyed hash (never the number).
    pub subject: String,
    /// A dossier row: its procedure and its lookups.
    pub procedure: String,
    pub lookups: u64,
}

/// A finding: what, whose, the measure against its threshold, and the rows that show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Anomaly {
    pub kind: Option<AnomalyKind>,
    pub agency_id: String,
    pub district: String,
    pub officer_id: String,
    /// The dossier (dossier_many_citizens).
    pub dossier_id: String,
    /// The citizen, as in [`Evidence::subject`] (citizen_many_officers).
    pub subject: String,
    /// The procedure (peer_outlier).
    pub procedure: String,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    /// How many: lookups, citizens, officers, dossiers, as the kind counts.
    pub count: u64,
    /// The measure compared with the threshold (z-score, lookups a minute, lookups per dossier).
    pub measure: f64,
    /// What it was compared with (the threshold, the officer's usual rate, the peers' median).
    pub reference: f64,
    /// peer_outlier: the robust z-score; burst: how many times the usual rate.
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

/// The findings of a query: counted by kind, the first `max_findings` kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Anomalies {
    /// By kind, in [`AnomalyKind::ALL`] order.
    pub counts: [u64; 7],
    /// Listed in [`AnomalyKind::ALL`] order, then the largest count first, then by time, then by
    /// whom: the same log gives the same list.
    pub findings: Vec<Anomaly>,
    /// Events read.
    pub events: u64,
}

/// The findings of `query`, from one pass over the log's events.
pub fn find(reader: &AuditReader, query: &AnomalyQuery) -> Result<Anomalies, AuditError> {
    let filter = crate::query::EventFilter {
        from_ms: Some(query.from_ms),
        to_ms: Some(query.to_ms),
        agency_id: query.agency_id.clone(),
        source: Some("client".into()),
        ..Default::default()
    };
    let mut scanner = scan::Scanner::new(&query.thresholds);
    reader.events(&filter, |logged| {
        scanner.push(logged.seq, &logged.event);
        true
    })?;
    let mut found = scanner.finish();
    found.sort_by(|a, b| {
        a.kind
            .map(AnomalyKind::index)
            .cmp(&b.kind.map(AnomalyKind::index))
            .then(b.count.cmp(&a.count))
            .then(a.first_at_ms.cmp(&b.first_at_ms))
            .then_with(|| {
                let key = |f: &Anomaly| {
                    (
                        f.agency_id.clone(),
                        f.officer_id.clone(),
                        f.dossier_id.clone(),
                        f.subject.clone(),
                        f.procedure.clone(),
                    )
                };
                key(a).cmp(&key(b))
            })
    });
    let mut answer = Anomalies {
        events: scanner.events(),
        ..Default::default()
    };
    for finding in found {
        if let Some(kind) = finding.kind {
            answer.counts[kind.index()] += 1;
        }
        if answer.findings.len() < query.max_findings {
            answer.findings.push(finding);
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests;
