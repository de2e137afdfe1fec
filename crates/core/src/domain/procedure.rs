//! Administrative procedures by code (mã thủ tục hành chính, "1.000894"): the name a report
//! writes beside the code, and whether handling the procedure calls for looking the applicant
//! up in the population database (the audit side's "dossier without a lookup" finding).
//!
//! Embedded from `data/procedures.csv`, which holds the codes the bundled scenario uses (see
//! `data/README.md` for where the names come from); any other code has no name here and is
//! written as it is.

use std::{collections::HashMap, sync::OnceLock};

/// One procedure of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Procedure {
    /// Its code, "1.000894".
    pub code: &'static str,
    /// Its name, "Đăng ký kết hôn".
    pub name: &'static str,
    /// Whether a dossier of it calls for a lookup of the applicant.
    pub requires_lookup: bool,
}

fn table() -> &'static HashMap<&'static str, Procedure> {
    static TABLE: OnceLock<HashMap<&'static str, Procedure>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../../../../data/procedures.csv")
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut fields = line.splitn(3, ',');
                let (code, name, requires) = (
                    fields.next().expect("a code"),
                    fields.next().expect("a name"),
                    fields.next().expect("requires_lookup"),
                );
                let requires_lookup = match requires.trim() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("data/procedures.csv: requires_lookup {other:?}"),
                };
                (
                    code,
                    Procedure {
                        code,
                        name,
                        requires_lookup,
                    },
                )
            })
            .collect()
    })
}

/// The procedure of `code`, if the table has it.
pub fn procedure(code: &str) -> Option<Procedure> {
    table().get(code.trim()).copied()
}

/// `code` with its name when known: "1.000894 – Đăng ký kết hôn"; otherwise the code alone.
pub fn labelled(code: &str) -> String {
    match procedure(code) {
        Some(p) => format!("{} – {}", p.code, p.name),
        None => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_s_procedures_have_names() {
        let scenario = include_str!("../../../../data/scenario.toml");
        let line = scenario
            .lines()
            .find(|l| l.starts_with("procedures"))
            .unwrap();
        for code in line.split('"').skip(1).step_by(2) {
            let p = procedure(code).unwrap_or_else(|| panic!("{code} has no name"));
            assert!(!p.name.is_empty());
        }
        assert_eq!(labelled("1.000894"), "1.000894 – Đăng ký kết hôn");
        assert_eq!(labelled("9.999999"), "9.999999");
        assert!(!procedure("2.000908").unwrap().requires_lookup);
    }
}
