//! How vnpop writes what identifies a record: lower-case hex (keys, hashes, keyed subjects),
//! random run ids (which keep one run's event ids apart from every other run's) and instants in
//! Unix milliseconds. Server, client library and tools all use these, so an id or a key printed
//! by one reads the same in another.

use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    HEXLOWER.encode(bytes)
}

/// Parses hex (either case, surrounding white space ignored); `None` unless every character
/// pairs into a byte.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    HEXLOWER_PERMISSIVE.decode(text.trim().as_bytes()).ok()
}

/// A fresh run id: `N` bytes from the operating system's randomness, as `2N` hex digits.
pub fn run_id<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// The current time, Unix milliseconds (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The longest data-cleaning job id (characters): with a record id of at most
/// [`MAX_CLEANING_RECORD_ID`], a [`cleaning_verification_id`] stays within a call id's 128.
pub const MAX_CLEANING_JOB_ID: usize = 60;
/// The longest record id of a data-cleaning job (characters).
pub const MAX_CLEANING_RECORD_ID: usize = 60;

/// The id of the verification of record `record_id` in data-cleaning job `job_id`:
/// `clean:JOB:RECORD`. The server records a record's verification under it (as its call id), so
/// the same record sent again — a job resumed — is recorded once; the client library and
/// `vnpop clean` derive the same id. A job id holds no `:`, so the id names one (job, record).
pub fn cleaning_verification_id(job_id: &str, record_id: &str) -> String {
    format!("clean:{job_id}:{record_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(parse_hex(" 000FA5ff\n"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(parse_hex(""), Some(vec![]));
        for bad in ["abc", "zz", "0x00", "é0"] {
            assert_eq!(parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn run_ids_are_random_hex_of_the_asked_length() {
        let (a, b) = (run_id::<8>().unwrap(), run_id::<8>().unwrap());
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn now_is_after_2025() {
        assert!(now_ms() > 1_735_689_600_000);
    }
}
