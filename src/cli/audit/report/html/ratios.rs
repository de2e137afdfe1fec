//! The ratio tables: by district (with the heat map above them), by district and month, by
//! commune since the reform, and by officer with their bars.
//!
//! Every table prints whole (on screen the long ones scroll in a box); the officers' bars are
//! drawn [`BARS_PER_CHART`] at most a chart, so no chart is taller than a page.

use std::fmt::Write;

use super::{esc, heatmap::heat_map};
use crate::{
    cli::audit::report::{words::Labels, ReportData},
    proto,
};

/// The columns of a ratio table after its group columns.
fn ratio_header(out: &mut String, l: &Labels, groups: &[&str]) {
    out.push_str("<thead><tr>");
    for g in groups {
        let _ = write!(out, "<th>{}</th>", esc(g));
    }
    for h in l.columns {
        let _ = write!(out, "<th class=\"n\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n");
}

/// One ratio row: its group cells as shown (the first `names` of them names, which may wrap on
/// paper; the others — officers, months — kept whole), then every figure with its exact value.
fn ratio_row(
    out: &mut String,
    data: &ReportData,
    row: &proto::RatioRow,
    (shown, names): (&[String], usize),
    class: &str,
) {
    let lang = data.lang;
    let _ = write!(
        out,
        "<tr class=\"{class}\" data-group=\"{}\">",
        // Each part escaped (its own control characters shown visibly), then joined by the
        // unit separator, which is the page's, not the data's.
        row.group
            .iter()
            .map(|part| esc(part))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    );
    for (i, cell) in shown.iter().enumerate() {
        let wrap = if i < names { " class=\"wrap\"" } else { "" };
        let _ = write!(out, "<td{wrap}>{}</td>", esc(cell));
    }
    for (v, text) in [
        (row.dossiers.to_string(), lang.int(row.dossiers)),
        (row.lookups.to_string(), lang.int(row.lookups)),
        (row.served.to_string(), lang.int(row.served)),
        (
            row.dossiers_with_lookup.to_string(),
            lang.int(row.dossiers_with_lookup),
        ),
        (row.coverage.to_string(), lang.percent(row.coverage)),
        (
            row.lookups_per_dossier.to_string(),
            lang.decimal(row.lookups_per_dossier, 3),
        ),
        (
            row.reported_not_served.to_string(),
            lang.int(row.reported_not_served),
        ),
        (
            row.reported_failed.to_string(),
            lang.int(row.reported_failed),
        ),
    ] {
        let _ = write!(out, "<td class=\"n\" data-v=\"{v}\">{text}</td>");
    }
    out.push_str("</tr>\n");
}

/// Coverage by district and month: the heat map, the districts' table and the table by district
/// and month (the heat map's exact figures; open, so it prints).
pub(super) fn district_month(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let _ = writeln!(
        out,
        "<section id=\"district-month\">\n<h2>{}</h2>",
        esc(l.by_district_month)
    );
    heat_map(out, data, l);
    let _ = write!(
        out,
        "<h2 style=\"margin-top:14px\">{}</h2>\n<table id=\"by-district\">\n",
        esc(l.by_district)
    );
    ratio_header(out, l, &[l.district]);
    out.push_str("<tbody>\n");
    for row in &data.by_district {
        ratio_row(out, data, row, (&row.group, 1), "");
    }
    if data.district.is_none() {
        ratio_row(out, data, &data.total, (&[l.total.to_owned()], 1), "total");
    }
    let _ = write!(
        out,
        "</tbody></table>\n<details open><summary>{} · {}</summary>\n<div class=\"scroll\"><table id=\"by-district-month\">\n",
        esc(l.district),
        esc(l.month)
    );
    ratio_header(out, l, &[l.district, l.month]);
    out.push_str("<tbody>\n");
    for row in &data.by_district_month {
        let shown = [row.group[0].clone(), lang.month(&row.group[1])];
        ratio_row(out, data, row, (&shown, 1), "");
    }
    out.push_str("</tbody></table></div></details>\n</section>\n");
}

/// Dossiers received since the reform, by current province and commune (only when there are).
pub(super) fn communes(out: &mut String, data: &ReportData, l: &Labels) {
    if data.by_commune.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"communes\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<div class=\"scroll\"><table id=\"by-commune\">\n",
        esc(l.by_commune),
        esc(l.by_commune_note)
    );
    ratio_header(out, l, &[l.province, l.commune]);
    out.push_str("<tbody>\n");
    for row in &data.by_commune {
        ratio_row(out, data, row, (&row.group, 2), "");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

/// Bars in one chart at most: 20 px each, so two charts and their heading fit an A4 page.
const BARS_PER_CHART: usize = 20;

/// Coverage by officer, lowest first: bars (in charts of at most [`BARS_PER_CHART`], as even as
/// can be) beside the table of their figures.
pub(super) fn officers(out: &mut String, data: &ReportData, l: &Labels) {
    let rows = &data.by_officer;
    let _ = write!(
        out,
        "<section id=\"officers\">\n<h2>{}</h2>\n<p class=\"note\"><span class=\"screen-only\">{}</span><span class=\"print-only\">{}</span></p>\n<div class=\"pair\">\n<div class=\"charts\">\n",
        esc(l.by_officer),
        esc(l.by_officer_note),
        esc(l.by_officer_print)
    );
    // The axis ends at the first round share at or above the highest coverage.
    let highest = rows
        .iter()
        .map(|r| r.coverage)
        .fold(data.total.coverage, f64::max);
    let scale = [0.01, 0.02, 0.04, 0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.8, 1.0]
        .into_iter()
        .find(|&s| s >= highest)
        .unwrap_or(1.0);
    let charts = rows.len().div_ceil(BARS_PER_CHART).max(1);
    for bars in rows.chunks(rows.len().div_ceil(charts).max(1)) {
        bar_chart(out, data, l, bars, scale);
    }
    out.push_str("</div>\n<div class=\"scroll\"><table id=\"by-officer\">\n");
    ratio_header(out, l, &[l.district, l.officer]);
    out.push_str("<tbody>\n");
    for row in rows {
        ratio_row(out, data, row, (&row.group, 1), "");
    }
    out.push_str("</tbody></table></div>\n</div>\n</section>\n");
}

/// One chart of officers' bars on the axis 0 to `scale`, the period's coverage dashed.
fn bar_chart(
    out: &mut String,
    data: &ReportData,
    l: &Labels,
    rows: &[proto::RatioRow],
    scale: f64,
) {
    let lang = data.lang;
    let (label_w, bar_w, top, row_h) = (160.0, 260.0, 26.0, 20.0);
    let width = label_w + bar_w + 56.0;
    let height = top + row_h * rows.len() as f64 + 8.0;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-size=\"12\" role=\"img\" aria-label=\"{}\">",
        esc(l.by_officer)
    );
    for tick in 0..=4 {
        let share = scale * f64::from(tick) / 4.0;
        let x = label_w + bar_w * f64::from(tick) / 4.0;
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\" stroke=\"#e4e7eb\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#52606d\">{}</text>",
            top - 6.0,
            top - 10.0,
            lang.percent(share)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let officer = row.group.get(1).map_or("", String::as_str);
        let w = bar_w * (row.coverage / scale).clamp(0.0, 1.0);
        let _ = writeln!(
            out,
            "<g><title>{} · {}: {} / {} ({}), {} {}</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#9b1c1c\" rx=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#1f2933\">{}</text></g>",
            esc(&row.group[0]),
            esc(officer),
            lang.int(row.dossiers_with_lookup),
            lang.int(row.dossiers),
            lang.percent(row.coverage),
            lang.int(row.served),
            esc(&l.lookups_served.to_lowercase()),
            label_w - 6.0,
            y + row_h / 2.0 + 4.0,
            esc(officer),
            y + 3.0,
            row_h - 6.0,
            label_w + w + 5.0,
            y + row_h / 2.0 + 4.0,
            lang.percent(row.coverage)
        );
    }
    let overall = label_w + bar_w * (data.total.coverage / scale).clamp(0.0, 1.0);
    let _ = writeln!(
        out,
        "<line x1=\"{overall:.1}\" y1=\"{:.1}\" x2=\"{overall:.1}\" y2=\"{height:.1}\" stroke=\"#1f2933\" stroke-dasharray=\"4 3\"/>\n</svg>",
        top - 4.0
    );
}
