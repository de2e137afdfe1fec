//! Test credentials of a VNeID account: a 6-digit passcode and a TOTP secret (RFC 6238: HMAC-SHA1,
//! 6 digits, 30-second steps, as authenticator apps use by default).
//!
//! Nothing is stored: both are derived from the population seed and the CCCD number with
//! HMAC-SHA256 ([`crate::population::derive_bytes`]), so `vnpop citizen show <cccd>` can print
//! them and a tester can always reproduce them. DEVELOPMENT ONLY, obviously: anyone who knows the
//! seed knows every passcode.

use std::time::{SystemTime, UNIX_EPOCH};

use ring::hmac;
use totp_rs::{Algorithm, Builder, Totp};

use crate::{domain::CccdNumber, population::derive_bytes};

/// TOTP step, seconds.
pub(crate) const TOTP_STEP: u64 = 30;

/// One account's passcode and one-time-code generator.
#[derive(Debug, Clone)]
pub struct TestCredentials {
    /// Six digits.
    pub passcode: String,
    totp: Totp,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TestCredentials {
    /// The credentials of `cccd` in the population of `seed`.
    pub fn derive(seed: u64, cccd: CccdNumber) -> Self {
        let passcode_bytes = derive_bytes(seed, "vneid/passcode", cccd);
        let number =
            u64::from_be_bytes(passcode_bytes[..8].try_into().expect("8 bytes")) % 1_000_000;
        let secret = derive_bytes(seed, "vneid/totp-secret", cccd)[..20].to_vec();
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(TOTP_STEP)
            .with_secret(secret)
            .build()
            .expect("a 160-bit secret and 6 digits are RFC-compliant");
        TestCredentials {
            passcode: format!("{number:06}"),
            totp,
        }
    }

    /// The TOTP secret in base32, as authenticator apps take it.
    pub fn totp_secret_base32(&self) -> String {
        self.totp.secret().to_base32()
    }

    /// The one-time code at `unix` seconds.
    pub fn code_at(&self, unix: u64) -> String {
        self.totp.generate(unix).to_string()
    }

    /// The one-time code now.
    pub fn current_code(&self) -> String {
        self.code_at(unix_now())
    }

    /// Whether `submitted` is the passcode, compared in constant time (HMAC of both under a
    /// random key, then ring's constant-time tag check).
    pub(crate) fn passcode_matches(&self, submitted: &str) -> bool {
        let rng = ring::rand::SystemRandom::new();
        let Ok(key) = hmac::Key::generate(hmac::HMAC_SHA256, &rng) else {
            return false;
        };
        let expected = hmac::sign(&key, self.passcode.as_bytes());
        hmac::verify(&key, submitted.as_bytes(), expected.as_ref()).is_ok()
    }

    /// The TOTP time step whose code `code` is, accepting one step of clock skew either way;
    /// `None` if it is no such code.
    pub(crate) fn code_step(&self, code: &str, unix: u64) -> Option<u64> {
        self.totp.check(code, unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed_and_number() {
        let an = CccdNumber::parse("001090012345").unwrap();
        let ngoc = CccdNumber::parse("079195001234").unwrap();
        let a = TestCredentials::derive(2026, an);
        assert_eq!(a.passcode, TestCredentials::derive(2026, an).passcode);
        assert_eq!(a.passcode.len(), 6);
        assert_eq!(
            a.totp_secret_base32(),
            TestCredentials::derive(2026, an).totp_secret_base32()
        );
        assert_ne!(
            a.totp_secret_base32(),
            TestCredentials::derive(2027, an).totp_secret_base32()
        );
        assert_ne!(
            a.totp_secret_base32(),
            TestCredentials::derive(2026, ngoc).totp_secret_base32()
        );
        assert!(a.passcode_matches(&a.passcode.clone()));
        assert!(!a.passcode_matches("12345"));
    }

    #[test]
    fn codes_follow_rfc_6238_with_one_step_of_skew() {
        let a = TestCredentials::derive(1, CccdNumber::parse("001090012345").unwrap());
        let t = 1_800_000_000;
        let code = a.code_at(t);
        assert_eq!(a.code_step(&code, t), Some(t / TOTP_STEP));
        assert_eq!(a.code_step(&code, t + TOTP_STEP), Some(t / TOTP_STEP));
        assert_eq!(a.code_step(&code, t + 3 * TOTP_STEP), None);
        assert_eq!(a.code_step("abcdef", t), None);
    }

    #[test]
    fn rfc_6238_reference_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s, secret "12345678901234567890": 94287082 (8
        // digits); with 6 digits the code is its last six.
        let totp = Builder::new()
            .with_secret(b"12345678901234567890".to_vec())
            .with_digits(6)
            .build()
            .unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
    }
}
