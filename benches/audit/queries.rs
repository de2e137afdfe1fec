//! The auditor's questions over the whole log, each asked as the AuditTrail service answers it
//! and timed (the median of the rounds), then the Merkle proofs.

use std::time::Instant;

use chrono::{Datelike, Days, Months, NaiveDate};
use vnpop::{
    audit::{
        answers,
        merkle::{self, Subtrees},
        query::AuditReader,
        recorder::subject_hash,
        AuditLog,
    },
    proto,
};

use crate::{
    common,
    workload::{CITIZEN_CCCD, DAY_MS, DISTRICTS, DOSSIER_EVERY_MS, START_MS, SUBJECT_KEY},
    Target, CITIZEN_TARGET_MS, RATIO_TARGET_MS, RECONCILE_TARGET, UNVERIFIED_TARGET_MS,
};

/// The Vietnam day `ms` falls in, as the auditor's requests write it.
fn day(ms: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).expect("date")
        + Days::new(((ms - START_MS) / DAY_MS) as u64)
}

/// One auditor's question: a name and how to ask it of the log; the answer's rows.
type Question<'a> = (&'static str, Box<dyn Fn(&AuditLog) -> u64 + 'a>);

/// Asks as the AuditTrail service does: waits until the query tables hold everything
/// acknowledged, opens a reader on the log, and hands it to `answer`.
pub(crate) fn ask<T>(log: &AuditLog, answer: impl FnOnce(&AuditReader) -> T) -> T {
    let reader = log.caught_up_reader_blocking().expect("reader");
    answer(&reader)
}

/// The days the questions ask about: the whole log, and the month in its middle.
pub(crate) struct Period {
    /// The first dossier's day.
    pub(crate) first_day: String,
    /// The last dossier's day.
    pub(crate) last_day: String,
    /// The first day of the month in the middle of the log.
    month: NaiveDate,
    /// The last day of that month.
    month_end: NaiveDate,
}

impl Period {
    /// The period of a log of `total` events.
    pub(crate) fn of(total: usize) -> Self {
        let last_dossier_ms = START_MS + (total.saturating_sub(1) / 4) as i64 * DOSSIER_EVERY_MS;
        let (first_day, last_day) = (day(START_MS).to_string(), day(last_dossier_ms).to_string());
        let month = day((START_MS + last_dossier_ms) / 2)
            .with_day(1)
            .expect("first of the month");
        let month_end = month + Months::new(1) - Days::new(1);
        Period {
            first_day,
            last_day,
            month,
            month_end,
        }
    }
}

/// Asks every question `runs` times, interleaved, prints each one's median time and rows, adds
/// the queries' targets to `targets`, and returns the ratio total (to check the restarts' against).
pub(crate) fn queries(
    log: &AuditLog,
    period: &Period,
    runs: usize,
    targets: &mut Vec<Target>,
) -> proto::LookupRatioResponse {
    let Period {
        first_day,
        last_day,
        month,
        month_end,
    } = period;
    let ratio = |group_by: &[&str]| {
        let request = proto::LookupRatioRequest {
            from: first_day.clone(),
            to: last_day.clone(),
            group_by: group_by.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        move |log: &AuditLog| {
            let query = answers::ratio_query(request.clone()).expect("ratio query");
            ask(log, |reader| {
                let mut rows = 0;
                answers::lookup_ratio_chunks(reader, &query, &mut |chunk| {
                    rows += chunk.rows.len() as u64;
                    true
                })
                .expect("ratio");
                rows
            })
        }
    };
    let reconciled = std::cell::Cell::new(0u64);
    let questions: Vec<Question> = vec![
        (
            "open a reader (what every query below pays first)",
            Box::new(|log: &AuditLog| ask(log, |_| 0)),
        ),
        ("ratio, total", Box::new(ratio(&[]))),
        ("ratio by district", Box::new(ratio(&["district"]))),
        (
            "ratio by district × month",
            Box::new(ratio(&["district", "month"])),
        ),
        ("ratio by officer", Box::new(ratio(&["officer"]))),
        (
            "one citizen's history (CitizenAccessLog)",
            Box::new(|log: &AuditLog| {
                let request = proto::CitizenAccessLogRequest {
                    cccd_number: CITIZEN_CCCD.into(),
                };
                ask(log, |reader| {
                    answers::citizen_accesses(reader, request, |cccd| {
                        subject_hash(&SUBJECT_KEY, cccd)
                    })
                    .expect("citizen")
                    .accesses
                    .len() as u64
                })
            }),
        ),
        (
            "unverified dossiers, one district-month, every page",
            Box::new(|log: &AuditLog| {
                let mut request = proto::ListUnverifiedDossiersRequest {
                    from: month.to_string(),
                    to: month_end.to_string(),
                    district: DISTRICTS[1].into(),
                    page_size: 1_000,
                    ..Default::default()
                };
                let mut rows = 0;
                loop {
                    let page = ask(log, |reader| {
                        answers::unverified_dossiers(reader, request.clone()).expect("unverified")
                    });
                    rows += page.dossiers.len() as u64;
                    if page.next_page_token.is_empty() {
                        return rows;
                    }
                    request.page_token = page.next_page_token;
                }
            }),
        ),
        (
            "reconcile the whole log (StreamReconcile)",
            Box::new(|log: &AuditLog| {
                let query = answers::reconcile_query(proto::ReconcileRequest {
                    from: first_day.clone(),
                    to: last_day.clone(),
                    ..Default::default()
                })
                .expect("reconcile query");
                ask(log, |reader| {
                    let mut findings = 0;
                    answers::reconcile_chunks(reader, &query, &mut |chunk| {
                        if let Some(summary) = chunk.summary {
                            reconciled.set(summary.dossiers);
                            findings = summary.served_not_reported
                                + summary.reported_not_served
                                + summary.dossier_not_reported
                                + summary.reported_failure_unconfirmed
                                + summary.reported_late;
                        }
                        true
                    })
                    .expect("reconcile");
                    findings
                })
            }),
        ),
    ];
    let mut times = vec![Vec::new(); questions.len()];
    let mut rows = vec![0; questions.len()];
    for _ in 0..runs {
        for (i, (_, question)) in questions.iter().enumerate() {
            let started = Instant::now();
            rows[i] = question(log);
            times[i].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let times: Vec<f64> = times.into_iter().map(common::middle).collect();
    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        format!("auditor queries over the whole log (median of {runs})"),
        "ms",
        "rows"
    );
    for (((name, _), took), rows) in questions.iter().zip(&times).zip(&rows) {
        println!("{name:<58} {took:>14.3} {rows:>8}");
    }
    println!(
        "{:<58} {:>14} {:>8}",
        format!("(unverified: {month} to {month_end}, {})", DISTRICTS[1]),
        "",
        ""
    );
    println!(
        "{:<58} {:>14}",
        "(reconcile: rows are findings, every one counted; dossiers)",
        reconciled.get()
    );
    let reconcile_rate = reconciled.get() as f64 / (times[7] / 1e3);
    println!(
        "{:<58} {:>14.0}",
        "reconcile, dossiers a second", reconcile_rate
    );
    for (i, name) in [
        (1, "ratio, total"),
        (3, "ratio by district × month"),
        (4, "ratio by officer"),
    ] {
        targets.push(Target {
            figure: name.into(),
            measured: format!("{:.1} ms", times[i]),
            target: "< 50 ms",
            met: times[i] < RATIO_TARGET_MS,
        });
    }
    targets.push(Target {
        figure: format!("one citizen's history ({} accesses)", rows[5]),
        measured: format!("{:.1} ms", times[5]),
        target: "< 10 ms",
        met: times[5] < CITIZEN_TARGET_MS,
    });
    targets.push(Target {
        figure: format!("unverified, one district-month ({} rows)", rows[6]),
        measured: format!("{:.1} ms", times[6]),
        target: "< 100 ms",
        met: times[6] < UNVERIFIED_TARGET_MS,
    });
    targets.push(Target {
        figure: "reconcile".into(),
        measured: format!("{reconcile_rate:.0} dossiers/s"),
        target: "≥ 500,000 dossiers/s",
        met: reconcile_rate >= RECONCILE_TARGET,
    });
    ask(log, |reader| {
        answers::lookup_ratio(
            reader,
            proto::LookupRatioRequest {
                from: first_day.clone(),
                to: last_day.clone(),
                ..Default::default()
            },
        )
        .expect("ratio")
    })
}

/// Inclusion and consistency proofs over the whole log of `total` events, each timed: from
/// every leaf hash (the baseline) and from the stored block roots.
pub(crate) fn proofs(log: &AuditLog, total: usize) {
    println!();
    println!(
        "{:<58} {:>14} {:>8}",
        "proofs over the whole log", "seconds", "result"
    );
    let reader = AuditReader::open(log.path()).expect("reader");
    let size = total as u64;
    let index = size / 3;
    let started = Instant::now();
    let leaves = reader.leaf_hashes(size).expect("leaves");
    let proof = merkle::inclusion_proof(&leaves, index as usize).expect("in range");
    let root = merkle::root(&leaves);
    println!(
        "{:<58} {:>14.3} {:>8}",
        "inclusion proof from every leaf hash (baseline)",
        started.elapsed().as_secs_f64(),
        proof.len()
    );
    drop(leaves);
    let started = Instant::now();
    let tree = reader.tree(size);
    let stored = merkle::inclusion_proof_in(&tree, index)
        .expect("proof")
        .expect("in range");
    let stored_root = tree.range_root(0, size).expect("root");
    println!(
        "{:<58} {:>14.3} {:>8}",
        "inclusion proof from stored block roots (GetInclusionProof)",
        started.elapsed().as_secs_f64(),
        stored.len()
    );
    assert_eq!((stored, stored_root), (proof, root));
    let started = Instant::now();
    let proof = merkle::consistency_proof_in(&tree, size / 2)
        .expect("proof")
        .expect("in range");
    println!(
        "{:<58} {:>14.3} {:>8}",
        "consistency proof from stored block roots (GetConsistencyProof)",
        started.elapsed().as_secs_f64(),
        proof.len()
    );
    drop(tree);
    drop(reader);
}
