//! The two forms in which names are compared, by the matching rules and by the geography's
//! indexes alike: [`canonical`] (case and spacing ignored) and [`fold`] (diacritics ignored too:
//! Unicode NFD, combining marks U+0300–U+036F dropped, and đ/Đ mapped to d/D by hand, since
//! U+0111 has no decomposition).
//!
//! Both run for every name and address a verification or a data-cleaning record compares, so
//! they are written for speed as well as for the rules: text already in NFC is not normalised
//! again, ASCII skips the Unicode tables, the forms are written into buffers reused on each
//! thread ([`canonical_into`], [`fold_into`], [`same_canonical`], [`same_folded`]), and the
//! tests hold them to the plain definitions (NFC, lower case, NFD without marks) on any text.

use std::cell::RefCell;

use unicode_normalization::{
    char::decompose_canonical, is_nfc_quick, IsNormalized, UnicodeNormalization,
};

thread_local! {
    /// [`canonical_into`]'s lowered characters, reused from call to call on each thread: a
    /// name or an address is folded without a heap allocation once the buffer has grown.
    static LOWERED: RefCell<Vec<char>> = const { RefCell::new(Vec::new()) };
    /// [`fold_into`]'s text without its marks, reused likewise.
    static STRIPPED: RefCell<String> = const { RefCell::new(String::new()) };
    /// [`same_canonical`]'s and [`same_folded`]'s two forms, reused likewise.
    static PAIR: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

/// Lower-case, NFC, words separated by single spaces, tone marks placed one way: a final "oa",
/// "oe" or "uy" takes its mark on the first vowel ("hòa", "thủy"), as the official lists write
/// it, so "Hoà" and "Hòa", "Thuỷ" and "Thủy" are the same spelling.
pub fn canonical(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    canonical_into(text, &mut out);
    out
}

/// [`canonical`] of `text` written into `out` (cleared first), so a caller comparing many
/// values reuses one buffer. Text already in NFC (nearly all text) is not normalised again.
pub fn canonical_into(text: &str, out: &mut String) {
    out.clear();
    LOWERED.with(|lowered| {
        // A nested call (none today) would find the buffer taken: it gets a fresh one.
        let mut fresh = Vec::new();
        let mut borrowed = lowered.try_borrow_mut();
        let lowered = match borrowed.as_deref_mut() {
            Ok(buffer) => buffer,
            Err(_) => &mut fresh,
        };
        lowered.clear();
        let lower = |c: char, lowered: &mut Vec<char>| {
            if c.is_ascii() {
                lowered.push(c.to_ascii_lowercase());
            } else {
                lowered.extend(c.to_lowercase());
            }
        };
        if is_nfc_quick(text.chars()) == IsNormalized::Yes {
            text.chars().for_each(|c| lower(c, lowered));
        } else {
            text.nfc().for_each(|c| lower(c, lowered));
        }
        place_tones(lowered, out);
    });
}

/// Writes `lowered` to `out` with the tone marks of a final "oa", "oe", "uy" on the first
/// vowel and the words separated by single spaces (none before the first or after the last).
fn place_tones(lowered: &[char], out: &mut String) {
    let mut space = false;
    let mut i = 0;
    while i < lowered.len() {
        let c = lowered[i];
        if c.is_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        if std::mem::take(&mut space) && !out.is_empty() {
            out.push(' ');
        }
        let moved = lowered
            .get(i + 1)
            .and_then(|&n| moved_tone(c, n))
            .filter(|_| {
                let ends_syllable = lowered.get(i + 2).is_none_or(|c| !c.is_alphanumeric());
                let after_q = i > 0 && lowered[i - 1] == 'q';
                ends_syllable && !(c == 'u' && after_q)
            });
        match moved {
            Some((first, bare)) => {
                out.push(first);
                out.push(bare);
                i += 2;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// "oà" → ('ò', 'a'), "uỷ" → ('ủ', 'y'): the mark of a final "oa", "oe", "uy" moved to its
/// first vowel; `None` for any other pair.
fn moved_tone(first: char, second: char) -> Option<(char, char)> {
    const O: [char; 5] = ['ò', 'ó', 'ỏ', 'õ', 'ọ'];
    const U: [char; 5] = ['ù', 'ú', 'ủ', 'ũ', 'ụ'];
    let tone = |marked: [char; 5]| marked.iter().position(|&m| m == second);
    match first {
        'o' => tone(['à', 'á', 'ả', 'ã', 'ạ'])
            .map(|t| (O[t], 'a'))
            .or_else(|| tone(['è', 'é', 'ẻ', 'ẽ', 'ẹ']).map(|t| (O[t], 'e'))),
        'u' => tone(['ỳ', 'ý', 'ỷ', 'ỹ', 'ỵ']).map(|t| (U[t], 'y')),
        _ => None,
    }
}

/// [`canonical`] without diacritics: "Đặng Thị Hồng" becomes "dang thi hong".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`] of `text` written into `out` (cleared first). Each character is decomposed on its
/// own and its marks dropped: the same text as NFD's once [`canonical_into`] normalises it,
/// since dropping marks commutes with NFD's reordering of the marks that stay.
pub fn fold_into(text: &str, out: &mut String) {
    STRIPPED.with(|stripped| {
        let mut fresh = String::new();
        let mut borrowed = stripped.try_borrow_mut();
        let stripped = match borrowed.as_deref_mut() {
            Ok(buffer) => buffer,
            Err(_) => &mut fresh,
        };
        stripped.clear();
        for c in text.chars() {
            match c {
                c if c.is_ascii() => stripped.push(c),
                'đ' => stripped.push('d'),
                'Đ' => stripped.push('D'),
                c => decompose_canonical(c, |d| {
                    if !is_mark(d) {
                        stripped.push(d);
                    }
                }),
            }
        }
        canonical_into(stripped, out);
    });
}

/// A combining diacritical mark of U+0300–U+036F: what folding drops.
fn is_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036f}').contains(&c)
}

/// Whether `a` and `b` are the same spelling ([`canonical`]), without allocating once the
/// thread's buffers have grown.
pub fn same_canonical(a: &str, b: &str) -> bool {
    a == b
        || with_buffers(|x, y| {
            canonical_into(a, x);
            canonical_into(b, y);
            x == y
        })
}

/// Whether `a` and `b` are the same once diacritics are ignored too ([`fold`]).
pub fn same_folded(a: &str, b: &str) -> bool {
    a == b
        || with_buffers(|x, y| {
            fold_into(a, x);
            fold_into(b, y);
            x == y
        })
}

/// `f` with the thread's two comparison buffers (fresh ones when they are in use).
fn with_buffers<T>(f: impl FnOnce(&mut String, &mut String) -> T) -> T {
    PAIR.with(|pair| match pair.try_borrow_mut() {
        Ok(mut pair) => {
            let (x, y) = &mut *pair;
            f(x, y)
        }
        Err(_) => f(&mut String::new(), &mut String::new()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// [`canonical`] as first written: NFC, lower case, tones placed, whitespace collapsed.
    fn canonical_reference(text: &str) -> String {
        let lowered: Vec<char> = text.nfc().flat_map(char::to_lowercase).collect();
        let mut placed = String::new();
        let mut i = 0;
        while i < lowered.len() {
            let (c, next) = (lowered[i], lowered.get(i + 1).copied());
            let ends_syllable = lowered.get(i + 2).is_none_or(|c| !c.is_alphanumeric());
            let after_q = i > 0 && lowered[i - 1] == 'q';
            match next.and_then(|n| moved_tone(c, n)) {
                Some((first, bare)) if ends_syllable && !(c == 'u' && after_q) => {
                    placed.push(first);
                    placed.push(bare);
                    i += 2;
                }
                _ => {
                    placed.push(c);
                    i += 1;
                }
            }
        }
        placed.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// [`fold`] as first written: NFD, marks dropped, đ mapped, then [`canonical_reference`].
    fn fold_reference(text: &str) -> String {
        let stripped: String = text
            .nfd()
            .filter(|c| !is_mark(*c))
            .map(|c| match c {
                'đ' => 'd',
                'Đ' => 'D',
                other => other,
            })
            .collect();
        canonical_reference(&stripped)
    }

    proptest! {
        /// Vietnamese letters in both tone placements, decomposed marks, other scripts' marks,
        /// odd spacing: the fast forms are the plain definitions'.
        #[test]
        fn the_fast_forms_are_the_definitions(
            text in "[a-zA-Z0-9 \t,.ÀàÁáẢảÃãẠạĂăẮắẰằÂâẤấẦầĐđÊêẾếỀềỂểÔôỐốỒồƠơỚớỜờƯưỨứỪừỲỳÝýỶỷỸỹỴỵQqİß\u{0300}\u{0301}\u{0309}\u{0323}\u{031b}\u{05b0}\u{05b8}\u{1dc4}\u{00a0}]{0,24}"
        ) {
            prop_assert_eq!(canonical(&text), canonical_reference(&text));
            prop_assert_eq!(fold(&text), fold_reference(&text));
            prop_assert_eq!(same_canonical(&text, "hòa"), canonical_reference(&text) == "hòa");
        }

        #[test]
        fn any_text_folds_as_defined(text in ".{0,16}") {
            prop_assert_eq!(canonical(&text), canonical_reference(&text));
            prop_assert_eq!(fold(&text), fold_reference(&text));
        }
    }

    #[test]
    fn both_tone_placements_are_one_spelling() {
        for (old, new) in [
            ("Phường Hoà Khánh", "Phường Hòa Khánh"),
            ("Xã Thuỷ Nguyên", "Xã Thủy Nguyên"),
            ("Khoẻ", "Khỏe"),
            ("THANH HOÁ", "thanh hóa"),
        ] {
            assert_eq!(canonical(old), canonical(new), "{old}");
        }
        // Not at the end of a syllable, or after "q": as written.
        assert_eq!(canonical("Hoàng"), "hoàng");
        assert_eq!(canonical("Khoái"), "khoái");
        assert_eq!(canonical("Quý"), "quý");
        assert_ne!(canonical("Quý"), canonical("Qúy"));
    }
}
