//! `vnpop certs`: regenerate the DEVELOPMENT certificates.

use std::path::{Path, PathBuf};

use super::output::print;
use crate::security::{certs, AgencyDirectory};

/// The flags of `vnpop certs`.
#[derive(Debug, clap::Args)]
pub struct CertsArgs {
    /// Directory to write into (created). A directory that already holds certificates or keys
    /// (the repository's certs/, which the server and every example use) is refused unless
    /// --force is given.
    #[arg(long, default_value = "vnpop-certs")]
    out: PathBuf,
    /// Replace the certificates and keys already in --out.
    #[arg(long)]
    force: bool,
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
        force,
        agencies,
        chip_only,
    } = args;
    if !force {
        if let Some(held) = held_pki_file(&out) {
            return Err(format!(
                "{} already holds certificates ({held} …): writing would replace them, and a \
                 server or client using them would then fail. Give --out NEW_DIRECTORY, or \
                 --force to replace them",
                out.display()
            ));
        }
    }
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

/// The name of a certificate or key file (`*.pem`, `*.key`) already in `dir`, if any.
fn held_pki_file(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".pem") || name.ends_with(".key"))
        .collect();
    names.sort();
    names.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_holding_certificates_is_refused_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pki");
        let args = |force| CertsArgs {
            out: out.clone(),
            force,
            agencies: None,
            chip_only: true,
        };
        run(args(false)).expect("a new directory is written");
        let refused = run(args(false)).unwrap_err();
        assert!(refused.contains("--force"), "{refused}");
        assert!(refused.contains("already holds certificates"), "{refused}");
        run(args(true)).expect("--force replaces them");
        // The repository's own certs/ is such a directory.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
        assert!(held_pki_file(&repo).is_some());
    }
}
