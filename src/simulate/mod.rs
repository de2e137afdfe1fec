//! `vnpop simulate`: drives the client library against a server with a province scenario, so the
//! auditor's figures can be reproduced end to end.
//!
//! The scenario (`data/scenario.toml`, or `--scenario FILE`) fixes each period's dossier and
//! lookup totals exactly; [`plan()`] turns it into a deterministic list of dossiers, and [`run`]
//! opens each through an [`AgencyClient`](crate::client::AgencyClient) at its simulated time and
//! makes its lookup, then waits for the outbox to drain. Event times are simulated times, not the wall clock.
//!
//! Modules: `scenario` (the file format, [`RunIdentity`]), `plan` (the dossiers), `drive` (the
//! run through the client library).

mod drive;
mod plan;
mod scenario;

pub use drive::{run, SimulationReport, Stop, StopSignal};
pub use plan::{plan, PlannedDossier};
pub use scenario::{Period, RunIdentity, Scenario, ScenarioError, Unit};
