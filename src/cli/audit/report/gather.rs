//! Asking the auditor answers a report shows, between two readings of the tree head, and the
//! command line it was made with.

use super::{
    findings::{anomalies, Listed},
    head::tree_head,
    place::place,
    Lang, Period, ReportArgs, ReportData, ReportError, BACKFILLED_SHARE, FINDINGS_SCANNED,
    UNVERIFIED_LISTED,
};
use crate::{
    cli::{
        audit::{cleaning::cleaning_jobs, source::Backend},
        messages::{audit::report::Report as Says, Message},
    },
    domain::collation,
    proto,
};

/// Asks every question of the report, between two readings of the tree head.
pub(super) async fn gather(args: &ReportArgs) -> Result<ReportData, ReportError> {
    let period = Period::parse("--from", &args.period.from, "--to", &args.period.to)?;
    let compare = match (&args.compare_from, &args.compare_to) {
        (Some(from), Some(to)) => Some(Period::parse("--compare-from", from, "--compare-to", to)?),
        _ => None,
    };
    let backend = args.log.open().await?;
    let head = tree_head(&backend, args.log.db.as_deref()).await?;
    let agency = args.period.agency_id();
    let ratio = |p: &Period, by: &[&str]| {
        let (from, to) = p.text();
        backend.ratio(proto::LookupRatioRequest {
            from,
            to,
            group_by: by.iter().map(|g| (*g).to_owned()).collect(),
            agency_id: agency.clone(),
            include_load_test: false,
        })
    };
    let mut by_district = ratio(&period, &["district"]).await?.rows;
    collation::sort_by_name(&mut by_district, |r| &r.group[0]);
    let district = args.district.as_deref();
    if let Some(name) = district {
        if !by_district.iter().any(|r| r.group[0] == name) {
            let known = by_district.iter().map(|r| r.group[0].clone()).collect();
            return Err(ReportError::Usage(
                Says::NoSuchDistrict {
                    name: name.into(),
                    from: period.from,
                    to: period.to,
                    known,
                }
                .text(),
            ));
        }
    }
    let in_district = |row: &proto::RatioRow| district.is_none_or(|d| row.group[0] == d);
    // The headline: the whole period, or the district's own row.
    let total_of = |rows: &[proto::RatioRow], all: Vec<proto::RatioRow>| match district {
        Some(d) => rows
            .iter()
            .find(|r| r.group[0] == d)
            .cloned()
            .unwrap_or_default(),
        None => all.into_iter().next().unwrap_or_default(),
    };
    let whole = ratio(&period, &[]).await?;
    let load_test_left_out = [
        whole.load_test_dossiers_left_out,
        whole.load_test_lookups_left_out,
        whole.load_test_served_left_out,
    ];
    let total = total_of(&by_district, whole.rows);
    if total.dossiers == 0 {
        return Err(ReportError::Usage(
            Says::NoDossiers {
                from: period.from,
                to: period.to,
                agency: args.period.agency.clone(),
            }
            .text(),
        ));
    }
    let compare_total = match &compare {
        Some(p) => {
            let rows = ratio(p, &["district"]).await?.rows;
            Some(total_of(&rows, ratio(p, &[]).await?.rows))
        }
        None => None,
    };
    let mut by_district_month: Vec<_> = ratio(&period, &["district", "month"])
        .await?
        .rows
        .into_iter()
        .filter(in_district)
        .collect();
    by_district_month.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
    let by_commune = match district {
        Some(_) => Vec::new(),
        None => ratio(&period, &["province", "commune"])
            .await?
            .rows
            .into_iter()
            .filter(|r| !r.group[1].is_empty())
            .collect(),
    };
    let mut by_commune = by_commune;
    by_commune.sort_by(|a, b| collation::compare_all(&a.group, &b.group));
    let place = place(&backend, &period, &agency, district).await?;
    let mut agencies: Vec<String> = ratio(&period, &["agency"])
        .await?
        .rows
        .into_iter()
        .map(|r| r.group[0].clone())
        .collect();
    collation::sort_by_name(&mut agencies, |a| a);
    let mut by_officer: Vec<_> = ratio(&period, &["district", "officer"])
        .await?
        .rows
        .into_iter()
        .filter(in_district)
        .collect();
    by_officer.sort_by(|a, b| {
        a.coverage
            .total_cmp(&b.coverage)
            .then(b.dossiers.cmp(&a.dossiers))
            .then_with(|| collation::compare_all(&a.group, &b.group))
    });
    let (from, to) = period.text();
    let unverified = backend
        .unverified(proto::ListUnverifiedDossiersRequest {
            from: from.clone(),
            to: to.clone(),
            agency_id: agency.clone(),
            district: args.district.clone().unwrap_or_default(),
            page_size: UNVERIFIED_LISTED,
            ..Default::default()
        })
        .await?
        .dossiers;
    let unverified_rest = (total.dossiers - total.dossiers_with_lookup.min(total.dossiers))
        .saturating_sub(unverified.len() as u64);
    let mut counts = proto::ReconcileResponse::default();
    let backfilled = std::cell::Cell::new(false);
    let mut listed = Listed::new(district, &backfilled);
    backend
        .reconcile(
            proto::ReconcileRequest {
                from,
                to,
                agency_id: agency.clone(),
                include_load_test: false,
                max_findings: FINDINGS_SCANNED,
            },
            |summary| {
                backfilled.set(
                    summary.dossiers > 0
                        && summary.reported_late as f64
                            >= BACKFILLED_SHARE * summary.dossiers as f64,
                );
                counts = summary;
                Ok(())
            },
            |findings| {
                findings.into_iter().for_each(|f| listed.push(f));
                Ok(())
            },
        )
        .await?;
    let reconcile = listed.into_answer(counts);
    let backfilled = backfilled.get();
    let (anomalies, anomaly_list) = anomalies(&backend, &args.period, district).await?;
    let (from, to) = period.text();
    let cleaning = cleaning_jobs(&backend, &from, &to, &agency).await?;
    let after = tree_head(&backend, args.log.db.as_deref()).await?;
    let checkpoint = match &backend {
        Backend::Server(client, _) => client
            .checkpoint()
            .await
            .ok()
            .filter(|c| c.tree_size == head.tree_size && c.root_hash == head.root_hash),
        Backend::File { .. } => None,
    };
    Ok(ReportData {
        // The global --lang (VNPOP_LANG): Vietnamese unless English is asked.
        lang: match crate::cli::language::asked() {
            Some(crate::lang::Language::English) => Lang::En,
            _ => Lang::Vi,
        },
        period,
        compare,
        agency: args.period.agency.clone(),
        district: args.district.clone(),
        place,
        agencies,
        total,
        load_test_left_out,
        compare_total,
        by_district: by_district.into_iter().filter(in_district).collect(),
        by_district_month,
        by_commune,
        by_officer,
        unverified,
        unverified_rest,
        reconcile,
        backfilled,
        anomalies,
        anomaly_list,
        cleaning,
        head_stable: after.tree_size == head.tree_size && after.root_hash == head.root_hash,
        head,
        checkpoint,
        command: command_line(),
        generated_at_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// This process's command line, quoted for a POSIX shell where needed.
fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            let arg = if i == 0 { "vnpop".to_owned() } else { arg };
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_./=:,@".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
