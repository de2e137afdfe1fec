//! Changes to the population at runtime, and undoing them.
//!
//! Each change replaces one citizen's `Arc<Citizen>` in the store's overlay in one operation, so
//! the next request sees the whole new record. The first time a citizen is changed, the record it
//! had (or its absence) is kept; [`RuntimeFixtures::reset`] puts those originals back, which
//! restores exactly the startup population (a generated citizen's original is the record the
//! population generates for it).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::NaiveDate;

use crate::{
    domain::{CccdNumber, Citizen, CitizenStatus},
    error::ApiError,
    store::CitizenStore,
};

/// A prepared change of one citizen (see [`RuntimeFixtures::prepare_put`]).
#[derive(Debug, Clone)]
pub struct Change {
    pub cccd: CccdNumber,
    /// Whether the citizen exists before the change.
    pub existed: bool,
    /// The new record; `None`: the citizen is removed.
    record: Option<Arc<Citizen>>,
}

/// The result of a change: whether the citizen existed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    pub existed: bool,
}

/// The store, plus the startup records of every citizen changed since startup (or the last reset).
#[derive(Debug)]
pub struct RuntimeFixtures {
    store: Arc<CitizenStore>,
    /// Serialises changes (admin calls are rare), so a reset never interleaves with a change.
    originals: Mutex<HashMap<CccdNumber, Option<Arc<Citizen>>>>,
}

impl RuntimeFixtures {
    pub fn new(store: Arc<CitizenStore>) -> Self {
        RuntimeFixtures {
            store,
            originals: Mutex::new(HashMap::new()),
        }
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, HashMap<CccdNumber, Option<Arc<Citizen>>>> {
        self.originals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A change of one citizen, checked against the store but not yet made: the admin service
    /// records it in the audit trail first, then [`RuntimeFixtures::apply`]s it (its changes are
    /// serialised, so the store does not move in between).
    pub(crate) fn prepare_put(&self, citizen: Citizen) -> Result<Change, ApiError> {
        if let Some(owner) = citizen
            .cmnd
            .and_then(|cmnd| self.store.cmnd_owner(cmnd))
            .filter(|owner| *owner != citizen.cccd)
        {
            return Err(ApiError::FixtureInvalid {
                field: "citizen_json.cmnd_number".into(),
                message: format!("already linked to citizen {}", owner.masked()),
            });
        }
        Ok(Change {
            cccd: citizen.cccd,
            existed: self.store.get(citizen.cccd).is_some(),
            record: Some(Arc::new(citizen)),
        })
    }

    /// Removing a citizen; an error if there is none.
    pub(crate) fn prepare_remove(&self, cccd: CccdNumber) -> Result<Change, ApiError> {
        self.current(cccd)?;
        Ok(Change {
            cccd,
            existed: true,
            record: None,
        })
    }

    fn current(&self, cccd: CccdNumber) -> Result<Arc<Citizen>, ApiError> {
        self.store
            .get(cccd)
            .ok_or_else(|| ApiError::CitizenNotFound {
                masked: cccd.masked(),
            })
    }

    fn prepare_update(
        &self,
        cccd: CccdNumber,
        change: impl FnOnce(&mut Citizen) -> Result<(), ApiError>,
    ) -> Result<Change, ApiError> {
        let mut updated = (*self.current(cccd)?).clone();
        change(&mut updated)?;
        Ok(Change {
            cccd,
            existed: true,
            record: Some(Arc::new(updated)),
        })
    }

    /// Revoking a citizen's card; an error if they have none.
    pub(crate) fn prepare_revoke_card(&self, cccd: CccdNumber) -> Result<Change, ApiError> {
        self.prepare_update(cccd, |c| {
            if c.card.is_none() {
                return Err(ApiError::CitizenHasNoCard {
                    masked: cccd.masked(),
                });
            }
            c.status = CitizenStatus::CardRevoked;
            Ok(())
        })
    }

    /// Marking a citizen deceased on `died`; an error if before their birth.
    pub(crate) fn prepare_mark_deceased(
        &self,
        cccd: CccdNumber,
        died: NaiveDate,
    ) -> Result<Change, ApiError> {
        self.prepare_update(cccd, |c| {
            if died < c.date_of_birth {
                return Err(ApiError::FixtureInvalid {
                    field: "date_of_death".into(),
                    message: "is before the citizen's date of birth".into(),
                });
            }
            c.status = CitizenStatus::Deceased;
            c.date_of_death = Some(died);
            Ok(())
        })
    }

    /// Makes a prepared change, keeping the citizen's startup record for `reset`.
    pub(crate) fn apply(&self, change: Change) -> Changed {
        let mut originals = self.changes();
        let previous = match change.record {
            Some(record) => self.store.put(record),
            None => self.store.remove(change.cccd),
        };
        originals.entry(change.cccd).or_insert(previous);
        Changed {
            existed: change.existed,
        }
    }

    /// Inserts or replaces a citizen at once.
    pub fn put(&self, citizen: Citizen) -> Result<Changed, ApiError> {
        Ok(self.apply(self.prepare_put(citizen)?))
    }

    /// Removes a citizen at once.
    pub fn remove(&self, cccd: CccdNumber) -> Result<Changed, ApiError> {
        Ok(self.apply(self.prepare_remove(cccd)?))
    }

    /// Revokes a citizen's card at once.
    pub fn revoke_card(&self, cccd: CccdNumber) -> Result<Changed, ApiError> {
        Ok(self.apply(self.prepare_revoke_card(cccd)?))
    }

    /// Marks a citizen deceased at once.
    pub fn mark_deceased(&self, cccd: CccdNumber, died: NaiveDate) -> Result<Changed, ApiError> {
        Ok(self.apply(self.prepare_mark_deceased(cccd, died)?))
    }

    /// Citizens changed since startup (what `reset` would restore).
    pub(crate) fn changed_count(&self) -> usize {
        self.changes().len()
    }

    /// Puts back the startup record of every changed citizen; returns how many.
    pub fn reset(&self) -> usize {
        let mut originals = self.changes();
        let restored = originals.len();
        // Removals first, so a restored citizen's CMND link is not removed with an inserted one.
        for (cccd, original) in originals.iter() {
            if original.is_none() {
                self.store.remove(*cccd);
            }
        }
        for original in originals.drain().filter_map(|(_, o)| o) {
            self.store.put(original);
        }
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::builtin_fixtures;

    #[test]
    fn changes_are_visible_and_reset_restores_the_startup_records() {
        let spec = crate::population::PopulationSpec {
            seed: 1,
            size: 1_000,
            reference_date: crate::population::PopulationSpec::default_reference_date(),
        };
        let population = crate::population::Population::new(spec, &builtin_fixtures()).unwrap();
        let store = Arc::new(CitizenStore::new(population, builtin_fixtures()));
        let fixtures = RuntimeFixtures::new(Arc::clone(&store));
        let an = CccdNumber::parse("001090012345").unwrap();
        let original = store.get(an).unwrap();
        let size = store.len();

        fixtures.revoke_card(an).unwrap();
        assert_eq!(store.get(an).unwrap().status, CitizenStatus::CardRevoked);
        let died = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        fixtures.mark_deceased(an, died).unwrap();
        assert_eq!(store.get(an).unwrap().date_of_death, Some(died));

        let mut newcomer = (*original).clone();
        newcomer.cccd = CccdNumber::parse("001090099999").unwrap();
        newcomer.cmnd = original.cmnd;
        assert!(matches!(
            fixtures.put(newcomer.clone()),
            Err(ApiError::FixtureInvalid { .. })
        ));
        newcomer.cmnd = None;
        assert_eq!(
            fixtures.put(newcomer.clone()).unwrap(),
            Changed { existed: false }
        );
        assert_eq!(store.len(), size + 1);

        let deceased = CccdNumber::parse("036050000777").unwrap();
        fixtures.remove(deceased).unwrap();
        assert!(store.get(deceased).is_none());
        assert!(matches!(
            fixtures.remove(deceased),
            Err(ApiError::CitizenNotFound { .. })
        ));

        assert_eq!(fixtures.reset(), 3);
        assert_eq!(store.get(an).unwrap(), original);
        assert!(store.get(newcomer.cccd).is_none());
        assert!(store.get(deceased).is_some());
        assert_eq!(store.len(), size);
        let cmnd = original.cmnd.unwrap();
        assert_eq!(store.get_by_cmnd(cmnd).unwrap().cccd, an);
        assert_eq!(fixtures.reset(), 0);
    }
}
