//! Breakdowns made on this side from those the answers give, so the server's answers stay as
//! they are: `province-then`, the province as it stood on the day a dossier was received (one
//! of the 63 before 1 July 2025, of the 34 since: "Hòa Bình" for 2023, where `province` says
//! today's "Phú Thọ"), and `commune` with a label for dossiers received before the reform
//! (which had none: their district, said to be before the reform, instead of a blank).
//!
//! The answer is asked for with the dimensions these are made from (province, district,
//! commune, month) and its rows are merged: every figure of a row is a count over a partition of
//! the dossiers, so sums are exact and the shares are computed again from them. Rows come back
//! in Vietnamese order.

use std::collections::HashMap;

use crate::{
    domain::{
        collation,
        geography::{current_province, district_province, reform_date},
    },
    proto,
};

/// The breakdown by the province of the day.
pub(crate) const PROVINCE_THEN: &str = "province-then";

/// Who writes a pre-reform dossier's commune label: the CLI in English, the report in its
/// language.
pub(crate) type BeforeReform = fn(&str) -> String;

/// The CLI's label: `before 1 July 2025: Huyện Mai Châu` (or without a district).
pub(crate) fn before_reform_en(district: &str) -> String {
    if district.is_empty() {
        "before 1 July 2025".to_owned()
    } else {
        format!("before 1 July 2025: {district}")
    }
}

/// A breakdown as asked, and as it is asked of the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Regroup {
    asked: Vec<String>,
    sent: Vec<String>,
}

impl Regroup {
    /// The breakdown `asked` (names as `--by` takes them).
    pub(crate) fn new(asked: &[String]) -> Self {
        let derives = asked.iter().any(|g| g == PROVINCE_THEN || g == "commune");
        let mut sent: Vec<String> = asked
            .iter()
            .filter(|g| *g != PROVINCE_THEN)
            .cloned()
            .collect();
        if derives {
            for source in ["province", "district", "commune", "month"] {
                if !sent.iter().any(|g| g == source) {
                    sent.push(source.to_owned());
                }
            }
        }
        Regroup {
            asked: asked.to_vec(),
            sent,
        }
    }

    /// The breakdown to ask the answers for.
    pub(crate) fn sent(&self) -> &[String] {
        &self.sent
    }

    /// The rows of the answer to [`Regroup::sent`] as the asked breakdown: merged where the
    /// asked breakdown says less, in Vietnamese order of their groups.
    pub(crate) fn apply(
        &self,
        rows: Vec<proto::RatioRow>,
        before_reform: BeforeReform,
    ) -> Vec<proto::RatioRow> {
        if self.asked == self.sent {
            let mut rows = rows;
            rows.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
            return rows;
        }
        let at = |name: &str| self.sent.iter().position(|g| g == name);
        let (province, district, commune, month) =
            (at("province"), at("district"), at("commune"), at("month"));
        let value = |row: &proto::RatioRow, i: Option<usize>| {
            i.and_then(|i| row.group.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let mut merged: HashMap<Vec<String>, proto::RatioRow> = HashMap::new();
        for row in rows {
            let (p, d, c, m) = (
                value(&row, province),
                value(&row, district),
                value(&row, commune),
                value(&row, month),
            );
            let before = before_reform_month(&m);
            let group: Vec<String> = self
                .asked
                .iter()
                .map(|g| match g.as_str() {
                    PROVINCE_THEN => province_then(&p, &d, &c, before),
                    "commune" if c.is_empty() && before => before_reform(&d),
                    name => value(&row, at(name)),
                })
                .collect();
            add(
                merged
                    .entry(group.clone())
                    .or_insert_with(|| proto::RatioRow {
                        group,
                        ..Default::default()
                    }),
                &row,
            );
        }
        let mut rows: Vec<proto::RatioRow> = merged.into_values().collect();
        rows.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
        rows
    }
}

/// Whether a month of receipt (`2024-01`) is before the reform's (July 2025).
fn before_reform_month(month: &str) -> bool {
    let reform = reform_date().format("%Y-%m").to_string();
    !month.is_empty() && month < reform.as_str()
}

/// The province of the day: since the reform the current one, before it the old province of the
/// district (found among those now part of the current one); empty when not known.
fn province_then(current: &str, district: &str, commune: &str, before: bool) -> String {
    if !before || !commune.is_empty() || district.is_empty() {
        return current.to_owned();
    }
    district_province(district, current_province(current))
        .map(|old| old.province().name.to_owned())
        .unwrap_or_default()
}

/// Adds `row`'s counts to `into` and computes its shares again.
fn add(into: &mut proto::RatioRow, row: &proto::RatioRow) {
    into.dossiers += row.dossiers;
    into.lookups += row.lookups;
    into.served += row.served;
    into.dossiers_with_lookup += row.dossiers_with_lookup;
    into.reported_not_served += row.reported_not_served;
    into.reported_failed += row.reported_failed;
    into.dossiers_with_reported_lookup += row.dossiers_with_reported_lookup;
    let share = |n: u64| {
        if into.dossiers == 0 {
            0.0
        } else {
            n as f64 / into.dossiers as f64
        }
    };
    into.coverage = share(into.dossiers_with_lookup);
    into.lookups_per_dossier = share(into.served);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &[&str], dossiers: u64, with: u64) -> proto::RatioRow {
        proto::RatioRow {
            group: group.iter().map(|g| (*g).to_owned()).collect(),
            dossiers,
            dossiers_with_lookup: with,
            served: with,
            ..Default::default()
        }
    }

    #[test]
    fn the_province_of_the_day_and_a_pre_reform_commune_are_named() {
        let by = |g: &[&str]| Regroup::new(&g.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>());
        let then = by(&[PROVINCE_THEN]);
        assert_eq!(then.sent(), ["province", "district", "commune", "month"]);
        // Sent order: province, district, commune, month.
        let rows = vec![
            row(&["Phú Thọ", "Huyện Mai Châu", "", "2023-01"], 10, 2),
            row(&["Phú Thọ", "Thành phố Hòa Bình", "", "2023-02"], 30, 9),
            row(&["Phú Thọ", "Huyện Tam Nông", "", "2023-02"], 5, 5),
            row(&["Phú Thọ", "", "Xã Mai Châu, Phú Thọ", "2025-08"], 4, 1),
        ];
        let answer = then.apply(rows.clone(), before_reform_en);
        let groups: Vec<_> = answer.iter().map(|r| r.group[0].as_str()).collect();
        assert_eq!(groups, ["Hòa Bình", "Phú Thọ"]);
        assert_eq!(
            (answer[0].dossiers, answer[0].dossiers_with_lookup),
            (40, 11)
        );
        assert!((answer[0].coverage - 11.0 / 40.0).abs() < 1e-12);
        // Tam Nông was Phú Thọ's own district: Phú Thọ then as now.
        assert_eq!((answer[1].dossiers, answer[1].dossiers_with_lookup), (9, 6));

        let commune = by(&["commune"]);
        assert_eq!(commune.sent(), ["commune", "province", "district", "month"]);
        // The same rows in that order.
        let rows = rows
            .into_iter()
            .map(|mut r| {
                let g = &r.group;
                r.group = vec![g[2].clone(), g[0].clone(), g[1].clone(), g[3].clone()];
                r
            })
            .collect();
        let answer = commune.apply(rows, before_reform_en);
        let groups: Vec<_> = answer.iter().map(|r| r.group[0].as_str()).collect();
        assert_eq!(
            groups,
            [
                "before 1 July 2025: Huyện Mai Châu",
                "before 1 July 2025: Huyện Tam Nông",
                "before 1 July 2025: Thành phố Hòa Bình",
                "Xã Mai Châu, Phú Thọ",
            ]
        );
        // Nothing to make: asked as sent, only put in Vietnamese order.
        let plain = by(&["district"]);
        assert_eq!(plain.sent(), ["district"]);
        let answer = plain.apply(
            vec![
                row(&["Huyện Đà Bắc"], 1, 0),
                row(&["Huyện Cao Phong"], 1, 0),
                row(&["Huyện Kim Bôi"], 1, 0),
            ],
            before_reform_en,
        );
        let groups: Vec<_> = answer.iter().map(|r| r.group[0].as_str()).collect();
        assert_eq!(groups, ["Huyện Cao Phong", "Huyện Đà Bắc", "Huyện Kim Bôi"]);
    }
}
