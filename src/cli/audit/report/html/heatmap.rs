//! Coverage by district and month as a heat map: a table of coloured cells, each with its share
//! written in it, on a fixed colour scale from 0% to 100% drawn as a legend (a cell is as dark as
//! its coverage, whatever the period's highest).
//!
//! A table rather than a drawing, so it reflows to the sheet and its type stays legible on A4
//! (7.5 pt in print): at most [`MONTHS_PER_TABLE`] months a table, a longer period in several.
//! On screen each cell's exact figures show on hover; on paper the note says where they are (the
//! district-by-month table, printed whole).

use std::fmt::Write;

use super::esc;
use crate::cli::audit::report::{words::Labels, ReportData};

/// Months side by side in one table: 13 (a year and a month, as the bundled scenario's first
/// period) fit an A4 page's width.
const MONTHS_PER_TABLE: usize = 13;

/// The scale's two ends, 0% and 100% coverage: a light grey-blue and a deep blue.
const LIGHT: [f64; 3] = [239.0, 244.0, 248.0];
const DEEP: [f64; 3] = [12.0, 74.0, 140.0];

/// The colour of `coverage` (0 to 1) and the ink legible on it.
fn shade(coverage: f64) -> (String, &'static str) {
    let t = if coverage.is_finite() {
        coverage.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |i: usize| (LIGHT[i] + (DEEP[i] - LIGHT[i]) * t).round() as u8;
    let color = format!("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2));
    (color, if t > 0.5 { "#fff" } else { "#1f2933" })
}

/// The heat map of the period's districts and months, with its note and legend.
pub(super) fn heat_map(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let mut districts: Vec<&str> = data
        .by_district
        .iter()
        .map(|r| r.group[0].as_str())
        .collect();
    crate::domain::collation::sort_by_name(&mut districts, |d| d);
    let mut months: Vec<&str> = data
        .by_district_month
        .iter()
        .map(|r| r.group[1].as_str())
        .collect();
    months.sort_unstable();
    months.dedup();
    let _ = writeln!(
        out,
        "<p class=\"note\"><span class=\"screen-only\">{}</span><span class=\"print-only\">{}</span></p>",
        esc(l.by_district_month_note),
        esc(l.by_district_month_print)
    );
    legend(out, l);
    for (part, months) in months.chunks(MONTHS_PER_TABLE).enumerate() {
        let _ = write!(
            out,
            "<table class=\"heat\" id=\"heat-map-{part}\" aria-label=\"{}\">\n<thead><tr><th></th>",
            esc(l.by_district_month)
        );
        for month in months {
            let _ = write!(out, "<th>{}</th>", esc(&lang.month(month)));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for district in &districts {
            let _ = write!(out, "<tr><th class=\"district\">{}</th>", esc(district));
            for month in months {
                let row = data
                    .by_district_month
                    .iter()
                    .find(|r| r.group[0] == *district && r.group[1] == *month);
                let Some(row) = row else {
                    let _ = write!(
                        out,
                        "<td class=\"none\" title=\"{}\">–</td>",
                        esc(l.no_dossiers)
                    );
                    continue;
                };
                let (fill, ink) = shade(row.coverage);
                let _ = write!(
                    out,
                    "<td style=\"background:{fill};color:{ink}\" data-v=\"{}\" title=\"{} · {}: {} / {} {} ({}), {} {}\">{}</td>",
                    row.coverage,
                    esc(district),
                    esc(&lang.month(month)),
                    lang.int(row.dossiers_with_lookup),
                    lang.int(row.dossiers),
                    esc(&l.dossiers.to_lowercase()),
                    lang.percent(row.coverage),
                    lang.int(row.served),
                    esc(&l.lookups_served.to_lowercase()),
                    lang.percent(row.coverage)
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
}

/// The colour scale, 0% to 100%, and the cell of a month without dossiers.
fn legend(out: &mut String, l: &Labels) {
    let (light, _) = shade(0.0);
    let (deep, _) = shade(1.0);
    let _ = write!(
        out,
        "<div class=\"legend\" id=\"heat-legend\"><span>{}</span><div><div class=\"ramp\" style=\"background:linear-gradient(to right,{light},{deep})\"></div><div class=\"ticks\">",
        esc(l.scale)
    );
    for tick in ["0%", "25%", "50%", "75%", "100%"] {
        let _ = write!(out, "<span>{tick}</span>");
    }
    let _ = writeln!(
        out,
        "</div></div><span><span class=\"empty\"></span> – {}</span></div>",
        esc(l.no_dossiers)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_fixed_from_none_to_all() {
        assert_eq!(shade(0.0), ("#eff4f8".to_owned(), "#1f2933"));
        assert_eq!(shade(1.0), ("#0c4a8c".to_owned(), "#fff"));
        // 1,8% is nearly as light as none, however low the period's other cells are.
        assert_eq!(shade(0.018).0, "#ebf1f6");
        assert_eq!(shade(f64::NAN), shade(0.0));
        assert_eq!(shade(2.0), shade(1.0));
    }
}
