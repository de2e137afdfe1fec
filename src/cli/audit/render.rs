//! A ratio answer as printed: [`RatioLine`]s, their TOTAL line, what the answer left out, in
//! the [`Format`] asked for (table, CSV or JSON).

use clap::ValueEnum;
use serde::Serialize;

use crate::{
    cli::{
        messages::{audit::lists::Lists as Says, Message},
        output::csv_field,
    },
    proto,
};

/// The output of `ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, with a TOTAL line when grouped.
    Table,
    /// Comma-separated values with a header line; a grouped report ends with its TOTAL line.
    Csv,
    /// A JSON array of lines; a grouped report ends with its TOTAL line (`"total": true`).
    Json,
}

/// One line of a ratio report, as printed. The headline figures (`lookups_per_dossier`,
/// `dossiers_with_lookup`, `coverage`) count served verifications only (proto `RatioRow`).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RatioLine {
    pub group: Vec<String>,
    pub dossiers: u64,
    /// Verifications reported, whatever their outcome.
    pub lookups: u64,
    pub lookups_per_dossier: f64,
    pub dossiers_with_lookup: u64,
    pub coverage: f64,
    pub served: u64,
    pub reported_not_served: u64,
    pub reported_failed: u64,
    pub dossiers_with_reported_lookup: u64,
    /// The sum of the report's groups (the last line of a grouped report).
    pub total: bool,
    /// On the line that stands for the whole answer (the TOTAL line, or the period's only line):
    /// the load-test traffic the answer leaves out.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<LeftOut>,
}

/// The load-test traffic a ratio answer leaves out (proto `LookupRatioResponse`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct LeftOut {
    pub load_test_dossiers_left_out: u64,
    pub load_test_lookups_left_out: u64,
    pub load_test_served_left_out: u64,
}

impl LeftOut {
    pub(crate) fn of(answer: &proto::LookupRatioResponse) -> Self {
        LeftOut {
            load_test_dossiers_left_out: answer.load_test_dossiers_left_out,
            load_test_lookups_left_out: answer.load_test_lookups_left_out,
            load_test_served_left_out: answer.load_test_served_left_out,
        }
    }

    /// The line under a ratio table, in the CLI's language.
    pub(crate) fn sentence(&self) -> String {
        Says::LeftOut {
            dossiers: self.load_test_dossiers_left_out,
            lookups: self.load_test_lookups_left_out,
            served: self.load_test_served_left_out,
        }
        .text()
    }
}

impl From<proto::RatioRow> for RatioLine {
    fn from(r: proto::RatioRow) -> Self {
        RatioLine {
            group: r.group,
            dossiers: r.dossiers,
            lookups: r.lookups,
            lookups_per_dossier: r.lookups_per_dossier,
            dossiers_with_lookup: r.dossiers_with_lookup,
            coverage: r.coverage,
            served: r.served,
            reported_not_served: r.reported_not_served,
            reported_failed: r.reported_failed,
            dossiers_with_reported_lookup: r.dossiers_with_reported_lookup,
            total: false,
            left_out: None,
        }
    }
}

/// The sum of a report's groups.
pub(crate) fn total_line(lines: &[RatioLine]) -> RatioLine {
    let sum = |f: fn(&RatioLine) -> u64| lines.iter().map(f).sum::<u64>();
    let dossiers = sum(|l| l.dossiers);
    let share = |n: u64| {
        if dossiers == 0 {
            0.0
        } else {
            n as f64 / dossiers as f64
        }
    };
    let (served, covered) = (sum(|l| l.served), sum(|l| l.dossiers_with_lookup));
    RatioLine {
        group: vec!["TOTAL".into()],
        dossiers,
        lookups: sum(|l| l.lookups),
        lookups_per_dossier: share(served),
        dossiers_with_lookup: covered,
        coverage: share(covered),
        served,
        reported_not_served: sum(|l| l.reported_not_served),
        reported_failed: sum(|l| l.reported_failed),
        dossiers_with_reported_lookup: sum(|l| l.dossiers_with_reported_lookup),
        total: true,
        left_out: None,
    }
}

/// The report's lines followed, when grouped, by their TOTAL line; the line that stands for the
/// whole answer (TOTAL, or the period's only line) carries what the answer left out.
fn with_total(lines: &[RatioLine], left_out: LeftOut, by: &[String]) -> Vec<RatioLine> {
    let mut all = lines.to_vec();
    if !by.is_empty() && !lines.is_empty() {
        all.push(total_line(lines));
    }
    if let Some(last) = all.last_mut() {
        last.left_out = Some(left_out);
    }
    all
}

/// The figures of a ratio report, in the order CSV and JSON give them.
const RATIO_COLUMNS: [&str; 9] = [
    "dossiers",
    "lookups",
    "lookups_per_dossier",
    "dossiers_with_lookup",
    "coverage",
    "served",
    "reported_not_served",
    "reported_failed",
    "dossiers_with_reported_lookup",
];

/// The load-test columns of a CSV ratio report (filled on the line that stands for the answer).
const LEFT_OUT_COLUMNS: [&str; 3] = [
    "load_test_dossiers_left_out",
    "load_test_lookups_left_out",
    "load_test_served_left_out",
];

/// The report in the chosen format; every format ends with a TOTAL line when grouped (in CSV the
/// first group column says `TOTAL` and the others are empty; in JSON `"total": true`), and says
/// what load-test traffic the answer left out (the table in a line under it; CSV and JSON on the
/// TOTAL line, or the period's only line).
pub(crate) fn render(
    lines: &[RatioLine],
    left_out: LeftOut,
    by: &[String],
    format: Format,
) -> String {
    let lines = with_total(lines, left_out, by);
    match format {
        Format::Json => serde_json::to_string_pretty(&lines).expect("serializable") + "\n",
        Format::Csv => {
            let mut out = by
                .iter()
                .map(String::as_str)
                .chain(RATIO_COLUMNS)
                .chain(LEFT_OUT_COLUMNS)
                .collect::<Vec<_>>()
                .join(",");
            out.push('\n');
            for l in &lines {
                let group: Vec<String> = if l.total {
                    (0..by.len())
                        .map(|i| {
                            if i == 0 {
                                "TOTAL".into()
                            } else {
                                String::new()
                            }
                        })
                        .collect()
                } else {
                    l.group.iter().map(|g| csv_field(g)).collect()
                };
                let figures = format!(
                    "{},{},{:.6},{},{:.6},{},{},{},{}",
                    l.dossiers,
                    l.lookups,
                    l.lookups_per_dossier,
                    l.dossiers_with_lookup,
                    l.coverage,
                    l.served,
                    l.reported_not_served,
                    l.reported_failed,
                    l.dossiers_with_reported_lookup
                );
                let left_out = l.left_out.map_or_else(
                    || ",,".to_owned(),
                    |o| {
                        format!(
                            "{},{},{}",
                            o.load_test_dossiers_left_out,
                            o.load_test_lookups_left_out,
                            o.load_test_served_left_out
                        )
                    },
                );
                out.push_str(
                    &group
                        .into_iter()
                        .chain([figures, left_out])
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Format::Table => {
            let headers = [
                "dossiers",
                "reported",
                "served",
                "with served",
                "coverage",
                "per dossier",
                "not served",
                "failed",
            ];
            let label = |l: &RatioLine| {
                if l.total {
                    "TOTAL".to_owned()
                } else if l.group.is_empty() {
                    "all".to_owned()
                } else {
                    // For a terminal: nothing that drives it or displays as something else.
                    crate::domain::shown(&l.group.join(" / ")).into_owned()
                }
            };
            let title = if by.is_empty() {
                "period".to_owned()
            } else {
                by.join(" / ")
            };
            let width = lines
                .iter()
                .map(|l| label(l).chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(5);
            let mut out = format!("{title:<width$}");
            for h in headers {
                out.push_str(&format!(" {h:>11}"));
            }
            out.push('\n');
            for l in &lines {
                out.push_str(&format!(
                    "{:<width$} {:>11} {:>11} {:>11} {:>11} {:>10.1}% {:>11.3} {:>11} {:>11}\n",
                    label(l),
                    l.dossiers,
                    l.lookups,
                    l.served,
                    l.dossiers_with_lookup,
                    l.coverage * 100.0,
                    l.lookups_per_dossier,
                    l.reported_not_served,
                    l.reported_failed
                ));
            }
            out.push_str(&left_out.sentence());
            out.push('\n');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(district: &str, dossiers: u64, lookups: u64) -> RatioLine {
        RatioLine {
            group: vec![district.into()],
            dossiers,
            lookups: lookups + 2,
            served: lookups,
            dossiers_with_lookup: lookups,
            coverage: lookups as f64 / dossiers as f64,
            lookups_per_dossier: lookups as f64 / dossiers as f64,
            reported_not_served: 1,
            reported_failed: 1,
            dossiers_with_reported_lookup: lookups + 1,
            total: false,
            left_out: None,
        }
    }

    #[test]
    fn every_format_ends_a_grouped_report_with_its_marked_total_and_what_it_left_out() {
        let lines = [
            line("Huyện Bình Lục", 10, 1),
            line("Thành phố Phủ Lý", 30, 9),
        ];
        let by = ["district".to_owned()];
        let left_out = LeftOut {
            load_test_dossiers_left_out: 7,
            load_test_lookups_left_out: 5,
            load_test_served_left_out: 4,
        };
        let csv = render(&lines, left_out, &by, Format::Csv);
        assert_eq!(
            csv.lines().next(),
            Some("district,dossiers,lookups,lookups_per_dossier,dossiers_with_lookup,coverage,served,reported_not_served,reported_failed,dossiers_with_reported_lookup,load_test_dossiers_left_out,load_test_lookups_left_out,load_test_served_left_out")
        );
        assert_eq!(
            csv.lines().nth(1),
            Some("Huyện Bình Lục,10,3,0.100000,1,0.100000,1,1,1,2,,,")
        );
        assert_eq!(
            csv.lines().last(),
            Some("TOTAL,40,14,0.250000,10,0.250000,10,2,2,12,7,5,4")
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&lines, left_out, &by, Format::Json)).unwrap();
        assert_eq!(json[2]["total"], true);
        assert_eq!(json[2]["dossiers"], 40);
        assert_eq!(json[2]["load_test_dossiers_left_out"], 7);
        assert_eq!(json[2]["reported_failed"], 2);
        assert_eq!(json[0]["total"], false);
        assert!(json[0].get("load_test_dossiers_left_out").is_none());
        let table = render(&lines, left_out, &by, Format::Table);
        let last: Vec<&str> = table.lines().rev().take(2).collect();
        assert!(last[1].starts_with("TOTAL "), "{table}");
        assert_eq!(
            last[0],
            "left out (load test): 7 dossiers, 5 verifications reported, 4 served (--include-load-test counts them)"
        );
        // Ungrouped: one line, no total; it carries what was left out.
        let one = render(&lines[..1], LeftOut::default(), &[], Format::Csv);
        assert_eq!(one.lines().count(), 2, "{one}");
        assert!(one.ends_with(",0,0,0\n"), "{one}");
    }
}
