//! The findings an inspector acts on (`vnpop audit anomalies` with its default thresholds):
//! their counts by kind, then each finding in one sentence with its evidence rows (the log's
//! positions, times, dossiers, lookups), printed whole.

use std::fmt::Write;

use super::esc;

/// Evidence rows shown per finding (the rest counted: `vnpop audit anomalies` lists them all).
const EVIDENCE_SHOWN: usize = 3;
use crate::{
    cli::audit::report::{words::Labels, ReportData},
    domain::procedure,
};

/// The kinds, in the order the answer lists them, with their counts.
fn counts(data: &ReportData) -> [(&'static str, u64); 7] {
    let c = &data.anomalies;
    [
        ("dossier_many_citizens", c.dossier_many_citizens),
        ("citizen_many_officers", c.citizen_many_officers),
        ("burst", c.burst),
        ("peer_outlier", c.peer_outlier),
        ("day_off", c.day_off),
        ("off_hours", c.off_hours),
        ("no_lookup", c.no_lookup),
    ]
}

pub(super) fn findings(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let _ = write!(
        out,
        "<section id=\"anomalies\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<table id=\"anomalies-by-kind\" style=\"width:auto\">\n<thead><tr><th>{}</th><th class=\"n\">{}</th></tr></thead>\n<tbody>\n",
        esc(l.anomalies),
        esc(l.anomalies_note),
        l.finding,
        l.count
    );
    for (kind, n) in counts(data) {
        let _ = writeln!(
            out,
            "<tr data-group=\"{kind}\"><td class=\"wrap\">{}</td><td class=\"n\" data-v=\"{n}\">{}</td></tr>",
            esc(&lang.anomaly(kind)),
            lang.int(n)
        );
    }
    out.push_str("</tbody></table>\n");
    if data.anomaly_list.is_empty() {
        let _ = writeln!(out, "<p>{}</p>\n</section>", esc(l.no_anomalies));
        return;
    }
    let _ = write!(
        out,
        "<h3>{} ({})</h3>\n<table id=\"anomaly-list\">\n<thead><tr><th style=\"width:16%\">{}</th><th style=\"width:40%\">{}</th><th>{}</th></tr></thead>\n<tbody>\n",
        esc(l.anomalies_listed),
        lang.int(data.anomaly_list.len() as u64),
        l.finding,
        l.explanation,
        l.evidence
    );
    for a in &data.anomaly_list {
        let mut rows: Vec<String> = a
            .evidence
            .iter()
            .take(EVIDENCE_SHOWN)
            .map(|e| {
                let what = if e.rpc.is_empty() {
                    format!(
                        "{} · {} {}",
                        procedure::labelled(&e.procedure_code),
                        lang.int(e.lookups),
                        l.lookups_word
                    )
                } else if e.subject.is_empty() {
                    lang.rpc(&e.rpc)
                } else {
                    format!("{} · {}", lang.rpc(&e.rpc), e.subject)
                };
                format!(
                    "#{} · {} · {} · {} · {}",
                    e.seq,
                    lang.moment(e.occurred_at_ms),
                    e.officer_id,
                    e.dossier_id,
                    what
                )
            })
            .collect();
        if a.evidence.len() > EVIDENCE_SHOWN {
            rows.push(format!(
                "+ {} {}",
                lang.int((a.evidence.len() - EVIDENCE_SHOWN) as u64),
                l.more_evidence
            ));
        }
        let _ = writeln!(
            out,
            "<tr data-kind=\"{}\"><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td class=\"wrap evidence\">{}</td></tr>",
            esc(&a.kind),
            esc(&lang.anomaly(&a.kind)),
            esc(&a.explanation),
            rows.iter().map(|r| esc(r)).collect::<Vec<_>>().join("<br>")
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}
