//! The `vnpop` command's subcommands that are more than a call into the library: the auditor's
//! `audit` commands, their charts, filters and output, the HTML report, and chip-read formats.
//! (`serve` and `certs` are in `main.rs`.)

pub mod audit;
pub mod chart;
pub mod chip;
mod filters;
pub mod output;
pub mod report;
