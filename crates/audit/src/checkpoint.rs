//! The log's tree head as a C2SP tlog-checkpoint in the signed-note format, so that standard
//! transparency tooling — Go's `golang.org/x/mod/sumdb/note` and `sumdb/tlog`, the
//! transparency-dev verifiers, witnesses that cosign checkpoints — checks vnpop's log without
//! vnpop.
//!
//! A checkpoint's body is three lines: the log's origin, the tree size in decimal, the root hash
//! in standard base64 (C2SP tlog-checkpoint). A signed note (C2SP signed-note) is the body, a
//! blank line, and a signature line `— NAME BASE64(KEY_ID ‖ SIGNATURE)`: the Ed25519 signature
//! of the body's bytes under the log's key, behind the key's 4-byte id, the first four bytes of
//! SHA-256(NAME ‖ "\n" ‖ 0x01 ‖ PUBLIC_KEY). The key is named by the log's origin. A verifier
//! takes the key as `NAME+KEY_ID_HEX+BASE64(0x01 ‖ PUBLIC_KEY)` ([`verifier_key`]).
//!
//! The origin is derived from the log's key ([`origin`]): every data directory has its own key,
//! so two logs never share an origin.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ring::digest::{digest, SHA256};

use super::{
    keys::{SigningKey, VerifyingKey},
    merkle::Hash,
};

/// The signature algorithm byte of an Ed25519 key in the signed-note format.
const ED25519: u8 = 0x01;
/// What opens a signature line (U+2014 EM DASH, then a space).
const SIGNATURE_LINE: &str = "\u{2014} ";

/// The origin line of the log whose key is `key`: `vnpop.local/audit/` and the first 8 bytes of
/// the SHA-256 of the public key, in hex.
pub fn origin(key: &VerifyingKey) -> String {
    let hash = digest(&SHA256, &key.to_bytes());
    format!("vnpop.local/audit/{}", crate::ids::hex(&hash.as_ref()[..8]))
}

/// The 4-byte id of the key named `name` (SHA-256 of the name, a newline, the algorithm byte
/// and the public key: its first four bytes, big-endian).
fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 34);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(ED25519);
    input.extend_from_slice(&key.to_bytes());
    digest(&SHA256, &input).as_ref()[..4]
        .try_into()
        .expect("4 bytes")
}

/// The key as a note verifier takes it: `NAME+KEY_ID_HEX+BASE64(0x01 ‖ PUBLIC_KEY)`.
pub fn verifier_key(name: &str, key: &VerifyingKey) -> String {
    let mut encoded = vec![ED25519];
    encoded.extend_from_slice(&key.to_bytes());
    format!(
        "{name}+{}+{}",
        crate::ids::hex(&key_id(name, key)),
        STANDARD.encode(encoded)
    )
}

/// The checkpoint body of a tree of `size` leaves with `root`, for the log `origin`.
pub fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", STANDARD.encode(root))
}

/// `text` (ending in a newline) signed as a note by `key` under the key name `name`.
pub fn sign(text: &str, name: &str, key: &SigningKey) -> String {
    let mut signed = key_id(name, &key.verifying_key()).to_vec();
    signed.extend_from_slice(&key.sign(text.as_bytes()).to_bytes());
    format!(
        "{text}\n{SIGNATURE_LINE}{name} {}\n",
        STANDARD.encode(signed)
    )
}

/// The checkpoint of a tree of `size` leaves with `root`, signed by the log's `key`, its origin
/// derived from the key.
pub fn checkpoint(size: u64, root: &Hash, key: &SigningKey) -> String {
    let origin = origin(&key.verifying_key());
    sign(&body(&origin, size, root), &origin, key)
}

/// Why a note does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("not a signed note (no blank line before the signatures)")]
    Malformed,
    #[error("no signature by the key {0}")]
    Unsigned(String),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

/// The text of `note` if it carries a valid signature by the key named `name`; other
/// signatures (a witness's cosignature) are left alone.
pub fn open<'a>(note: &'a str, name: &str, key: &VerifyingKey) -> Result<&'a str, NoteError> {
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let id = key_id(name, key);
    for line in signatures.lines() {
        let Some(rest) = line.strip_prefix(SIGNATURE_LINE) else {
            return Err(NoteError::Malformed);
        };
        let Some((signer, encoded)) = rest.split_once(' ') else {
            return Err(NoteError::Malformed);
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            return Err(NoteError::Malformed);
        };
        if signer != name || bytes.len() != 68 || bytes[..4] != id {
            continue;
        }
        let signature: [u8; 64] = bytes[4..].try_into().expect("64 bytes");
        return if key.verify(text.as_bytes(), &signature) {
            Ok(text)
        } else {
            Err(NoteError::BadSignature(name.to_owned()))
        };
    }
    Err(NoteError::Unsigned(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Go's `golang.org/x/mod/sumdb/note` documentation (the reference
    /// implementation): its private key, text and signed note. Ed25519 is deterministic, so the
    /// same key must sign the same text into the same bytes.
    const GO_SKEY_SEED: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIGNATURE: &str =
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    fn go_key() -> SigningKey {
        let seed = STANDARD.decode(GO_SKEY_SEED).unwrap();
        assert_eq!(seed[0], ED25519);
        SigningKey::from_bytes(&seed[1..].try_into().unwrap())
    }

    #[test]
    fn notes_are_byte_for_byte_those_of_the_reference_implementation() {
        let key = go_key();
        assert_eq!(verifier_key("PeterNeumann", &key.verifying_key()), GO_VKEY);
        let note = sign(GO_TEXT, "PeterNeumann", &key);
        assert_eq!(
            note,
            format!("{GO_TEXT}\n\u{2014} PeterNeumann {GO_SIGNATURE}\n")
        );
        assert_eq!(
            open(&note, "PeterNeumann", &key.verifying_key()),
            Ok(GO_TEXT)
        );
    }

    #[test]
    fn a_checkpoint_verifies_and_any_change_is_caught() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key();
        let root = [0xab; 32];
        let note = checkpoint(1_234, &root, &key);
        let origin = origin(&public);
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], origin);
        assert_eq!(lines[1], "1234");
        assert_eq!(STANDARD.decode(lines[2]).unwrap(), root);
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with(&format!("\u{2014} {origin} ")));
        assert_eq!(
            open(&note, &origin, &public),
            Ok(&note[..note.find("\n\n").unwrap() + 1])
        );
        // Another size, another key, another name: refused.
        let forged = note.replacen("\n1234\n", "\n1235\n", 1);
        assert_eq!(
            open(&forged, &origin, &public),
            Err(NoteError::BadSignature(origin.clone()))
        );
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(matches!(
            open(&note, &origin, &other),
            Err(NoteError::Unsigned(_))
        ));
        assert!(matches!(
            open("no blank line", &origin, &public),
            Err(NoteError::Malformed)
        ));
        // A witness's cosignature beside the log's is left alone.
        let witness = SigningKey::from_bytes(&[9; 32]);
        let cosigned = format!(
            "{note}{}",
            sign(lines[..3].join("\n").as_str(), "witness.example", &witness)
                .lines()
                .last()
                .unwrap()
        ) + "\n";
        assert!(open(&cosigned, &origin, &public).is_ok());
    }
}
