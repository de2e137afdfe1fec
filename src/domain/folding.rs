//! The two forms in which names are compared, by the matching rules and by the geography's
//! indexes alike: [`canonical`] (case and spacing ignored) and [`fold`] (diacritics ignored too:
//! Unicode NFD, combining marks U+0300–U+036F dropped, and đ/Đ mapped to d/D by hand, since
//! U+0111 has no decomposition).

use unicode_normalization::UnicodeNormalization;

/// Lower-case, NFC, words separated by single spaces, tone marks placed one way: a final "oa",
/// "oe" or "uy" takes its mark on the first vowel ("hòa", "thủy"), as the official lists write
/// it, so "Hoà" and "Hòa", "Thuỷ" and "Thủy" are the same spelling.
pub fn canonical(text: &str) -> String {
    let lowered: Vec<char> = text.nfc().flat_map(char::to_lowercase).collect();
    let mut placed = String::with_capacity(text.len());
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
    let stripped: String = text
        .nfd()
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            other => other,
        })
        .collect();
    canonical(&stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

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
