//! Charts for auditors: the ratio report as a self-contained SVG bar chart (one bar per group, the
//! share of dossiers with at least one lookup the server served, the exact counts beside it, the overall figure as a
//! dashed line), to paste into a report or open in a browser.

use super::render::RatioLine;

const WIDTH: f64 = 960.0;
const LABEL_WIDTH: f64 = 280.0;
const BAR_AREA: f64 = 440.0;
const ROW: f64 = 26.0;
const TOP: f64 = 64.0;

/// Escapes text for SVG content and attributes.
fn escape(text: &str) -> String {
    crate::cli::output::html_escape(text)
}

/// `12345` → `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The chart of `lines` (the groups of one ratio report) against `total`, titled `title`.
pub(crate) fn coverage_svg(title: &str, lines: &[RatioLine], total: &RatioLine) -> String {
    let height = TOP + ROW * lines.len().max(1) as f64 + 48.0;
    let x0 = LABEL_WIDTH;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="16" y="26" font-size="16" font-weight="bold">{}</text>
<text x="16" y="46" fill="#555">Dossiers with at least one lookup the server served (coverage); served and reported lookups at right</text>
"##,
        escape(title)
    );
    for tick in [0, 25, 50, 75, 100] {
        let x = x0 + BAR_AREA * f64::from(tick) / 100.0;
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#777\">{tick}%</text>\n",
            TOP - 6.0,
            height - 36.0,
            height - 20.0
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let label = if line.group.is_empty() {
            "all".to_owned()
        } else {
            line.group.join(" / ")
        };
        let width = BAR_AREA * line.coverage.clamp(0.0, 1.0);
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{:.1}%  ({} of {} dossiers; {} lookups served, {} reported)</text>\n",
            x0 - 8.0,
            y + 16.0,
            escape(&label),
            y + 4.0,
            ROW - 8.0,
            if line.coverage < total.coverage { "#d9534f" } else { "#3c78b4" },
            x0 + BAR_AREA + 8.0,
            y + 16.0,
            line.coverage * 100.0,
            thousands(line.dossiers_with_lookup),
            thousands(line.dossiers),
            thousands(line.served),
            thousands(line.lookups),
        ));
    }
    let x = x0 + BAR_AREA * total.coverage.clamp(0.0, 1.0);
    svg.push_str(&format!(
        "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#222\" stroke-dasharray=\"4 3\"/>\n<text x=\"16\" y=\"{:.1}\" fill=\"#222\">Overall {:.1}% ({} of {} dossiers, {} lookups served, {} reported); red: below overall</text>\n</svg>\n",
        TOP - 6.0,
        height - 36.0,
        height - 6.0,
        total.coverage * 100.0,
        thousands(total.dossiers_with_lookup),
        thousands(total.dossiers),
        thousands(total.served),
        thousands(total.lookups),
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(group: &str, dossiers: u64, covered: u64) -> RatioLine {
        RatioLine {
            group: vec![group.into()],
            dossiers,
            lookups: covered + 10,
            lookups_per_dossier: covered as f64 / dossiers as f64,
            dossiers_with_lookup: covered,
            coverage: covered as f64 / dossiers as f64,
            served: covered,
            ..RatioLine::default()
        }
    }

    #[test]
    fn one_bar_per_group_with_exact_counts_and_escaped_labels() {
        let lines = [
            line("Huyện Bình Lục", 3849, 0),
            line("Thành phố Phủ Lý <A&B>", 8884, 164),
        ];
        let total = line("TOTAL", 12733, 164);
        let svg = coverage_svg("2024-01-01 – 2024-02-21 by district", &lines, &total);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=").count(), 2);
        assert!(svg.contains("Thành phố Phủ Lý &lt;A&amp;B&gt;"));
        assert!(svg.contains("1.8%  (164 of 8,884 dossiers; 164 lookups served, 174 reported)"));
        assert!(
            svg.contains("Overall 1.3% (164 of 12,733 dossiers, 164 lookups served, 174 reported)")
        );
        assert_eq!(thousands(300_000), "300,000");
        assert_eq!(thousands(65), "65");
    }
}
