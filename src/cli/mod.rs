//! The `vnpop` command's subcommands that are more than a call into the library: the auditor's
//! `audit` commands and their charts. (`serve` and `certs` are in `main.rs`.)

pub mod audit;
pub mod chart;
