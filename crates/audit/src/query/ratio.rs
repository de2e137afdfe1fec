//! The lookup ratio: of the dossiers received in a period, how many lookups the server confirms
//! it served for them per dossier, and how many dossiers had at least one (coverage). What the
//! agencies' clients reported is shown beside it, never in its place: a report the server cannot
//! confirm is counted apart (reported failed, reported not served).
//!
//! Whole Vietnam days are summed from the rollup rows in memory; other periods from the
//! period's receipts (the query file's `dossiers`) and each dossier's counts in memory. Both give
//! the same figures for the same dossiers (a test checks it). Groups are summed under a compact
//! key (interned ids, codes, month numbers), then named and sorted as the answer shows them:
//! texts in byte order, commune and province by code, months as "YYYY-MM".

use std::collections::HashMap;

use rusqlite::{params_from_iter, types::Value};

use crate::domain::vietnam;

use super::{commune_label, province_name, AuditReader};
use crate::{
    projector::{QueryState, RollupKey},
    AuditError,
};

/// Most dimensions a ratio is broken down by at once (each of [`GroupBy`]'s once).
const MAX_GROUPS: usize = 8;

/// A group under its compact key: one number per dimension.
type CompactGroup = [i64; MAX_GROUPS];

/// The hasher of the maps a ratio sums in (hundreds of thousands of rows a query: not SipHash).
type FastHash = foldhash::fast::FixedState;

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
    /// Every dimension, in the order requests, the command line and the docs list them.
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Agency,
        GroupBy::District,
        GroupBy::Officer,
        GroupBy::Procedure,
        GroupBy::Channel,
        GroupBy::Month,
        GroupBy::Commune,
        GroupBy::Province,
    ];

    /// The name requests and the command line use ("agency", "district", ...).
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

    /// The dimension named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == text)
    }

    /// Every dimension's name, comma-separated (for messages).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// This dimension's number for a dossier: a text's id, a code, or a month (year × 12 +
    /// month − 1).
    fn compact(self, key: &RollupKey, months: &mut HashMap<i64, i64, FastHash>) -> i64 {
        match self {
            GroupBy::Agency => i64::from(key.agency),
            GroupBy::District => i64::from(key.district),
            GroupBy::Officer => i64::from(key.officer),
            GroupBy::Procedure => i64::from(key.procedure),
            GroupBy::Channel => i64::from(key.channel),
            GroupBy::Month => *months
                .entry(key.day)
                .or_insert_with(|| vietnam::month_number(key.day)),
            GroupBy::Commune => i64::from(key.commune),
            GroupBy::Province => i64::from(key.province),
        }
    }

    /// A compact value as the answer sorts it.
    fn sort_value(self, compact: i64, state: &QueryState) -> SortValue {
        match self {
            GroupBy::Commune | GroupBy::Province => SortValue::Code(compact),
            GroupBy::Month => SortValue::Text(format!(
                "{:04}-{:02}",
                compact.div_euclid(12),
                compact.rem_euclid(12) + 1
            )),
            _ => SortValue::Text(state.texts.text(compact as u32).to_owned()),
        }
    }
}

/// A group's value as the answer orders groups: texts in byte order, codes by number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Text(String),
    Code(i64),
}

impl SortValue {
    /// The value as the answer shows it in the dimension `by`.
    fn shown(self, by: GroupBy) -> String {
        match (self, by) {
            (SortValue::Code(code), GroupBy::Commune) => commune_label(code),
            (SortValue::Code(code), _) => province_name(code),
            (SortValue::Text(text), _) => text,
        }
    }
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
    /// Start of the period (Unix ms, inclusive).
    pub from_ms: i64,
    /// End of the period (Unix ms, exclusive).
    pub to_ms: i64,
    /// Only this agency's (any when `None`).
    pub agency_id: Option<String>,
    /// The dimensions to break the ratio down by (none: one total).
    pub group_by: Vec<GroupBy>,
    /// Count load-test dossiers too (left out by default).
    pub include_load_test: bool,
}

/// One line of a ratio report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatioRow {
    /// The group's values, in the order of `group_by` (empty for the total).
    pub group: Vec<String>,
    /// Dossiers received in the period.
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

    /// `n` per dossier (0 without dossiers).
    fn share(&self, n: u64) -> f64 {
        if self.dossiers == 0 {
            0.0
        } else {
            n as f64 / self.dossiers as f64
        }
    }
}

impl AuditReader {
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
        let mut rows = Vec::new();
        self.ratio_each_from(query, source, |row| {
            rows.push(row);
            true
        })?;
        Ok(rows)
    }

    /// [`AuditReader::ratio`], each row handed to `each` in group order, until it returns
    /// false.
    pub fn ratio_each(
        &self,
        query: &RatioQuery,
        each: impl FnMut(RatioRow) -> bool,
    ) -> Result<(), AuditError> {
        self.ratio_each_from(
            query,
            RatioSource::for_period(query.from_ms, query.to_ms),
            each,
        )
    }

    /// [`AuditReader::ratio_each`] from a chosen source.
    fn ratio_each_from(
        &self,
        query: &RatioQuery,
        source: RatioSource,
        mut each: impl FnMut(RatioRow) -> bool,
    ) -> Result<(), AuditError> {
        let load_test = (!query.include_load_test).then_some(false);
        let total = query.group_by.is_empty();
        self.figures(query, &query.group_by, source, load_test, &mut |row| {
            // The total of nothing is the empty row.
            each(if total && row.dossiers == 0 {
                RatioRow::default()
            } else {
                row
            })
        })
    }

    /// The load-test dossiers and verifications a ratio leaves out (the period and agency of
    /// `query`, all groups together): none when it includes load tests.
    pub fn ratio_left_out(&self, query: &RatioQuery) -> Result<RatioRow, AuditError> {
        if query.include_load_test {
            return Ok(RatioRow::default());
        }
        let source = RatioSource::for_period(query.from_ms, query.to_ms);
        let mut total = RatioRow::default();
        self.figures(query, &[], source, Some(true), &mut |row| {
            total = row;
            false
        })?;
        Ok(total)
    }

    /// The ratio's figures per group of `group_by`, of the dossiers whose load-test mark is
    /// `load_test` (either when `None`), each handed to `each` in group order, until it returns
    /// false. Without groups, one row (of zeros if no dossier counts).
    fn figures(
        &self,
        query: &RatioQuery,
        group_by: &[GroupBy],
        source: RatioSource,
        load_test: Option<bool>,
        each: &mut dyn FnMut(RatioRow) -> bool,
    ) -> Result<(), AuditError> {
        if group_by.len() > MAX_GROUPS {
            return Err(AuditError::Corrupt(format!(
                "a ratio is broken down by at most {MAX_GROUPS} dimensions"
            )));
        }
        let rows = self.with_state(|state| {
            let agency = match &query.agency_id {
                Some(agency) => match state.texts.id(agency) {
                    Some(id) => Some(id),
                    None => return Ok(Vec::new()), // no dossier of that agency
                },
                None => None,
            };
            let selected = |key: &RollupKey| {
                agency.is_none_or(|a| key.agency == a)
                    && load_test.is_none_or(|l| key.load_test == l)
            };
            let mut groups: HashMap<CompactGroup, [i64; 7], FastHash> = HashMap::default();
            let mut months: HashMap<i64, i64, FastHash> = HashMap::default();
            let mut add = |key: &RollupKey, figures: [i64; 7]| {
                let mut group = CompactGroup::default();
                for (slot, by) in group.iter_mut().zip(group_by) {
                    *slot = by.compact(key, &mut months);
                }
                let sums = groups.entry(group).or_default();
                for (sum, figure) in sums.iter_mut().zip(figures) {
                    *sum += figure;
                }
            };
            match source {
                RatioSource::Rollup => {
                    let (from, to) = (vietnam::day_of(query.from_ms), vietnam::day_of(query.to_ms));
                    for (key, figures) in state.rollups() {
                        if key.day >= from && key.day < to && selected(key) {
                            add(key, *figures);
                        }
                    }
                }
                RatioSource::Dossiers => self.receipts(query, state, &mut |key, figures| {
                    if selected(key) {
                        add(key, figures);
                    }
                })?,
            }
            let mut rows: Vec<(Vec<SortValue>, [i64; 7])> = groups
                .into_iter()
                .map(|(group, figures)| {
                    let values = group_by
                        .iter()
                        .zip(group)
                        .map(|(by, compact)| by.sort_value(compact, state))
                        .collect();
                    (values, figures)
                })
                .collect();
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Ok(rows)
        })?;
        if group_by.is_empty() && rows.is_empty() {
            each(RatioRow::default());
            return Ok(());
        }
        for (values, figures) in rows {
            let figure = |i: usize| figures[i].max(0) as u64;
            let row = RatioRow {
                group: values
                    .into_iter()
                    .zip(group_by)
                    .map(|(value, by)| value.shown(*by))
                    .collect(),
                dossiers: figure(0),
                lookups: figure(1),
                reported_covered: figure(2),
                served: figure(3),
                served_covered: figure(4),
                failed: figure(5),
                not_served: figure(6),
            };
            if !each(row) {
                break;
            }
        }
        Ok(())
    }

    /// Each dossier received in the query's period (and of its agency), read from the query
    /// file's receipts: its rollup row's key and its figures from the counts in memory.
    fn receipts(
        &self,
        query: &RatioQuery,
        state: &QueryState,
        each: &mut dyn FnMut(&RollupKey, [i64; 7]),
    ) -> Result<(), AuditError> {
        let mut conditions = vec!["received_at_ms >= ?", "received_at_ms < ?"];
        let mut values = vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)];
        if let Some(agency) = &query.agency_id {
            conditions.push("agency_id = ?");
            values.push(Value::Text(agency.clone()));
        }
        let mut statement = self.connection().prepare(&format!(
            "SELECT agency_id, dossier_id FROM dossiers WHERE {}",
            conditions.join(" AND ")
        ))?;
        let mut rows = statement.query(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            let text = |i: usize| -> Result<&str, AuditError> {
                Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
            };
            let (agency, dossier) = (text(0)?, text(1)?);
            if let Some((rollup, counts)) = state.dossier(agency, dossier) {
                each(state.rollup_key(rollup), counts.figures());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{log::DATABASE_FILE, AuditLog, EventSource};

    const DAY: i64 = 86_400_000;
    /// 2024-01-01T00:00:00+07:00 in Unix milliseconds.
    const JAN_1_2024: i64 = 1_704_042_000_000;

    use crate::event::test_dossier as dossier;

    use crate::event::test_lookup as lookup;

    #[test]
    fn ratios_by_district_and_month_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
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
