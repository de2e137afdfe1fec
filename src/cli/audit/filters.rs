//! District and officer filters compared the way names are compared everywhere else in vnpop:
//! ignoring case, spacing and diacritics. A filter is resolved against the values the log holds
//! before the query, which then matches exactly (the storage compares exact strings).

use crate::domain::matching::{canonical, fold};

/// What a filter as typed resolves to among the values the log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// The value is in the log as typed.
    Exact,
    /// The value differs from one known value only in case, spacing or diacritics.
    Same(String),
    /// It differs in that way from several known values: the user must choose.
    Ambiguous(Vec<String>),
    /// No known value is the same name.
    Unknown,
}

/// Resolves `typed` against `known` (the distinct values of one column).
pub(crate) fn resolve<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Resolution {
    let known: Vec<&str> = known.into_iter().collect();
    if known.contains(&typed) {
        return Resolution::Exact;
    }
    let pick = |key: fn(&str) -> String| -> Vec<String> {
        let wanted = key(typed);
        known
            .iter()
            .filter(|k| key(k) == wanted)
            .map(|k| (*k).to_owned())
            .collect()
    };
    for candidates in [pick(canonical), pick(fold)] {
        match candidates.len() {
            0 => continue,
            1 => return Resolution::Same(candidates.into_iter().next().expect("one")),
            _ => return Resolution::Ambiguous(candidates),
        }
    }
    Resolution::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTRICTS: [&str; 3] = ["Huyện Bình Lục", "Huyện Kim Bảng", "Thành phố Phủ Lý"];

    #[test]
    fn names_resolve_ignoring_case_spacing_and_diacritics() {
        assert_eq!(resolve("Huyện Bình Lục", DISTRICTS), Resolution::Exact);
        for typed in [
            "huyện  bình lục",
            "Huyen Binh Luc",
            "HUYEN BINH LUC",
            " huyen binh luc ",
        ] {
            assert_eq!(
                resolve(typed, DISTRICTS),
                Resolution::Same("Huyện Bình Lục".into()),
                "{typed}"
            );
        }
        assert_eq!(resolve("Huyện Bình Xuyên", DISTRICTS), Resolution::Unknown);
        assert_eq!(resolve("", DISTRICTS), Resolution::Unknown);
    }

    #[test]
    fn the_closer_match_wins_and_ties_are_reported() {
        // Case only beats diacritics.
        assert_eq!(
            resolve("LUC-CB01", ["Lục-cb01", "Luc-cb01"]),
            Resolution::Same("Luc-cb01".into())
        );
        assert_eq!(
            resolve("luc-cb01", ["Lục-cb01", "Lúc-cb01"]),
            Resolution::Ambiguous(vec!["Lục-cb01".into(), "Lúc-cb01".into()])
        );
    }
}
