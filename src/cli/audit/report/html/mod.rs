//! The report page: one HTML file with its style and inline SVG charts, no script and no fetch.
//!
//! Every figure cell carries its exact value (`data-v`, as the answer gave it) beside the text
//! written for the reader, and every table row its group (`data-group`), so the page can be
//! checked against the answers by a program as well as read.
//!
//! This file holds the page's frame (style, header, order of the sections) and what the sections
//! share; `ratios` writes the ratio sections (headline cards, district by month, communes,
//! officers), `evidence` the unverified dossiers, the reconciliation and the signed tree head.

mod evidence;
mod ratios;

use std::fmt::Write;

use self::{
    evidence::{reconcile, tree_head, unverified},
    ratios::{communes, district_month, headline, officers},
};
use super::{words::Labels, ReportData};
use crate::domain::vietnam;

/// Escapes text for HTML and SVG content and attribute values (bidirectional overrides and
/// control characters written visibly).
fn esc(text: &str) -> String {
    crate::cli::output::html_escape(text)
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
