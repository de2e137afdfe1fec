//! The two forms in which names are compared, by the matching rules and by the geography's
//! indexes alike: [`canonical`] (case and spacing ignored) and [`fold`] (diacritics ignored too:
//! Unicode NFD, combining marks U+0300–U+036F dropped, and đ/Đ mapped to d/D by hand, since
//! U+0111 has no decomposition).

use unicode_normalization::UnicodeNormalization;

/// Lower-case, NFC, words separated by single spaces.
pub fn canonical(text: &str) -> String {
    let lowered: String = text.nfc().flat_map(char::to_lowercase).collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
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
