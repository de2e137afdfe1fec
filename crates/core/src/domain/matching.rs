//! Comparing what an applicant declared with what the database holds.
//!
//! Vietnamese names are written with diacritics that officers, forms and card readers often drop
//! or mangle: "Nguyễn Văn Đức", "NGUYEN VAN DUC", "nguyen  van duc" are the same person. A name
//! is compared twice: first *exactly* (same letters and marks, ignoring case and spacing, its
//! [`canonical`] form), then *folded* ([`fold`]).

pub use super::folding::{canonical, fold, same_canonical, same_folded};
use super::{
    geography::{self, OldWard, ParsedForm},
    Citizen,
};

/// How well a declared value matches the stored one.
// The variants are named as the proto's `MatchResult` they map to (`NoMatch` included).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Same letters and marks (case and spacing ignored).
    Exact,
    /// Same once diacritics are removed.
    DiacriticInsensitive,
    /// Most words agree (addresses only); the similarity is 0–100.
    Partial(u32),
    /// Different.
    NoMatch,
}

impl Match {
    /// Similarity on a 0–100 scale.
    pub fn score(self) -> u32 {
        match self {
            Match::Exact => 100,
            Match::DiacriticInsensitive => 95,
            Match::Partial(score) => score,
            Match::NoMatch => 0,
        }
    }
}

/// The lowest address similarity that still counts as a partial match.
pub const PARTIAL_ADDRESS_MIN: u32 = 60;

/// The highest similarity of an address that mixes the units of two eras
/// ([`geography::EraMix`]): a partial match, short of what a verification counts as matched.
pub const MIXED_ERAS_SCORE: u32 = 70;

/// Compares two names: exact, diacritic-insensitive, or no match.
pub fn compare_names(declared: &str, stored: &str) -> Match {
    if same_canonical(declared, stored) {
        Match::Exact
    } else if same_folded(declared, stored) {
        Match::DiacriticInsensitive
    } else {
        Match::NoMatch
    }
}

/// Words that only say what kind of place follows ("Phường", "Quận", "TP.") and carry no
/// identity of their own, in folded form.
const ADMINISTRATIVE_WORDS: &[&str] = &[
    "so", "duong", "pho", "phuong", "xa", "thi", "tran", "quan", "huyen", "tinh", "thanh", "tp",
    "ap", "thon", "xom", "to", "khu", "p", "q", "tx", "tt", "h",
];

fn address_words(text: &str) -> Vec<String> {
    let folded = fold(&text.replace([',', '.', ';', '/', '-'], " "));
    folded
        .split(' ')
        .filter(|w| !w.is_empty() && !ADMINISTRATIVE_WORDS.contains(w))
        .map(str::to_owned)
        .collect()
}

/// Compares two one-line addresses word by word (Dice coefficient over the folded words that
/// are not administrative prefixes).
pub fn compare_addresses(declared: &str, stored: &str) -> Match {
    if same_canonical(declared, stored) {
        return Match::Exact;
    }
    let declared_words = address_words(declared);
    let mut stored_words = address_words(stored);
    if declared_words.is_empty() || stored_words.is_empty() {
        return Match::NoMatch;
    }
    let total = declared_words.len() + stored_words.len();
    let mut common = 0;
    for word in &declared_words {
        if let Some(i) = stored_words.iter().position(|w| w == word) {
            stored_words.swap_remove(i);
            common += 1;
        }
    }
    let score = (200 * common / total) as u32;
    match score {
        100 => Match::DiacriticInsensitive,
        s if s >= PARTIAL_ADDRESS_MIN => Match::Partial(s),
        _ => Match::NoMatch,
    }
}

/// Whether `text` is exactly what `value` displays, compared as it is written: no string made.
pub fn displays_as(text: &str, value: &impl std::fmt::Display) -> bool {
    /// The part of the text not yet matched; a write that does not continue it fails.
    struct Rest<'a>(&'a str);
    impl std::fmt::Write for Rest<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 = self.0.strip_prefix(s).ok_or(std::fmt::Error)?;
            Ok(())
        }
    }
    let mut rest = Rest(text);
    std::fmt::write(&mut rest, format_args!("{value}")).is_ok() && rest.0.is_empty()
}

/// How a declared one-line address compares with a citizen's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressVerdict {
    /// How close the declared address is.
    pub result: Match,
    /// Why it is not the same place, naming the part ("commune: ..."), when the address names
    /// administrative units that are wrong or do not exist.
    pub problem: Option<String>,
}

/// Compares a declared address, in either form, with the citizen's record.
///
/// The address matches when it is word for word one of the forms on record (two-level, or the
/// pre-2025 form kept as history), or when it names the same place: a pre-2025 ward that the
/// record's (or, without history, one that now lies in the record's commune), or the record's
/// commune, with the same street. Such a match counts as diacritic-insensitive (score 95). An
/// address naming another ward or commune, a unit that does not exist, or a district with a
/// post-reform commune outside it is `NoMatch` with the part named. An address that names the
/// recorded place with units of two eras (a current commune with its former district or its
/// merged province, an old district with its current province) is `Partial` (at most
/// [`MIXED_ERAS_SCORE`]) with the mix as the problem, whichever way it mixes.
pub fn compare_with_record(declared: &str, citizen: &Citizen) -> AddressVerdict {
    let street = &citizen.permanent_address.street;
    let verdict = |result, problem| AddressVerdict { result, problem };
    // One of the recorded forms as written (most of what a clean registry holds): the same
    // place in one era, so nothing to parse or fold. Tested against the general path below.
    if displays_as(declared, &citizen.permanent_address)
        || (citizen.pre_reform_address.as_ref())
            .is_some_and(|old| displays_as(declared, &old.shown_with(street)))
    {
        return verdict(Match::Exact, None);
    }
    compare_in_general(declared, citizen)
}

/// [`compare_with_record`] for any text: compared word by word with the recorded forms, then
/// parsed for the place it names. The same verdict without the fast path for a recorded form as
/// written: the reference that fast path is tested against (over a generated population, in the
/// `vnpop` package's population tests).
pub fn compare_in_general(declared: &str, citizen: &Citizen) -> AddressVerdict {
    let street = &citizen.permanent_address.street;
    let verdict = |result, problem| AddressVerdict { result, problem };
    let mut forms = vec![citizen.permanent_address.to_string()];
    forms.extend(citizen.pre_reform_address.as_ref().map(|a| a.line(street)));
    let text = forms
        .iter()
        .map(|form| compare_addresses(declared, form))
        .max_by_key(|m| m.score())
        .unwrap_or(Match::NoMatch);
    let parsed = geography::parse(declared);
    // Word for word one of the forms (type words aside), unless its units mix the eras: "Xã Mai
    // Châu, Huyện Mai Châu" has the words of "Thị trấn Mai Châu, Huyện Mai Châu".
    let mixed = matches!(&parsed, Some(Ok(p)) if p.mixed.is_some());
    if matches!(text, Match::Exact | Match::DiacriticInsensitive) && !mixed {
        return verdict(text, None);
    }
    let parsed = match parsed {
        None => return verdict(text, None),
        Some(Err(problem)) => return verdict(Match::NoMatch, Some(problem.to_string())),
        Some(Ok(parsed)) => parsed,
    };
    let commune = citizen.permanent_address.commune;
    let (same_place, part, named) = match parsed.form {
        ParsedForm::Current(code) => (code == commune, "commune", code.commune().name),
        ParsedForm::PreReform(ward) => {
            let recorded = citizen
                .pre_reform_address
                .as_ref()
                .and_then(|old| OldWard::find(old.province, &old.district, &old.ward));
            let same = match recorded {
                Some(recorded) => std::ptr::eq(recorded, ward),
                None => ward.targets().any(|t| t == commune),
            };
            (same, "ward", ward.ward)
        }
    };
    if !same_place {
        return verdict(
            Match::NoMatch,
            Some(format!("{part}: {named} is not the recorded one")),
        );
    }
    if let Some(mix) = parsed.mixed {
        // The same place written in neither form: partly, with the mix as the reason, however
        // well the street agrees.
        let street_score = match compare_addresses(&parsed.street, street) {
            Match::NoMatch if !parsed.street.trim().is_empty() => {
                return verdict(
                    Match::NoMatch,
                    Some("street: differs from the recorded one".into()),
                )
            }
            other => other.score().max(PARTIAL_ADDRESS_MIN),
        };
        return verdict(
            Match::Partial(street_score.min(MIXED_ERAS_SCORE)),
            Some(mix.to_string()),
        );
    }
    match compare_addresses(&parsed.street, street) {
        Match::Exact | Match::DiacriticInsensitive => verdict(Match::DiacriticInsensitive, None),
        Match::Partial(score) => verdict(Match::Partial(score), None),
        Match::NoMatch if parsed.street.trim().is_empty() => {
            verdict(Match::Partial(PARTIAL_ADDRESS_MIN), None)
        }
        Match::NoMatch => verdict(
            Match::NoMatch,
            Some("street: differs from the recorded one".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    #[test]
    fn names_ignore_case_spacing_and_diacritics() {
        assert_eq!(
            compare_names("Nguyễn Văn An", "Nguyễn Văn An"),
            Match::Exact
        );
        assert_eq!(
            compare_names("  NGUYỄN   VĂN AN ", "Nguyễn Văn An"),
            Match::Exact
        );
        assert_eq!(
            compare_names("NGUYEN VAN AN", "Nguyễn Văn An"),
            Match::DiacriticInsensitive
        );
        assert_eq!(
            compare_names("nguyen van an", "Nguyễn Văn An"),
            Match::DiacriticInsensitive
        );
        assert_eq!(
            compare_names("Nguyễn Văn Anh", "Nguyễn Văn An"),
            Match::NoMatch
        );
    }

    #[test]
    fn d_with_stroke_folds_to_d() {
        assert_eq!(fold("Đặng Đức Độ"), "dang duc do");
        assert_eq!(
            compare_names("DANG DUC DO", "Đặng Đức Độ"),
            Match::DiacriticInsensitive
        );
    }

    #[test]
    fn decomposed_input_matches_exactly() {
        let decomposed: String = "Nguyễn".nfd().collect();
        assert_eq!(compare_names(&decomposed, "Nguyễn"), Match::Exact);
    }

    #[test]
    fn tone_mark_placement_variants_are_the_same_spelling() {
        // "Hoà" and "Hòa" differ only in where the mark sits: the same spelling.
        assert_eq!(compare_names("Hoà", "Hòa"), Match::Exact);
        assert_eq!(
            compare_names("Nguyễn Thị Thuỷ", "Nguyễn Thị Thủy"),
            Match::Exact
        );
    }

    #[test]
    fn addresses_compare_by_words() {
        let stored = "12 Lê Lợi, Phường Bến Nghé, Quận 1, Hồ Chí Minh";
        assert_eq!(compare_addresses(stored, stored), Match::Exact);
        assert_eq!(
            compare_addresses("12 Le Loi, P. Ben Nghe, Q.1, TP Ho Chi Minh", stored),
            Match::DiacriticInsensitive
        );
        assert!(matches!(
            compare_addresses("12 Lê Lợi, Quận 1, Hồ Chí Minh", stored),
            Match::Partial(s) if s >= 80
        ));
        assert_eq!(
            compare_addresses("Thôn 3, Xã Tân Lập, Huyện Đan Phượng, Hà Nội", stored),
            Match::NoMatch
        );
    }
}
