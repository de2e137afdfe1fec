//! The dossier summary and the per-day and per-month rollups, kept in step with a batch of
//! events.
//!
//! A batch is applied in memory first, from the records read in place (no event is decoded):
//! every dossier it touches is read once, changed by each of its events in log order, and
//! written back once, in key order; the rollups' changes are summed per row and written once a
//! row (a day's row and its month's row get the same changes). A dossier reported twice counts
//! once (the first report wins); verifications reported before their dossier are counted into
//! the rollup when the dossier arrives.
//!
//! A dossier's rollup figures ([`Dossier::figures`]) are functions of its counts (reported,
//! served, reported failed), and its rollup row never changes once it is received (its
//! attributes are the receipt's): the row gets the difference between the dossier's figures at
//! the end of the batch and at its start, so `covered` and `not_served` stay exact without
//! reading anything but the dossier's row, and the batch builds a rollup key per dossier, not per
//! event.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use crate::{
    domain::{geography::CurrentProvince, vietnam, ProvinceCode},
    vocabulary::Outcome,
};

use super::{
    record::{View, ViewKind},
    AuditError,
};

/// The figures a dossier adds to its rollup row, in the order of [`ROLLUP_FIGURES`].
type Figures = [i64; 7];

/// The rollup's figure columns: dossiers; verifications reported; dossiers with one reported;
/// verifications served; dossiers with one served; reported verifications whose outcome says
/// the call failed before the server; reported verifications that reached the server, by their
/// outcome, beyond those served.
pub(super) const ROLLUP_FIGURES: [&str; 7] = [
    "dossiers",
    "lookups",
    "covered",
    "served",
    "served_covered",
    "failed",
    "not_served",
];

/// A dossier's summary row.
#[derive(Debug, Default)]
struct Dossier {
    received_at_ms: Option<i64>,
    lookups: i64,
    served: i64,
    /// Reported verifications whose outcome says the call never reached the server.
    failed: i64,
    /// Served verifications that consulted a citizen record
    /// ([`Outcome::consulted_a_record`]): what coverage counts.
    served_consulted: i64,
    district: Option<String>,
    officer_id: Option<String>,
    procedure: Option<String>,
    channel: Option<String>,
    load_test: bool,
    /// The commune's code.
    commune: Option<u32>,
    /// The current province's code.
    province: Option<u16>,
    /// Its figures when the batch first read it, if it was received then (in the rollup).
    before: Option<Figures>,
    changed: bool,
}

/// What the rollup is keyed by: the day and the dossier's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RollupKey {
    day: i64,
    agency_id: String,
    district: String,
    officer_id: String,
    procedure: String,
    channel: String,
    load_test: bool,
    /// 0: none.
    commune: u32,
    /// 0: not known.
    province: u16,
}

/// The changes of one batch, before they are written.
#[derive(Default)]
pub(super) struct Summary {
    /// The dossiers the batch touched, by `agency \0 dossier` ([`key_into`]).
    dossiers: HashMap<String, Dossier>,
    /// A buffer for the key being looked up.
    key: String,
}

/// `agency \0 dossier`: one string key (no agency id holds a control character).
fn key_into(buffer: &mut String, agency: &str, dossier: &str) {
    buffer.clear();
    buffer.push_str(agency);
    buffer.push('\0');
    buffer.push_str(dossier);
}

/// The current province containing the one recorded (an old province's successor; a current
/// code is its own): a table lookup, no name.
fn current_province(recorded: Option<u16>) -> Option<u16> {
    recorded
        .and_then(ProvinceCode::new)
        .map(|old| CurrentProvince::containing(old).code)
}

impl Dossier {
    /// What this dossier adds to its rollup row once received.
    fn figures(&self) -> Figures {
        let reaching = self.lookups - self.failed;
        [
            1,
            self.lookups,
            i64::from(self.lookups > 0),
            self.served,
            i64::from(self.served_consulted > 0),
            self.failed,
            (reaching - self.served).max(0),
        ]
    }

    /// The rollup row a dossier with these attributes counts in (`None` until its receipt is
    /// known).
    fn rollup_key(&self, agency_id: &str) -> Option<RollupKey> {
        Some(RollupKey {
            day: vietnam::day_of(self.received_at_ms?),
            agency_id: agency_id.to_owned(),
            district: self.district.clone().unwrap_or_default(),
            officer_id: self.officer_id.clone().unwrap_or_default(),
            procedure: self.procedure.clone().unwrap_or_default(),
            channel: self.channel.clone().unwrap_or_default(),
            load_test: self.load_test,
            commune: self.commune.unwrap_or(0),
            province: self.province.unwrap_or(0),
        })
    }
}

/// The summary row of a dossier as the table holds it (a new one if it holds none).
fn read_dossier(
    transaction: &Transaction<'_>,
    agency_id: &str,
    dossier_id: &str,
) -> Result<Dossier, AuditError> {
    let stored = transaction
        .prepare_cached(
            "SELECT received_at_ms, lookups, served, district, officer_id, procedure, channel, load_test,
                    commune, province, failed, served_consulted
             FROM dossiers WHERE agency_id = ?1 AND dossier_id = ?2",
        )?
        .query_row(params![agency_id, dossier_id], |r| {
            Ok(Dossier {
                received_at_ms: r.get(0)?,
                lookups: r.get(1)?,
                served: r.get(2)?,
                district: r.get(3)?,
                officer_id: r.get(4)?,
                procedure: r.get(5)?,
                channel: r.get(6)?,
                load_test: r.get(7)?,
                commune: r.get(8)?,
                province: r.get(9)?,
                failed: r.get(10)?,
                served_consulted: r.get(11)?,
                before: None,
                changed: false,
            })
        })
        .optional()?;
    let mut dossier = stored.unwrap_or_default();
    if dossier.received_at_ms.is_some() {
        dossier.before = Some(dossier.figures());
    }
    Ok(dossier)
}

impl Summary {
    /// Applies one event, read in place.
    pub(super) fn event(
        &mut self,
        transaction: &Transaction<'_>,
        event: &View<'_>,
    ) -> Result<(), AuditError> {
        if event.dossier_id.is_empty() {
            return Ok(()); // an action outside any dossier (see `recorder::Action`)
        }
        key_into(&mut self.key, event.agency_id, event.dossier_id);
        let dossier = match self.dossiers.get_mut(self.key.as_str()) {
            Some(dossier) => dossier,
            None => {
                let read = read_dossier(transaction, event.agency_id, event.dossier_id)?;
                self.dossiers.entry(self.key.clone()).or_insert(read)
            }
        };
        match event.kind {
            ViewKind::Dossier { procedure, channel } => {
                if dossier.received_at_ms.is_some() {
                    return Ok(()); // reported before: the first report stands
                }
                dossier.received_at_ms = Some(event.occurred_at_ms);
                dossier.district = Some(event.district.to_owned());
                dossier.officer_id = Some(event.officer_id.to_owned());
                dossier.procedure = Some(procedure.to_owned());
                dossier.channel = Some(channel.to_owned());
                dossier.load_test = event.load_test;
                dossier.commune = event.commune;
                dossier.province = current_province(event.province);
                dossier.changed = true;
            }
            ViewKind::Verification { outcome, .. } => {
                if !dossier.changed
                    && dossier.received_at_ms.is_none()
                    && dossier.lookups == 0
                    && dossier.served == 0
                {
                    // A new row: its load-test mark comes from its first verification.
                    dossier.load_test = event.load_test;
                }
                dossier.changed = true;
                let outcome = Outcome::parse(outcome);
                if event.server {
                    dossier.served += 1;
                    dossier.served_consulted += i64::from(outcome.consulted_a_record());
                } else {
                    dossier.lookups += 1;
                    if !outcome.reaches_server() {
                        dossier.failed += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The batch's changes to the day and month rollup rows: each changed, received dossier's
    /// figures now less those it had in the rollup at the batch's start.
    fn rollups(&self) -> [HashMap<RollupKey, Figures>; 2] {
        let (mut days, mut months) = (HashMap::new(), HashMap::new());
        for (key, dossier) in &self.dossiers {
            if !dossier.changed {
                continue;
            }
            let agency = key.split('\0').next().unwrap_or_default();
            let Some(day) = dossier.rollup_key(agency) else {
                continue;
            };
            let (before, after) = (dossier.before.unwrap_or_default(), dossier.figures());
            if before == after {
                continue;
            }
            let month = RollupKey {
                day: vietnam::month_start(day.day),
                ..day.clone()
            };
            for (rows, key) in [(&mut days, day), (&mut months, month)] {
                let row: &mut Figures = rows.entry(key).or_default();
                for ((total, new), old) in row.iter_mut().zip(after).zip(before) {
                    *total += new - old;
                }
            }
        }
        [days, months]
    }

    /// Writes the batch's changed dossiers and rollup rows.
    pub(super) fn write(self, transaction: &Transaction<'_>) -> Result<(), AuditError> {
        let mut dossiers = transaction.prepare_cached(
            "INSERT INTO dossiers (agency_id, dossier_id, district, officer_id, procedure, channel,
                 received_at_ms, load_test, lookups, served, commune, province, failed,
                 served_consulted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (agency_id, dossier_id) DO UPDATE SET district = excluded.district,
                 officer_id = excluded.officer_id, procedure = excluded.procedure,
                 channel = excluded.channel, received_at_ms = excluded.received_at_ms,
                 load_test = excluded.load_test, lookups = excluded.lookups, served = excluded.served,
                 commune = excluded.commune, province = excluded.province, failed = excluded.failed,
                 served_consulted = excluded.served_consulted",
        )?;
        // In key order: the table's pages are visited once each, in order.
        let mut changed: Vec<(&str, &Dossier)> = self
            .dossiers
            .iter()
            .filter(|(_, d)| d.changed)
            .map(|(key, d)| (key.as_str(), d))
            .collect();
        changed.sort_unstable_by_key(|(key, _)| *key);
        for (key, d) in changed {
            let (agency_id, dossier_id) = key.split_once('\0').unwrap_or((key, ""));
            {
                dossiers.execute(params![
                    agency_id,
                    dossier_id,
                    d.district,
                    d.officer_id,
                    d.procedure,
                    d.channel,
                    d.received_at_ms,
                    d.load_test,
                    d.lookups,
                    d.served,
                    d.commune,
                    d.province,
                    d.failed,
                    d.served_consulted
                ])?;
            }
        }
        let [days, months] = self.rollups();
        for (table, rows) in [("ratio_rollup", &days), ("ratio_rollup_month", &months)] {
            let mut rollup = transaction.prepare_cached(&format!(
                "INSERT INTO {table} (day, agency_id, district, officer_id, procedure, channel, load_test,
                     commune, province, {figures})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (day, agency_id, district, officer_id, procedure, channel, load_test, commune, province) DO UPDATE SET
                     {sums}",
                figures = ROLLUP_FIGURES.join(", "),
                sums = ROLLUP_FIGURES
                    .map(|c| format!("{c} = {c} + excluded.{c}"))
                    .join(", "),
            ))?;
            for (key, add) in rows {
                rollup.execute(params![
                    key.day,
                    key.agency_id,
                    key.district,
                    key.officer_id,
                    key.procedure,
                    key.channel,
                    key.load_test,
                    key.commune,
                    key.province,
                    add[0],
                    add[1],
                    add[2],
                    add[3],
                    add[4],
                    add[5],
                    add[6]
                ])?;
            }
        }
        Ok(())
    }
}
