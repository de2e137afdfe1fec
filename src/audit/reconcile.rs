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
//! batch job: about a second per million events.

use std::{
    collections::{BinaryHeap, HashMap},
    time::Duration,
};

use rusqlite::{params_from_iter, types::Value};

use super::{event::NOT_REACHING_SERVER, query::AuditReader, record::ViewKind, AuditError};

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
    pub to_ms: i64,
    pub agency_id: Option<String>,
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
    pub kind: FindingKind,
    pub agency_id: String,
    pub dossier_id: String,
    pub district: String,
    pub officer_id: String,
    pub rpc: String,
    /// Reported verifications that reached the server; for `reported_failure_unconfirmed` the
    /// failures the server contradicts; for `reported_late` the late reports (the dossier's
    /// receipt and its verifications; `rpc` is empty).
    pub reported: u64,
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
            &self.rpc,
            self.kind,
        )
    }
}

/// A finding ordered by [`Finding::order`], for the heap of the oldest.
#[derive(Debug)]
struct Oldest(Finding);

impl PartialEq for Oldest {
    fn eq(&self, other: &Self) -> bool {
        self.0.order() == other.0.order()
    }
}

impl Eq for Oldest {}

impl PartialOrd for Oldest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Oldest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.order().cmp(&other.0.order())
    }
}

/// The result of reconciling a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub dossiers: u64,
    pub reported: u64,
    pub served: u64,
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

/// The findings of a reconciliation as they are found: all counted, the oldest `limit` kept (a
/// heap whose top is the newest kept), so memory stays bounded however many there are.
#[derive(Default)]
struct Findings {
    limit: usize,
    kept: BinaryHeap<Oldest>,
    counts: HashMap<FindingKind, u64>,
}

impl Findings {
    fn push(&mut self, finding: Finding) {
        *self.counts.entry(finding.kind).or_default() += 1;
        let finding = Oldest(finding);
        if self.limit == 0 || self.kept.len() < self.limit {
            self.kept.push(finding);
        } else if self.kept.peek().is_some_and(|newest| finding < *newest) {
            self.kept.pop();
            self.kept.push(finding);
        }
    }

    /// Into `result`, oldest first.
    fn into(self, result: &mut Reconciliation) {
        result.findings = self
            .kept
            .into_sorted_vec()
            .into_iter()
            .map(|o| o.0)
            .collect();
        result.counts = self.counts;
    }
}

/// Per-RPC tallies of one dossier.
#[derive(Debug, Default)]
struct Tally {
    rpc: String,
    reported: u64,
    served: u64,
    first_at_ms: i64,
    /// Times of the failures reported (outcomes in [`NOT_REACHING_SERVER`]).
    failures: Vec<i64>,
}

#[derive(Debug)]
struct DossierTallies {
    agency_id: String,
    dossier_id: String,
    district: String,
    officer_id: String,
    rpcs: Vec<Tally>,
    /// Late reports: how many, and the (stated, received) times of the earliest.
    late: Option<(u64, i64, i64)>,
}

/// When the server served each agency's calls, by minute: the first and last served in it. A
/// minute is enough to answer "was any call of this agency served within a window" exactly
/// without keeping every time.
#[derive(Debug, Default)]
struct ServedMinutes(HashMap<String, HashMap<i64, (i64, i64)>>);

impl ServedMinutes {
    const MINUTE: i64 = 60_000;

    fn add(&mut self, agency: &str, at_ms: i64) {
        let minutes = match self.0.get_mut(agency) {
            Some(minutes) => minutes,
            None => self.0.entry(agency.to_owned()).or_default(),
        };
        let span = minutes
            .entry(at_ms.div_euclid(Self::MINUTE))
            .or_insert((at_ms, at_ms));
        span.0 = span.0.min(at_ms);
        span.1 = span.1.max(at_ms);
    }

    /// Whether a call of `agency` was served in `[at_ms - window, at_ms + window]`.
    fn any_near(&self, agency: &str, at_ms: i64, window: Duration) -> bool {
        let Some(minutes) = self.0.get(agency) else {
            return false;
        };
        let window = window.as_millis() as i64;
        let (from, to) = (at_ms.saturating_sub(window), at_ms.saturating_add(window));
        let (first, last) = (from.div_euclid(Self::MINUTE), to.div_euclid(Self::MINUTE));
        (first..=last).any(|minute| {
            minutes
                .get(&minute)
                .is_some_and(|&(earliest, latest)| latest >= from && earliest <= to)
        })
    }
}

impl DossierTallies {
    /// Counts a late report that says it happened at `at_ms` and was received at `received_ms`.
    fn late(&mut self, at_ms: i64, received_ms: i64) {
        let late = self.late.get_or_insert((0, at_ms, received_ms));
        late.0 += 1;
        if at_ms < late.1 {
            (late.1, late.2) = (at_ms, received_ms);
        }
    }

    /// The tally of `rpc`, its first time moved to `at_ms` if earlier.
    fn tally(&mut self, rpc: &str, at_ms: i64) -> &mut Tally {
        let tally = self.rpc(rpc);
        tally.first_at_ms = tally.first_at_ms.min(at_ms);
        tally
    }

    /// The tally of `rpc` (a new one's first time is `i64::MAX` until an event sets it).
    fn rpc(&mut self, rpc: &str) -> &mut Tally {
        let index = match self.rpcs.iter().position(|t| t.rpc == rpc) {
            Some(index) => index,
            None => {
                self.rpcs.push(Tally {
                    rpc: rpc.to_owned(),
                    first_at_ms: i64::MAX,
                    ..Tally::default()
                });
                self.rpcs.len() - 1
            }
        };
        &mut self.rpcs[index]
    }
}

/// `agency \0 dossier`: one string key, so lookups can reuse a buffer instead of allocating.
fn key_into(buffer: &mut String, agency: &str, dossier: &str) {
    buffer.clear();
    buffer.push_str(agency);
    buffer.push('\0');
    buffer.push_str(dossier);
}

impl AuditReader {
    /// Reconciles the dossiers received in the period (see the module documentation).
    pub fn reconcile(&self, query: &ReconcileQuery) -> Result<Reconciliation, AuditError> {
        let connection = self.connection();
        // One read transaction: the scan and the dossier lookups see the same snapshot.
        connection.execute_batch("BEGIN")?;
        let result = self.reconcile_in_snapshot(query);
        connection.execute_batch("COMMIT")?;
        result
    }

    fn reconcile_in_snapshot(&self, query: &ReconcileQuery) -> Result<Reconciliation, AuditError> {
        let connection = self.connection();
        let mut conditions = vec!["received_at_ms >= ?", "received_at_ms < ?"];
        let mut values = vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)];
        if let Some(agency) = &query.agency_id {
            conditions.push("agency_id = ?");
            values.push(Value::Text(agency.clone()));
        }
        if !query.include_load_test {
            conditions.push("load_test = 0");
        }
        let mut scope: HashMap<String, DossierTallies> = HashMap::new();
        {
            let mut statement = connection.prepare(&format!(
                "SELECT agency_id, dossier_id, COALESCE(district, ''), COALESCE(officer_id, '')
                 FROM dossiers WHERE {}",
                conditions.join(" AND ")
            ))?;
            let mut rows = statement.query(params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let (agency_id, dossier_id): (String, String) = (row.get(0)?, row.get(1)?);
                let mut key = String::new();
                key_into(&mut key, &agency_id, &dossier_id);
                scope.insert(
                    key,
                    DossierTallies {
                        agency_id,
                        dossier_id,
                        district: row.get(2)?,
                        officer_id: row.get(3)?,
                        rpcs: Vec::new(),
                        late: None,
                    },
                );
            }
        }

        let mut result = Reconciliation {
            dossiers: scope.len() as u64,
            ..Reconciliation::default()
        };
        let mut findings = Findings {
            limit: query.max_findings,
            ..Findings::default()
        };
        // Served for dossiers outside the scope, in the period: perhaps never reported.
        let mut strays: HashMap<String, DossierTallies> = HashMap::new();
        let mut key = String::new();
        let mut served_minutes = ServedMinutes::default();
        let late_after = LATE_AFTER.as_millis() as i64;
        self.scan_views(0, self.size()?, &mut |_, event| {
            if event.dossier_id.is_empty() {
                return Ok(true); // an action outside any dossier (see `recorder::Action`)
            }
            let agency = event.agency_id;
            if query.agency_id.as_deref().is_some_and(|a| a != agency) {
                return Ok(true);
            }
            let at_ms = event.occurred_at_ms;
            if event.server {
                served_minutes.add(agency, at_ms);
            }
            key_into(&mut key, agency, event.dossier_id);
            let late = !event.server && event.received_at_ms - at_ms > late_after;
            let ViewKind::Verification { rpc, outcome, .. } = event.kind else {
                if late {
                    if let Some(dossier) = scope.get_mut(key.as_str()) {
                        dossier.late(at_ms, event.received_at_ms);
                    }
                }
                return Ok(true);
            };
            if let Some(dossier) = scope.get_mut(key.as_str()) {
                if late {
                    dossier.late(at_ms, event.received_at_ms);
                }
                if event.server {
                    result.served += 1;
                    dossier.tally(rpc, at_ms).served += 1;
                } else if NOT_REACHING_SERVER.contains(&outcome) {
                    result.not_reaching_server += 1;
                    dossier.rpc(rpc).failures.push(at_ms);
                } else {
                    result.reported += 1;
                    dossier.tally(rpc, at_ms).reported += 1;
                }
            } else if event.server
                && (query.from_ms..query.to_ms).contains(&at_ms)
                && (query.include_load_test || !event.load_test)
            {
                let stray = match strays.get_mut(key.as_str()) {
                    Some(stray) => stray,
                    None => strays.entry(key.clone()).or_insert(DossierTallies {
                        agency_id: agency.to_owned(),
                        dossier_id: event.dossier_id.to_owned(),
                        district: event.district.to_owned(),
                        officer_id: event.officer_id.to_owned(),
                        rpcs: Vec::new(),
                        late: None,
                    }),
                };
                stray.tally(rpc, at_ms).served += 1;
            }
            Ok(true)
        })?;

        for dossier in scope.into_values() {
            for tally in &dossier.rpcs {
                let kind = match tally.served.cmp(&tally.reported) {
                    std::cmp::Ordering::Greater => Some(FindingKind::ServedNotReported),
                    std::cmp::Ordering::Less => Some(FindingKind::ReportedNotServed),
                    std::cmp::Ordering::Equal => None,
                };
                if let Some(kind) = kind {
                    findings.push(finding(kind, &dossier, tally));
                }
                let contradicted: Vec<i64> = tally
                    .failures
                    .iter()
                    .copied()
                    .filter(|&at| served_minutes.any_near(&dossier.agency_id, at, FAILURE_WINDOW))
                    .collect();
                if let Some(&first) = contradicted.iter().min() {
                    findings.push(Finding {
                        reported: contradicted.len() as u64,
                        first_at_ms: first,
                        ..finding(FindingKind::ReportedFailureUnconfirmed, &dossier, tally)
                    });
                }
            }
            if let Some((count, first_at_ms, received_at_ms)) = dossier.late {
                findings.push(Finding {
                    kind: FindingKind::ReportedLate,
                    agency_id: dossier.agency_id.clone(),
                    dossier_id: dossier.dossier_id.clone(),
                    district: dossier.district.clone(),
                    officer_id: dossier.officer_id.clone(),
                    rpc: String::new(),
                    reported: count,
                    served: 0,
                    first_at_ms,
                    received_at_ms,
                });
            }
        }
        let mut received = connection.prepare(
            "SELECT 1 FROM dossiers WHERE agency_id = ?1 AND dossier_id = ?2 AND received_at_ms IS NOT NULL",
        )?;
        for stray in strays.into_values() {
            if received.exists([&stray.agency_id, &stray.dossier_id])? {
                continue; // received in another period: that period's reconciliation covers it
            }
            for tally in &stray.rpcs {
                findings.push(finding(FindingKind::DossierNotReported, &stray, tally));
            }
        }
        findings.into(&mut result);
        Ok(result)
    }
}

fn finding(kind: FindingKind, dossier: &DossierTallies, tally: &Tally) -> Finding {
    Finding {
        kind,
        agency_id: dossier.agency_id.clone(),
        dossier_id: dossier.dossier_id.clone(),
        district: dossier.district.clone(),
        officer_id: dossier.officer_id.clone(),
        rpc: tally.rpc.clone(),
        reported: tally.reported,
        served: tally.served,
        first_at_ms: tally.first_at_ms,
        received_at_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{log::DATABASE_FILE, AuditEvent, AuditLog, EventKind, EventSource};

    const DAY: i64 = 86_400_000;
    /// 2024-01-01T00:00:00+07:00.
    const JAN_1_2024: i64 = 1_704_042_000_000;

    fn dossier(id: &str, at: i64) -> AuditEvent {
        AuditEvent {
            event_id: format!("dossier-{id}"),
            source: EventSource::Client,
            dossier_id: id.into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: at,
            load_test: false,
            commune: None,
            province: None,
            kind: EventKind::Dossier {
                procedure: "1.004227".into(),
                channel: "desk".into(),
            },
        }
    }

    fn verification(
        n: usize,
        id: &str,
        source: EventSource,
        rpc: &str,
        outcome: &str,
        at: i64,
    ) -> AuditEvent {
        AuditEvent {
            event_id: format!("v-{id}-{n}-{}", source.as_str()),
            source,
            dossier_id: id.into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: at,
            load_test: false,
            commune: None,
            province: None,
            kind: EventKind::Verification {
                rpc: rpc.into(),
                outcome: outcome.into(),
                purpose: "p".into(),
                subject: "s".into(),
            },
        }
    }

    #[test]
    fn finds_each_kind_of_discrepancy_and_nothing_else() {
        use EventSource::{Client, Server};
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let t = JAN_1_2024 + DAY;
        // Served long after (wall clock) the simulated receipt: still matched by dossier.
        let later = t + 400 * DAY;
        let events = vec![
            // A: one lookup reported and served: reconciled.
            dossier("A", t),
            verification(1, "A", Client, "LookupByCccd", "found", t),
            verification(1, "A", Server, "LookupByCccd", "found", later),
            // B: served twice, reported once.
            dossier("B", t + 1),
            verification(1, "B", Client, "LookupByCccd", "found", t + 1),
            verification(1, "B", Server, "LookupByCccd", "found", t + 1),
            verification(2, "B", Server, "LookupByCccd", "found", t + 2),
            // A: a failure reported two hours later, when the server answered nobody of the
            // agency: not contradicted.
            verification(
                3,
                "A",
                Client,
                "LookupByCccd",
                "deadline_exceeded",
                t + 7_200_000,
            ),
            // C: reported a QR check never served, and an unavailable call (not expected on the
            // server, but the server was answering the agency's calls for B at that moment).
            dossier("C", t + 3),
            verification(1, "C", Client, "VerifyQr", "valid", t + 3),
            verification(2, "C", Client, "LookupByCccd", "unavailable", t + 3),
            // D: a lookup served for a dossier never reported, in the period.
            verification(1, "D", Server, "LookupByCccd", "not_found", t + 4),
            // E: received before the period; its unreported lookup belongs to that period.
            dossier("E", JAN_1_2024 - DAY),
            verification(1, "E", Server, "LookupByCccd", "found", t),
        ];
        log.append_blocking(events).unwrap();
        drop(log);

        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let result = reader
            .reconcile(&ReconcileQuery {
                from_ms: JAN_1_2024,
                to_ms: JAN_1_2024 + 31 * DAY,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(result.dossiers, 3);
        assert_eq!(
            (result.reported, result.served, result.not_reaching_server),
            (3, 3, 2)
        );
        // Every client event here was appended now, long after the time it states: each
        // dossier's reports arrived late, with both times.
        let (late, findings): (Vec<_>, Vec<_>) = result
            .findings
            .iter()
            .partition(|f| f.kind == FindingKind::ReportedLate);
        let late: Vec<_> = late
            .iter()
            .map(|f| (f.dossier_id.as_str(), f.reported, f.first_at_ms))
            .collect();
        assert_eq!(late, [("A", 3, t), ("B", 2, t + 1), ("C", 3, t + 3)]);
        assert!(result
            .findings
            .iter()
            .all(|f| (f.kind == FindingKind::ReportedLate) == (f.received_at_ms > t + 400 * DAY)));
        assert_eq!(result.count(FindingKind::ReportedLate), 3);
        let summary: Vec<_> = findings
            .iter()
            .map(|f| {
                (
                    f.kind,
                    f.dossier_id.as_str(),
                    f.rpc.as_str(),
                    f.reported,
                    f.served,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (FindingKind::ServedNotReported, "B", "LookupByCccd", 1, 2),
                (
                    FindingKind::ReportedFailureUnconfirmed,
                    "C",
                    "LookupByCccd",
                    1,
                    0
                ),
                (FindingKind::ReportedNotServed, "C", "VerifyQr", 1, 0),
                (FindingKind::DossierNotReported, "D", "LookupByCccd", 0, 1),
            ]
        );

        // Kept to the oldest two, every one still counted.
        let kept = reader
            .reconcile(&ReconcileQuery {
                from_ms: JAN_1_2024,
                to_ms: JAN_1_2024 + 31 * DAY,
                max_findings: 2,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(kept.findings, result.findings[..2]);
        assert_eq!((kept.total(), result.total()), (7, 7));
        assert_eq!(kept.count(FindingKind::ReportedLate), 3);

        // The earlier period holds E's finding.
        let earlier = reader
            .reconcile(&ReconcileQuery {
                from_ms: JAN_1_2024 - 31 * DAY,
                to_ms: JAN_1_2024,
                ..Default::default()
            })
            .unwrap();
        let kinds: Vec<_> = earlier
            .findings
            .iter()
            .map(|f| (f.dossier_id.as_str(), f.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("E", FindingKind::ReportedLate),
                ("E", FindingKind::ServedNotReported)
            ]
        );

        // Another agency's filter sees nothing.
        let other = reader
            .reconcile(&ReconcileQuery {
                from_ms: JAN_1_2024,
                to_ms: JAN_1_2024 + 31 * DAY,
                agency_id: Some("hospital-bach-mai".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(other, Reconciliation::default());
    }
}
