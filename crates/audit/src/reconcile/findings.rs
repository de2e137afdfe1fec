//! The findings of a reconciliation as they are found: every one counted, the oldest kept.

use std::collections::BinaryHeap;

use super::{Finding, FindingKind, Reconciliation};

/// A finding ordered by [`Finding::order`], for the heap of the oldest.
#[derive(Debug)]
struct Oldest(Finding);

impl PartialEq for Oldest {
    fn eq(&self, other: &Self) -> bool {
        self.0.order() == other.0.order()
    }
}

impl Eq for Oldest {}

impl PartialOrd for Oldest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Oldest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.order().cmp(&other.0.order())
    }
}

/// The findings of a reconciliation as they are found: all counted, the oldest `limit` kept (a
/// heap whose top is the newest kept), so memory stays bounded however many there are.
#[derive(Default)]
pub(super) struct Findings {
    /// Findings kept at most (0: all).
    limit: usize,
    /// The oldest findings, the newest of them on top.
    kept: BinaryHeap<Oldest>,
    /// Every finding, by kind ([`FindingKind`] as an index).
    counts: [u64; FindingKind::ALL.len()],
}

impl Findings {
    /// Keeps the oldest `limit` findings (0: all of them).
    pub(super) fn new(limit: usize) -> Self {
        Findings {
            limit,
            ..Findings::default()
        }
    }

    /// Counts a finding whose [order](Finding::order) is `order`, and keeps the one `make`
    /// builds if it is among the oldest `limit`: most findings of a long log are counted
    /// without being built.
    pub(super) fn offer(
        &mut self,
        order: (i64, &str, &str, &str, FindingKind),
        make: impl FnOnce() -> Finding,
    ) {
        self.counts[order.4 as usize] += 1;
        let kept = self.limit == 0
            || self.kept.len() < self.limit
            || self
                .kept
                .peek()
                .is_some_and(|newest| order < newest.0.order());
        if kept {
            self.keep(make());
        }
    }

    /// Counts `finding`, and keeps it if it is among the oldest `limit`.
    pub(super) fn push(&mut self, finding: Finding) {
        self.counts[finding.kind as usize] += 1;
        self.keep(finding);
    }

    /// Keeps `finding` if it is among the oldest `limit` (already counted).
    fn keep(&mut self, finding: Finding) {
        let finding = Oldest(finding);
        if self.limit == 0 || self.kept.len() < self.limit {
            self.kept.push(finding);
        } else if self.kept.peek().is_some_and(|newest| finding < *newest) {
            self.kept.pop();
            self.kept.push(finding);
        }
    }

    /// Into `result`, oldest first.
    pub(super) fn into(self, result: &mut Reconciliation) {
        result.findings = self
            .kept
            .into_sorted_vec()
            .into_iter()
            .map(|o| o.0)
            .collect();
        result.counts = FindingKind::ALL
            .into_iter()
            .zip(self.counts)
            .filter(|&(_, count)| count > 0)
            .collect();
    }
}
