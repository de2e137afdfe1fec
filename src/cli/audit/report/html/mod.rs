//! The report page: one HTML file with its style and inline SVG charts, no script and no fetch.
//!
//! Every figure cell carries its exact value (`data-v`, as the answer gave it) beside the text
//! written for the reader, and every table row its group (`data-group`), so the page can be
//! checked against the answers by a program as well as read.
//!
//! This file holds the page's frame (header, order of the sections, the report's identity) and
//! what the sections share; `style` is the page's style for the screen and for A4 paper,
//! `headline` the headline cards against the comparison period, `heatmap` the district-by-month
//! heat map, `ratios` the ratio tables (districts, communes, officers and their bars), `findings`
//! the anomalies an inspector acts on, `evidence` the unverified dossiers, the reconciliation and
//! the signed tree head.

mod evidence;
mod findings;
mod headline;
mod heatmap;
mod ratios;
mod style;

use std::fmt::Write;

use self::{
    evidence::{cleaning, reconcile, tree_head, unverified},
    findings::findings,
    headline::headline,
    ratios::{communes, district_month, officers},
    style::{page_rules, Margins, STYLE},
};
use super::{words::Labels, Lang, Period, ReportData};
use crate::audit::log::hex;

/// Escapes text for HTML and SVG content and attribute values (bidirectional overrides and
/// control characters written visibly).
fn esc(text: &str) -> String {
    crate::cli::output::html_escape(text)
}

/// The whole page.
pub(crate) fn render(data: &ReportData) -> String {
    let l = data.lang.labels();
    let identity = Identity::of(data);
    let margins = Margins {
        report: identity.report.clone(),
        head: identity.head.clone(),
        title: format!(
            "{} · {}: {} (UTC+7)",
            l.title, l.generated, identity.generated
        ),
        page: l.page,
    };
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}{}</style>\n</head>\n<body>\n<main>\n",
        l.html_lang,
        esc(l.title),
        page_rules(&margins)
    );
    header(&mut page, data, l, &identity);
    headline(&mut page, data, l);
    district_month(&mut page, data, l);
    communes(&mut page, data, l);
    officers(&mut page, data, l);
    findings(&mut page, data, l);
    unverified(&mut page, data, l);
    reconcile(&mut page, data, l);
    cleaning(&mut page, data, l);
    tree_head(&mut page, data, l);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// What names the report, on its first page and in the margins of every printed page: the
/// period (and its length), the scope, the tree head the figures rest on, when it was made.
struct Identity {
    /// `Kỳ báo cáo: 01/01/2024 – 21/02/2024 (52 ngày) · Tất cả đơn vị`.
    report: String,
    /// `Đầu cây 330.000 sự kiện · gốc 1a2b3c4d5e6f7a8b`.
    head: String,
    /// When the report was made, in Vietnam's time: `14:44 30/11/2026`.
    generated: String,
}

impl Identity {
    fn of(data: &ReportData) -> Self {
        let (lang, l) = (data.lang, data.lang.labels());
        let root = hex(&data.head.root_hash);
        Identity {
            report: format!(
                "{}: {} · {}",
                l.period,
                span(lang, &data.period),
                scope(data, l)
            ),
            head: format!(
                "{} {} {} · {} {}",
                l.head_short,
                lang.int(data.head.tree_size),
                l.events,
                l.root_short,
                &root[..root.len().min(16)]
            ),
            generated: lang.moment(data.generated_at_ms),
        }
    }
}

/// A period as its readers write it, with its length: `01/01/2024 – 21/02/2024 (52 ngày)`.
fn span(lang: Lang, period: &Period) -> String {
    format!(
        "{} – {} ({} {})",
        lang.date(period.from),
        lang.date(period.to),
        lang.int(period.days()),
        lang.labels().days
    )
}

/// Where the dossiers were received: the provinces of the day, and today's when they differ
/// (`Tỉnh Hòa Bình (nay thuộc Tỉnh Phú Thọ)`).
fn place(data: &ReportData, l: &Labels) -> Option<String> {
    let (then, now) = (&data.place.then, &data.place.now);
    if then.is_empty() && now.is_empty() {
        return None;
    }
    if then.is_empty() || then == now {
        return Some(now.join(", "));
    }
    if now.is_empty() {
        return Some(then.join(", "));
    }
    Some(format!(
        "{} ({} {})",
        then.join(", "),
        l.province_then,
        now.join(", ")
    ))
}

/// Whose dossiers the report covers: where, every unit or an agency's, and a district.
fn scope(data: &ReportData, l: &Labels) -> String {
    let mut scope: Vec<String> = place(data, l).into_iter().collect();
    scope.push(
        data.agency
            .as_ref()
            .map_or(l.scope_all.to_owned(), |a| format!("{}: {}", l.agency, a)),
    );
    if let Some(d) = &data.district {
        scope.push(d.clone());
    }
    scope.join(" · ")
}

fn header(out: &mut String, data: &ReportData, l: &Labels, identity: &Identity) {
    let lang = data.lang;
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p id=\"period\">{}: <b>{}</b>",
        esc(l.title),
        l.period,
        esc(&span(lang, &data.period))
    );
    if let Some(c) = &data.compare {
        let _ = write!(
            out,
            " · {}: <b>{}</b>",
            l.compare_period,
            esc(&span(lang, c))
        );
    }
    let _ = write!(
        out,
        "</p>\n<p id=\"scope\">{}</p>\n<p id=\"agencies\">{}: {}</p>\n<p id=\"head-identity\">{}</p>\n<p id=\"generated\">{}: {} · {}</p>\n</header>\n",
        esc(&scope(data, l)),
        l.agencies,
        esc(&data.agencies.join(", ")),
        esc(&identity.head),
        l.generated,
        esc(&identity.generated),
        l.time_zone
    );
}
