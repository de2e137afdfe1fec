//! What the sequencer tells the projector (how far the log is acknowledged, closing, held,
//! hurried), and when the projector applies: a batch's worth at once, a few after lingering.

use std::{
    sync::{Condvar, Mutex},
    time::Duration,
};

/// Events worth a transaction at once; fewer wait up to [`LINGER`] for more, so that a steady
/// stream of small group commits costs the projector a few transactions a second, not one each.
const MIN_BATCH: u64 = 4_096;
/// How long a few events wait for more before they are applied anyway.
const LINGER: Duration = Duration::from_millis(50);
/// What the sequencer tells the projector: how far the log is acknowledged; and whether to stop
/// (after applying everything) or, in tests, to hold.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    state: Mutex<ProgressState>,
    changed: Condvar,
}

/// What [`Progress`] guards.
#[derive(Debug, Default)]
struct ProgressState {
    acknowledged: u64,
    closing: bool,
    /// Stop without applying what is left (the log failed to open).
    abandoned: bool,
    held: bool,
    /// A query waits for the projector.
    hurry: bool,
}

impl Progress {
    /// The log is acknowledged up to `size`.
    pub(crate) fn acknowledge(&self, size: u64) {
        self.state.lock().expect("progress lock").acknowledged = size;
        self.changed.notify_all();
    }

    /// TESTS ONLY (the `testing` feature): stops (or resumes) applying.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn hold(&self, hold: bool) {
        self.state.lock().expect("progress lock").held = hold;
        self.changed.notify_all();
    }

    /// Whether applying is held (tests only).
    pub(crate) fn held(&self) -> bool {
        self.state.lock().expect("progress lock").held
    }

    /// Whether the log is closing (a long replay at start stops early).
    pub(super) fn closing(&self) -> bool {
        self.state.lock().expect("progress lock").closing
    }

    /// The log is closing: apply what is acknowledged, then stop.
    pub(super) fn close(&self) {
        self.state.lock().expect("progress lock").closing = true;
        self.changed.notify_all();
    }

    /// The log failed to open: stop at once, leaving what is not applied for the next start.
    pub(super) fn abandon(&self) {
        let mut state = self.state.lock().expect("progress lock");
        state.closing = true;
        state.abandoned = true;
        self.changed.notify_all();
    }

    /// A query is waiting for the projector: apply what is there now, without lingering.
    pub(crate) fn hurry(&self) {
        self.state.lock().expect("progress lock").hurry = true;
        self.changed.notify_all();
    }

    /// Waits until there is something past `applied` worth applying: [`MIN_BATCH`] events, or
    /// anything after [`LINGER`], or anything at once when a query waits or the log closes.
    pub(super) fn next(&self, applied: u64) -> Next {
        let mut state = self.state.lock().expect("progress lock");
        let mut lingered = false;
        loop {
            if state.abandoned {
                return Next::Closed;
            }
            let pending = state.acknowledged.saturating_sub(applied);
            if !state.held
                && pending > 0
                && (pending >= MIN_BATCH || lingered || state.hurry || state.closing)
            {
                state.hurry = false;
                return Next::Apply(state.acknowledged);
            }
            if state.closing {
                return Next::Closed;
            }
            if pending > 0 && !state.held {
                let (next, timeout) = self
                    .changed
                    .wait_timeout(state, LINGER)
                    .expect("progress lock");
                state = next;
                lingered = timeout.timed_out();
            } else {
                state = self.changed.wait(state).expect("progress lock");
            }
        }
    }
}

/// What the projector does next.
pub(super) enum Next {
    /// Apply the events up to this position.
    Apply(u64),
    /// The log is closing and everything is applied (or held).
    Closed,
}
