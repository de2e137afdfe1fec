//! `vnpop certs`: regenerate the DEVELOPMENT certificates.

use std::path::{Path, PathBuf};

use super::{
    messages::{certs::Certs, Message},
    output::{file_error, print, FileAction},
};
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
            return Err(Certs::AlreadyHeld {
                out: out.display().to_string(),
                held,
            }
            .text());
        }
    }
    if chip_only {
        let written =
            certs::write_chip_pki(&out).map_err(|e| file_error(&out, FileAction::Write, e))?;
        return print(&listed(&out, written));
    }
    let directory = match agencies {
        Some(path) => {
            AgencyDirectory::load(&path).map_err(|error| Certs::Agencies { error }.text())?
        }
        None => AgencyDirectory::development(),
    };
    let written = certs::write_development_pki(&out, &directory)
        .map_err(|e| file_error(&out, FileAction::Write, e))?;
    print(&listed(&out, written))
}

/// The files written into `out`, one a line, and the warning that they are for development.
fn listed(out: &Path, written: impl IntoIterator<Item = impl AsRef<Path>>) -> String {
    let mut text = String::new();
    for name in written {
        let path = out.join(name).display().to_string();
        outln!(text, "{}", Certs::Wrote { path }.text());
    }
    outln!(text, "{}", Certs::DevelopmentOnly.text());
    text
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
