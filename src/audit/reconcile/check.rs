//! The reconciliation itself: the dossiers of the period ([`Scope`]), then one scan of the
//! log's events — in consecutive ranges read on as many threads, whose counts merge into those of
//! one scan —, then the comparison (see [`super`]).

use std::path::Path;

use super::{
    findings::Findings,
    scope::{FastMap, Scope},
    tally::{key_into, DossierTallies, RangeTally, Stray, Tally},
    Finding, FindingKind, ReconcileQuery, Reconciliation, FAILURE_WINDOW, LATE_AFTER,
};
use crate::{
    audit::{
        query::AuditReader,
        record::{Dictionary, View, ViewKind},
        store::{LogOfRecord, SqliteLog},
        AuditError,
    },
    vocabulary::{Outcome, Rpc},
};

/// Ranges the log is read in at most, each on its own thread (each holds counts for every
/// dossier of the period, so more cost memory).
const MAX_RANGES: usize = 2;

/// Fewest records in a range: a shorter log is read on one thread (a thread and a connection
/// cost more than they save).
const MIN_RANGE: u64 = 1 << 16;

/// How the log's records are split into ranges read in parallel.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// Ranges at most.
    ranges: usize,
    /// Fewest records in a range.
    min_range: u64,
}

impl Split {
    /// The consecutive ranges `[0, size)` is read in.
    fn ranges(self, size: u64) -> Vec<(u64, u64)> {
        let count = (size / self.min_range.max(1)).clamp(1, self.ranges.max(1) as u64);
        (0..count)
            .map(|i| (size * i / count, size * (i + 1) / count))
            .collect()
    }
}

impl AuditReader {
    /// Reconciles the dossiers received in the period (see the module documentation).
    pub fn reconcile(&self, query: &ReconcileQuery) -> Result<Reconciliation, AuditError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.reconcile_split(
            query,
            Split {
                ranges: threads.min(MAX_RANGES),
                min_range: MIN_RANGE,
            },
        )
    }

    /// [`AuditReader::reconcile`], the log read in the ranges of `split`.
    fn reconcile_split(
        &self,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<Reconciliation, AuditError> {
        let connection = self.connection();
        // One read transaction: the scan and the dossier lookups see the same snapshot.
        connection.execute_batch("BEGIN")?;
        let result = self.reconcile_in_snapshot(query, split);
        connection.execute_batch("COMMIT")?;
        result
    }

    /// [`AuditReader::reconcile`], inside the caller's read transaction.
    fn reconcile_in_snapshot(
        &self,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<Reconciliation, AuditError> {
        let scope = Scope::load(self.connection(), query)?;
        let tally = self.count_ranges(&scope, query, split)?;
        compare(self, &scope, query, tally)
    }

    /// Counts the log's records for `scope`: the first range on this thread, through this
    /// reader, and each other on a thread of its own, through a connection of its own. Records
    /// are never rewritten or removed, so a connection opened after this reader's snapshot
    /// began reads the same records (and the dictionary entries they use) up to its size.
    fn count_ranges(
        &self,
        scope: &Scope,
        query: &ReconcileQuery,
        split: Split,
    ) -> Result<RangeTally, AuditError> {
        let size = self.size()?;
        let path = self.connection().path().filter(|p| !p.is_empty());
        let ranges = match path {
            Some(_) => split.ranges(size),
            None => vec![(0, size)],
        };
        let (&(from, to), others) = ranges.split_first().expect("one range at least");
        std::thread::scope(|threads| {
            let others: Vec<_> = others
                .iter()
                .map(|&(from, to)| {
                    let path = Path::new(path.expect("a file when split"));
                    threads.spawn(move || -> Result<RangeTally, AuditError> {
                        let log = SqliteLog::open(path)?;
                        let mut scanner = Scanner::new(scope, query);
                        log.views(&mut Dictionary::default(), from, to, &mut |_, view| {
                            scanner.event(view);
                            Ok(true)
                        })?;
                        Ok(scanner.tally)
                    })
                })
                .collect();
            let mut scanner = Scanner::new(scope, query);
            let first = self.scan_views(from, to, &mut |_, view| {
                scanner.event(view);
                Ok(true)
            });
            let mut tally = scanner.tally;
            // Every thread joined before the first error in the log's order is returned.
            let others: Vec<_> = others
                .into_iter()
                .map(|thread| thread.join().expect("a reconcile scan panicked"))
                .collect();
            first?;
            for later in others {
                tally.merge(later?);
            }
            Ok(tally)
        })
    }
}

/// What an agency is to this reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agency {
    /// Another than the one the query asks for: its records are passed over.
    Excluded,
    /// It has dossiers in the period: its number in the scope.
    InScope(u32),
    /// None of its dossiers is in the period.
    Outside,
}

/// One range's scan: each record looked up in the scope as it comes and counted. The agency,
/// dossier and RPC of the last record are kept, so the records of one dossier, which come
/// together, are looked up once.
struct Scanner<'a> {
    scope: &'a Scope,
    query: &'a ReconcileQuery,
    /// What it counts.
    tally: RangeTally,
    /// The last agency read (`None` before the first), and what it is.
    agency: Option<(String, Agency)>,
    /// The last dossier read of that agency (`None` before the first), and its number.
    dossier: Option<(String, Option<u32>)>,
    /// The last RPC read, as spelled, and the word.
    rpc: Option<(String, Rpc)>,
    /// Whether each outcome read, as spelled, [reaches the server](Outcome::reaches_server).
    outcomes: FastMap<Box<str>, bool>,
    /// A stray's key, built in place.
    key: String,
}

impl<'a> Scanner<'a> {
    /// A scan for `scope` that has counted nothing yet.
    fn new(scope: &'a Scope, query: &'a ReconcileQuery) -> Self {
        Scanner {
            scope,
            query,
            tally: RangeTally::new(scope.dossiers.len()),
            agency: None,
            dossier: None,
            rpc: None,
            outcomes: FastMap::default(),
            key: String::new(),
        }
    }

    /// What `agency_id` is to this reconciliation.
    #[inline]
    fn agency(&mut self, agency_id: &str) -> Agency {
        if let Some((text, agency)) = &self.agency {
            if text == agency_id {
                return *agency;
            }
        }
        let agency = if self
            .query
            .agency_id
            .as_deref()
            .is_some_and(|a| a != agency_id)
        {
            Agency::Excluded
        } else {
            match self.scope.agencies.get(agency_id) {
                Some(number) => Agency::InScope(number),
                None => Agency::Outside,
            }
        };
        self.agency = Some((agency_id.to_owned(), agency));
        self.dossier = None;
        agency
    }

    /// The number of dossier `dossier_id` of agency number `agency` (the last read), if the
    /// period has it.
    #[inline]
    fn dossier(&mut self, agency: u32, dossier_id: &str) -> Option<u32> {
        if let Some((text, number)) = &self.dossier {
            if text == dossier_id {
                return *number;
            }
        }
        let number = self.scope.find(agency, dossier_id);
        match &mut self.dossier {
            Some((text, found)) => {
                text.clear();
                text.push_str(dossier_id);
                *found = number;
            }
            None => self.dossier = Some((dossier_id.to_owned(), number)),
        }
        number
    }

    /// Counts one record.
    #[inline]
    fn event(&mut self, event: View<'_>) {
        if event.dossier_id.is_empty() || event.is_cleaning() {
            return; // an action outside any dossier (see `recorder::Action`), or cleaning
        }
        let agency = self.agency(event.agency_id);
        if agency == Agency::Excluded {
            return;
        }
        let at_ms = event.occurred_at_ms;
        let number = match agency {
            Agency::InScope(agency) => {
                if event.server {
                    self.tally.minutes.add(agency, at_ms);
                }
                self.dossier(agency, event.dossier_id)
            }
            // Served calls of an agency without a dossier in the period contradict no failure
            // the period's dossiers report.
            _ => None,
        };
        let late = !event.server && event.received_at_ms - at_ms > LATE_AFTER.as_millis() as i64;
        let ViewKind::Verification { rpc, outcome, .. } = event.kind else {
            if late {
                if let Some(number) = number {
                    self.tally.dossiers[number as usize].late(at_ms, event.received_at_ms);
                }
            }
            return;
        };
        let rpc = match &mut self.rpc {
            Some((text, word)) if text == rpc => word,
            slot => &slot.insert((rpc.to_owned(), Rpc::parse(rpc))).1,
        };
        let tally = &mut self.tally;
        if let Some(number) = number {
            let dossier = &mut tally.dossiers[number as usize];
            if late {
                dossier.late(at_ms, event.received_at_ms);
            }
            if event.server {
                tally.served += 1;
                dossier.tally(rpc, at_ms).served += 1;
            } else if !reaches_server(&mut self.outcomes, outcome) {
                tally.not_reaching_server += 1;
                let rpc = tally.rpc_number(rpc);
                tally.failures.push((number, rpc, at_ms));
            } else {
                tally.reported += 1;
                dossier.tally(rpc, at_ms).reported += 1;
            }
        } else if event.server
            && (self.query.from_ms..self.query.to_ms).contains(&at_ms)
            && (self.query.include_load_test || !event.load_test)
        {
            key_into(&mut self.key, event.agency_id, event.dossier_id);
            let stray = match tally.strays.get_mut(self.key.as_str()) {
                Some(stray) => stray,
                None => tally.strays.entry(self.key.clone()).or_insert(Stray {
                    agency_id: event.agency_id.to_owned(),
                    dossier_id: event.dossier_id.to_owned(),
                    district: event.district.to_owned(),
                    officer_id: event.officer_id.to_owned(),
                    tallies: DossierTallies::default(),
                }),
            };
            stray.tallies.tally(rpc, at_ms).served += 1;
        }
    }
}

/// Whether the outcome spelled `outcome` [reaches the server](Outcome::reaches_server), each
/// spelling parsed once.
#[inline]
fn reaches_server(outcomes: &mut FastMap<Box<str>, bool>, outcome: &str) -> bool {
    match outcomes.get(outcome) {
        Some(&reaches) => reaches,
        None => {
            let reaches = Outcome::parse(outcome).reaches_server();
            outcomes.insert(outcome.into(), reaches);
            reaches
        }
    }
}

/// The comparison, once the log is read: the findings of the period's dossiers, then those of
/// the strays received in no period.
fn compare(
    reader: &AuditReader,
    scope: &Scope,
    query: &ReconcileQuery,
    tally: RangeTally,
) -> Result<Reconciliation, AuditError> {
    let mut result = Reconciliation {
        dossiers: scope.dossiers.len() as u64,
        reported: tally.reported,
        served: tally.served,
        not_reaching_server: tally.not_reaching_server,
        ..Reconciliation::default()
    };
    let mut findings = Findings::new(query.max_findings);
    let served = tally.minutes.into_times();
    let mut dossiers = tally.dossiers;
    let rpcs = tally.rpcs;
    for (number, rpc, at_ms) in tally.failures {
        if served.any_near(
            scope.dossiers[number as usize].agency,
            at_ms,
            FAILURE_WINDOW,
        ) {
            let tally = dossiers[number as usize].rpc(&rpcs[rpc as usize]);
            tally.contradicted += 1;
            tally.contradicted_first_ms = tally.contradicted_first_ms.min(at_ms);
        }
    }
    for (number, (tallies, attributes)) in (0..).zip(dossiers.iter().zip(&scope.dossiers)) {
        let dossier_id = scope.id(number);
        let agency_id = scope.agencies.text(attributes.agency);
        let named = Named {
            agency_id,
            dossier_id,
            district: scope.texts.text(attributes.district),
            officer_id: scope.texts.text(attributes.officer),
        };
        for tally in tallies.iter() {
            let kind = match tally.served.cmp(&tally.reported) {
                std::cmp::Ordering::Greater => Some(FindingKind::ServedNotReported),
                std::cmp::Ordering::Less => Some(FindingKind::ReportedNotServed),
                std::cmp::Ordering::Equal => None,
            };
            let rpc = tally.rpc.as_str();
            if let Some(kind) = kind {
                findings.offer(
                    (tally.first_at_ms, agency_id, dossier_id, rpc, kind),
                    || named.finding(kind, tally),
                );
            }
            if tally.contradicted > 0 {
                let kind = FindingKind::ReportedFailureUnconfirmed;
                findings.offer(
                    (
                        tally.contradicted_first_ms,
                        agency_id,
                        dossier_id,
                        rpc,
                        kind,
                    ),
                    || Finding {
                        reported: tally.contradicted,
                        first_at_ms: tally.contradicted_first_ms,
                        ..named.finding(kind, tally)
                    },
                );
            }
        }
        let late = tallies.late;
        if late.count > 0 {
            let kind = FindingKind::ReportedLate;
            findings.offer((late.first_at_ms, agency_id, dossier_id, "", kind), || {
                Finding {
                    kind,
                    agency_id: agency_id.to_owned(),
                    dossier_id: dossier_id.to_owned(),
                    district: named.district.to_owned(),
                    officer_id: named.officer_id.to_owned(),
                    rpc: None,
                    reported: late.count,
                    served: 0,
                    first_at_ms: late.first_at_ms,
                    received_at_ms: late.received_at_ms,
                }
            });
        }
    }
    for stray in tally.strays.into_values() {
        if reader.received(&stray.agency_id, &stray.dossier_id)? {
            continue; // received in another period: that period's reconciliation covers it
        }
        let named = Named {
            agency_id: &stray.agency_id,
            dossier_id: &stray.dossier_id,
            district: &stray.district,
            officer_id: &stray.officer_id,
        };
        for tally in stray.tallies.iter() {
            findings.push(named.finding(FindingKind::DossierNotReported, tally));
        }
    }
    findings.into(&mut result);
    Ok(result)
}

/// A dossier's attributes as findings name them.
#[derive(Debug, Clone, Copy)]
struct Named<'a> {
    agency_id: &'a str,
    dossier_id: &'a str,
    district: &'a str,
    officer_id: &'a str,
}

impl Named<'_> {
    /// The finding of `kind` for one RPC's tally of the dossier.
    fn finding(self, kind: FindingKind, tally: &Tally) -> Finding {
        Finding {
            kind,
            agency_id: self.agency_id.to_owned(),
            dossier_id: self.dossier_id.to_owned(),
            district: self.district.to_owned(),
            officer_id: self.officer_id.to_owned(),
            rpc: Some(tally.rpc.clone()),
            reported: tally.reported,
            served: tally.served,
            first_at_ms: tally.first_at_ms,
            received_at_ms: 0,
        }
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
        crate::audit::event::test_dossier(id, "Quận Ba Đình", "officer-1", at)
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
            agency_id: "one-stop-phuong-ba-dinh".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-1".into(),
            occurred_at_ms: at,
            load_test: false,
            commune: None,
            province: None,
            call_id: None,
            kind: EventKind::Verification {
                rpc: Rpc::parse(rpc),
                outcome: Outcome::parse(outcome),
                purpose: "p".into(),
                subject: None,
            },
        }
    }

    #[test]
    fn finds_each_kind_of_discrepancy_and_nothing_else() {
        use EventSource::{Client, Server};
        let dir = tempfile::tempdir().unwrap();
        let log =
            AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
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
                    f.rpc.as_ref().map_or("", Rpc::as_str),
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

    #[test]
    fn reading_the_log_in_ranges_changes_nothing() {
        use EventSource::{Client, Server};
        let dir = tempfile::tempdir().unwrap();
        let log =
            AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        // Recent times are not late; a day ago is.
        let now = crate::ids::now_ms();
        let mut events = Vec::new();
        let mix = |x: u64| x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        for n in 0..600u64 {
            let d = mix(n) % 60;
            let id = format!("D{d}");
            // Few distinct times, so that earliest times tie.
            let at = if d % 3 == 0 { now - DAY } else { now } + (mix(n + 7) % 4) as i64 * 60_000;
            let rpc = ["LookupByCccd", "VerifyQr", "SomethingNew"][(mix(n + 1) % 3) as usize];
            let outcome = ["found", "unavailable", "not_found", "deadline_exceeded"]
                [(mix(n + 2) % 4) as usize];
            let source = if mix(n + 3) % 2 == 0 { Client } else { Server };
            let mut event = if n % 7 == 0 {
                dossier(&id, at)
            } else {
                verification(n as usize, &id, source, rpc, outcome, at)
            };
            event.event_id = format!("e-{n}");
            if d % 10 == 9 {
                event.agency_id = "hospital-bach-mai".into();
            }
            event.load_test = d % 17 == 5;
            // The dossiers of some receipts are never received: their served calls are strays.
            if d % 11 == 4 && n % 7 == 0 {
                continue;
            }
            events.push(event);
        }
        // In several groups, received at different times.
        for group in events.chunks(90) {
            log.append_blocking(group.to_vec()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        drop(log);

        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        for query in [
            ReconcileQuery {
                from_ms: now - 2 * DAY,
                to_ms: now + DAY,
                ..Default::default()
            },
            ReconcileQuery {
                from_ms: now - 2 * DAY,
                to_ms: now - DAY / 2,
                agency_id: Some("one-stop-phuong-ba-dinh".into()),
                include_load_test: true,
                max_findings: 7,
            },
            ReconcileQuery {
                from_ms: now - DAY / 2,
                to_ms: now + DAY,
                max_findings: 3,
                ..Default::default()
            },
        ] {
            let whole = reader
                .reconcile_split(
                    &query,
                    Split {
                        ranges: 1,
                        min_range: 1,
                    },
                )
                .unwrap();
            assert!(whole.total() > 0 && whole.dossiers > 0, "{whole:?}");
            for ranges in [2, 3, 5, 8] {
                let split = Split {
                    ranges,
                    min_range: 1,
                };
                assert_eq!(reader.reconcile_split(&query, split).unwrap(), whole);
            }
        }
    }
}
