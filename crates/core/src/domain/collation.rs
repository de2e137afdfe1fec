//! Vietnamese collation: the order every list vnpop prints for people is sorted in (the report's
//! tables and heat map, the CLI's lists), so "Huyện Đà Bắc" comes after "Huyện Cao Phong" and
//! before "Huyện Kim Bôi", and "Lạc Sơn" before "Lương Sơn", as in a Vietnamese index.
//!
//! The order is CLDR's Vietnamese tailoring through ICU4X's collator (`icu_collator`, with its
//! compiled data: nothing is read at run time), never a hand-written table: base letters first
//! (a ă â b c d đ e ê …), then tone marks, then case. Code-point order (what `sort()` gives) puts
//! every name starting with "Đ" after "Y".

use std::{cmp::Ordering, sync::LazyLock};

use icu_collator::{options::CollatorOptions, CollatorBorrowed};

/// The one collator, made on first use.
static VIETNAMESE: LazyLock<CollatorBorrowed<'static>> = LazyLock::new(|| {
    let locale: icu_locale_core::Locale = "vi".parse().expect("a valid locale");
    CollatorBorrowed::try_new((&locale).into(), CollatorOptions::default())
        .expect("the compiled data holds the Vietnamese tailoring")
});

/// `a` against `b` in Vietnamese order; strings equal to the collator are then compared by code
/// point, so the order is total and stable whatever the input order.
pub fn compare(a: &str, b: &str) -> Ordering {
    VIETNAMESE.compare(a, b).then_with(|| a.cmp(b))
}

/// Two lists of names (a row's group values) compared part by part in Vietnamese order.
pub fn compare_all<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| compare(x.as_ref(), y.as_ref()))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// Sorts `items` by the name `key` gives, in Vietnamese order.
pub fn sort_by_name<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| compare(key(a), key(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_sort_as_a_vietnamese_index_does() {
        let mut districts = vec![
            "Thành phố Hòa Bình",
            "Huyện Yên Thủy",
            "Huyện Đà Bắc",
            "Huyện Lương Sơn",
            "Huyện Kim Bôi",
            "Huyện Lạc Sơn",
            "Huyện Cao Phong",
            "Huyện Lạc Thủy",
            "Huyện Mai Châu",
            "Huyện Tân Lạc",
        ];
        sort_by_name(&mut districts, |d| d);
        assert_eq!(
            districts,
            [
                "Huyện Cao Phong",
                "Huyện Đà Bắc",
                "Huyện Kim Bôi",
                "Huyện Lạc Sơn",
                "Huyện Lạc Thủy",
                "Huyện Lương Sơn",
                "Huyện Mai Châu",
                "Huyện Tân Lạc",
                "Huyện Yên Thủy",
                "Thành phố Hòa Bình",
            ]
        );
        assert_eq!(compare("Lạc Sơn", "Lương Sơn"), Ordering::Less);
        // d before đ before e; a before ă before â; tones after the letters.
        assert_eq!(compare("Dung", "Đà"), Ordering::Less);
        assert_eq!(compare("Đà", "Em"), Ordering::Less);
        assert_eq!(compare("Anh", "Ăn"), Ordering::Less);
        assert_eq!(compare("Ăn", "Ân"), Ordering::Less);
        assert_eq!(compare("ma", "má"), Ordering::Less);
        assert_eq!(compare("a", "a"), Ordering::Equal);
        assert_eq!(
            compare_all(&["Huyện Đà Bắc", "b"], &["Huyện Đà Bắc", "a"]),
            Ordering::Greater
        );
    }
}
