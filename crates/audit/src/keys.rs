//! The log's keys: the Ed25519 key that signs tree heads (ring), its public half and its text
//! form, and the 32-byte secrets kept in the data directory (the signing key's seed, the secret
//! of the keyed subject hash).
//!
//! `audit-signing.key` holds the raw 32-byte Ed25519 seed (RFC 8032 §5.1.5), as it always has:
//! the key is made from the seed, not from a PKCS#8 document, so logs and data directories made
//! by earlier versions keep their key.

use std::path::Path;

use ring::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

pub use crate::ids::{hex, now_ms, parse_hex};

use super::{merkle::Hash, AuditError};

/// The signing key's file in the data directory: its raw 32-byte seed.
pub const KEY_FILE: &str = "audit-signing.key";
/// The log's public key, hex, for auditors.
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
/// The key of the keyed hash under which citizens' numbers are recorded.
pub const SUBJECT_KEY_FILE: &str = "audit-subject.key";

/// Loads (or creates) the signing key in `data_dir` and writes its public half beside it.
pub(super) fn open(data_dir: &Path) -> Result<SigningKey, AuditError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| AuditError::Key(format!("{}: {e}", data_dir.display())))?;
    let key = SigningKey::from_bytes(&load_or_create_secret(&data_dir.join(KEY_FILE))?);
    let public = data_dir.join(PUBLIC_KEY_FILE);
    if !public.exists() {
        std::fs::write(&public, hex(&key.verifying_key().to_bytes()) + "\n")
            .map_err(|e| AuditError::Key(format!("{}: {e}", public.display())))?;
    }
    Ok(key)
}

/// The key that signs the log's tree heads.
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    /// The key whose 32-byte seed is `seed` (the content of `audit-signing.key`).
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        SigningKey(
            Ed25519KeyPair::from_seed_unchecked(seed).expect("every 32 bytes are an Ed25519 seed"),
        )
    }

    /// Its public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        let public: [u8; 32] = self
            .0
            .public_key()
            .as_ref()
            .try_into()
            .expect("Ed25519 public keys are 32 bytes");
        VerifyingKey(public)
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let signature = self.0.sign(message);
        Signature(
            signature
                .as_ref()
                .try_into()
                .expect("Ed25519 signatures are 64 bytes"),
        )
    }
}

impl std::fmt::Debug for SigningKey {
    /// Shows the public half only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SigningKey")
            .field(&self.verifying_key())
            .finish()
    }
}

/// An Ed25519 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// The signature's 64 bytes (RFC 8032).
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

/// An Ed25519 public key: what verifies the log's tree heads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey([u8; 32]);

impl VerifyingKey {
    /// The key whose encoding (RFC 8032 §5.1.2) is `bytes`. A string that is no point of the
    /// curve makes a key that verifies nothing.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        VerifyingKey(*bytes)
    }

    /// The key's 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({})", hex(&self.0))
    }
}

/// A signed statement of the log's size and Merkle root at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// The number of events the head covers.
    pub tree_size: u64,
    /// The Merkle tree's root over them.
    pub root: Hash,
    /// When the log signed it (Unix ms).
    pub signed_at_ms: i64,
    /// The Ed25519 signature over size, root and time.
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
        key.verify(&message, &self.signature)
    }
}

/// Parses an Ed25519 public key written as 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bytes: [u8; 32] = parse_hex(text)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            AuditError::Key(format!(
                "{:?} is not an Ed25519 public key in hex",
                text.trim()
            ))
        })?;
    Ok(VerifyingKey::from_bytes(&bytes))
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

/// Writes a new secret file readable by its owner only; refuses to overwrite one.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1, test 1: the seed, its public key, and the signature of the empty message.
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn a_key_file_of_earlier_versions_gives_the_same_key() {
        // Earlier versions (ed25519-dalek) wrote the raw 32-byte seed; the key made from it
        // must be the one their `audit-signing.pub` and signed heads name.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-signing.key");
        std::fs::write(&path, parse_hex(SEED).unwrap()).unwrap();
        let key = SigningKey::from_bytes(&load_or_create_secret(&path).unwrap());
        assert_eq!(hex(&key.verifying_key().to_bytes()), PUBLIC);
        assert_eq!(hex(&key.sign(b"").to_bytes()), SIGNATURE);
        let public = parse_public_key(PUBLIC).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(public.verify(b"", &key.sign(b"").to_bytes()));
    }

    #[test]
    fn heads_verify_with_their_key_only() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let root = [9; 32];
        let mut head = SignedTreeHead {
            tree_size: 5,
            root,
            signed_at_ms: 1_700_000_000_000,
            signature: key
                .sign(&SignedTreeHead::message(5, 1_700_000_000_000, &root))
                .to_bytes(),
        };
        assert!(head.verify(&key.verifying_key()));
        assert!(!head.verify(&SigningKey::from_bytes(&[8; 32]).verifying_key()));
        // A key that is no curve point verifies nothing.
        assert!(!head.verify(&VerifyingKey::from_bytes(&[0xff; 32])));
        head.tree_size = 6;
        assert!(!head.verify(&key.verifying_key()));
        head.tree_size = 5;
        head.signature[63] ^= 1;
        assert!(!head.verify(&key.verifying_key()));
    }

    #[test]
    fn public_keys_parse_from_64_hex_digits_only() {
        assert!(parse_public_key(&format!(" {PUBLIC}\n")).is_ok());
        for bad in ["", "d75a", &PUBLIC[1..], &format!("{PUBLIC}00"), "zz"] {
            assert!(parse_public_key(bad).is_err(), "{bad:?}");
        }
    }
}
