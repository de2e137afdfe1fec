//! The dossiers a reconciliation covers, read once from the `dossiers` table: numbered in the
//! order they were read, their repeated attributes (agency, district, officer) interned, and
//! found by agency and dossier id without allocating, so the scan's lookups are cheap.

use std::{collections::HashMap, hash::BuildHasher};

use rusqlite::{params_from_iter, types::Value, Connection};

use super::ReconcileQuery;
use crate::AuditError;

/// The maps' hasher: foldhash, seeded per process (dossier ids are the agencies' text).
pub(super) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Repeated strings as small integers, in the order first seen.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: FastMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Interner {
    /// The id of `text`, added if new.
    pub(super) fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.ids.insert(text.into(), id);
        self.texts.push(text.into());
        id
    }

    /// The id of `text`, if it was interned.
    #[inline]
    pub(super) fn get(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The text of `id`.
    #[inline]
    pub(super) fn text(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }
}

/// One dossier of the period, as the `dossiers` table holds it.
#[derive(Debug, Clone, Copy)]
pub(super) struct ScopeDossier {
    /// The agency ([`Scope::agencies`]).
    pub(super) agency: u32,
    /// The district, the directory's spelling ([`Scope::texts`]; "" when not recorded).
    pub(super) district: u32,
    /// The officer who handled it ([`Scope::texts`]; "" when not recorded).
    pub(super) officer: u32,
}

/// The dossiers received in a period (those a reconciliation covers), each numbered by its
/// position in [`Scope::dossiers`]. The ids are kept back to back in one string and found
/// through an open-addressing table of dossier numbers, so a period of millions of dossiers
/// costs no allocation per dossier and is read back in order.
#[derive(Debug, Default)]
pub(super) struct Scope {
    /// The agencies of the period's dossiers.
    pub(super) agencies: Interner,
    /// Districts and officers.
    pub(super) texts: Interner,
    /// The dossiers' attributes, by number (the order read).
    pub(super) dossiers: Vec<ScopeDossier>,
    /// Every dossier's id, back to back.
    ids: String,
    /// Where each dossier's id ends in `ids`, by number.
    ends: Vec<usize>,
    /// The table: a slot holds a dossier's number + 1 (0: empty) and the high half of its
    /// hash; linear probing, at most half full, its length a power of two.
    slots: Vec<(u32, u32)>,
    /// The table's hasher (seeded per process: dossier ids are the agencies' text).
    hasher: foldhash::fast::RandomState,
}

impl Scope {
    /// The dossiers `query` covers, read from the `dossiers` table on `connection` (inside the
    /// caller's read transaction).
    ///
    /// The table is read whole (or one agency's part of it) rather than through its index on
    /// the receipt time: a reconciliation reads every record of the log anyway, of which
    /// dossiers are a part, and the index would cost a search of the table for each dossier of
    /// the period.
    pub(super) fn load(
        connection: &Connection,
        query: &ReconcileQuery,
    ) -> Result<Self, AuditError> {
        // `+`: not through the index on the receipt time (see above; `NOT INDEXED` does not
        // keep SQLite from it on a table without rowid).
        let mut conditions = vec!["+received_at_ms >= ?", "+received_at_ms < ?"];
        let mut values = vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)];
        if let Some(agency) = &query.agency_id {
            conditions.push("agency_id = ?");
            values.push(Value::Text(agency.clone()));
        }
        if !query.include_load_test {
            conditions.push("load_test = 0");
        }
        let mut statement = connection.prepare(&format!(
            "SELECT agency_id, dossier_id, COALESCE(district, ''), COALESCE(officer_id, '')
             FROM dossiers WHERE {}",
            conditions.join(" AND ")
        ))?;
        let mut scope = Scope::default();
        let mut rows = statement.query(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            let text = |i: usize| -> Result<&str, AuditError> {
                Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
            };
            let dossier = ScopeDossier {
                agency: scope.agencies.intern(text(0)?),
                district: scope.texts.intern(text(2)?),
                officer: scope.texts.intern(text(3)?),
            };
            scope.insert(dossier, text(1)?);
        }
        Ok(scope)
    }

    /// The hash of `agency`'s dossier `dossier_id`.
    #[inline]
    fn hash(&self, agency: u32, dossier_id: &str) -> u64 {
        self.hasher.hash_one((agency, dossier_id))
    }

    /// The id of dossier number `number`.
    #[inline]
    pub(super) fn id(&self, number: u32) -> &str {
        let number = number as usize;
        let start = if number == 0 {
            0
        } else {
            self.ends[number - 1]
        };
        &self.ids[start..self.ends[number]]
    }

    /// Adds a dossier (the table's key makes each (agency, id) unique).
    fn insert(&mut self, dossier: ScopeDossier, dossier_id: &str) {
        if (self.dossiers.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let number = self.dossiers.len() as u32;
        self.ids.push_str(dossier_id);
        self.ends.push(self.ids.len());
        self.dossiers.push(dossier);
        let hash = self.hash(dossier.agency, dossier_id);
        self.place(number, hash);
    }

    /// Puts dossier number `number`, of hash `hash`, in the first free slot from its own.
    #[inline]
    fn place(&mut self, number: u32, hash: u64) {
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        while self.slots[slot].0 != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = (number + 1, (hash >> 32) as u32);
    }

    /// Doubles the table (at least 1,024 slots) and places every dossier again.
    fn grow(&mut self) {
        let len = (self.slots.len() * 2).max(1 << 10);
        self.slots = vec![(0, 0); len];
        for number in 0..self.dossiers.len() as u32 {
            let hash = self.hash(self.dossiers[number as usize].agency, self.id(number));
            self.place(number, hash);
        }
    }

    /// The number of `agency`'s dossier `dossier_id`, if the period has it.
    #[inline]
    pub(super) fn find(&self, agency: u32, dossier_id: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = self.hash(agency, dossier_id);
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let (number, high) = self.slots[slot];
            let number = number.checked_sub(1)?;
            if high == (hash >> 32) as u32
                && self.dossiers[number as usize].agency == agency
                && self.id(number) == dossier_id
            {
                return Some(number);
            }
            slot = (slot + 1) & mask;
        }
    }
}
