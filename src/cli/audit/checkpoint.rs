//! `vnpop audit checkpoint`: the log's newest tree head as a C2SP tlog-checkpoint (a signed
//! note), or the key a note verifier takes, for checking the log with standard transparency
//! tooling (see docs/auditing.md, "Checking the log without vnpop").

use clap::Args;

use super::source::ServerArgs;

/// The arguments of `vnpop audit checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Print the log's verifier key (`ORIGIN+KEY_ID+BASE64(0x01 ‖ public key)`, what Go's
    /// sumdb/note `NewVerifier` takes) instead of the checkpoint.
    #[arg(long)]
    pub verifier_key: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Asks the server (GetCheckpoint) and prints the signed note, or the verifier key.
pub async fn run(args: &CheckpointArgs) -> Result<(), String> {
    let auditor = args.server.connect().await?;
    let checkpoint = auditor.checkpoint().await.map_err(|e| e.to_string())?;
    let shown = if args.verifier_key {
        format!("{}\n", checkpoint.verifier_key)
    } else {
        checkpoint.note
    };
    crate::cli::output::print(&shown)
}
