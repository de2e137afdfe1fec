//! The page's style, for the screen and for paper.
//!
//! On paper (`@media print`, and `@page` for the sheet) the report is an A4 document an inspector
//! files: every page names the report it belongs to in its margins (period, scope, the signed tree
//! head it was computed at) and numbers itself (`Trang 3 / 12`), as CSS paged media's margin boxes
//! (Chromium prints them since version 131; a browser without them still prints the header on the
//! first page, which names the same); every section prints whole (no scroll box, no collapsed
//! section), tables reflow to the sheet's width in type no smaller than 7 pt and repeat their
//! header row on each page (names and words wrap, cells of class `wrap`; codes, identifiers and
//! figures do not; a figure's column about two words of its header wide), a chart never splits across pages, and what the screen shows on hover is said
//! in words.

use std::fmt::Write;

/// The page's style for the screen, and what changes in print.
pub(super) const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#1f2933;font:14px/1.45 "Segoe UI","Noto Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 20px 48px}
header{background:#9b1c1c;color:#fff;padding:20px 24px;border-radius:8px}
header h1{margin:0 0 6px;font-size:22px}
header p{margin:2px 0;opacity:.92}
section{background:#fff;border-radius:8px;padding:18px 22px;margin-top:18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 4px;color:#7f1d1d}
h3{font-size:15px;margin:12px 0 4px;color:#7f1d1d}
.note{color:#52606d;margin:0 0 12px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-top:18px}
.card{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08);border-top:4px solid #9b1c1c}
.card .label{color:#52606d;font-size:13px;min-height:2.6em}
.card .figure{font-size:30px;font-weight:700;margin:4px 0}
.card .rate,.card .compare{font-size:13px;color:#52606d}
.card .rate{color:#1f2933;margin-bottom:4px}
.compare-note{margin:10px 0 0}
.up{color:#0f7b3f;font-weight:600}.down{color:#b42318;font-weight:600}
.pair{display:grid;grid-template-columns:480px minmax(0,1fr);gap:16px;align-items:start}
.charts svg{display:block;margin-bottom:10px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}
th{background:#f5f7fa;font-weight:600;position:sticky;top:0;white-space:normal;vertical-align:bottom;font-size:12.5px}
.pair table{font-size:12px}.pair th,.pair td{padding:3px 6px}
td.n,th.n{text-align:right}
tr.total td{font-weight:700;border-top:2px solid #9aa5b1}
.scroll{max-height:460px;overflow:auto;border:1px solid #e4e7eb;border-radius:6px}
table.heat{width:auto;border-collapse:separate;border-spacing:2px;font-size:12px;margin-bottom:6px}
.heat th{position:static;background:none;color:#52606d;font-weight:400;text-align:center;padding:2px 4px}
.heat th.district{text-align:right;color:#1f2933;white-space:nowrap}
.heat td{min-width:58px;height:26px;text-align:center;border:0;border-radius:3px;padding:2px 4px}
.heat td.none{background:#fff;outline:1px solid #e4e7eb;color:#9aa5b1}
.heat td,.ramp{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.legend{display:flex;align-items:center;gap:10px;color:#52606d;font-size:12px;margin:4px 0 14px}
.ramp{width:240px;height:12px;border-radius:2px}
.ticks{display:flex;justify-content:space-between;width:240px}
.empty{display:inline-block;width:18px;height:12px;outline:1px solid #e4e7eb;background:#fff;vertical-align:middle}
details{margin-top:10px}summary{cursor:pointer;color:#7f1d1d}
pre,code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px}
pre{background:#f5f7fa;border:1px solid #e4e7eb;border-radius:6px;padding:10px;overflow:auto;white-space:pre-wrap;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:8px 0}
dt{color:#52606d}dd{margin:0;font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px;word-break:break-all}
svg{max-width:100%;height:auto}
svg text{font-family:"Segoe UI","Noto Sans","DejaVu Sans",Arial,sans-serif}
.warn{color:#b42318;font-weight:600}
.print-only{display:none}
@media print{
body{background:#fff;font-size:9pt;line-height:1.35}
main{max-width:none;padding:0}
header{background:none;color:#1f2933;border:1.5pt solid #9b1c1c;border-radius:0;padding:6pt 9pt}
header h1{font-size:13pt;color:#7f1d1d}
section,.card{box-shadow:none;border:.75pt solid #bbb;border-radius:0}
section{padding:6pt 8pt;margin-top:8pt}
h2{font-size:11pt;break-after:avoid}
h3{font-size:10pt;break-after:avoid}
.note{margin-bottom:6pt;break-after:avoid}
.cards{gap:5pt;margin-top:8pt}
.card{padding:5pt 7pt;break-inside:avoid}
.card .label{font-size:8pt;min-height:0}
.card .figure{font-size:15pt;margin:2pt 0}
.card .rate,.card .compare{font-size:8pt}
.pair{display:block}
.charts svg{break-inside:avoid;margin:0 0 6pt}
.scroll{max-height:none;overflow:visible;border:0}
table{font-size:7.5pt}
thead{display:table-header-group}
tr{break-inside:avoid}
th{position:static;font-size:7.5pt}
th,td{padding:1.5pt 3pt}
td.wrap{white-space:normal}
th.n{width:5.5em}
.pair table{font-size:7.5pt}.pair th,.pair td{padding:1.5pt 3pt}
table.heat{font-size:7.5pt;border-spacing:1.5pt;break-inside:avoid}
.heat th{white-space:nowrap}
.heat td{min-width:0;height:auto;padding:3pt 2pt}
.legend{font-size:7.5pt;break-inside:avoid}
details{margin-top:6pt}
summary{list-style:none;font-weight:600;cursor:auto;break-after:avoid}
summary::-webkit-details-marker{display:none}
pre,code,dd{font-size:7.5pt}
pre{padding:4pt;break-inside:avoid}
.screen-only{display:none}
.print-only{display:inline}
}
"#;

/// What the margins of every printed page say.
pub(super) struct Margins {
    /// Top left: the period and the scope.
    pub report: String,
    /// Top right: the tree head the figures were computed at.
    pub head: String,
    /// Bottom left: the title and when the report was made.
    pub title: String,
    /// Bottom right, around the numbers: `Trang` and `/` (`Page`, `of`).
    pub page: [&'static str; 2],
}

/// The sheet: A4 portrait, its margins holding the report's identity and the page number.
pub(super) fn page_rules(margins: &Margins) -> String {
    let box_style = r#"font:7.5pt/1.3 "DejaVu Sans","Noto Sans",Arial,sans-serif;color:#52606d"#;
    let [page, of] = margins.page;
    let mut rules = String::from("@page{size:A4;margin:15mm 11mm 14mm;\n");
    for (place, content) in [
        ("top-left", css_string(&margins.report)),
        ("top-right", css_string(&margins.head)),
        ("bottom-left", css_string(&margins.title)),
        (
            "bottom-right",
            format!(
                "{} counter(page) {} counter(pages)",
                css_string(&format!("{page} ")),
                css_string(&format!(" {of} "))
            ),
        ),
    ] {
        let _ = writeln!(rules, "@{place}{{content:{content};{box_style}}}");
    }
    rules.push_str("}\n");
    rules
}

/// `text` as a CSS string, quoted: bidirectional overrides and control characters shown visibly
/// (`[U+202E]`, as in the page's text), then quotes, backslashes, line ends and the characters that
/// could end the `<style>` element written as escapes, so no data breaks out of it.
pub(super) fn css_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in crate::domain::shown_in_html(text).chars() {
        if c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c.is_control() {
            // The space ends the hexadecimal escape.
            let _ = write!(out, "\\{:x} ", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_leave_a_css_string() {
        assert_eq!(css_string("Huyện Mai Châu"), "\"Huyện Mai Châu\"");
        assert_eq!(
            css_string("a\"}</style><script>\\\n"),
            r#""a\22 }\3c /style\3e \3c script\3e \5c \a ""#
        );
        assert_eq!(css_string("cb\u{202E}10"), "\"cb[U+202E]10\"");
    }

    #[test]
    fn every_page_is_a4_with_its_identity_and_number() {
        let rules = page_rules(&Margins {
            report: "Kỳ báo cáo 01/01/2024 – 21/02/2024".into(),
            head: "Đầu cây 12 sự kiện".into(),
            title: "Báo cáo".into(),
            page: ["Trang", "/"],
        });
        assert!(rules.starts_with("@page{size:A4;"));
        assert!(rules.contains("@top-left{content:\"Kỳ báo cáo 01/01/2024 – 21/02/2024\";"));
        assert!(rules.contains("@top-right{content:\"Đầu cây 12 sự kiện\";"));
        assert!(rules
            .contains("@bottom-right{content:\"Trang \" counter(page) \" / \" counter(pages);"));
    }
}
