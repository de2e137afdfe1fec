//! The dossier summary and the per-day and per-month rollups, kept in step with a batch of
//! events.
//!
//! A batch is applied in memory first: every dossier it touches is read once, changed by each of
//! its events in log order, and written back once; the rollups' changes are summed per row and
//! written once a row (a day's row and its month's row get the same changes). A dossier reported twice counts once (the first report wins);
//! verifications reported before their dossier are counted into the rollup when the dossier
//! arrives.
//!
//! A dossier's rollup figures ([`Dossier::figures`]) are functions of its counts (reported,
//! served, reported failed); each event changes a received dossier's figures, and the rollup
//! row gets the difference, so `covered` and `not_served` stay exact without reading anything
//! but the dossier's row.

use std::collections::{hash_map::Entry, HashMap};

use rusqlite::{params, OptionalExtension, Transaction};

use crate::domain::{geography::CurrentProvince, vietnam, ProvinceCode};

use super::{
    event::{AuditEvent, EventKind, EventSource},
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
    /// ([`Outcome::consulted_a_record`](crate::vocabulary::Outcome::consulted_a_record)): what
    /// coverage counts.
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
    dossiers: HashMap<(String, String), Dossier>,
    /// Per rollup row: the [`ROLLUP_FIGURES`] to add; the month's rows keyed by their first day.
    rollup: HashMap<RollupKey, Figures>,
    months: HashMap<RollupKey, Figures>,
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

impl Summary {
    /// The summary row of a dossier, read from the table the first time the batch touches it.
    fn dossier<'a>(
        &'a mut self,
        transaction: &Transaction<'_>,
        agency_id: &str,
        dossier_id: &str,
    ) -> Result<&'a mut Dossier, AuditError> {
        match self
            .dossiers
            .entry((agency_id.to_owned(), dossier_id.to_owned()))
        {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
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
                            changed: false,
                        })
                    })
                    .optional()?;
                Ok(entry.insert(stored.unwrap_or_default()))
            }
        }
    }

    /// Adds a dossier's change of figures (`after - before`) to its day's and month's rows.
    fn add(&mut self, key: Option<RollupKey>, before: Figures, after: Figures) {
        let Some(key) = key else {
            return;
        };
        let month = RollupKey {
            day: vietnam::month_start(key.day),
            ..key.clone()
        };
        for (rows, key) in [(&mut self.rollup, key), (&mut self.months, month)] {
            let row = rows.entry(key).or_default();
            for ((total, new), old) in row.iter_mut().zip(after).zip(before) {
                *total += new - old;
            }
        }
    }

    /// Applies one event to the batch's summary.
    pub(super) fn event(
        &mut self,
        transaction: &Transaction<'_>,
        event: &AuditEvent,
    ) -> Result<(), AuditError> {
        if event.dossier_id.is_empty() {
            return Ok(()); // an action outside any dossier (see `recorder::Action`)
        }
        let agency = event.agency_id.as_str();
        let dossier = self.dossier(transaction, agency, &event.dossier_id)?;
        let (key, before) = match &event.kind {
            EventKind::Dossier { procedure, channel } => {
                if dossier.received_at_ms.is_some() {
                    return Ok(()); // reported before: the first report stands
                }
                dossier.received_at_ms = Some(event.occurred_at_ms);
                dossier.district = Some(event.district.clone());
                dossier.officer_id = Some(event.officer_id.clone());
                dossier.procedure = Some(procedure.clone());
                dossier.channel = Some(channel.as_str().to_owned());
                dossier.load_test = event.load_test;
                dossier.commune = event.commune;
                dossier.province = current_province(event.province);
                dossier.changed = true;
                // Not in the rollup before: all of its figures are new.
                (dossier.rollup_key(agency), Figures::default())
            }
            EventKind::Verification { outcome, .. } => {
                if !dossier.changed
                    && dossier.received_at_ms.is_none()
                    && dossier.lookups == 0
                    && dossier.served == 0
                {
                    // A new row: its load-test mark comes from its first verification.
                    dossier.load_test = event.load_test;
                }
                dossier.changed = true;
                // Counted into the rollup now only if the dossier is already reported.
                let before = dossier.figures();
                match event.source {
                    EventSource::Client => {
                        dossier.lookups += 1;
                        if !outcome.reaches_server() {
                            dossier.failed += 1;
                        }
                    }
                    EventSource::Server => {
                        dossier.served += 1;
                        dossier.served_consulted += i64::from(outcome.consulted_a_record());
                    }
                }
                (dossier.rollup_key(agency), before)
            }
        };
        let after = dossier.figures();
        self.add(key, before, after);
        Ok(())
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
        for ((agency_id, dossier_id), d) in &self.dossiers {
            if d.changed {
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
        for (table, rows) in [
            ("ratio_rollup", &self.rollup),
            ("ratio_rollup_month", &self.months),
        ] {
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
