//! `vnpop certs`: regenerate the DEVELOPMENT certificates.

use std::path::PathBuf;

use super::output::print;
use crate::security::{certs, AgencyDirectory};

/// The flags of `vnpop certs`.
#[derive(Debug, clap::Args)]
pub struct CertsArgs {
    /// Directory to write into.
    #[arg(long, default_value = "certs")]
    out: PathBuf,
    /// Agency configuration whose agencies get client certificates; default: the embedded one.
    #[arg(long, env = "VNPOP_AGENCIES")]
    agencies: Option<PathBuf>,
    /// Only the mock chip PKI (csca.* and document-signer.*), leaving the TLS certificates.
    #[arg(long)]
    chip_only: bool,
}

/// Writes the development PKI `args` asks for and lists the files written.
pub fn run(args: CertsArgs) -> Result<(), String> {
    let CertsArgs {
        out,
        agencies,
        chip_only,
    } = args;
    let mut text = String::new();
    if chip_only {
        let written = certs::write_chip_pki(&out).map_err(|e| e.to_string())?;
        for name in written {
            outln!(text, "wrote {}", out.join(name).display());
        }
        outln!(
            text,
            "These are DEVELOPMENT certificates: their private keys are not secret."
        );
        return print(&text);
    }
    let directory = match agencies {
        Some(path) => AgencyDirectory::load(&path).map_err(|e| e.to_string())?,
        None => AgencyDirectory::development(),
    };
    let written = certs::write_development_pki(&out, &directory).map_err(|e| e.to_string())?;
    for name in written {
        outln!(text, "wrote {}", out.join(name).display());
    }
    outln!(
        text,
        "These are DEVELOPMENT certificates: their private keys are not secret."
    );
    print(&text)
}
