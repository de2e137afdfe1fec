//! Refusing a registry file that is not UTF-8, naming the line and, where its bytes look like
//! one, the legacy Vietnamese encoding it seems to be in: TCVN3 (ABC), VNI or Windows-1258.
//! Matching mojibake against the population would report every name as a mismatch.
//!
//! The heuristics read the bytes above 0x7F of the offending line:
//! - TCVN3 writes ă â ê ô ơ ư đ and their capitals as single bytes 0xA1–0xAE, which the other
//!   two use only for symbols (¡ ¢ £ … ®) no name holds;
//! - VNI writes every marked vowel as its ASCII letter followed by a mark byte (ễ = `e` 0xE3,
//!   ă = `a` 0xEA, ứ = 0xF6 0xF9) and đ/Đ as 0xF1/0xD1;
//! - Windows-1258 writes tones as combining bytes after the letter: 0xCC, 0xEC, 0xD2, 0xDE,
//!   0xF2 (grave, acute, hook, tilde, dot below), and đ/Đ as 0xF0/0xD0, ư/Ư as 0xFD/0xDD.
//!
//! The encoding with the most evidence is named; none with evidence, none is.

use std::fmt;

/// A legacy Vietnamese encoding a file seems to be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Legacy {
    /// TCVN 5712:1993 (TCVN3, "ABC"), the fonts .VnTime and .VnArial.
    Tcvn3,
    /// VNI Windows, the fonts VNI-Times and VNI-Helve.
    Vni,
    /// Windows-1258 (CP1258), with combining tone marks.
    Windows1258,
}

impl fmt::Display for Legacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Legacy::Tcvn3 => "TCVN3 (ABC)",
            Legacy::Vni => "VNI",
            Legacy::Windows1258 => "Windows-1258",
        })
    }
}

/// VNI's mark bytes after an ASCII vowel (lower and upper case).
fn vni_mark(byte: u8) -> bool {
    matches!(
        byte,
        0xE0..=0xE5 | 0xE8..=0xEB | 0xEF | 0xF5 | 0xF8..=0xFC | 0xC0..=0xC5 | 0xC8..=0xCB
            | 0xCF | 0xD5 | 0xD8..=0xDC
    )
}

/// Windows-1258's combining tone marks.
fn cp1258_tone(byte: u8) -> bool {
    matches!(byte, 0xCC | 0xEC | 0xD2 | 0xDE | 0xF2)
}

fn ascii_vowel(byte: u8) -> bool {
    matches!(
        byte.to_ascii_lowercase(),
        b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
    )
}

/// The legacy encoding `line`'s bytes look like, if any.
pub(crate) fn guess(line: &[u8]) -> Option<Legacy> {
    let (mut tcvn3, mut vni, mut cp1258) = (0u32, 0u32, 0u32);
    for (i, &byte) in line.iter().enumerate() {
        if byte < 0x80 {
            continue;
        }
        let before = i.checked_sub(1).map(|j| line[j]);
        if (0xA1..=0xAE).contains(&byte) {
            tcvn3 += 2;
        }
        if (0xB5..=0xFE).contains(&byte) && before.is_some_and(|b| b.is_ascii_alphabetic()) {
            tcvn3 += 1;
        }
        if vni_mark(byte) && before.is_some_and(ascii_vowel) {
            vni += 2;
        }
        if matches!(byte, 0xF1 | 0xD1 | 0xF6 | 0xD6 | 0xF4 | 0xD4) {
            vni += 1;
        }
        if cp1258_tone(byte) && before.is_some_and(|b| b.is_ascii_alphabetic() || b >= 0xC0) {
            cp1258 += 3;
        }
        if matches!(byte, 0xF0 | 0xD0 | 0xFD | 0xDD | 0xE3 | 0xC3) {
            cp1258 += 1;
        }
    }
    let best = [
        (tcvn3, Legacy::Tcvn3),
        (vni, Legacy::Vni),
        (cp1258, Legacy::Windows1258),
    ]
    .into_iter()
    .max_by_key(|(score, _)| *score)?;
    (best.0 > 0).then_some(best.1)
}

/// A file that is not UTF-8: the line (from 1) of its first byte that is not, and the
/// encoding that line looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is not UTF-8{}; save the file as UTF-8 (nothing was sent)", match .legacy {
    Some(legacy) => format!(" (it looks like {legacy}, a legacy Vietnamese encoding)"),
    None => String::new(),
})]
pub(crate) struct NotUtf8 {
    /// The line, from 1.
    pub(crate) line: u64,
    /// The encoding it looks like.
    pub(crate) legacy: Option<Legacy>,
}

/// Checks one line (`number` from 1) of a file.
pub(crate) fn check_line(number: u64, line: &[u8]) -> Result<(), NotUtf8> {
    match std::str::from_utf8(line) {
        Ok(_) => Ok(()),
        Err(_) => Err(NotUtf8 {
            line: number,
            legacy: guess(line),
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// "Nguyễn Văn Đức,1990-03-15" as each encoding writes it.
    const WINDOWS_1258: &[u8] = b"R1,Nguy\xEA\xDEn V\xE3n \xD0\xFD\xECc,1990-03-15";
    const VNI: &[u8] = b"R1,Nguye\xE3n Va\xEAn \xD1\xF6\xF9c,1990-03-15";
    const TCVN3: &[u8] = b"R1,Nguy\xD6n V\xA8n \xA7\xF8c,1990-03-15";

    #[test]
    fn windows_1258_is_recognised() {
        assert_eq!(guess(WINDOWS_1258), Some(Legacy::Windows1258));
        let error = check_line(7, WINDOWS_1258).unwrap_err();
        assert_eq!((error.line, error.legacy), (7, Some(Legacy::Windows1258)));
    }

    #[test]
    fn vni_is_recognised() {
        assert_eq!(guess(VNI), Some(Legacy::Vni));
    }

    #[test]
    fn tcvn3_is_recognised() {
        assert_eq!(guess(TCVN3), Some(Legacy::Tcvn3));
    }

    #[test]
    fn utf8_passes_and_unrecognised_bytes_name_no_encoding() {
        assert!(check_line(1, "R1,Nguyễn Văn Đức".as_bytes()).is_ok());
        let error = check_line(2, b"R1,\x80\x81").unwrap_err();
        assert_eq!(error.legacy, None);
        assert_eq!(
            error.to_string(),
            "line 2 is not UTF-8; save the file as UTF-8 (nothing was sent)"
        );
    }

    proptest! {
        #[test]
        fn any_text_is_utf8(text in ".*") {
            prop_assert!(check_line(1, text.as_bytes()).is_ok());
        }

        #[test]
        fn any_bytes_are_judged_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let verdict = check_line(1, &bytes);
            prop_assert_eq!(verdict.is_ok(), std::str::from_utf8(&bytes).is_ok());
        }
    }
}
