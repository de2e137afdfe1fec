//! The comparison, once the log is read ([`compare`]): the findings of the period's dossiers,
//! then those of the strays received in no period.

use super::super::{
    findings::Findings,
    scope::Scope,
    tally::{RangeTally, Tally},
    Finding, FindingKind, ReconcileQuery, Reconciliation, FAILURE_WINDOW,
};
use crate::{query::AuditReader, AuditError};

/// The comparison, once the log is read: the findings of the period's dossiers, then those of
/// the strays received in no period.
pub(super) fn compare(
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
