//! `vnpop load`: a load test and its report (its flags: [`LoadConfig`]).

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio::signal::unix::SignalKind;

use super::{
    messages::{serve::Serve, Message},
    output::print,
};
use crate::load::LoadConfig;

/// Runs the load `config` describes and prints its report (a table, or JSON with `--json`). The
/// first Ctrl-C (SIGINT) ends the run early with the report of the part that ran; a second
/// exits at once.
pub fn run(config: LoadConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let interrupt = Arc::new(AtomicBool::new(false));
    let report = runtime.block_on(async {
        let mut signals = tokio::signal::unix::signal(SignalKind::interrupt())
            .map_err(|error| Serve::CannotCatchCtrlC { error }.text())?;
        let flag = Arc::clone(&interrupt);
        tokio::spawn(async move {
            signals.recv().await;
            eprintln!("{}", Serve::LoadEnding.text());
            flag.store(true, Ordering::Relaxed);
            signals.recv().await;
            std::process::exit(130);
        });
        crate::load::run(&config, interrupt)
            .await
            .map_err(|e| e.to_string())
    })?;
    if config.json {
        let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        print(&(json + "\n"))
    } else {
        print(&report.table())
    }
}
