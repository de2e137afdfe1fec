//! What reconciling counts per dossier and RPC, and when each agency's calls were served; what
//! one scan of a range of the log counts ([`RangeTally`]), and how the counts of two ranges, one
//! after the other, make those of both ([`RangeTally::merge`]).

use std::time::Duration;

use super::scope::FastMap;
use crate::vocabulary::Rpc;

/// Per-RPC tallies of one dossier.
#[derive(Debug)]
pub(super) struct Tally {
    /// The RPC counted.
    pub(super) rpc: Rpc,
    /// Reported verifications that reached the server, by their outcome.
    pub(super) reported: u64,
    /// Verifications the server served.
    pub(super) served: u64,
    /// The earliest of the events concerned, as they state it (Unix ms; `i64::MAX` for none).
    pub(super) first_at_ms: i64,
    /// Reported failures the server contradicts (counted once the whole log is read).
    pub(super) contradicted: u64,
    /// The earliest of those.
    pub(super) contradicted_first_ms: i64,
}

impl Tally {
    /// An empty tally of `rpc`.
    fn new(rpc: Rpc) -> Self {
        Tally {
            rpc,
            reported: 0,
            served: 0,
            first_at_ms: i64::MAX,
            contradicted: 0,
            contradicted_first_ms: i64::MAX,
        }
    }

    /// Adds `other`'s counts (the same RPC).
    fn add(&mut self, other: &Tally) {
        self.reported += other.reported;
        self.served += other.served;
        self.first_at_ms = self.first_at_ms.min(other.first_at_ms);
        self.contradicted += other.contradicted;
        self.contradicted_first_ms = self.contradicted_first_ms.min(other.contradicted_first_ms);
    }
}

/// Late reports of one dossier: how many, and the (stated, received) times of the earliest, the
/// first in the log among equals.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Late {
    /// How many (0: none, the times mean nothing).
    pub(super) count: u64,
    /// When the earliest says it happened (Unix ms).
    pub(super) first_at_ms: i64,
    /// When the server received it (Unix ms).
    pub(super) received_at_ms: i64,
}

impl Late {
    /// Counts a late report that says it happened at `at_ms` and was received at `received_ms`.
    #[inline]
    fn add(&mut self, at_ms: i64, received_ms: i64) {
        if self.count == 0 || at_ms < self.first_at_ms {
            (self.first_at_ms, self.received_at_ms) = (at_ms, received_ms);
        }
        self.count += 1;
    }

    /// Adds the late reports of a later range of the log: its earliest replaces ours only when
    /// strictly earlier, as if read after ours.
    fn merge(&mut self, later: Late) {
        if later.count > 0 {
            self.add(later.first_at_ms, later.received_at_ms);
            self.count += later.count - 1;
        }
    }
}

/// One dossier's tallies, one per RPC, and its late reports.
#[derive(Debug, Default)]
pub(super) struct DossierTallies {
    /// The tally of the first RPC counted (most dossiers have one: kept in place).
    first: Option<Tally>,
    /// The tallies of the others.
    more: Vec<Tally>,
    /// Its late reports.
    pub(super) late: Late,
}

impl DossierTallies {
    /// Counts a late report that says it happened at `at_ms` and was received at `received_ms`.
    #[inline]
    pub(super) fn late(&mut self, at_ms: i64, received_ms: i64) {
        self.late.add(at_ms, received_ms);
    }

    /// The tally of `rpc`, its first time moved to `at_ms` if earlier.
    #[inline]
    pub(super) fn tally(&mut self, rpc: &Rpc, at_ms: i64) -> &mut Tally {
        let tally = self.rpc(rpc);
        tally.first_at_ms = tally.first_at_ms.min(at_ms);
        tally
    }

    /// The tally of `rpc` (a new one's first time is `i64::MAX` until an event sets it).
    #[inline]
    pub(super) fn rpc(&mut self, rpc: &Rpc) -> &mut Tally {
        if self.first.is_none() {
            return self.first.insert(Tally::new(rpc.clone()));
        }
        if self.first.as_ref().is_some_and(|t| t.rpc == *rpc) {
            return self.first.as_mut().expect("checked");
        }
        let index = match self.more.iter().position(|t| t.rpc == *rpc) {
            Some(index) => index,
            None => {
                self.more.push(Tally::new(rpc.clone()));
                self.more.len() - 1
            }
        };
        &mut self.more[index]
    }

    /// Its tallies, one per RPC counted.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Tally> {
        self.first.iter().chain(&self.more)
    }

    /// Adds the tallies of a later range of the log.
    fn merge(&mut self, later: DossierTallies) {
        for tally in later.iter() {
            self.rpc(&tally.rpc).add(tally);
        }
        self.late.merge(later.late);
    }
}

/// A dossier the server served calls for in the period but the period does not have: its
/// attributes as the first such call recorded them, and what was served.
#[derive(Debug)]
pub(super) struct Stray {
    /// The agency's directory id.
    pub(super) agency_id: String,
    /// The dossier, as the agency numbers it.
    pub(super) dossier_id: String,
    /// The district (the directory's spelling).
    pub(super) district: String,
    /// The officer who handled it.
    pub(super) officer_id: String,
    /// What was served, per RPC.
    pub(super) tallies: DossierTallies,
}

/// When the server served each agency's calls, by minute: the first and last served in it. A
/// minute is enough to answer "was any call of this agency served within a window" exactly
/// without keeping every time. Agencies are numbered as in the scope
/// ([`super::scope::Scope::agencies`]): the calls of agencies without a dossier in the period
/// contradict nothing and are not kept.
#[derive(Debug, Default)]
pub(super) struct ServedMinutes(Vec<FastMap<i64, (i64, i64)>>);

/// A minute in milliseconds.
const MINUTE: i64 = 60_000;

impl ServedMinutes {
    /// Notes a call of agency number `agency` served at `at_ms`.
    #[inline]
    pub(super) fn add(&mut self, agency: u32, at_ms: i64) {
        let agency = agency as usize;
        if self.0.len() <= agency {
            self.0.resize_with(agency + 1, FastMap::default);
        }
        let span = self.0[agency]
            .entry(at_ms.div_euclid(MINUTE))
            .or_insert((at_ms, at_ms));
        span.0 = span.0.min(at_ms);
        span.1 = span.1.max(at_ms);
    }

    /// Adds the calls noted by another range's scan.
    fn merge(&mut self, other: ServedMinutes) {
        if self.0.len() < other.0.len() {
            self.0.resize_with(other.0.len(), FastMap::default);
        }
        for (ours, theirs) in self.0.iter_mut().zip(other.0) {
            for (minute, (earliest, latest)) in theirs {
                let span = ours.entry(minute).or_insert((earliest, latest));
                span.0 = span.0.min(earliest);
                span.1 = span.1.max(latest);
            }
        }
    }

    /// The minutes of each agency in order, for [`ServedTimes::any_near`].
    pub(super) fn into_times(self) -> ServedTimes {
        ServedTimes(
            self.0
                .into_iter()
                .map(|minutes| {
                    let mut minutes: Vec<_> = minutes
                        .into_iter()
                        .map(|(minute, (earliest, latest))| (minute, earliest, latest))
                        .collect();
                    minutes.sort_unstable_by_key(|&(minute, ..)| minute);
                    minutes
                })
                .collect(),
        )
    }
}

/// [`ServedMinutes`] once the log is read: each agency's minutes in order.
#[derive(Debug, Default)]
pub(super) struct ServedTimes(Vec<Vec<(i64, i64, i64)>>);

impl ServedTimes {
    /// Whether a call of agency number `agency` was served in `[at_ms - window, at_ms + window]`.
    pub(super) fn any_near(&self, agency: u32, at_ms: i64, window: Duration) -> bool {
        let Some(minutes) = self.0.get(agency as usize) else {
            return false;
        };
        let window = window.as_millis() as i64;
        let (from, to) = (at_ms.saturating_sub(window), at_ms.saturating_add(window));
        let (first, last) = (from.div_euclid(MINUTE), to.div_euclid(MINUTE));
        let start = minutes.partition_point(|&(minute, ..)| minute < first);
        minutes[start..]
            .iter()
            .take_while(|&&(minute, ..)| minute <= last)
            .any(|&(_, earliest, latest)| latest >= from && earliest <= to)
    }
}

/// What one scan of a range of the log counts.
#[derive(Debug, Default)]
pub(super) struct RangeTally {
    /// Per dossier of the scope, by number.
    pub(super) dossiers: Vec<DossierTallies>,
    /// Reported failures (outcomes that did not
    /// [reach the server](crate::vocabulary::Outcome::reaches_server)): dossier number, RPC
    /// (its number in `rpcs`), when (Unix ms).
    pub(super) failures: Vec<(u32, u32, i64)>,
    /// The RPCs of `failures`, numbered.
    pub(super) rpcs: Vec<Rpc>,
    /// When each agency's calls were served.
    pub(super) minutes: ServedMinutes,
    /// Served for dossiers outside the scope, in the period (perhaps never reported), by
    /// `agency \0 dossier`.
    pub(super) strays: FastMap<String, Stray>,
    /// Reported verifications that reached the server.
    pub(super) reported: u64,
    /// Verifications served.
    pub(super) served: u64,
    /// Reported verifications that did not reach the server.
    pub(super) not_reaching_server: u64,
}

impl RangeTally {
    /// Nothing counted yet, for a scope of `dossiers` dossiers.
    pub(super) fn new(dossiers: usize) -> Self {
        RangeTally {
            dossiers: std::iter::repeat_with(DossierTallies::default)
                .take(dossiers)
                .collect(),
            ..RangeTally::default()
        }
    }

    /// The number of `rpc` in `rpcs`, added if new.
    #[inline]
    pub(super) fn rpc_number(&mut self, rpc: &Rpc) -> u32 {
        match self.rpcs.iter().position(|r| r == rpc) {
            Some(number) => number as u32,
            None => {
                self.rpcs.push(rpc.clone());
                self.rpcs.len() as u32 - 1
            }
        }
    }

    /// Adds the counts of the range that follows this one in the log: the same as one scan of
    /// both (sums; the first times are minima, the first in the log among equals; a stray's
    /// attributes are those of its first call).
    pub(super) fn merge(&mut self, later: RangeTally) {
        for (dossier, tallies) in self.dossiers.iter_mut().zip(later.dossiers) {
            dossier.merge(tallies);
        }
        let numbers: Vec<u32> = later.rpcs.iter().map(|rpc| self.rpc_number(rpc)).collect();
        self.failures.extend(
            later
                .failures
                .into_iter()
                .map(|(dossier, rpc, at_ms)| (dossier, numbers[rpc as usize], at_ms)),
        );
        self.minutes.merge(later.minutes);
        for (key, stray) in later.strays {
            match self.strays.get_mut(&key) {
                Some(ours) => ours.tallies.merge(stray.tallies),
                None => {
                    self.strays.insert(key, stray);
                }
            }
        }
        self.reported += later.reported;
        self.served += later.served;
        self.not_reaching_server += later.not_reaching_server;
    }
}

/// `agency \0 dossier`: one string key, so lookups can reuse a buffer instead of allocating.
#[inline]
pub(super) fn key_into(buffer: &mut String, agency: &str, dossier: &str) {
    buffer.clear();
    buffer.push_str(agency);
    buffer.push('\0');
    buffer.push_str(dossier);
}
