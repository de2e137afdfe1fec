//! `vnpop audit …`: what the audit commands print besides their data, one catalogue a part —
//! [`source`] (the log file, the filters as typed, a streamed answer out of order), [`period`]
//! (a period refused), [`lists`] (`ratio`, `citizen`, `anomalies`, `reconcile`: nothing found,
//! the counts before the findings), [`verify`] (what it found) and [`report`] (its usage errors
//! and last line).

pub(crate) mod lists;
pub(crate) mod period;
pub(crate) mod report;
pub(crate) mod source;
pub(crate) mod verify;
