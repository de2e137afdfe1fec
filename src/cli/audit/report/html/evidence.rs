//! What the auditor checks beyond the ratios: dossiers with no verification, the reconciliation
//! of reported against served calls, and the signed tree head with the commands to verify it.

use std::fmt::Write;

use super::esc;
use crate::{
    audit::log::hex,
    cli::audit::report::{words::Labels, ReportData},
};

pub(super) fn unverified(out: &mut String, data: &ReportData, l: &Labels) {
    let lang = data.lang;
    let missing = data.unverified.len() as u64 + data.unverified_rest;
    let _ = write!(
        out,
        "<section id=\"unverified\">\n<h2>{} <span data-v=\"{missing}\">({})</span></h2>\n<div class=\"scroll\"><table id=\"unverified-dossiers\">\n<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\n<tbody>\n",
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
            "<tr><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
            esc(&d.dossier_id),
            esc(&d.district),
            esc(&d.commune),
            esc(&d.officer_id),
            esc(&crate::domain::procedure::labelled(&d.procedure_code)),
            esc(&lang.channel(&d.channel)),
            esc(&lang.moment(d.received_at_ms))
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

pub(super) fn reconcile(out: &mut String, data: &ReportData, l: &Labels) {
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
            "<tr data-group=\"{kind}\"><td class=\"wrap\">{}</td><td class=\"n\" data-v=\"{n}\">{}</td></tr>",
            esc(&lang.finding(kind)),
            lang.int(n)
        );
    }
    out.push_str("</tbody></table>\n");
    if data.backfilled {
        let [start, of, end] = l.backfilled;
        let _ = writeln!(
            out,
            "<p class=\"note\" id=\"backfilled\">{} <span data-v=\"{}\">{}</span> {} {} {}</p>",
            esc(start),
            r.reported_late,
            lang.int(r.reported_late),
            esc(of),
            lang.int(r.dossiers),
            esc(end)
        );
    }
    // The RPC column only when a listed finding names one (a dossier-level finding has none).
    let with_rpc = r.findings.iter().any(|f| !f.rpc.is_empty());
    if r.findings.is_empty() {
        let none = if data.backfilled {
            l.no_other_findings
        } else {
            l.no_findings
        };
        let _ = writeln!(out, "<p>{}</p>", esc(none));
    } else {
        let _ = write!(
            out,
            "<details open><summary>{} ({})</summary><div class=\"scroll\"><table id=\"findings\">\n<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}<th class=\"n\">{}</th><th class=\"n\">{}</th><th>{}</th></tr></thead>\n<tbody>\n",
            l.findings_listed,
            lang.int(r.findings.len() as u64),
            l.finding,
            l.dossier,
            l.district,
            l.officer,
            if with_rpc {
                format!("<th>{}</th>", l.rpc)
            } else {
                String::new()
            },
            l.reported,
            l.served,
            l.first_at
        );
        for f in &r.findings {
            let _ = writeln!(
                out,
                "<tr data-kind=\"{}\"><td class=\"wrap\">{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{}</td>{}<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"wrap\">{}</td></tr>",
                esc(&f.kind),
                esc(&lang.finding(&f.kind)),
                esc(&f.dossier_id),
                esc(&f.district),
                esc(&f.officer_id),
                match (with_rpc, f.rpc.is_empty()) {
                    (false, _) => String::new(),
                    (true, true) => "<td>–</td>".to_owned(),
                    (true, false) => format!("<td class=\"wrap\">{}</td>", esc(&lang.rpc(&f.rpc))),
                },
                lang.int(f.reported),
                lang.int(f.served),
                esc(&lang.moment(f.first_at_ms))
            );
        }
        out.push_str("</tbody></table></div></details>\n");
    }
    out.push_str("</section>\n");
}

/// The period's data-cleaning jobs, apart from dossiers (no section without any).
pub(super) fn cleaning(out: &mut String, data: &ReportData, l: &Labels) {
    if data.cleaning.is_empty() {
        return;
    }
    let lang = data.lang;
    let _ = write!(
        out,
        "<section id=\"cleaning\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<div class=\"scroll\"><table id=\"cleaning-jobs\">\n<thead><tr>",
        esc(l.cleaning),
        esc(l.cleaning_note)
    );
    for (i, column) in l.cleaning_columns.iter().enumerate() {
        let class = if i >= 3 { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(column));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for job in &data.cleaning {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td class=\"n\" data-v=\"{}\">{}</td>",
            esc(&job.agency),
            esc(&job.job),
            esc(&job.purpose),
            job.records,
            lang.int(job.records)
        );
        for count in job.verdicts {
            let _ = write!(
                out,
                "<td class=\"n\" data-v=\"{count}\">{}</td>",
                lang.int(count)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

pub(super) fn tree_head(out: &mut String, data: &ReportData, l: &Labels) {
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
        esc(&format!("{} (UTC+7)", data.lang.moment(head.signed_at_ms))),
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
    if let Some(checkpoint) = &data.checkpoint {
        let _ = write!(
            out,
            "<p><b>{}</b></p>\n<pre id=\"checkpoint\">{}</pre>\n<pre id=\"verifier-key\">{}</pre>\n",
            esc(l.checkpoint),
            esc(&checkpoint.note),
            esc(&checkpoint.verifier_key)
        );
    }
    let _ = write!(
        out,
        "<p><b>head.json</b></p>\n<pre id=\"head-json\">{}</pre>\n<p><b>{}</b></p>\n<pre>vnpop audit verify --remote --previous-head head.json{pin}</pre>\n<p><b>{}</b></p>\n<pre>vnpop audit verify --data-dir DATA_DIR{pin}</pre>\n<p><b>{}</b></p>\n<pre id=\"command\">{}</pre>\n</section>\n",
        esc(&crate::cli::audit::report::saved_head_json(head)),
        esc(l.verify_remote),
        esc(l.verify_file),
        esc(l.command),
        esc(&data.command)
    );
}
