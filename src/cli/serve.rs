//! `vnpop serve`: the server until Ctrl-C (its flags: [`ServeConfig`]).

use super::messages::{serve::Serve, Message};
use crate::{
    config::ServeConfig,
    server::{self, ServerState},
};

/// Runs the server `config` describes until Ctrl-C, then shuts it down.
pub fn run(config: ServeConfig) -> Result<(), String> {
    if config.insecure {
        let agency = config.insecure_agency.clone();
        eprintln!("{}", Serve::Insecure { agency }.text());
    }
    let start = |error| Serve::Start { error }.text();
    let state = ServerState::build(&config).map_err(start)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = server::start(config.listen, state).await.map_err(start)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                result.map_err(|e| e.to_string())?;
                tracing::info!("shutting down");
                running.shutdown().await.map_err(|e| e.to_string())
            }
        }
    })
}
