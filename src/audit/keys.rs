//! The log's keys and their text forms: the Ed25519 key that signs tree heads, the secret of
//! the keyed subject hash, and hex.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use ed25519_dalek::VerifyingKey;

use super::{merkle::Hash, AuditError};

/// A signed statement of the log's size and Merkle root at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at_ms: i64,
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// The bytes the log key signs: a label, the size, the time and the root.
    pub fn message(tree_size: u64, signed_at_ms: i64, root: &Hash) -> Vec<u8> {
        let mut message = b"vnpop-tree-head-v1".to_vec();
        message.extend_from_slice(&tree_size.to_be_bytes());
        message.extend_from_slice(&signed_at_ms.to_be_bytes());
        message.extend_from_slice(root);
        message
    }

    /// Whether `key` signed this head.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let message = Self::message(self.tree_size, self.signed_at_ms, &self.root);
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify_strict(&message, &signature).is_ok()
    }
}

/// The current time, Unix ms.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Parses hex (either case); `None` unless every character pairs into a byte.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Parses an Ed25519 public key written as 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bad = || {
        AuditError::Key(format!(
            "{:?} is not an Ed25519 public key in hex",
            text.trim()
        ))
    };
    let bytes: [u8; 32] = parse_hex(text)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// Reads a 32-byte secret from `path`, creating it from the OS's randomness on first use (file
/// mode 0600). The log's signing key and the subject-hash key are such secrets.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], AuditError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuditError::Key(format!("{} is not a 32-byte key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| AuditError::Key(e.to_string()))?;
            match write_private(path, &secret) {
                Ok(()) => Ok(secret),
                // Another process created it first: use theirs.
                Err(_) if path.exists() => load_or_create_secret(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(AuditError::Key(format!("{}: {e}", path.display()))),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))
}
