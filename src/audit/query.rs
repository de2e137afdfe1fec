//! The auditor's questions, answered from the query tables (`dossiers`, `ratio_rollup` and
//! `ratio_rollup_month`, `subjects`) and from the log of record's events.
//!
//! The central figure is the lookup ratio: of the dossiers received in a period, how many
//! lookups the server confirms it served for them per dossier, and how many dossiers had at least
//! one (coverage). What the agencies' clients reported is shown beside it, never in its place: a
//! report the server cannot confirm is counted apart (reported failed, reported not served).

use std::path::Path;

use crate::domain::{
    geography::{CommuneCode, CurrentProvince},
    vietnam,
};
use std::cell::RefCell;

use rusqlite::{params_from_iter, types::Value, Connection};

pub use super::tree::StoredTree;
use super::{
    keys::SignedTreeHead,
    merkle::Hash,
    projector::QUERY_FILE,
    record::{self, Dictionary, StoredEvent},
    store::{LogOfRecord, SqliteLog},
    AuditError, AuditEvent,
};

/// A dimension the ratio can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Agency,
    District,
    Officer,
    Procedure,
    Channel,
    /// Calendar month of receipt, in Vietnam's time zone (UTC+7), "YYYY-MM".
    Month,
    /// The commune-level unit that received the dossier (since 1 July 2025), "Xã Mai Châu,
    /// Phú Thọ"; empty before.
    Commune,
    /// The current province (one of the 34) of the receiving unit; a pre-2025 district counts in
    /// the province that now contains its old one, so trends compare across the reform.
    Province,
}

impl GroupBy {
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Agency => "agency",
            GroupBy::District => "district",
            GroupBy::Officer => "officer",
            GroupBy::Procedure => "procedure",
            GroupBy::Channel => "channel",
            GroupBy::Month => "month",
            GroupBy::Commune => "commune",
            GroupBy::Province => "province",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            GroupBy::Agency,
            GroupBy::District,
            GroupBy::Officer,
            GroupBy::Procedure,
            GroupBy::Channel,
            GroupBy::Month,
            GroupBy::Commune,
            GroupBy::Province,
        ]
        .into_iter()
        .find(|g| g.name() == text)
    }

    /// The column of the dossier summary, or of the day rollup (whose text columns are never
    /// NULL and whose days are already in Vietnam time).
    fn column(self, source: RatioSource) -> &'static str {
        match (self, source) {
            (GroupBy::Agency, _) => "agency_id",
            (GroupBy::District, RatioSource::Dossiers) => "COALESCE(district, '')",
            (GroupBy::Officer, RatioSource::Dossiers) => "COALESCE(officer_id, '')",
            (GroupBy::Procedure, RatioSource::Dossiers) => "COALESCE(procedure, '')",
            (GroupBy::Channel, RatioSource::Dossiers) => "COALESCE(channel, '')",
            (GroupBy::Month, RatioSource::Dossiers) => {
                "strftime('%Y-%m', received_at_ms / 1000, 'unixepoch', '+7 hours')"
            }
            (GroupBy::District, RatioSource::Rollup) => "district",
            (GroupBy::Officer, RatioSource::Rollup) => "officer_id",
            (GroupBy::Procedure, RatioSource::Rollup) => "procedure",
            (GroupBy::Channel, RatioSource::Rollup) => "channel",
            (GroupBy::Month, RatioSource::Rollup) => "strftime('%Y-%m', day * 86400, 'unixepoch')",
            (GroupBy::Commune, RatioSource::Dossiers) => "COALESCE(commune, 0)",
            (GroupBy::Province, RatioSource::Dossiers) => "COALESCE(province, 0)",
            (GroupBy::Commune, RatioSource::Rollup) => "commune",
            (GroupBy::Province, RatioSource::Rollup) => "province",
        }
    }

    /// A group's value as an answer shows it: text columns as stored, commune and province
    /// codes by name ("" for none).
    fn value(self, stored: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<String> {
        use rusqlite::types::FromSql;
        Ok(match self {
            GroupBy::Commune => commune_label(i64::column_result(stored)?),
            GroupBy::Province => province_name(i64::column_result(stored)?),
            _ => Option::<String>::column_result(stored)?.unwrap_or_default(),
        })
    }
}

/// "Xã Mai Châu, Phú Thọ" for a stored commune code; "" for none (or a code the tables lack).
pub(crate) fn commune_label(code: i64) -> String {
    u32::try_from(code)
        .ok()
        .and_then(CommuneCode::new)
        .map(CommuneCode::label)
        .unwrap_or_default()
}

/// "Phú Thọ" for a stored current province code; "" for not known.
fn province_name(code: i64) -> String {
    u16::try_from(code)
        .ok()
        .and_then(CurrentProvince::by_code)
        .map(|p| p.name.to_owned())
        .unwrap_or_default()
}

/// Where a ratio is computed from: the per-day rollup (whole Vietnam days) or, for periods that
/// do not start and end at midnight, the per-dossier summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioSource {
    Rollup,
    Dossiers,
}

impl RatioSource {
    /// The rollup when the period is whole days in Vietnam's time zone.
    pub fn for_period(from_ms: i64, to_ms: i64) -> Self {
        if vietnam::is_midnight(from_ms) && vietnam::is_midnight(to_ms) {
            RatioSource::Rollup
        } else {
            RatioSource::Dossiers
        }
    }
}

/// Which dossiers a ratio covers: received in `[from_ms, to_ms)`, optionally of one agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatioQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub agency_id: Option<String>,
    pub group_by: Vec<GroupBy>,
    /// Count load-test dossiers too (left out by default).
    pub include_load_test: bool,
}

/// One line of a ratio report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatioRow {
    /// The group's values, in the order of `group_by` (empty for the total).
    pub group: Vec<String>,
    pub dossiers: u64,
    /// Verifications reported by the agencies for these dossiers, whatever their outcome.
    pub lookups: u64,
    /// Dossiers with at least one reported verification.
    pub reported_covered: u64,
    /// Verifications the server observed serving for these dossiers.
    pub served: u64,
    /// Dossiers with at least one served verification.
    pub served_covered: u64,
    /// Reported verifications whose outcome says the call failed before reaching the server.
    pub failed: u64,
    /// Reported verifications that reached the server by their outcome, beyond those it served
    /// (per dossier).
    pub not_served: u64,
}

impl RatioRow {
    /// Served lookups per dossier.
    pub fn ratio(&self) -> f64 {
        self.share(self.served)
    }

    /// Share of dossiers with at least one served lookup.
    pub fn coverage(&self) -> f64 {
        self.share(self.served_covered)
    }

    fn share(&self, n: u64) -> f64 {
        if self.dossiers == 0 {
            0.0
        } else {
            n as f64 / self.dossiers as f64
        }
    }
}

/// Which dossiers without a lookup to list: received in `[from_ms, to_ms)`, after `after`
/// (the last row of the previous page: received time, agency, dossier id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnverifiedQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub agency_id: Option<String>,
    pub district: Option<String>,
    pub officer_id: Option<String>,
    pub after: Option<(i64, String, String)>,
    pub limit: usize,
}

/// A dossier as the summary holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierRow {
    pub agency_id: String,
    pub dossier_id: String,
    pub district: String,
    pub officer_id: String,
    pub procedure: String,
    pub channel: String,
    pub received_at_ms: i64,
    /// "Xã Mai Châu, Phú Thọ" for a dossier received since 1 July 2025; empty before.
    pub commune: String,
}

/// Which events to list (all filters optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub agency_id: Option<String>,
    pub officer_id: Option<String>,
    pub dossier_id: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub limit: Option<u64>,
}

/// An event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub seq: u64,
    pub event: AuditEvent,
}

/// `column = ?` conditions for the filters that are set.
fn push_filters(
    conditions: &mut Vec<String>,
    values: &mut Vec<Value>,
    filters: &[(&str, &Option<String>)],
) {
    for (column, value) in filters {
        if let Some(value) = value {
            conditions.push(format!("{column} = ?"));
            values.push(Value::Text(value.clone()));
        }
    }
}

/// Read-only access to a log and its query tables.
pub struct AuditReader {
    /// The log file's connection, with the query tables' file attached (as `query`), so the
    /// query tables are read by their plain names.
    pub(super) log: SqliteLog,
    dictionary: RefCell<Dictionary>,
}

impl AuditReader {
    /// Opens the log at `path` (`DATA_DIR/audit.sqlite`) and the query tables beside it.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let log = SqliteLog::open(path)?;
        let query = path.with_file_name(QUERY_FILE);
        // Creates the tables if no projector ever ran here (they then hold nothing).
        drop(super::projector::connect(&query)?);
        log.connection()
            .execute("ATTACH DATABASE ?1 AS query", [query.to_string_lossy()])?;
        let dictionary = RefCell::new(log.dictionary()?);
        Ok(AuditReader { log, dictionary })
    }

    /// Opens the file once its query tables hold every event of the log, waiting up to
    /// `patience` for a running server's projector (read-your-writes for readers of the file).
    pub fn open_current(path: &Path, patience: std::time::Duration) -> Result<Self, AuditError> {
        let reader = Self::open(path)?;
        let deadline = std::time::Instant::now() + patience;
        loop {
            let size = reader.log.size()?;
            let applied = super::projector::applied(reader.connection())?;
            if applied >= size {
                return Ok(reader);
            }
            if std::time::Instant::now() >= deadline {
                return Err(AuditError::Corrupt(format!(
                    "the query tables hold {applied} of the log's {size} events; start `vnpop serve` on this data directory once to bring them up to date"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// The read connection (query tables attached), for queries kept in their own modules.
    pub(super) fn connection(&self) -> &Connection {
        self.log.connection()
    }

    /// Calls `each` with the stored events `[from, to)`, in order, until it returns false.
    pub(super) fn scan(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(StoredEvent) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.log
            .events(&mut self.dictionary.borrow_mut(), from, to, each)
    }

    /// [`AuditReader::scan`] without allocating: each record's position and a view of it.
    pub(super) fn scan_views(
        &self,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(u64, record::View<'_>) -> Result<bool, AuditError>,
    ) -> Result<(), AuditError> {
        self.log
            .views(&mut self.dictionary.borrow_mut(), from, to, each)
    }

    /// Number of events in the log.
    pub fn size(&self) -> Result<u64, AuditError> {
        self.log.size()
    }

    /// The hashes of the first `size` leaves, in order.
    pub fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        super::tree::leaves(&self.log, &mut self.dictionary.borrow_mut(), 0, size)
    }

    /// The tree of the first `size` events, for proofs (see [`StoredTree`]).
    pub fn tree(&self, size: u64) -> StoredTree<'_> {
        StoredTree::new(&self.log, &self.dictionary, size)
    }

    /// The event stored at leaf `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<AuditEvent>, AuditError> {
        Ok(self.stored(seq)?.map(|stored| stored.event))
    }

    /// The event stored at leaf `seq`, with its receive time.
    pub fn stored(&self, seq: u64) -> Result<Option<StoredEvent>, AuditError> {
        let mut found = None;
        self.scan(seq, seq + 1, &mut |stored| {
            found = Some(stored);
            Ok(false)
        })?;
        Ok(found)
    }

    /// The canonical leaf bytes of the event at `seq`.
    pub fn leaf_data(&self, seq: u64) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(self
            .stored(seq)?
            .map(|s| record::leaf_bytes(s.seq, &s.event, s.received_at_ms)))
    }

    /// The newest signed tree head.
    pub fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
        self.log.latest_head()
    }

    /// Dossiers received in the period without any lookup the server served, oldest first, one
    /// page.
    pub fn unverified(&self, query: &UnverifiedQuery) -> Result<Vec<DossierRow>, AuditError> {
        let mut conditions = vec![
            "served = 0".to_owned(),
            "load_test = 0".to_owned(),
            "received_at_ms >= ?".to_owned(),
            "received_at_ms < ?".to_owned(),
        ];
        let mut values = vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)];
        push_filters(
            &mut conditions,
            &mut values,
            &[
                ("agency_id", &query.agency_id),
                ("district", &query.district),
                ("officer_id", &query.officer_id),
            ],
        );
        if let Some((at, agency, dossier)) = &query.after {
            conditions.push("(received_at_ms, agency_id, dossier_id) > (?, ?, ?)".into());
            values.extend([
                Value::Integer(*at),
                Value::Text(agency.clone()),
                Value::Text(dossier.clone()),
            ]);
        }
        values.push(Value::Integer(query.limit as i64));
        let sql = format!(
            "SELECT agency_id, dossier_id, COALESCE(district, ''), COALESCE(officer_id, ''),
                    COALESCE(procedure, ''), COALESCE(channel, ''), received_at_ms, commune
             FROM dossiers WHERE {} ORDER BY received_at_ms, agency_id, dossier_id LIMIT ?",
            conditions.join(" AND ")
        );
        let mut statement = self.connection().prepare(&sql)?;
        let rows = statement
            .query_map(params_from_iter(values), |r| {
                Ok(DossierRow {
                    agency_id: r.get(0)?,
                    dossier_id: r.get(1)?,
                    district: r.get(2)?,
                    officer_id: r.get(3)?,
                    procedure: r.get(4)?,
                    channel: r.get(5)?,
                    received_at_ms: r.get(6)?,
                    commune: commune_label(r.get::<_, Option<i64>>(7)?.unwrap_or(0)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Calls `each` with every event matching `filter`, in log order, until it returns false.
    pub fn events(
        &self,
        filter: &EventFilter,
        mut each: impl FnMut(LoggedEvent) -> bool,
    ) -> Result<(), AuditError> {
        let same =
            |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
        let mut left = filter.limit.unwrap_or(u64::MAX);
        if left == 0 {
            return Ok(());
        }
        self.scan_views(0, self.size()?, &mut |seq, event| {
            let outcome = match event.kind {
                record::ViewKind::Verification { outcome, .. } => Some(outcome),
                record::ViewKind::Dossier { .. } => None,
            };
            let source = if event.server { "server" } else { "client" };
            let matches = filter
                .from_ms
                .is_none_or(|from| event.occurred_at_ms >= from)
                && filter.to_ms.is_none_or(|to| event.occurred_at_ms < to)
                && same(&filter.agency_id, event.agency_id)
                && same(&filter.officer_id, event.officer_id)
                && same(&filter.dossier_id, event.dossier_id)
                && same(&filter.source, source)
                && filter
                    .outcome
                    .as_deref()
                    .is_none_or(|wanted| outcome == Some(wanted));
            if !matches {
                return Ok(true);
            }
            left -= 1;
            Ok(each(LoggedEvent {
                seq,
                event: event.to_stored(seq).event,
            }) && left > 0)
        })
    }

    /// Every verification of the citizen whose keyed subject hash is `subject`, oldest first.
    pub fn accesses(&self, subject: &str) -> Result<Vec<AuditEvent>, AuditError> {
        let key = super::projector::subject_key(subject);
        let seqs: Vec<i64> = self
            .connection()
            .prepare_cached("SELECT seq FROM subjects WHERE key = ?1 ORDER BY seq")?
            .query_map([key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut found = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(event) = self.event(seq as u64)? {
                if matches!(&event.kind, super::EventKind::Verification { subject: s, .. } if s == subject)
                {
                    found.push(event);
                }
            }
        }
        Ok(found)
    }

    /// The ratio over the period, one row per group (sorted by group), or a single total row.
    pub fn ratio(&self, query: &RatioQuery) -> Result<Vec<RatioRow>, AuditError> {
        self.ratio_from(query, RatioSource::for_period(query.from_ms, query.to_ms))
    }

    /// [`AuditReader::ratio`] from a chosen source (both give the same figures for whole days).
    pub fn ratio_from(
        &self,
        query: &RatioQuery,
        source: RatioSource,
    ) -> Result<Vec<RatioRow>, AuditError> {
        let load_test = (!query.include_load_test).then_some("load_test = 0");
        let rows = self.figures(query, &query.group_by, source, load_test)?;
        Ok(
            if query.group_by.is_empty() && rows.first().is_some_and(|r| r.dossiers == 0) {
                vec![RatioRow::default()]
            } else {
                rows
            },
        )
    }

    /// The load-test dossiers and verifications a ratio leaves out (the period and agency of
    /// `query`, all groups together): none when it includes load tests.
    pub fn ratio_left_out(&self, query: &RatioQuery) -> Result<RatioRow, AuditError> {
        if query.include_load_test {
            return Ok(RatioRow::default());
        }
        let source = RatioSource::for_period(query.from_ms, query.to_ms);
        let rows = self.figures(query, &[], source, Some("load_test = 1"))?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    /// The ratio's figures per group of `group_by`, of the rows `load_test` selects.
    fn figures(
        &self,
        query: &RatioQuery,
        group_by: &[GroupBy],
        source: RatioSource,
        load_test: Option<&str>,
    ) -> Result<Vec<RatioRow>, AuditError> {
        let groups: Vec<&str> = group_by.iter().map(|g| g.column(source)).collect();
        let select_groups = groups
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} AS g{i}, "))
            .collect::<String>();
        let group_clause = if groups.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = (0..groups.len()).map(|i| format!("g{i}")).collect();
            format!("GROUP BY {0} ORDER BY {0}", names.join(", "))
        };
        let (table, figures, mut conditions, mut values) = match source {
            RatioSource::Dossiers => (
                "dossiers",
                // The rollup's figures (summary::ROLLUP_FIGURES), from each dossier's counts.
                "COUNT(*), SUM(lookups), SUM(lookups > 0), SUM(served), SUM(served > 0), SUM(failed),
                 SUM(MAX(lookups - failed - served, 0))"
                    .to_owned(),
                vec!["received_at_ms >= ?", "received_at_ms < ?"],
                vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)],
            ),
            RatioSource::Rollup => {
                // Whole months from the monthly rollup, the days before and after them from the
                // daily one.
                let (from, to) = (vietnam::day_of(query.from_ms), vietnam::day_of(query.to_ms));
                let first = if vietnam::month_start(from) == from {
                    from
                } else {
                    vietnam::next_month_start(from)
                };
                let last = vietnam::month_start(to);
                let (months_from, months_to) = if first < last {
                    (first, last)
                } else {
                    (to, to)
                };
                (
                    "(SELECT * FROM ratio_rollup WHERE day >= ? AND day < ?
                      UNION ALL SELECT * FROM ratio_rollup WHERE day >= ? AND day < ?
                      UNION ALL SELECT * FROM ratio_rollup_month WHERE day >= ? AND day < ?)",
                    super::summary::ROLLUP_FIGURES
                        .map(|c| format!("SUM({c})"))
                        .join(", "),
                    vec![],
                    [from, months_from, months_to, to, months_from, months_to]
                        .map(Value::Integer)
                        .to_vec(),
                )
            }
        };
        if let Some(agency) = &query.agency_id {
            conditions.push("agency_id = ?");
            values.push(Value::Text(agency.clone()));
        }
        conditions.extend(load_test);
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql =
            format!("SELECT {select_groups} {figures} FROM {table} {where_clause} {group_clause}");
        let mut statement = self.connection().prepare(&sql)?;
        let n = groups.len();
        let rows = statement
            .query_map(params_from_iter(values), |row| {
                let mut group = Vec::with_capacity(n);
                for (i, by) in group_by.iter().enumerate() {
                    group.push(by.value(row.get_ref(i)?)?);
                }
                // SUM over no row is NULL.
                let figure = |i: usize| -> rusqlite::Result<u64> {
                    Ok(row.get::<_, Option<i64>>(n + i)?.unwrap_or(0) as u64)
                };
                Ok(RatioRow {
                    group,
                    dossiers: figure(0)?,
                    lookups: figure(1)?,
                    reported_covered: figure(2)?,
                    served: figure(3)?,
                    served_covered: figure(4)?,
                    failed: figure(5)?,
                    not_served: figure(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{
        log::DATABASE_FILE, merkle::BLOCK_LEAVES, AuditEvent, AuditLog, EventKind, EventSource,
    };

    const DAY: i64 = 86_400_000;
    /// 2024-01-01T00:00:00+07:00 in Unix milliseconds.
    const JAN_1_2024: i64 = 1_704_042_000_000;

    fn dossier(id: &str, district: &str, officer: &str, at: i64) -> AuditEvent {
        AuditEvent {
            event_id: format!("dossier-{id}"),
            source: EventSource::Client,
            dossier_id: id.into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: district.into(),
            officer_id: officer.into(),
            occurred_at_ms: at,
            load_test: false,
            commune: None,
            province: None,
            kind: EventKind::Dossier {
                procedure: "1.004227".into(),
                channel: "desk".into(),
            },
        }
    }

    fn lookup(n: usize, id: &str, source: EventSource, at: i64) -> AuditEvent {
        AuditEvent {
            event_id: format!("lookup-{id}-{n}-{}", source.as_str()),
            source,
            dossier_id: id.into(),
            agency_id: "one-stop-ba-dinh".into(),
            district: String::new(),
            officer_id: "o".into(),
            occurred_at_ms: at,
            load_test: false,
            commune: None,
            province: None,
            kind: EventKind::Verification {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "p".into(),
                subject: "s".into(),
            },
        }
    }

    #[test]
    fn proofs_from_the_stored_tree_equal_proofs_from_all_leaves() {
        use crate::audit::merkle::{self, Subtrees};
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let n = 8 * BLOCK_LEAVES + 300;
        let events: Vec<_> = (0..n as usize)
            .map(|i| lookup(i, "A", EventSource::Client, JAN_1_2024))
            .collect();
        for chunk in events.chunks(700) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        drop(log);
        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let all = reader.leaf_hashes(n).unwrap();
        // The projector derived the upper levels the proofs below read (8 blocks: levels 1-3).
        let blocks: Vec<Hash> = all
            .chunks(BLOCK_LEAVES as usize)
            .take(8)
            .map(merkle::root)
            .collect();
        assert_eq!(
            crate::audit::nodes::lookup(reader.connection(), 3, 0).unwrap(),
            Some(merkle::root(&blocks))
        );
        assert_eq!(
            crate::audit::nodes::lookup(reader.connection(), 1, 3).unwrap(),
            Some(merkle::root(&blocks[6..8]))
        );
        for size in [
            1,
            5,
            BLOCK_LEAVES,
            BLOCK_LEAVES + 1,
            3 * BLOCK_LEAVES + 7,
            4 * BLOCK_LEAVES,
            7 * BLOCK_LEAVES + 5,
            n,
        ] {
            let leaves = &all[..size as usize];
            let tree = reader.tree(size);
            assert_eq!(tree.range_root(0, size).unwrap(), merkle::root(leaves));
            for index in [0, size / 2, size - 1] {
                assert_eq!(
                    merkle::inclusion_proof_in(&tree, index).unwrap(),
                    merkle::inclusion_proof(leaves, index as usize),
                    "inclusion {index} of {size}"
                );
            }
            for old in [0, 1, size / 3, BLOCK_LEAVES.min(size), size] {
                assert_eq!(
                    merkle::consistency_proof_in(&tree, old).unwrap(),
                    merkle::consistency_proof(leaves, old as usize),
                    "consistency {old} → {size}"
                );
            }
        }
    }

    #[test]
    fn ratios_by_district_and_month_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let mut events = vec![
            dossier("A", "Quận Ba Đình", "o1", JAN_1_2024),
            dossier("B", "Quận Ba Đình", "o1", JAN_1_2024 + DAY),
            dossier("C", "Quận Tây Hồ", "o2", JAN_1_2024 + 40 * DAY),
            dossier("D", "Quận Tây Hồ", "o2", JAN_1_2024 + 41 * DAY),
            // Outside the period.
            dossier("E", "Quận Tây Hồ", "o2", JAN_1_2024 - DAY),
        ];
        events.push(lookup(1, "A", EventSource::Client, JAN_1_2024));
        events.push(lookup(2, "A", EventSource::Client, JAN_1_2024));
        events.push(lookup(1, "A", EventSource::Server, JAN_1_2024));
        events.push(lookup(1, "C", EventSource::Client, JAN_1_2024 + 40 * DAY));
        events.push(lookup(1, "E", EventSource::Client, JAN_1_2024 - DAY));
        // A lookup reported before its dossier, and a dossier reported twice.
        events.push(lookup(1, "F", EventSource::Client, JAN_1_2024 + 2 * DAY));
        events.push(dossier("F", "Quận Ba Đình", "o1", JAN_1_2024 + 2 * DAY));
        let mut again = dossier("A", "Quận Tây Hồ", "o9", JAN_1_2024);
        again.event_id = "dossier-A-again".into();
        events.push(again);
        log.append_blocking(events).unwrap();
        drop(log);

        let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let mut query = RatioQuery {
            from_ms: JAN_1_2024,
            to_ms: JAN_1_2024 + 365 * DAY,
            ..Default::default()
        };
        let total = reader.ratio(&query).unwrap();
        assert_eq!(total.len(), 1);
        assert_eq!(
            (
                total[0].dossiers,
                total[0].lookups,
                total[0].reported_covered,
                total[0].served,
                total[0].served_covered
            ),
            (5, 4, 3, 1, 1)
        );
        // A, the one served dossier, reported two: one beyond what the server served. C and F
        // reported one each that the server never served.
        assert_eq!((total[0].not_served, total[0].failed), (3, 0));
        assert_eq!(total[0].ratio(), 0.2);
        assert_eq!(total[0].coverage(), 0.2);

        query.group_by = vec![GroupBy::District];
        let by_district = reader.ratio(&query).unwrap();
        assert_eq!(by_district[0].group, ["Quận Ba Đình"]);
        assert_eq!((by_district[0].dossiers, by_district[0].lookups), (3, 3));
        assert_eq!(by_district[1].group, ["Quận Tây Hồ"]);
        assert_eq!(
            (
                by_district[1].dossiers,
                by_district[1].lookups,
                by_district[1].reported_covered
            ),
            (2, 1, 1)
        );

        query.group_by = vec![GroupBy::Month, GroupBy::Officer];
        let by_month = reader.ratio(&query).unwrap();
        let groups: Vec<_> = by_month.iter().map(|r| r.group.join("/")).collect();
        assert_eq!(groups, ["2024-01/o1", "2024-02/o2"]);
        assert_eq!((by_month[0].dossiers, by_month[0].lookups), (3, 3));

        // The rollups (whole months from the monthly one, the days around them from the daily
        // one) and the per-dossier scan agree for every breakdown and period: from and to on a
        // first of the month or not, inside one month, across a year's end.
        let periods = [
            (0, 365),
            (-31, 365),
            (1, 41),
            (0, 31),
            (2, 40),
            (31, 42),
            (1, 2),
            (-1, 1),
            (41, 41),
        ];
        for (from, to) in periods {
            for group_by in [
                vec![],
                vec![GroupBy::District],
                vec![GroupBy::Month, GroupBy::Officer],
                vec![GroupBy::Channel],
            ] {
                let query = RatioQuery {
                    group_by,
                    from_ms: JAN_1_2024 + from * DAY,
                    to_ms: JAN_1_2024 + to * DAY,
                    ..query.clone()
                };
                assert_eq!(
                    reader.ratio_from(&query, RatioSource::Rollup).unwrap(),
                    reader.ratio_from(&query, RatioSource::Dossiers).unwrap(),
                    "days {from}..{to}, {:?}",
                    query.group_by
                );
            }
        }
    }
}
