//! The query side's state in memory: exact rollup counters, every dossier's counts, and the
//! dossiers no served lookup has covered yet.
//!
//! Applying an event costs a hash-table probe and a few additions, whatever the log's length.
//! The rollup is keyed by the day and the dossier's attributes, interned ([`RollupKey`]); a
//! dossier's rollup row never changes once it is received (its attributes are the receipt's),
//! and the row gets the difference each event makes to the dossier's figures
//! ([`Counts::figures`]), so `covered` and `not_served` stay exact. A dossier reported twice
//! counts once (the first report wins); verifications reported before their dossier count in
//! the rollup when it arrives. The receipt itself (a dossier's attributes and receipt time) is
//! what [`QueryState::apply`] returns, for the query file's `dossiers` table.
//!
//! Nothing here is stored: the state is derived again from the log when a process starts
//! (see [`super::Projector`]), at memory speed.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
};

use super::dossiers::{Counts, Dossier, DossierTable, Figures, Key};
use crate::{
    domain::{geography::CurrentProvince, vietnam, ProvinceCode},
    record::{View, ViewKind},
    vocabulary::Outcome,
};

/// The hasher of the state's maps (one probe or more an event: not SipHash).
type FastHash = foldhash::fast::FixedState;

/// Interned texts: agencies, districts, officers, procedures, channels.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    ids: HashMap<Box<str>, u32, FastHash>,
    texts: Vec<Box<str>>,
}

impl Texts {
    /// The id of `text`, adding it if new.
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.into());
        self.ids.insert(text.into(), id);
        id
    }

    /// The id of `text`, if any rollup row uses it.
    pub(crate) fn id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The text of `id`.
    pub(crate) fn text(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }
}

/// What a rollup row is keyed by: the Vietnam day of receipt and the dossier's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RollupKey {
    /// The Vietnam day (days since 1970-01-01).
    pub(crate) day: i64,
    /// Texts ([`Texts`]).
    pub(crate) agency: u32,
    pub(crate) district: u32,
    pub(crate) officer: u32,
    pub(crate) procedure: u32,
    pub(crate) channel: u32,
    /// The commune's code, 0 for none.
    pub(crate) commune: u32,
    /// The current province's code, 0 when not known.
    pub(crate) province: u16,
    pub(crate) load_test: bool,
}

/// A dossier as the unverified list shows it: when received, by whom, and its rollup row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct UnverifiedKey {
    pub(crate) received_at_ms: i64,
    pub(crate) agency_id: Box<str>,
    pub(crate) dossier_id: Box<str>,
}

/// A dossier's receipt, for the query file's `dossiers` table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Receipt<'a> {
    pub(crate) view: &'a View<'a>,
    pub(crate) procedure: &'a str,
    pub(crate) channel: &'a str,
    /// The current province's code, if known.
    pub(crate) province: Option<u16>,
}

/// The query side's state (see the module documentation).
#[derive(Default)]
pub(crate) struct QueryState {
    pub(crate) texts: Texts,
    keys: Vec<RollupKey>,
    key_ids: HashMap<RollupKey, u32, FastHash>,
    /// Each rollup row's figures, by its key's id.
    figures: Vec<Figures>,
    dossiers: DossierTable,
    /// The received, not load-test dossiers without a served lookup that consulted a record,
    /// in the unverified list's order, with their rollup row.
    unverified: BTreeMap<UnverifiedKey, u32>,
    /// When each of them was received, by its dossier key (to find it again once covered).
    unverified_at: HashMap<Key, i64, FastHash>,
    /// What each outcome text means, parsed once.
    outcomes: HashMap<Box<str>, (bool, bool), FastHash>,
}

/// The current province containing the one recorded (an old province's successor; a current
/// code is its own): a table lookup, no name.
fn current_province(recorded: Option<u16>) -> Option<u16> {
    recorded
        .and_then(ProvinceCode::new)
        .map(|old| CurrentProvince::containing(old).code)
}

/// What the query side holds in memory, in bytes (estimated from each structure's capacity and
/// its entries' sizes: the allocator's own overhead is not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateMemory {
    /// The table of every dossier's counts.
    pub dossiers: u64,
    /// The unverified dossiers' list and its index.
    pub unverified: u64,
    /// The rollup counters, their keys and the interned texts.
    pub rollups: u64,
}

impl QueryState {
    /// What the state holds in memory.
    pub(crate) fn memory(&self) -> StateMemory {
        use std::mem::size_of;
        // A B-tree's nodes are about two thirds full; a hash map's bucket has a control byte.
        let btree_entry = (size_of::<(UnverifiedKey, u32)>() * 3).div_ceil(2);
        let unverified = self.unverified.len() * btree_entry
            + self
                .unverified
                .keys()
                .map(|key| key.agency_id.len() + key.dossier_id.len())
                .sum::<usize>()
            + self.unverified_at.capacity() * (size_of::<(Key, i64)>() + 1);
        let texts = self.texts.texts.capacity() * size_of::<Box<str>>()
            + self.texts.ids.capacity() * (size_of::<(Box<str>, u32)>() + 1)
            + 2 * self.texts.texts.iter().map(|t| t.len()).sum::<usize>();
        let rollups = self.keys.capacity() * size_of::<RollupKey>()
            + self.key_ids.capacity() * (size_of::<(RollupKey, u32)>() + 1)
            + self.figures.capacity() * size_of::<Figures>()
            + texts;
        StateMemory {
            dossiers: self.dossiers.memory_bytes() as u64,
            unverified: unverified as u64,
            rollups: rollups as u64,
        }
    }

    /// Applies one event, read in place; returns its receipt if it is a dossier's first.
    pub(crate) fn apply<'a>(&mut self, view: &'a View<'a>) -> Option<Receipt<'a>> {
        if view.dossier_id.is_empty() || view.is_cleaning() {
            // An action outside any dossier (see `recorder::Action`), or a data-cleaning
            // verification: under a job, not a dossier (the citizen index keeps it).
            return None;
        }
        let key = self.dossiers.key(view.agency_id, view.dossier_id);
        let stored = self.dossiers.get(key);
        let mut dossier = stored.unwrap_or(Dossier {
            rollup: None,
            load_test_before_receipt: view.load_test,
            counts: Counts::default(),
        });
        let before = dossier.rollup.map(|_| dossier.counts.figures());
        let mut receipt = None;
        match view.kind {
            ViewKind::Dossier { procedure, channel } => {
                if dossier.rollup.is_some() {
                    return None; // reported before: the first report stands
                }
                let province = current_province(view.province);
                let rollup = RollupKey {
                    day: vietnam::day_of(view.occurred_at_ms),
                    agency: self.texts.intern(view.agency_id),
                    district: self.texts.intern(view.district),
                    officer: self.texts.intern(view.officer_id),
                    procedure: self.texts.intern(procedure),
                    channel: self.texts.intern(channel),
                    commune: view.commune.unwrap_or(0),
                    province: province.unwrap_or(0),
                    load_test: view.load_test,
                };
                let id = self.rollup_id(rollup);
                dossier.rollup = Some(id);
                if dossier.counts.consulted == 0 && !view.load_test {
                    self.unverified.insert(
                        UnverifiedKey {
                            received_at_ms: view.occurred_at_ms,
                            agency_id: view.agency_id.into(),
                            dossier_id: view.dossier_id.into(),
                        },
                        id,
                    );
                    self.unverified_at.insert(key, view.occurred_at_ms);
                }
                receipt = Some(Receipt {
                    view,
                    procedure,
                    channel,
                    province,
                });
            }
            ViewKind::Verification { outcome, .. } => {
                let (reaches, consulted) = self.outcome(outcome);
                let counts = &mut dossier.counts;
                if view.server {
                    counts.served += 1;
                    if consulted {
                        counts.consulted += 1;
                        if counts.consulted == 1 && dossier.rollup.is_some() {
                            self.covered(view, key);
                        }
                    }
                } else {
                    counts.lookups += 1;
                    counts.failed += u32::from(!reaches);
                }
            }
        }
        if let Some(rollup) = dossier.rollup {
            let (before, after) = (before.unwrap_or_default(), dossier.counts.figures());
            let row = &mut self.figures[rollup as usize];
            for ((total, new), old) in row.iter_mut().zip(after).zip(before) {
                *total += new - old;
            }
        }
        self.dossiers.put(key, dossier);
        receipt
    }

    /// The id of rollup row `key`, adding the row if new.
    fn rollup_id(&mut self, key: RollupKey) -> u32 {
        if let Some(&id) = self.key_ids.get(&key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key);
        self.figures.push(Figures::default());
        self.key_ids.insert(key, id);
        id
    }

    /// Whether the outcome `text` reaches the server, and whether it consulted a record.
    fn outcome(&mut self, text: &str) -> (bool, bool) {
        if let Some(&meaning) = self.outcomes.get(text) {
            return meaning;
        }
        let outcome = Outcome::parse(text);
        let meaning = (outcome.reaches_server(), outcome.consulted_a_record());
        if self.outcomes.len() < 4_096 {
            self.outcomes.insert(text.into(), meaning);
        }
        meaning
    }

    /// Takes a received dossier off the unverified list: a served lookup consulted a record.
    fn covered(&mut self, view: &View<'_>, key: Key) {
        if let Some(received_at_ms) = self.unverified_at.remove(&key) {
            self.unverified.remove(&UnverifiedKey {
                received_at_ms,
                agency_id: view.agency_id.into(),
                dossier_id: view.dossier_id.into(),
            });
        }
    }

    /// Every rollup row: its key and figures.
    pub(crate) fn rollups(&self) -> impl Iterator<Item = (&RollupKey, &Figures)> {
        self.keys.iter().zip(&self.figures)
    }

    /// The rollup row `id`'s key.
    pub(crate) fn rollup_key(&self, id: u32) -> &RollupKey {
        &self.keys[id as usize]
    }

    /// The rollup row and counts of `agency`'s dossier `dossier_id`, if it has been received.
    pub(crate) fn dossier(&self, agency: &str, dossier_id: &str) -> Option<(u32, Counts)> {
        self.dossiers
            .get(self.dossiers.key(agency, dossier_id))
            .and_then(|d| Some((d.rollup?, d.counts)))
    }

    /// Whether `agency`'s dossier `dossier_id` has been received.
    pub(crate) fn received(&self, agency: &str, dossier_id: &str) -> bool {
        self.dossiers
            .get(self.dossiers.key(agency, dossier_id))
            .is_some_and(|d| d.rollup.is_some())
    }

    /// The unverified dossiers after `after` (or from the first), in order, with their rollup
    /// row.
    pub(crate) fn unverified_from(
        &self,
        after: Bound<UnverifiedKey>,
    ) -> impl Iterator<Item = (&UnverifiedKey, &u32)> {
        self.unverified.range((after, Bound::Unbounded))
    }
}
