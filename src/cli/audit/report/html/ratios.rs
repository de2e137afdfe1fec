//! The ratio sections: headline cards against the comparison period, the district-by-month heat
//! map, communes since the reform, officers.

use std::fmt::Write;

use super::esc;
use crate::{
    cli::audit::report::{words::Labels, ReportData},
    proto,
};

/// One headline figure with the comparison period's and the change.
fn card(
    out: &mut String,
    data: &ReportData,
    id: &str,
    label: &str,
    pick: fn(&proto::RatioRow) -> f64,
    is_share: bool,
) {
    let lang = data.lang;
    let show = |x: f64| {
        if is_share {
            lang.percent(x)
        } else {
            lang.int(x as u64)
        }
    };
    let value = pick(&data.total);
    let _ = write!(
        out,
        "<div class=\"card\" id=\"{id}\"><div class=\"label\">{}</div><div class=\"figure\" data-v=\"{value}\">{}</div>",
        esc(label),
        show(value)
    );
    if let Some(before) = &data.compare_total {
        let old = pick(before);
        let change = if is_share {
            Some(lang.signed((value - old) * 100.0, 1, lang.labels().points))
        } else if old > 0.0 {
            Some(lang.signed((value - old) / old * 100.0, 1, "%"))
        } else {
            None
        };
        let class = if value >= old { "up" } else { "down" };
        let _ = write!(
            out,
            "<div class=\"compare\" data-v=\"{old}\">{}: {}",
            lang.labels().compare_period,
            show(old)
        );
        if let Some(change) = change {
            let _ = write!(out, " · <span class=\"{class}\">{change}</span>");
        }
        out.push_str("</div>");
    }
    out.push_str("</div>\n");
}

pub(super) fn headline(out: &mut String, data: &ReportData, l: &Labels) {
    out.push_str("<div class=\"cards\">\n");
    card(
        out,
        data,
        "headline-dossiers",
        l.dossiers,
        |r| r.dossiers as f64,
        false,
    );
    card(
        out,
        data,
        "headline-served",
        l.lookups_served,
        |r| r.served as f64,
        false,
    );
    card(
        out,
        data,
        "headline-lookups",
        l.lookups_reported,
        |r| r.lookups as f64,
        false,
    );
    card(
        out,
        data,
        "headline-coverage",
        l.coverage,
        |r| r.coverage,
        true,
    );
    out.push_str("</div>\n");
    // What the figures leave out, always said (0 for a desk, which may not mark load tests).
    let [start, dossiers, reported, served] = l.load_test_left_out;
    let lang = data.lang;
    let [d, r, s] = data.load_test_left_out;
    let _ = writeln!(
        out,
        "<p class=\"note\" id=\"load-test-left-out\">{}: <span data-v=\"{d}\">{}</span> {}, <span data-v=\"{r}\">{}</span> {}, <span data-v=\"{s}\">{}</span> {}</p>",
        esc(start),
        lang.int(d),
        esc(dossiers),
        lang.int(r),
        esc(reported),
        lang.int(s),
        esc(served)
    );
}

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

/// One ratio row: its group cells as shown, then every figure with its exact value.
fn ratio_row(
    out: &mut String,
    data: &ReportData,
    row: &proto::RatioRow,
    shown: &[String],
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
    for cell in shown {
        let _ = write!(out, "<td>{}</td>", esc(cell));
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

/// Light grey-blue (0) to deep blue (`max`).
fn shade(coverage: f64, max: f64) -> (String, &'static str) {
    let t = if max > 0.0 {
        (coverage / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    let color = format!(
        "#{:02x}{:02x}{:02x}",
        mix(239.0, 12.0),
        mix(244.0, 74.0),
        mix(248.0, 140.0)
    );
    (color, if t > 0.5 { "#fff" } else { "#1f2933" })
}

pub(super) fn district_month(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let mut districts: Vec<&str> = data
        .by_district
        .iter()
        .map(|r| r.group[0].as_str())
        .collect();
    districts.sort_unstable();
    let mut months: Vec<&str> = data
        .by_district_month
        .iter()
        .map(|r| r.group[1].as_str())
        .collect();
    months.sort_unstable();
    months.dedup();
    let max = data
        .by_district_month
        .iter()
        .map(|r| r.coverage)
        .fold(0.0, f64::max);
    let (label_w, top, row_h) = (190.0, 34.0, 30.0);
    // The section's content is 1,156 px wide at most (main 1,240 less paddings).
    let cell_w = ((1140.0 - label_w) / months.len().max(1) as f64).min(90.0);
    let width = label_w + cell_w * months.len() as f64 + 10.0;
    let height = top + row_h * districts.len() as f64 + 10.0;
    let _ = write!(
        out,
        "<section id=\"district-month\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-size=\"12\" role=\"img\" aria-label=\"{}\">\n",
        esc(l.by_district_month),
        esc(l.by_district_month_note),
        esc(l.by_district_month)
    );
    for (j, month) in months.iter().enumerate() {
        let x = label_w + cell_w * (j as f64 + 0.5);
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#52606d\">{}</text>",
            top - 10.0,
            esc(&lang.month(month))
        );
    }
    for (i, district) in districts.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + row_h / 2.0 + 4.0,
            esc(district)
        );
        for (j, month) in months.iter().enumerate() {
            let x = label_w + cell_w * j as f64;
            let row = data
                .by_district_month
                .iter()
                .find(|r| r.group[0] == *district && r.group[1] == *month);
            let Some(row) = row else {
                let _ = writeln!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fff\" stroke=\"#e4e7eb\"/>",
                    cell_w - 2.0,
                    row_h - 2.0
                );
                continue;
            };
            let (fill, ink) = shade(row.coverage, max);
            let _ = writeln!(
                out,
                "<g><title>{} · {}: {} / {} {} ({}), {} {}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{ink}\">{}</text></g>",
                esc(district),
                esc(&lang.month(month)),
                lang.int(row.dossiers_with_lookup),
                lang.int(row.dossiers),
                esc(&l.dossiers.to_lowercase()),
                lang.percent(row.coverage),
                lang.int(row.served),
                esc(&l.lookups_served.to_lowercase()),
                cell_w - 2.0,
                row_h - 2.0,
                x + cell_w / 2.0 - 1.0,
                y + row_h / 2.0 + 3.0,
                lang.percent(row.coverage)
            );
        }
    }
    out.push_str("</svg>\n");
    let _ = write!(
        out,
        "<h2 style=\"margin-top:14px\">{}</h2>\n<table id=\"by-district\">\n",
        esc(l.by_district)
    );
    ratio_header(out, l, &[l.district]);
    out.push_str("<tbody>\n");
    for row in &data.by_district {
        ratio_row(out, data, row, &row.group, "");
    }
    if data.district.is_none() {
        ratio_row(out, data, &data.total, &[l.total.to_owned()], "total");
    }
    let _ = write!(
        out,
        "</tbody></table>\n<details><summary>{} · {}</summary>\n<div class=\"scroll\"><table id=\"by-district-month\">\n",
        esc(l.district),
        esc(l.month)
    );
    ratio_header(out, l, &[l.district, l.month]);
    out.push_str("<tbody>\n");
    for row in &data.by_district_month {
        let shown = [row.group[0].clone(), lang.month(&row.group[1])];
        ratio_row(out, data, row, &shown, "");
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
        ratio_row(out, data, row, &row.group, "");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

pub(super) fn officers(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let rows = &data.by_officer;
    // The axis ends at the first round share at or above the highest coverage.
    let highest = rows
        .iter()
        .map(|r| r.coverage)
        .fold(data.total.coverage, f64::max);
    let scale = [0.01, 0.02, 0.04, 0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.8, 1.0]
        .into_iter()
        .find(|&s| s >= highest)
        .unwrap_or(1.0);
    let (label_w, bar_w, top, row_h) = (160.0, 260.0, 26.0, 20.0);
    let width = label_w + bar_w + 56.0;
    let height = top + row_h * rows.len() as f64 + 8.0;
    let _ = write!(
        out,
        "<section id=\"officers\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<div class=\"pair\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-size=\"12\" role=\"img\" aria-label=\"{}\">\n",
        esc(l.by_officer),
        esc(l.by_officer_note),
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
    let _ = write!(
        out,
        "<line x1=\"{overall:.1}\" y1=\"{:.1}\" x2=\"{overall:.1}\" y2=\"{height:.1}\" stroke=\"#1f2933\" stroke-dasharray=\"4 3\"/>\n</svg>\n<div class=\"scroll\"><table id=\"by-officer\">\n",
        top - 4.0
    );
    ratio_header(out, l, &[l.district, l.officer]);
    out.push_str("<tbody>\n");
    for row in rows {
        ratio_row(out, data, row, &row.group, "");
    }
    out.push_str("</tbody></table></div>\n</div>\n</section>\n");
}
