//! The `vnpop` command's subcommands that are more than a call into the library: the auditor's
//! `audit` commands, their charts, filters and output. (`serve` and `certs` are in `main.rs`.)

pub mod audit;
pub mod chart;
mod filters;
pub mod output;
