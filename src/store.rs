//! The citizen store: the population database's records, keyed by CCCD number, with an index
//! from legacy CMND numbers.
//!
//! Two layers. The generated population ([`Population`]) is never stored: a number leads to its
//! citizen's index by arithmetic and the citizen is generated when asked (microseconds), so a
//! hundred million citizens cost no memory and no start-up time. Above it, an overlay of records
//! that differ from the generated ones: fixtures, and the QA admin service's changes — a record
//! that replaces or adds a citizen, or a tombstone for one removed. The overlay is consulted first.
//!
//! The overlay's maps are sharded (`DashMap`), so readers on different shards never wait for each
//! other and a reader holds a shard lock only long enough to clone an `Arc`. A record is replaced
//! whole (`Arc<Citizen>`), so a reader never sees half an update.

use std::sync::Arc;

use dashmap::DashMap;

use crate::{
    domain::{CccdNumber, Citizen, CmndNumber},
    population::Population,
};

/// The maps' hasher: foldhash, seeded per process (fast for the 8-byte keys; lookups never insert,
/// so callers cannot grow a map with colliding keys).
type Hasher = foldhash::fast::RandomState;

#[derive(Debug)]
pub struct CitizenStore {
    population: Population,
    /// Records that differ from the generated ones; `None` is a citizen removed.
    overlay: DashMap<CccdNumber, Option<Arc<Citizen>>, Hasher>,
    /// CMND links that differ from the generated ones; `None` is a link removed.
    overlay_cmnd: DashMap<CmndNumber, Option<CccdNumber>, Hasher>,
}

impl CitizenStore {
    /// A store serving `population`, with `fixtures` on top; a later fixture with the same CCCD
    /// number replaces an earlier one. The population should have been built with the fixtures
    /// reserved ([`Population::new`]), so that no generated citizen shares their numbers.
    pub fn new(population: Population, fixtures: Vec<Citizen>) -> Self {
        let store = CitizenStore {
            population,
            overlay: DashMap::with_hasher(Hasher::default()),
            overlay_cmnd: DashMap::with_hasher(Hasher::default()),
        };
        for citizen in fixtures {
            store.upsert(citizen);
        }
        store
    }

    /// The generated population under the overlay.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// The citizen with this CCCD number.
    pub fn get(&self, cccd: CccdNumber) -> Option<Arc<Citizen>> {
        if let Some(entry) = self.overlay.get(&cccd) {
            return entry.value().clone();
        }
        self.population.get(cccd).map(Arc::new)
    }

    /// The citizen linked to this legacy CMND number.
    pub(crate) fn get_by_cmnd(&self, cmnd: CmndNumber) -> Option<Arc<Citizen>> {
        if let Some(entry) = self.overlay_cmnd.get(&cmnd) {
            let owner = (*entry.value())?;
            drop(entry);
            return self.get(owner);
        }
        let citizen = self.population.get_by_cmnd(cmnd)?;
        // A generated citizen changed at runtime keeps the link only through the overlay.
        (!self.overlay.contains_key(&citizen.cccd)).then(|| Arc::new(citizen))
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
        let previous = self.get(cccd);
        self.overlay.insert(cccd, Some(citizen));
        if let Some(old) = previous
            .as_ref()
            .and_then(|p| p.cmnd)
            .filter(|old| Some(*old) != cmnd)
        {
            self.unlink_cmnd(old, cccd);
        }
        if let Some(cmnd) = cmnd {
            self.overlay_cmnd.insert(cmnd, Some(cccd));
        }
        previous
    }

    /// Removes a citizen and their CMND link; returns the record removed.
    pub fn remove(&self, cccd: CccdNumber) -> Option<Arc<Citizen>> {
        let removed = self.get(cccd)?;
        self.overlay.insert(cccd, None);
        if let Some(cmnd) = removed.cmnd {
            self.unlink_cmnd(cmnd, cccd);
        }
        Some(removed)
    }

    /// Removes the link from `cmnd` if `cccd` holds it.
    fn unlink_cmnd(&self, cmnd: CmndNumber, cccd: CccdNumber) {
        if self.cmnd_owner(cmnd) == Some(cccd) {
            self.overlay_cmnd.insert(cmnd, None);
        }
    }

    /// The CCCD number a CMND number is linked to.
    pub(crate) fn cmnd_owner(&self, cmnd: CmndNumber) -> Option<CccdNumber> {
        self.get_by_cmnd(cmnd).map(|c| c.cccd)
    }

    /// Number of citizens held: the generated ones, less those removed, plus those added.
    pub fn len(&self) -> usize {
        let mut len = self.population.len() as i64;
        for entry in self.overlay.iter() {
            let generated = self.population.index_of(*entry.key()).is_some();
            len += match (generated, entry.value().is_some()) {
                (true, false) => -1,
                (false, true) => 1,
                _ => 0,
            };
        }
        len.max(0) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::{builtin_fixtures, PopulationSpec};

    /// A store of `size` generated citizens and `fixtures`.
    fn store(size: usize, fixtures: Vec<Citizen>) -> CitizenStore {
        let spec = PopulationSpec {
            seed: 5,
            size,
            reference_date: PopulationSpec::default_reference_date(),
        };
        CitizenStore::new(Population::new(spec, &fixtures).unwrap(), fixtures)
    }

    #[test]
    fn finds_by_cccd_and_cmnd_and_later_entries_win() {
        let mut citizens = builtin_fixtures();
        let mut renamed = citizens[0].clone();
        renamed.full_name = "Nguyễn Văn Bình".into();
        citizens.push(renamed);
        let store = store(1, citizens);
        let an = CccdNumber::parse("001090012345").unwrap();
        assert_eq!(store.get(an).unwrap().full_name, "Nguyễn Văn Bình");
        let cmnd = CmndNumber::parse("012345678").unwrap();
        assert_eq!(store.get_by_cmnd(cmnd).unwrap().cccd, an);
        assert_eq!(store.len(), builtin_fixtures().len() + 1);
    }

    #[test]
    fn replacing_a_citizen_moves_the_cmnd_index() {
        let store = store(1, builtin_fixtures());
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

    #[test]
    fn generated_citizens_are_served_changed_removed_and_counted() {
        let store = store(10_000, builtin_fixtures());
        let fixtures = builtin_fixtures().len();
        assert_eq!(store.len(), 10_000 + fixtures);
        let population = store.population().clone();
        let holder = (0..10_000)
            .map(|i| population.citizen(i))
            .find(|c| c.cmnd.is_some())
            .unwrap();
        let cmnd = holder.cmnd.unwrap();
        assert_eq!(store.get(holder.cccd).as_deref(), Some(&holder));
        assert_eq!(store.get_by_cmnd(cmnd).unwrap().cccd, holder.cccd);

        // Replaced with another CMND: the old link goes, the new one comes.
        let mut changed = holder.clone();
        changed.cmnd = Some(CmndNumber::parse("019999998").unwrap());
        assert_eq!(
            store.put(Arc::new(changed.clone())).as_deref(),
            Some(&holder)
        );
        assert!(store.get_by_cmnd(cmnd).is_none());
        assert_eq!(store.cmnd_owner(changed.cmnd.unwrap()), Some(holder.cccd));
        assert_eq!(store.len(), 10_000 + fixtures);

        // Removed: gone by both numbers, and counted out.
        assert_eq!(store.remove(holder.cccd).as_deref(), Some(&changed));
        assert!(store.get(holder.cccd).is_none());
        assert!(store.get_by_cmnd(changed.cmnd.unwrap()).is_none());
        assert!(store.remove(holder.cccd).is_none());
        assert_eq!(store.len(), 10_000 + fixtures - 1);

        // Put back as generated: found again by both numbers.
        store.put(Arc::new(holder.clone()));
        assert_eq!(store.get_by_cmnd(cmnd).as_deref(), Some(&holder));
        assert_eq!(store.len(), 10_000 + fixtures);
    }
}
