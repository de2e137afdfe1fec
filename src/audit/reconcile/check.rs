//! The reconciliation itself: the dossiers of the period from the summary, then one scan of the
//! log's events, then the comparison (see [`super`]).

use std::collections::HashMap;

use rusqlite::{params_from_iter, types::Value};

use super::{
    findings::Findings,
    tally::{key_into, DossierTallies, ServedMinutes, Tally},
    Finding, FindingKind, ReconcileQuery, Reconciliation, FAILURE_WINDOW, LATE_AFTER,
};
use crate::{
    audit::{query::AuditReader, record::ViewKind, AuditError},
    vocabulary::{Outcome, Rpc},
};

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

    /// [`AuditReader::reconcile`], inside the caller's read transaction.
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
        let mut findings = Findings::new(query.max_findings);
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
            let rpc = Rpc::parse(rpc);
            if let Some(dossier) = scope.get_mut(key.as_str()) {
                if late {
                    dossier.late(at_ms, event.received_at_ms);
                }
                if event.server {
                    result.served += 1;
                    dossier.tally(rpc, at_ms).served += 1;
                } else if !Outcome::parse(outcome).reaches_server() {
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
                    rpc: None,
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

/// The finding of `kind` for one RPC's tally of a dossier.
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
            agency_id: "one-stop-ba-dinh".into(),
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
}
