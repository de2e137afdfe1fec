//! [`crate::domain::matching`]'s fast path for an address on record as written, against its
//! general path, over a generated population (the matching lives in `vnpop-core`, which cannot
//! generate citizens).

use crate::domain::matching::{compare_in_general, compare_with_record, displays_as, Match};

/// The fast path of [`compare_with_record`] (a recorded form as written is an exact match)
/// answers as the general path does, for every citizen of a generated population with
/// either form.
#[test]
fn a_recorded_form_as_written_is_what_the_general_path_says() {
    let spec = crate::population::PopulationSpec {
        seed: 31,
        size: 20_000,
        reference_date: crate::population::PopulationSpec::default_reference_date(),
    };
    let citizens = crate::population::generate(spec, &crate::population::builtin_fixtures());
    let mut old_forms = 0;
    for citizen in &citizens {
        let mut forms = vec![citizen.permanent_address.to_string()];
        if let Some(old) = &citizen.pre_reform_address {
            forms.push(old.line(&citizen.permanent_address.street));
            old_forms += 1;
        }
        for form in forms {
            assert!(displays_as(&form, &form));
            let fast = compare_with_record(&form, citizen);
            assert_eq!(fast, compare_in_general(&form, citizen), "{form}");
            assert_eq!(fast.result, Match::Exact, "{form}");
        }
    }
    assert!(old_forms > 1_000, "{old_forms}");
    assert!(!displays_as("8 Hàng Bạc", &"8 Hàng Bạc, Phường Hoàn Kiếm"));
    assert!(!displays_as("8 Hàng Bạc, Phường Hoàn Kiếm", &"8 Hàng Bạc"));
}
