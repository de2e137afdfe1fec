//! The one pass over the log's reported events, in log order, with bounded state per key: each
//! dossier until its lookups are no longer waited for, each citizen's accesses of the last
//! window, each officer's open minutes and a histogram of their minutes, each (procedure,
//! officer)'s totals. What is older than the window behind the newest time seen is settled and
//! let go, so the state follows the number of active keys, not the length of the log.

use std::collections::{HashMap, VecDeque};

use chrono::{NaiveDate, Timelike};

use super::{peers, Anomaly, AnomalyKind, Evidence, Thresholds};
use crate::{
    domain::{calendar, procedure, vietnam},
    {AuditEvent, EventKind},
};

const MINUTE_MS: i64 = 60_000;
/// Accesses remembered per citizen at most (the newest).
const ACCESSES_KEPT: usize = 64;
/// Burst candidates kept per officer at most (the busiest minutes).
const BURSTS_KEPT: usize = 16;
/// Per-minute counts kept apart in an officer's histogram; more fall in the last bucket.
const MINUTE_COUNTS: usize = 128;
/// Minutes behind the newest event after which a minute is closed.
const MINUTES_OPEN: i64 = 10;
/// Events between two sweeps of the settled state, at least.
pub(super) const SWEEP_EVERY: u64 = 4_096;

/// An officer: agency and officer id.
type Officer = (String, String);

/// A dossier whose lookups are still awaited.
struct Dossier {
    /// The position of its first event: dossiers are settled in log order, so the evidence
    /// kept is the same whatever the hash order.
    first_seq: u64,
    district: String,
    officer: String,
    procedure: Option<String>,
    received: Option<(u64, i64)>,
    last_at: i64,
    lookups: u64,
    /// Different citizens looked up, at most the threshold and the evidence kept.
    subjects: Vec<[u8; 32]>,
    evidence: Vec<Evidence>,
}

/// A citizen's recent accesses and the finding they are part of, if any.
#[derive(Default)]
struct Citizen {
    accesses: VecDeque<(Officer, Evidence)>,
    open: Option<usize>,
}

/// An officer's lookups in one minute.
#[derive(Default)]
struct Minute {
    count: u64,
    evidence: Vec<Evidence>,
}

/// An officer's closed minutes: how many had each count, and the busiest.
struct Minutes {
    histogram: [u64; MINUTE_COUNTS],
    busiest: Vec<(i64, Minute)>,
}

/// An officer's dossiers of one procedure.
#[derive(Default)]
struct Peer {
    district: String,
    dossiers: u64,
    lookups: u64,
    first_at: i64,
    last_at: i64,
    /// The dossiers with the most lookups.
    top: Vec<Evidence>,
}

/// The scan's state and the findings made so far.
pub(super) struct Scanner<'a> {
    limits: &'a Thresholds,
    events: u64,
    newest: i64,
    since_sweep: u64,
    dossiers: HashMap<(String, String), Dossier>,
    citizens: HashMap<[u8; 32], Citizen>,
    minutes: HashMap<(Officer, i64), Minute>,
    closed: HashMap<Officer, Minutes>,
    peers: HashMap<String, HashMap<Officer, Peer>>,
    /// Lookups outside working time, by officer, day and kind.
    hours: HashMap<(Officer, NaiveDate, AnomalyKind), Anomaly>,
    /// Dossiers without a lookup, by officer: the finding and the officer's dossiers that
    /// called for one.
    unlooked: HashMap<Officer, (Anomaly, u64)>,
    found: Vec<Anomaly>,
}

/// The first 16 hex digits of a keyed subject: enough to tell citizens apart in a report.
fn short_subject(subject: &[u8; 32]) -> String {
    subject[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Pushes `row` unless `rows` already holds `limit`.
fn keep(rows: &mut Vec<Evidence>, row: Evidence, limit: u32) {
    if rows.len() < limit as usize {
        rows.push(row);
    }
}

impl<'a> Scanner<'a> {
    pub(super) fn new(limits: &'a Thresholds) -> Self {
        Scanner {
            limits,
            events: 0,
            newest: i64::MIN,
            since_sweep: 0,
            dossiers: HashMap::new(),
            citizens: HashMap::new(),
            minutes: HashMap::new(),
            closed: HashMap::new(),
            peers: HashMap::new(),
            hours: HashMap::new(),
            unlooked: HashMap::new(),
            found: Vec::new(),
        }
    }

    /// Events read.
    pub(super) fn events(&self) -> u64 {
        self.events
    }

    /// Keys held now: dossiers, citizens and open minutes (what the sweeps bound).
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.dossiers.len() + self.citizens.len() + self.minutes.len()
    }

    /// Takes in one reported event (load tests and actions outside a dossier are left out).
    pub(super) fn push(&mut self, seq: u64, event: &AuditEvent) {
        if event.load_test || event.dossier_id.is_empty() || event.is_cleaning() {
            return;
        }
        self.events += 1;
        self.newest = self.newest.max(event.occurred_at_ms);
        let key = (event.agency_id.clone(), event.dossier_id.clone());
        let at = event.occurred_at_ms;
        let dossier = self.dossiers.entry(key).or_insert_with(|| Dossier {
            first_seq: seq,
            district: event.district.clone(),
            officer: event.officer_id.clone(),
            procedure: None,
            received: None,
            last_at: at,
            lookups: 0,
            subjects: Vec::new(),
            evidence: Vec::new(),
        });
        dossier.last_at = dossier.last_at.max(at);
        match &event.kind {
            EventKind::Dossier { procedure, .. } => {
                dossier.procedure = Some(procedure.clone());
                dossier.received = Some((seq, at));
                dossier.district = event.district.clone();
                dossier.officer = event.officer_id.clone();
            }
            EventKind::Verification {
                rpc,
                outcome,
                subject,
                ..
            } => {
                if !outcome.reaches_server() {
                    // An attempt that never reached the server: no lookup was made.
                    return;
                }
                let row = Evidence {
                    seq,
                    occurred_at_ms: at,
                    agency_id: event.agency_id.clone(),
                    district: event.district.clone(),
                    officer_id: event.officer_id.clone(),
                    dossier_id: event.dossier_id.clone(),
                    rpc: rpc.as_str().to_owned(),
                    subject: subject.map(|s| short_subject(&s.0)).unwrap_or_default(),
                    ..Default::default()
                };
                dossier.lookups += 1;
                if let Some(s) = subject {
                    let cap = (self.limits.dossier_citizens + self.limits.evidence) as usize;
                    if !dossier.subjects.contains(&s.0) && dossier.subjects.len() < cap {
                        dossier.subjects.push(s.0);
                        keep(&mut dossier.evidence, row.clone(), self.limits.evidence);
                    }
                }
                let officer = (event.agency_id.clone(), event.officer_id.clone());
                self.working_time(&officer, &row);
                self.minute(&officer, &row);
                if let Some(s) = subject {
                    self.citizen(s.0, officer, row);
                }
            }
        }
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY.max(self.dossiers.len() as u64) {
            self.sweep(false);
        }
    }

    /// A lookup outside a working day's sessions (and their grace) counts for its officer's day.
    fn working_time(&mut self, officer: &Officer, row: &Evidence) {
        let Some(at) = chrono::DateTime::from_timestamp_millis(row.occurred_at_ms) else {
            return;
        };
        let local = at.with_timezone(&vietnam::offset());
        let (day, second) = (local.date_naive(), local.num_seconds_from_midnight());
        let kind = if !calendar::is_working_day(day) {
            AnomalyKind::DayOff
        } else if calendar::SESSIONS
            .iter()
            .any(|&(from, to)| (from..to + self.limits.grace_minutes * 60).contains(&second))
        {
            return;
        } else {
            AnomalyKind::OffHours
        };
        let finding = self
            .hours
            .entry((officer.clone(), day, kind))
            .or_insert_with(|| Anomaly {
                kind: Some(kind),
                agency_id: officer.0.clone(),
                district: row.district.clone(),
                officer_id: officer.1.clone(),
                first_at_ms: row.occurred_at_ms,
                last_at_ms: row.occurred_at_ms,
                ..Default::default()
            });
        finding.count += 1;
        finding.first_at_ms = finding.first_at_ms.min(row.occurred_at_ms);
        finding.last_at_ms = finding.last_at_ms.max(row.occurred_at_ms);
        keep(&mut finding.evidence, row.clone(), self.limits.evidence);
    }

    /// A lookup counted in its officer's minute.
    fn minute(&mut self, officer: &Officer, row: &Evidence) {
        let minute = row.occurred_at_ms.div_euclid(MINUTE_MS);
        let open = self.minutes.entry((officer.clone(), minute)).or_default();
        open.count += 1;
        keep(&mut open.evidence, row.clone(), self.limits.evidence);
    }

    /// A lookup of a citizen: a finding when officers enough looked them up within the window.
    fn citizen(&mut self, subject: [u8; 32], officer: Officer, row: Evidence) {
        let window = i64::from(self.limits.citizen_window_minutes) * MINUTE_MS;
        let citizen = self.citizens.entry(subject).or_default();
        let at = row.occurred_at_ms;
        citizen.accesses.push_back((officer, row.clone()));
        if citizen.accesses.len() > ACCESSES_KEPT {
            citizen.accesses.pop_front();
        }
        citizen
            .accesses
            .retain(|(_, r)| (r.occurred_at_ms - at).abs() <= window);
        let mut officers: Vec<&Officer> = citizen.accesses.iter().map(|(o, _)| o).collect();
        officers.sort_unstable();
        officers.dedup();
        let distinct = officers.len() as u64;
        if distinct < u64::from(self.limits.citizen_officers) {
            return;
        }
        match citizen.open {
            Some(i) if self.found[i].last_at_ms + window >= at => {
                let finding = &mut self.found[i];
                finding.count = finding.count.max(distinct);
                finding.last_at_ms = finding.last_at_ms.max(at);
                finding.first_at_ms = finding.first_at_ms.min(at);
                keep(&mut finding.evidence, row, self.limits.evidence);
            }
            _ => {
                let rows: Vec<Evidence> = citizen
                    .accesses
                    .iter()
                    .map(|(_, r)| r.clone())
                    .take(self.limits.evidence as usize)
                    .collect();
                citizen.open = Some(self.found.len());
                self.found.push(Anomaly {
                    kind: Some(AnomalyKind::CitizenManyOfficers),
                    subject: row.subject.clone(),
                    first_at_ms: rows.iter().map(|r| r.occurred_at_ms).min().unwrap_or(at),
                    last_at_ms: at,
                    count: distinct,
                    reference: f64::from(self.limits.citizen_officers),
                    evidence: rows,
                    ..Default::default()
                });
            }
        }
    }

    /// Settles what the window has passed (everything at the end).
    fn sweep(&mut self, all: bool) {
        self.since_sweep = 0;
        let newest = self.newest;
        let dossier_window = i64::from(self.limits.dossier_window_hours) * 60 * MINUTE_MS;
        let mut settled: Vec<(u64, (String, String))> = self
            .dossiers
            .iter()
            .filter(|(_, d)| all || newest - d.last_at > dossier_window)
            .map(|(k, d)| (d.first_seq, k.clone()))
            .collect();
        settled.sort_unstable();
        for (_, key) in settled {
            if let Some(dossier) = self.dossiers.remove(&key) {
                self.settle(key, dossier);
            }
        }
        let citizen_window = i64::from(self.limits.citizen_window_minutes) * MINUTE_MS;
        self.citizens.retain(|_, c| {
            !all && c
                .accesses
                .back()
                .is_some_and(|(_, r)| newest - r.occurred_at_ms <= citizen_window)
        });
        let newest_minute = newest.div_euclid(MINUTE_MS);
        let mut closing: Vec<(Officer, i64)> = self
            .minutes
            .keys()
            .filter(|(_, m)| all || newest_minute - m > MINUTES_OPEN)
            .cloned()
            .collect();
        closing.sort_unstable();
        for key in closing {
            if let Some(minute) = self.minutes.remove(&key) {
                let minutes = self.closed.entry(key.0).or_insert_with(|| Minutes {
                    histogram: [0; MINUTE_COUNTS],
                    busiest: Vec::new(),
                });
                minutes.histogram[(minute.count as usize).min(MINUTE_COUNTS - 1)] += 1;
                if minute.count >= u64::from(self.limits.burst_per_minute) {
                    minutes.busiest.push((key.1, minute));
                    minutes
                        .busiest
                        .sort_by_key(|b| (std::cmp::Reverse(b.1.count), b.0));
                    minutes.busiest.truncate(BURSTS_KEPT);
                }
            }
        }
    }

    /// A dossier no longer waited on: its citizens, its officer's totals, its missing lookup.
    fn settle(&mut self, (agency, dossier_id): (String, String), dossier: Dossier) {
        let limits = self.limits;
        let first_at = dossier.received.map_or(dossier.last_at, |(_, at)| at);
        if dossier.subjects.len() >= limits.dossier_citizens as usize {
            self.found.push(Anomaly {
                kind: Some(AnomalyKind::DossierManyCitizens),
                agency_id: agency.clone(),
                district: dossier.district.clone(),
                officer_id: dossier.officer.clone(),
                dossier_id: dossier_id.clone(),
                first_at_ms: first_at,
                last_at_ms: dossier.last_at,
                count: dossier.subjects.len() as u64,
                reference: f64::from(limits.dossier_citizens),
                evidence: dossier.evidence,
                ..Default::default()
            });
        }
        let (Some(code), Some((seq, received_at))) = (dossier.procedure, dossier.received) else {
            return;
        };
        let officer = (agency.clone(), dossier.officer.clone());
        let row = Evidence {
            seq,
            occurred_at_ms: received_at,
            agency_id: agency,
            district: dossier.district.clone(),
            officer_id: dossier.officer.clone(),
            dossier_id,
            procedure: code.clone(),
            lookups: dossier.lookups,
            ..Default::default()
        };
        if procedure::procedure(&code).is_some_and(|p| p.requires_lookup) {
            let (finding, required) = self.unlooked.entry(officer.clone()).or_insert_with(|| {
                let finding = Anomaly {
                    kind: Some(AnomalyKind::NoLookup),
                    agency_id: officer.0.clone(),
                    district: dossier.district.clone(),
                    officer_id: officer.1.clone(),
                    first_at_ms: i64::MAX,
                    last_at_ms: i64::MIN,
                    ..Default::default()
                };
                (finding, 0)
            });
            *required += 1;
            if dossier.lookups == 0 {
                finding.count += 1;
                finding.first_at_ms = finding.first_at_ms.min(received_at);
                finding.last_at_ms = finding.last_at_ms.max(received_at);
                keep(&mut finding.evidence, row.clone(), limits.evidence);
            }
        }
        let peer = self
            .peers
            .entry(code)
            .or_default()
            .entry(officer)
            .or_insert_with(|| Peer {
                district: dossier.district,
                first_at: received_at,
                last_at: received_at,
                ..Default::default()
            });
        peer.dossiers += 1;
        peer.lookups += row.lookups;
        peer.first_at = peer.first_at.min(received_at);
        peer.last_at = peer.last_at.max(received_at);
        peer.top.push(row);
        peer.top
            .sort_by(|a, b| b.lookups.cmp(&a.lookups).then(a.seq.cmp(&b.seq)));
        peer.top.truncate(limits.evidence as usize);
    }

    /// Settles everything and makes the findings that need the whole period.
    pub(super) fn finish(&mut self) -> Vec<Anomaly> {
        self.sweep(true);
        let limits = self.limits;
        let mut found = std::mem::take(&mut self.found);
        found.extend(std::mem::take(&mut self.hours).into_values());
        for (_, (mut finding, required)) in std::mem::take(&mut self.unlooked) {
            if finding.count > 0 {
                finding.measure = finding.count as f64 / required.max(1) as f64;
                finding.reference = required as f64;
                found.push(finding);
            }
        }
        for ((agency, officer), minutes) in std::mem::take(&mut self.closed) {
            let usual = usual_rate(&minutes.histogram);
            let bar = f64::from(limits.burst_per_minute).max(limits.burst_factor * usual);
            for (minute, busy) in minutes.busiest {
                if (busy.count as f64) < bar {
                    continue;
                }
                found.push(Anomaly {
                    kind: Some(AnomalyKind::Burst),
                    agency_id: agency.clone(),
                    district: busy
                        .evidence
                        .first()
                        .map(|r| r.district.clone())
                        .unwrap_or_default(),
                    officer_id: officer.clone(),
                    first_at_ms: minute * MINUTE_MS,
                    last_at_ms: minute * MINUTE_MS + MINUTE_MS - 1,
                    count: busy.count,
                    measure: busy.count as f64,
                    reference: usual,
                    score: busy.count as f64 / usual.max(f64::MIN_POSITIVE),
                    evidence: busy.evidence,
                    ..Default::default()
                });
            }
        }
        for (code, officers) in std::mem::take(&mut self.peers) {
            let compared: Vec<(Officer, Peer)> = officers
                .into_iter()
                .filter(|(_, p)| p.dossiers >= u64::from(limits.peer_min_dossiers))
                .collect();
            if compared.len() < limits.peer_min_officers as usize {
                continue;
            }
            let rates: Vec<f64> = compared
                .iter()
                .map(|(_, p)| p.lookups as f64 / p.dossiers as f64)
                .collect();
            let Some((z, median)) = peers::robust_z(&rates) else {
                continue;
            };
            for (((agency, officer), peer), (rate, z)) in
                compared.into_iter().zip(rates.into_iter().zip(z))
            {
                if z.abs() < limits.peer_z || (rate - median).abs() < limits.peer_min_difference {
                    continue;
                }
                found.push(Anomaly {
                    kind: Some(AnomalyKind::PeerOutlier),
                    agency_id: agency,
                    district: peer.district,
                    officer_id: officer,
                    procedure: code.clone(),
                    first_at_ms: peer.first_at,
                    last_at_ms: peer.last_at,
                    count: peer.dossiers,
                    measure: rate,
                    reference: median,
                    score: z,
                    evidence: peer.top,
                    ..Default::default()
                });
            }
        }
        found
    }
}

/// An officer's usual lookups in a minute they made any: the median of their active minutes.
fn usual_rate(histogram: &[u64; MINUTE_COUNTS]) -> f64 {
    let active: u64 = histogram[1..].iter().sum();
    if active == 0 {
        return 0.0;
    }
    let mut seen = 0;
    for (count, minutes) in histogram.iter().enumerate().skip(1) {
        seen += minutes;
        if seen * 2 >= active {
            return count as f64;
        }
    }
    (MINUTE_COUNTS - 1) as f64
}
