//! The `vnpop` command's subcommands that are more than a call into the library: the auditor's
//! `audit` commands. (`serve` and `certs` are in `main.rs`.)

pub mod audit;
