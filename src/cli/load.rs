//! `vnpop load`: a load test and its report (its flags: [`LoadConfig`]).

use super::output::print;
use crate::load::LoadConfig;

/// Runs the load `config` describes and prints its report (a table, or JSON with `--json`).
pub fn run(config: LoadConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(crate::load::run(&config))
        .map_err(|e| e.to_string())?;
    if config.json {
        let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        print(&(json + "\n"))
    } else {
        print(&report.table())
    }
}
