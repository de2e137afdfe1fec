//! The report page: one HTML file with its style and inline SVG charts, no script and no fetch.
//!
//! Every figure cell carries its exact value (`data-v`, as the answer gave it) beside the text
//! written for the reader, and every table row its group (`data-group`), so the page can be
//! checked against the answers by a program as well as read.

use std::fmt::Write;

use super::{words::Labels, ReportData};
use crate::{audit::log::hex, domain::vietnam, proto};

/// Escapes text for HTML and SVG content and attribute values.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#1f2933;font:14px/1.45 "Segoe UI","Noto Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 20px 48px}
header{background:#9b1c1c;color:#fff;padding:20px 24px;border-radius:8px}
header h1{margin:0 0 6px;font-size:22px}
header p{margin:2px 0;opacity:.92}
section{background:#fff;border-radius:8px;padding:18px 22px;margin-top:18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 4px;color:#7f1d1d}
.note{color:#52606d;margin:0 0 12px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-top:18px}
.card{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08);border-top:4px solid #9b1c1c}
.card .label{color:#52606d;font-size:13px;min-height:2.6em}
.card .figure{font-size:30px;font-weight:700;margin:4px 0}
.card .compare{font-size:13px;color:#52606d}
.up{color:#0f7b3f;font-weight:600}.down{color:#b42318;font-weight:600}
.pair{display:grid;grid-template-columns:480px minmax(0,1fr);gap:16px;align-items:start}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}
th{background:#f5f7fa;font-weight:600;position:sticky;top:0;white-space:normal;vertical-align:bottom;font-size:12.5px}
.pair table{font-size:12px}.pair th,.pair td{padding:3px 6px}
td.n,th.n{text-align:right}
tr.total td{font-weight:700;border-top:2px solid #9aa5b1}
.scroll{max-height:460px;overflow:auto;border:1px solid #e4e7eb;border-radius:6px}
details{margin-top:10px}summary{cursor:pointer;color:#7f1d1d}
pre,code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px}
pre{background:#f5f7fa;border:1px solid #e4e7eb;border-radius:6px;padding:10px;overflow:auto;white-space:pre-wrap;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:8px 0}
dt{color:#52606d}dd{margin:0;font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px;word-break:break-all}
svg{max-width:100%;height:auto}
svg text{font-family:"Segoe UI","Noto Sans","DejaVu Sans",Arial,sans-serif}
.warn{color:#b42318;font-weight:600}
@media print{body{background:#fff}section,.card{box-shadow:none;border:1px solid #ccc}.scroll{max-height:none}}
"#;

/// The whole page.
pub(crate) fn render(data: &ReportData) -> String {
    let l = data.lang.labels();
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        l.html_lang,
        esc(l.title)
    );
    header(&mut page, data, l);
    headline(&mut page, data, l);
    district_month(&mut page, data, l);
    communes(&mut page, data, l);
    officers(&mut page, data, l);
    unverified(&mut page, data, l);
    reconcile(&mut page, data, l);
    tree_head(&mut page, data, l);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn header(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let range = |p: &super::Period| format!("{} – {}", lang.date(p.from), lang.date(p.to));
    let mut scope = vec![data
        .agency
        .as_ref()
        .map_or(l.scope_all.to_owned(), |a| format!("{}: {}", l.agency, a))];
    if let Some(d) = &data.district {
        scope.push(d.clone());
    }
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p id=\"period\">{}: <b>{}</b>",
        esc(l.title),
        l.period,
        range(&data.period)
    );
    if let Some(c) = &data.compare {
        let _ = write!(out, " · {}: <b>{}</b>", l.compare_period, range(c));
    }
    let _ = write!(
        out,
        "</p>\n<p>{}</p>\n<p>{}: {}</p>\n</header>\n",
        esc(&scope.join(" · ")),
        l.generated,
        esc(&moment(data.lang, data.generated_at_ms))
    );
}

/// A moment in Vietnam's time, as its readers write it: `30/11/2026 14:44 (UTC+7)`.
fn moment(lang: super::Lang, ms: i64) -> String {
    let Some(at) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    let local = at.with_timezone(&vietnam::offset());
    match lang {
        super::Lang::Vi => local.format("%d/%m/%Y %H:%M (UTC+7)").to_string(),
        super::Lang::En => local.format("%Y-%m-%d %H:%M (UTC+7)").to_string(),
    }
}

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

fn headline(out: &mut String, data: &ReportData, l: &Labels) {
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
        esc(&row.group.join("\u{1f}"))
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

fn district_month(out: &mut String, data: &ReportData, l: &Labels) {
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
fn communes(out: &mut String, data: &ReportData, l: &Labels) {
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

fn officers(out: &mut String, data: &ReportData, l: &Labels) {
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

fn unverified(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let missing = data.unverified.len() as u64 + data.unverified_rest;
    let _ = write!(
        out,
        "<section id=\"unverified\">\n<h2>{} <span data-v=\"{missing}\">({})</span></h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\n<tbody>\n",
        esc(l.unverified),
        lang.int(missing),
        l.dossier,
        l.district,
        l.commune,
        l.officer,
        l.procedure,
        l.channel,
        l.received
    );
    for d in &data.unverified {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.dossier_id),
            esc(&d.district),
            esc(&d.commune),
            esc(&d.officer_id),
            esc(&d.procedure_code),
            esc(&d.channel),
            esc(&vietnam::rfc3339(d.received_at_ms))
        );
    }
    out.push_str("</tbody></table></div>\n");
    if data.unverified_rest > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\" id=\"unverified-rest\" data-v=\"{}\">+ {} {}</p>",
            data.unverified_rest,
            lang.int(data.unverified_rest),
            esc(l.unverified_rest)
        );
    }
    out.push_str("</section>\n");
}

fn reconcile(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let r = &data.reconcile;
    let _ = write!(
        out,
        "<section id=\"reconcile\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<table id=\"findings-by-kind\" style=\"width:auto\">\n<thead><tr><th>{}</th><th class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        esc(l.reconcile),
        esc(l.reconcile_note),
        l.finding,
        l.count
    );
    for (kind, n) in [
        ("served_not_reported", r.served_not_reported),
        ("reported_not_served", r.reported_not_served),
        ("dossier_not_reported", r.dossier_not_reported),
        (
            "reported_failure_unconfirmed",
            r.reported_failure_unconfirmed,
        ),
        ("reported_late", r.reported_late),
    ] {
        let _ = writeln!(
            out,
            "<tr data-group=\"{kind}\"><td>{}</td><td class=\"n\" data-v=\"{n}\">{}</td></tr>",
            esc(&lang.finding(kind)),
            lang.int(n)
        );
    }
    out.push_str("</tbody></table>\n");
    if r.findings.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(l.no_findings));
    } else {
        let _ = write!(
            out,
            "<details><summary>{} ({})</summary><div class=\"scroll\"><table>\n<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th>{}</th></tr></thead>\n<tbody>\n",
            l.findings_listed,
            lang.int(r.findings.len() as u64),
            l.finding,
            l.dossier,
            l.district,
            l.officer,
            l.rpc,
            l.reported,
            l.served,
            l.first_at
        );
        for f in &r.findings {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&f.kind),
                esc(&f.dossier_id),
                esc(&f.district),
                esc(&f.officer_id),
                esc(&f.rpc),
                lang.int(f.reported),
                lang.int(f.served),
                esc(&vietnam::rfc3339(f.first_at_ms))
            );
        }
        out.push_str("</tbody></table></div></details>\n");
    }
    out.push_str("</section>\n");
}

fn tree_head(out: &mut String, data: &ReportData, l: &Labels) {
    let head = &data.head;
    let key = if head.public_key.is_empty() {
        l.no_key.to_owned()
    } else {
        hex(&head.public_key)
    };
    let _ = write!(
        out,
        "<section id=\"tree-head\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        esc(l.head),
        esc(l.head_note)
    );
    if !data.head_stable {
        let _ = writeln!(out, "<p class=\"warn\">{}</p>", esc(l.head_moved));
    }
    let _ = write!(
        out,
        "<dl>\n<dt>{}</dt><dd id=\"tree-size\" data-v=\"{}\">{}</dd>\n<dt>{}</dt><dd id=\"root-hash\">{}</dd>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd id=\"public-key\">{}</dd>\n<dt>{}</dt><dd>{}</dd>\n</dl>\n",
        l.tree_size,
        head.tree_size,
        data.lang.int(head.tree_size),
        l.root,
        hex(&head.root_hash),
        l.signed_at,
        esc(&vietnam::rfc3339(head.signed_at_ms)),
        l.public_key,
        esc(&key),
        l.signature,
        hex(&head.signature)
    );
    let pin = if head.public_key.is_empty() {
        String::new()
    } else {
        format!(" --public-key {key}")
    };
    let _ = write!(
        out,
        "<p><b>head.json</b></p>\n<pre id=\"head-json\">{}</pre>\n<p><b>{}</b></p>\n<pre>vnpop audit verify --remote --previous-head head.json{pin}</pre>\n<p><b>{}</b></p>\n<pre>vnpop audit verify --data-dir DATA_DIR{pin}</pre>\n<p><b>{}</b></p>\n<pre id=\"command\">{}</pre>\n</section>\n",
        esc(&super::saved_head_json(head)),
        esc(l.verify_remote),
        esc(l.verify_file),
        esc(l.command),
        esc(&data.command)
    );
}
