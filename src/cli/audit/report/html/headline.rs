//! The headline cards: dossiers, lookups served and reported, and coverage, for the period and
//! against the comparison period.
//!
//! Two periods are rarely of one length (52 days against 396 in the bundled scenario), so their
//! counts are never set against each other as a change: a count is compared as a volume per day,
//! a share by its difference in percentage points, and each period's length is said.

use std::fmt::Write;

use super::esc;
use crate::{
    cli::audit::report::{words::Labels, Lang, ReportData},
    proto,
};

/// What a card shows of a row: a count (compared per day) or a share (compared in points).
#[derive(Clone, Copy)]
enum Figure {
    Count(fn(&proto::RatioRow) -> u64),
    Share(fn(&proto::RatioRow) -> f64),
}

/// A count per day of a period `days` long.
fn per_day(count: u64, days: u64) -> f64 {
    count as f64 / days.max(1) as f64
}

/// `+3,2%` in green or `−97,4%` in red, the change from `old` to `new` (nothing when `old` is 0).
fn change(lang: Lang, new: f64, old: f64, as_points: bool) -> Option<String> {
    let text = if as_points {
        lang.signed((new - old) * 100.0, 1, lang.labels().points)
    } else if old > 0.0 {
        lang.signed((new - old) / old * 100.0, 1, "%")
    } else {
        return None;
    };
    let class = if new >= old { "up" } else { "down" };
    Some(format!("<span class=\"{class}\">{text}</span>"))
}

/// One headline card: the figure, for a count its volume per day over the period's days, and
/// the comparison period's (per day for a count) with the change.
fn card(out: &mut String, data: &ReportData, id: &str, label: &str, figure: Figure) {
    let (lang, l) = (data.lang, data.lang.labels());
    let days = data.period.days();
    let per_day_text = |x: f64| format!("{}{}", lang.decimal(x, 1), l.per_day);
    let _ = write!(
        out,
        "<div class=\"card\" id=\"{id}\"><div class=\"label\">{}</div>",
        esc(label)
    );
    match figure {
        Figure::Count(pick) => {
            let value = pick(&data.total);
            let rate = per_day(value, days);
            let _ = write!(
                out,
                "<div class=\"figure\" data-v=\"{value}\">{}</div><div class=\"rate\" data-v=\"{rate}\">{} · {} {}</div>",
                lang.int(value),
                per_day_text(rate),
                lang.int(days),
                l.days
            );
            if let (Some(before), Some(period)) = (&data.compare_total, &data.compare) {
                let (old, old_days) = (pick(before), period.days());
                let old_rate = per_day(old, old_days);
                let _ = write!(
                    out,
                    "<div class=\"compare\" data-v=\"{old_rate}\">{}: {}",
                    l.compare_period,
                    per_day_text(old_rate)
                );
                if let Some(change) = change(lang, rate, old_rate, false) {
                    let _ = write!(out, " · {change} {}", l.per_day_change);
                }
                let _ = write!(
                    out,
                    "<br><span data-v=\"{old}\">{}</span> / {} {}</div>",
                    lang.int(old),
                    lang.int(old_days),
                    l.days
                );
            }
        }
        Figure::Share(pick) => {
            let value = pick(&data.total);
            let _ = write!(
                out,
                "<div class=\"figure\" data-v=\"{value}\">{}</div><div class=\"rate\">{} / {}</div>",
                lang.percent(value),
                lang.int(data.total.dossiers_with_lookup),
                lang.int(data.total.dossiers)
            );
            if let Some(before) = &data.compare_total {
                let old = pick(before);
                let _ = write!(
                    out,
                    "<div class=\"compare\" data-v=\"{old}\">{}: {}",
                    l.compare_period,
                    lang.percent(old)
                );
                if let Some(change) = change(lang, value, old, true) {
                    let _ = write!(out, " · {change}");
                }
                let _ = write!(
                    out,
                    "<br>{} / {}</div>",
                    lang.int(before.dossiers_with_lookup),
                    lang.int(before.dossiers)
                );
            }
        }
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
        Figure::Count(|r| r.dossiers),
    );
    card(
        out,
        data,
        "headline-served",
        l.lookups_served,
        Figure::Count(|r| r.served),
    );
    card(
        out,
        data,
        "headline-lookups",
        l.lookups_reported,
        Figure::Count(|r| r.lookups),
    );
    card(
        out,
        data,
        "headline-coverage",
        l.coverage,
        Figure::Share(|r| r.coverage),
    );
    out.push_str("</div>\n");
    let lang = data.lang;
    if let Some(compare) = &data.compare {
        let [start, between, end] = l.compare_note;
        let _ = writeln!(
            out,
            "<p class=\"note compare-note\" id=\"compare-note\">{} {} {}, {} {} {}.</p>",
            esc(start),
            lang.int(data.period.days()),
            esc(between),
            esc(l.compare_period.to_lowercase().as_str()),
            lang.int(compare.days()),
            esc(end)
        );
    }
    // What the figures leave out, always said (0 for a desk, which may not mark load tests).
    let [start, dossiers, reported, served] = l.load_test_left_out;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_unequal_periods_are_compared_per_day() {
        // The bundled scenario: 29,613 dossiers in 52 days against 300,000 in 396.
        let (now, before) = (per_day(29_613, 52), per_day(300_000, 396));
        assert_eq!(Lang::Vi.decimal(now, 1), "569,5");
        assert_eq!(Lang::Vi.decimal(before, 1), "757,6");
        assert_eq!(
            change(Lang::Vi, now, before, false).unwrap(),
            "<span class=\"down\">−24,8%</span>"
        );
        // Shares, in points: 0,7% against 21,8%.
        assert_eq!(
            change(Lang::Vi, 222.0 / 29_613.0, 65_498.0 / 300_000.0, true).unwrap(),
            "<span class=\"down\">−21,1 điểm %</span>"
        );
        assert_eq!(change(Lang::En, 1.0, 0.0, false), None);
    }
}
