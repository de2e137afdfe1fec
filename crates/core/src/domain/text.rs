//! Free text safe to store, log and show: the one check every edge that takes free text
//! (the request context, reported events, the gateway's dossiers) makes.
//!
//! Refused: the C0 control characters (U+0000–U+001F: NUL, which PostgreSQL's text type cannot
//! hold, line breaks that forge log lines, escape sequences), DEL (U+007F), and the Unicode
//! bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a text read
//! differently from how it is stored (an officer id that displays as another's).

/// A character free text may not hold, and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("holds {} U+{:04X} at character {position}: control characters and bidirectional overrides are not accepted", kind(*.character), *.character as u32)]
pub struct UnsafeChar {
    /// The character refused.
    pub character: char,
    /// Its position, in characters from 0.
    pub position: usize,
}

/// What kind of character `c` is, for the message.
fn kind(c: char) -> &'static str {
    if is_unsafe_control(c) {
        "the control character"
    } else {
        "the bidirectional formatting character"
    }
}

/// C0 controls and DEL.
fn is_unsafe_control(c: char) -> bool {
    c <= '\u{1F}' || c == '\u{7F}'
}

/// Whether `c` is refused in free text.
pub fn is_unsafe_char(c: char) -> bool {
    is_unsafe_control(c)
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `Ok` if `text` holds no character [`is_unsafe_char`] refuses; else the first.
pub fn check_safe_text(text: &str) -> Result<(), UnsafeChar> {
    // Every refused character starts with a byte below 0x20, 0x7F or 0xE2 (U+2xxx) in UTF-8:
    // most text is passed by one scan of its bytes.
    if !text.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xE2) {
        return Ok(());
    }
    match text.chars().enumerate().find(|(_, c)| is_unsafe_char(*c)) {
        Some((position, character)) => Err(UnsafeChar {
            character,
            position,
        }),
        None => Ok(()),
    }
}

/// `text` as it may be shown in a terminal or a spreadsheet: every character [`is_unsafe_char`]
/// refuses is written visibly as `[U+XXXX]`, so what is stored cannot display as something else
/// (a right-to-left override) or drive the terminal (an escape sequence). Text without one is
/// returned as it is.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    visibly(text, is_unsafe_char)
}

/// `text` as it may be shown in an HTML page: [`shown`], but line breaks and tabs stay (HTML
/// shows them as white space, and a page's own preformatted text has them).
pub fn shown_in_html(text: &str) -> std::borrow::Cow<'_, str> {
    visibly(text, |c| {
        is_unsafe_char(c) && !matches!(c, '\n' | '\r' | '\t')
    })
}

/// `text` with every character `unsafe_char` names written as `[U+XXXX]`.
fn visibly(text: &str, unsafe_char: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_text_writes_unsafe_characters_visibly() {
        assert_eq!(shown("Huyện Mai Châu"), "Huyện Mai Châu");
        assert_eq!(shown("abc\u{202E}fed"), "abc[U+202E]fed");
        assert_eq!(shown("\u{1b}[31mred"), "[U+001B][31mred");
        assert_eq!(shown_in_html("a\nb\u{202E}"), "a\nb[U+202E]");
    }

    #[test]
    fn refuses_controls_del_and_bidi_overrides_and_keeps_vietnamese() {
        for fine in [
            "",
            "cb01",
            "Quận Ba Đình",
            "Phường Kim Liên — “một cửa”",
            "x\u{2065}y",
            "\u{2029}",
        ] {
            assert_eq!(check_safe_text(fine), Ok(()), "{fine:?}");
        }
        for (text, character, position) in [
            ("\0", '\0', 0),
            ("cb\u{1}", '\u{1}', 2),
            ("a\nb", '\n', 1),
            ("tab\there", '\t', 3),
            ("\u{1F}", '\u{1F}', 0),
            ("del\u{7F}", '\u{7F}', 3),
            ("Đình\u{202A}", '\u{202A}', 4),
            ("\u{202E}cb01", '\u{202E}', 0),
            ("a\u{2066}", '\u{2066}', 1),
            ("a\u{2069}", '\u{2069}', 1),
        ] {
            let error = check_safe_text(text).unwrap_err();
            assert_eq!(
                error,
                UnsafeChar {
                    character,
                    position
                },
                "{text:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("U+{:04X}", character as u32)),
                "{error}"
            );
        }
        assert!(!is_unsafe_char(' ') && !is_unsafe_char('\u{80}'));
    }
}
