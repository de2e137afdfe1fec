//! The CLI's own messages, each declared once with its English and its Vietnamese (`--lang vi`,
//! `VNPOP_LANG=vi`): errors it finds itself (a flag's value, a file it cannot open, an input it
//! refuses), progress, summaries and hints. One catalogue a command — [`common`] for what every
//! command prints (files, connections, empty lists), then [`citizen`], [`certs`], [`serve`]
//! (with `load`), [`simulate`], [`clean`] and [`audit`] (a catalogue per part of the audit
//! commands) — each an enum declared with [`catalogue!`], whose variants carry the values the
//! message shows.
//!
//! How they are written. English stays as it was (lower case after `vnpop: `, counts as plain
//! digits). Vietnamese is written as an official writes it: an error, printed after `vnpop: `,
//! starts in lower case like the English; a line of its own (progress, a summary) starts with a
//! capital; counts are written the Vietnamese way (`1.000`, `21,8%`, `2,5 giây`, through the
//! report's formatter [`Lang`]); a CCCD number is only ever shown masked (`001******999`), as the
//! English does. Names of flags, files, columns and API values (`--resume`, `verdicts.csv`,
//! `served_not_reported`) are the same in both. Data (tables, CSV, JSON) is not a message.

pub(crate) mod audit;
pub(crate) mod certs;
pub(crate) mod citizen;
pub(crate) mod clean;
pub(crate) mod common;
pub(crate) mod serve;
pub(crate) mod simulate;

use crate::{cli::audit::report::Lang, lang::Language};

/// A message the CLI writes, in either language.
pub(crate) trait Message {
    /// The message in English.
    fn english(&self) -> String;

    /// The message in Vietnamese.
    fn vietnamese(&self) -> String;

    /// The message in `language`.
    fn in_language(&self, language: Language) -> String {
        match language {
            Language::Vietnamese => self.vietnamese(),
            _ => self.english(),
        }
    }

    /// The message in the language the CLI was asked to write in ([`super::language::language`]).
    fn text(&self) -> String {
        self.in_language(super::language::language())
    }
}

/// Declares one catalogue: the enum of its messages as written (attributes, doc comments and
/// fields as in any enum), and beside it `VARIANTS`, the name of every variant, and `variant()`,
/// the name of this one — so a test knows that its examples show every message.
macro_rules! catalogue {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident $(<$lt:lifetime>)? {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $($field:ident : $ty:ty),* $(,)? })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name $(<$lt>)? {
            $(
                $(#[$vmeta])*
                $variant $({ $($field : $ty),* })?
            ),*
        }

        impl $(<$lt>)? $name $(<$lt>)? {
            /// The name of every message of this catalogue.
            #[cfg(test)]
            pub(crate) const VARIANTS: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// The name of this message.
            #[cfg(test)]
            pub(crate) fn variant(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => stringify!($variant), )*
                }
            }
        }
    };
}
pub(crate) use catalogue;

/// A count written the Vietnamese way: `1.000`.
pub(crate) fn vi_count(n: u64) -> String {
    Lang::Vi.int(n)
}

/// A decimal written the Vietnamese way, with `places` digits after the comma: `2,5`.
pub(crate) fn vi_decimal(x: f64, places: usize) -> String {
    Lang::Vi.decimal(x, places)
}

/// An I/O error in Vietnamese: the usual causes in words, any other as the system says it.
pub(crate) fn vi_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => "không có tệp hoặc thư mục này".into(),
        PermissionDenied => "không có quyền truy cập".into(),
        AlreadyExists => "tệp đã có".into(),
        IsADirectory => "đây là thư mục, không phải tệp".into(),
        NotADirectory => "một phần của đường dẫn không phải thư mục".into(),
        StorageFull => "ổ đĩa đã đầy".into(),
        ReadOnlyFilesystem => "hệ thống tệp chỉ cho phép đọc".into(),
        AddrInUse => "địa chỉ đang được chương trình khác sử dụng".into(),
        AddrNotAvailable => "địa chỉ không có trên máy này".into(),
        InvalidData => format!("dữ liệu không hợp lệ ({error})"),
        _ => error.to_string(),
    }
}

/// An error the CLI prints in its language: an auditor answer refused on the file (`--db`) as
/// the server would write it to a caller of that language, or a message already written.
pub(crate) trait Shown {
    /// The error in the CLI's language.
    fn shown(&self) -> String;
}

impl Shown for crate::error::ApiError {
    fn shown(&self) -> String {
        match super::language::language() {
            Language::Vietnamese => crate::lang::messages::vietnamese(self),
            _ => self.to_string(),
        }
    }
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

/// A client library error in the CLI's language (the catalogue's Vietnamese message of its
/// reason, when it has one).
pub(crate) fn client_error(error: &crate::client::ClientError) -> String {
    error.message_in(super::language::language())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Letters only Vietnamese writes (its vowels with diacritics, and đ).
    const VIETNAMESE_LETTERS: &str =
        "ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ";

    /// Words that show an English sentence left in a Vietnamese message.
    const ENGLISH_WORDS: [&str; 12] = [
        " the ",
        " is ",
        " are ",
        " was ",
        " not ",
        " of ",
        " and ",
        " with ",
        " cannot ",
        " rows ",
        " written ",
        " dossiers ",
    ];

    /// Checks a catalogue's examples: every message is among them, and each is written in both
    /// languages — the Vietnamese in Vietnamese (with its letters, no English sentence left in
    /// it), not the English, and the full CCCD numbers of the examples in neither.
    pub(crate) fn check<M: Message>(
        examples: &[M],
        variants: &[&str],
        variant: impl Fn(&M) -> &'static str,
    ) {
        let shown: BTreeSet<&str> = examples.iter().map(&variant).collect();
        for name in variants {
            assert!(shown.contains(name), "no example of {name}");
        }
        for example in examples {
            let name = variant(example);
            let (english, vietnamese) = (example.english(), example.vietnamese());
            assert!(!english.trim().is_empty(), "{name}: no English");
            assert!(!vietnamese.trim().is_empty(), "{name}: no Vietnamese");
            assert_ne!(english, vietnamese, "{name}: the Vietnamese is the English");
            assert!(
                vietnamese
                    .chars()
                    .flat_map(char::to_lowercase)
                    .any(|c| VIETNAMESE_LETTERS.contains(c)),
                "{name}: {vietnamese:?} is not written in Vietnamese"
            );
            let padded = format!(" {} ", vietnamese.to_lowercase());
            for word in ENGLISH_WORDS {
                assert!(
                    !padded.contains(word),
                    "{name}: {vietnamese:?} has the English word {word:?}"
                );
            }
            for text in [&english, &vietnamese] {
                assert!(!text.contains("001090012345"), "{name}: {text:?}");
            }
            assert_eq!(
                example.in_language(Language::Vietnamese),
                vietnamese,
                "{name}"
            );
            assert_eq!(example.in_language(Language::English), english, "{name}");
        }
    }

    #[test]
    fn counts_and_causes_are_written_the_vietnamese_way() {
        assert_eq!(vi_count(1_000), "1.000");
        assert_eq!(vi_count(300_000), "300.000");
        assert_eq!(vi_decimal(2.46, 1), "2,5");
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(vi_io(&missing), "không có tệp hoặc thư mục này");
    }

    /// The checker fails on a message left in English, and on a catalogue without an example of
    /// one of its messages.
    #[test]
    fn the_check_catches_a_message_left_in_english() {
        struct Left;
        impl Message for Left {
            fn english(&self) -> String {
                "the file is empty".into()
            }
            fn vietnamese(&self) -> String {
                "tệp rỗng: the file is empty".into()
            }
        }
        let left = std::panic::catch_unwind(|| check(&[Left], &["Left"], |_| "Left"));
        assert!(left.is_err());
        struct Fine;
        impl Message for Fine {
            fn english(&self) -> String {
                "the file is empty".into()
            }
            fn vietnamese(&self) -> String {
                "tệp rỗng".into()
            }
        }
        check(&[Fine], &["Fine"], |_| "Fine");
        let missing = std::panic::catch_unwind(|| check(&[Fine], &["Fine", "Other"], |_| "Fine"));
        assert!(missing.is_err());
    }
}
