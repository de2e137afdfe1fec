//! One range's scan ([`Scanner`]): each record of the log looked up in the period's scope as it
//! comes, and counted.

use super::super::{
    scope::{FastMap, Scope},
    tally::{key_into, DossierTallies, RangeTally, Stray},
    ReconcileQuery, LATE_AFTER,
};
use crate::{
    record::{View, ViewKind},
    vocabulary::{Outcome, Rpc},
};

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
pub(super) struct Scanner<'a> {
    scope: &'a Scope,
    query: &'a ReconcileQuery,
    /// What it counts.
    pub(super) tally: RangeTally,
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
    pub(super) fn new(scope: &'a Scope, query: &'a ReconcileQuery) -> Self {
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
    pub(super) fn event(&mut self, event: View<'_>) {
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
