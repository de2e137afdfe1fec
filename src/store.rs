//! The in-memory citizen store: the population database's records, keyed by CCCD number, with an
//! index from legacy CMND numbers.
//!
//! Both maps are sharded (`DashMap`), so readers on different shards never wait for each other and
//! a reader holds a shard lock only long enough to clone an `Arc`. A record is replaced whole
//! (`Arc<Citizen>`), so a reader never sees half an update.

use std::sync::Arc;

use dashmap::DashMap;
use rayon::prelude::*;

use crate::domain::{CccdNumber, Citizen, CmndNumber};

/// The maps' hasher: foldhash, seeded per process (fast for the 8-byte keys; lookups never insert,
/// so callers cannot grow a map with colliding keys).
type Hasher = foldhash::fast::RandomState;

#[derive(Debug, Default)]
pub struct CitizenStore {
    by_cccd: DashMap<CccdNumber, Arc<Citizen>, Hasher>,
    by_cmnd: DashMap<CmndNumber, CccdNumber, Hasher>,
}

impl CitizenStore {
    /// A store holding `citizens`; a later citizen with the same CCCD number replaces an earlier
    /// one (how fixtures override generated people).
    pub fn from_citizens(citizens: Vec<Citizen>) -> Self {
        let store = CitizenStore {
            by_cccd: DashMap::with_capacity_and_hasher(citizens.len(), Hasher::default()),
            by_cmnd: DashMap::with_capacity_and_hasher(citizens.len(), Hasher::default()),
        };
        // Later entries must win, so duplicates are split off and applied in order afterwards.
        let (unique, overrides) = split_last_wins(citizens);
        unique.into_par_iter().for_each(|c| store.upsert(c));
        overrides.into_iter().for_each(|c| store.upsert(c));
        store
    }

    /// The citizen with this CCCD number.
    pub fn get(&self, cccd: CccdNumber) -> Option<Arc<Citizen>> {
        self.by_cccd
            .get(&cccd)
            .map(|entry| Arc::clone(entry.value()))
    }

    /// The citizen linked to this legacy CMND number.
    pub fn get_by_cmnd(&self, cmnd: CmndNumber) -> Option<Arc<Citizen>> {
        let cccd = *self.by_cmnd.get(&cmnd)?;
        self.get(cccd)
    }

    /// Inserts or replaces a citizen, keeping the CMND index in step.
    pub fn upsert(&self, citizen: Citizen) {
        self.put(Arc::new(citizen));
    }

    /// Inserts or replaces a citizen in one step (a reader sees the old record or the new one,
    /// never a mix), keeping the CMND index in step; returns the record replaced.
    pub fn put(&self, citizen: Arc<Citizen>) -> Option<Arc<Citizen>> {
        let cccd = citizen.cccd;
        let cmnd = citizen.cmnd;
        let previous = self.by_cccd.insert(cccd, citizen);
        if let Some(old) = previous
            .as_ref()
            .and_then(|p| p.cmnd)
            .filter(|old| Some(*old) != cmnd)
        {
            self.by_cmnd.remove_if(&old, |_, owner| *owner == cccd);
        }
        if let Some(cmnd) = cmnd {
            self.by_cmnd.insert(cmnd, cccd);
        }
        previous
    }

    /// Removes a citizen and their CMND link; returns the record removed.
    pub fn remove(&self, cccd: CccdNumber) -> Option<Arc<Citizen>> {
        let (_, removed) = self.by_cccd.remove(&cccd)?;
        if let Some(cmnd) = removed.cmnd {
            self.by_cmnd.remove_if(&cmnd, |_, owner| *owner == cccd);
        }
        Some(removed)
    }

    /// The CCCD number a CMND number is linked to.
    pub fn cmnd_owner(&self, cmnd: CmndNumber) -> Option<CccdNumber> {
        self.by_cmnd.get(&cmnd).map(|owner| *owner)
    }

    /// Number of citizens held.
    pub fn len(&self) -> usize {
        self.by_cccd.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_cccd.is_empty()
    }
}

/// Splits citizens into those whose CCCD number appears once and, in their original order, the
/// ones that appear again (to be applied last, so the later entry wins).
fn split_last_wins(citizens: Vec<Citizen>) -> (Vec<Citizen>, Vec<Citizen>) {
    let mut seen = std::collections::HashSet::with_capacity(citizens.len());
    let mut unique = Vec::with_capacity(citizens.len());
    let mut overrides = Vec::new();
    for citizen in citizens {
        if seen.insert(citizen.cccd) {
            unique.push(citizen);
        } else {
            overrides.push(citizen);
        }
    }
    (unique, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::builtin_fixtures;

    #[test]
    fn finds_by_cccd_and_cmnd_and_later_entries_win() {
        let mut citizens = builtin_fixtures();
        let mut renamed = citizens[0].clone();
        renamed.full_name = "Nguyễn Văn Bình".into();
        citizens.push(renamed);
        let store = CitizenStore::from_citizens(citizens);
        let an = CccdNumber::parse("001090012345").unwrap();
        assert_eq!(store.get(an).unwrap().full_name, "Nguyễn Văn Bình");
        let cmnd = CmndNumber::parse("012345678").unwrap();
        assert_eq!(store.get_by_cmnd(cmnd).unwrap().cccd, an);
        assert_eq!(store.len(), builtin_fixtures().len());
    }

    #[test]
    fn replacing_a_citizen_moves_the_cmnd_index() {
        let store = CitizenStore::from_citizens(builtin_fixtures());
        let an = CccdNumber::parse("001090012345").unwrap();
        let mut updated = (*store.get(an).unwrap()).clone();
        updated.cmnd = Some(CmndNumber::parse("019999999").unwrap());
        store.upsert(updated);
        assert!(store
            .get_by_cmnd(CmndNumber::parse("012345678").unwrap())
            .is_none());
        assert_eq!(
            store
                .get_by_cmnd(CmndNumber::parse("019999999").unwrap())
                .unwrap()
                .cccd,
            an
        );
    }
}
