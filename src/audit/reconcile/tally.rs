//! What reconciling counts per dossier and RPC, and when each agency's calls were served.

use std::{collections::HashMap, time::Duration};

use crate::vocabulary::Rpc;

/// Per-RPC tallies of one dossier.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// The RPC counted.
    pub(super) rpc: Option<Rpc>,
    /// Reported verifications that reached the server, by their outcome.
    pub(super) reported: u64,
    /// Verifications the server served.
    pub(super) served: u64,
    /// The earliest of the events concerned, as they state it (Unix ms).
    pub(super) first_at_ms: i64,
    /// Times of the failures reported (outcomes that did not
    /// [reach the server](crate::vocabulary::Outcome::reaches_server)).
    pub(super) failures: Vec<i64>,
}

/// One dossier's attributes and its tallies, per RPC.
#[derive(Debug)]
pub(super) struct DossierTallies {
    /// The agency's directory id.
    pub(super) agency_id: String,
    /// The dossier, as the agency numbers it.
    pub(super) dossier_id: String,
    /// The district (the directory's spelling).
    pub(super) district: String,
    /// The officer who handled it.
    pub(super) officer_id: String,
    /// Its tallies, one per RPC.
    pub(super) rpcs: Vec<Tally>,
    /// Late reports: how many, and the (stated, received) times of the earliest.
    pub(super) late: Option<(u64, i64, i64)>,
}

/// When the server served each agency's calls, by minute: the first and last served in it. A
/// minute is enough to answer "was any call of this agency served within a window" exactly
/// without keeping every time.
#[derive(Debug, Default)]
pub(super) struct ServedMinutes(HashMap<String, HashMap<i64, (i64, i64)>>);

impl ServedMinutes {
    /// A minute in milliseconds.
    const MINUTE: i64 = 60_000;

    /// Notes a call of `agency` served at `at_ms`.
    #[inline]
    pub(super) fn add(&mut self, agency: &str, at_ms: i64) {
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
    pub(super) fn any_near(&self, agency: &str, at_ms: i64, window: Duration) -> bool {
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
    #[inline]
    pub(super) fn late(&mut self, at_ms: i64, received_ms: i64) {
        let late = self.late.get_or_insert((0, at_ms, received_ms));
        late.0 += 1;
        if at_ms < late.1 {
            (late.1, late.2) = (at_ms, received_ms);
        }
    }

    /// The tally of `rpc`, its first time moved to `at_ms` if earlier.
    #[inline]
    pub(super) fn tally(&mut self, rpc: Rpc, at_ms: i64) -> &mut Tally {
        let tally = self.rpc(rpc);
        tally.first_at_ms = tally.first_at_ms.min(at_ms);
        tally
    }

    /// The tally of `rpc` (a new one's first time is `i64::MAX` until an event sets it).
    #[inline]
    pub(super) fn rpc(&mut self, rpc: Rpc) -> &mut Tally {
        let index = match self.rpcs.iter().position(|t| t.rpc.as_ref() == Some(&rpc)) {
            Some(index) => index,
            None => {
                self.rpcs.push(Tally {
                    rpc: Some(rpc),
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
#[inline]
pub(super) fn key_into(buffer: &mut String, agency: &str, dossier: &str) {
    buffer.clear();
    buffer.push_str(agency);
    buffer.push('\0');
    buffer.push_str(dossier);
}
