//! What a report lists of the period's findings: the reconcile findings taken as they arrive
//! ([`Listed`]) and the anomalies ([`anomalies`]), with `--district` that district's, counted by
//! kind, the first ones kept.

use super::{
    super::{anomalies::find as find_anomalies, period::PeriodArgs, source::Backend},
    ReportError, ANOMALIES_LISTED, FINDINGS_LISTED,
};
use crate::proto;

/// The findings a report lists, taken as they arrive: with `--district`, only that district's,
/// counted by kind (among the findings returned) and the first [`FINDINGS_LISTED`] kept, so
/// however many arrive only those are held.
pub(super) struct Listed<'a> {
    district: Option<&'a str>,
    /// Late reports are counted, not kept (the period was reported after the fact): set by the
    /// counts, which come before the findings.
    backfilled: &'a std::cell::Cell<bool>,
    kept: Vec<proto::ReconcileFinding>,
    /// The district's findings by kind, in [`KINDS`] order.
    counts: [u64; 5],
}

/// The kinds of finding, in the order of [`Listed::counts`].
const KINDS: [&str; 5] = [
    "served_not_reported",
    "reported_not_served",
    "dossier_not_reported",
    "reported_failure_unconfirmed",
    "reported_late",
];

impl<'a> Listed<'a> {
    pub(super) fn new(district: Option<&'a str>, backfilled: &'a std::cell::Cell<bool>) -> Self {
        Listed {
            district,
            backfilled,
            kept: Vec::new(),
            counts: [0; 5],
        }
    }

    pub(super) fn push(&mut self, finding: proto::ReconcileFinding) {
        if self.district.is_some_and(|d| finding.district != d) {
            return;
        }
        if let Some(i) = KINDS.iter().position(|k| *k == finding.kind) {
            self.counts[i] += 1;
        }
        let late = finding.kind == "reported_late";
        if self.kept.len() < FINDINGS_LISTED as usize && !(late && self.backfilled.get()) {
            self.kept.push(finding);
        }
    }

    /// The answer the report shows: `counts` (the whole period's) with the findings listed, and
    /// with `--district` that district's counts.
    pub(super) fn into_answer(self, counts: proto::ReconcileResponse) -> proto::ReconcileResponse {
        let mut answer = proto::ReconcileResponse {
            findings: self.kept,
            ..counts
        };
        if self.district.is_some() {
            let [a, b, c, d, e] = self.counts;
            answer.served_not_reported = a;
            answer.reported_not_served = b;
            answer.dossier_not_reported = c;
            answer.reported_failure_unconfirmed = d;
            answer.reported_late = e;
        }
        answer
    }
}

/// The period's anomalies with the default thresholds (with `--district`, that district's):
/// the counts and the first [`ANOMALIES_LISTED`].
pub(super) async fn anomalies(
    backend: &Backend,
    period: &PeriodArgs,
    district: Option<&str>,
) -> Result<(proto::AnomalyCounts, Vec<proto::Anomaly>), ReportError> {
    let thresholds = super::super::anomalies::ThresholdArgs::default();
    let request = thresholds.request(
        period,
        if district.is_some() {
            100_000
        } else {
            ANOMALIES_LISTED
        },
    );
    let mut counts = proto::AnomalyCounts::default();
    let mut listed = Vec::new();
    let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
    find_anomalies(backend, request, |chunk| {
        if let Some(c) = chunk.counts {
            counts = c;
        }
        for finding in chunk.findings {
            if district.is_some_and(|d| finding.district != d) {
                continue;
            }
            *by_kind.entry(finding.kind.clone()).or_default() += 1;
            if listed.len() < ANOMALIES_LISTED as usize {
                listed.push(finding);
            }
        }
        Ok(())
    })
    .await?;
    if district.is_some() {
        let n = |k: &str| by_kind.get(k).copied().unwrap_or(0);
        counts = proto::AnomalyCounts {
            off_hours: n("off_hours"),
            day_off: n("day_off"),
            dossier_many_citizens: n("dossier_many_citizens"),
            citizen_many_officers: n("citizen_many_officers"),
            peer_outlier: n("peer_outlier"),
            burst: n("burst"),
            no_lookup: n("no_lookup"),
            events: counts.events,
        };
    }
    Ok((counts, listed))
}
