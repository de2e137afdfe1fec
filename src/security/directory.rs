//! The agency directory: which certificate identities are which agencies, their roles, their
//! field scopes, and what each may report to the audit trail (districts, how late, load tests,
//! ingest quota). Loaded from TOML (`data/agencies.toml` is embedded as the default).

use std::{path::Path, sync::Arc, time::Duration};

use serde::Deserialize;

use super::agency::{Agency, Cleaning, FieldScope, Role, ScopeField};
use crate::domain::geography;
use crate::reporting::{Communes, Districts, ReportPolicy, DEFAULT_BACKDATE_LIMIT};

/// Events an agency may ingest per minute unless its entry or `[defaults]` says.
pub(crate) const DEFAULT_INGEST_PER_MINUTE: u64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum AgencyError {
    #[error("cannot read agency configuration {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("agency configuration {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyFile {
    #[serde(default)]
    defaults: Defaults,
    agency: Vec<AgencyEntry>,
}

/// `[defaults]`: what an entry that does not say gets.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    backdate_limit: Option<String>,
    ingest_per_minute: Option<Limit>,
}

/// A number, or "unlimited".
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Limit {
    Number(u64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyEntry {
    id: String,
    name: String,
    common_name: String,
    organization: Option<String>,
    #[serde(default)]
    district: String,
    role: Role,
    fields: Vec<String>,
    /// Districts it receives dossiers for ("*": any); default: `district`.
    districts: Option<Vec<String>>,
    /// Its current province (one of the 34), by name or code.
    province: Option<String>,
    /// Commune-level units it receives dossiers at since 1 July 2025 (code, name in `province`,
    /// or "NAME, PROVINCE"; "*": any of its province). Default: any of `province` when given (a
    /// province-level unit), else none.
    communes: Option<Vec<String>>,
    /// "7 days", "12 hours", "30 minutes" or "unlimited".
    backdate_limit: Option<String>,
    #[serde(default)]
    load_test: bool,
    ingest_per_minute: Option<Limit>,
    /// Records per second it may have verified by data-cleaning jobs, or "unlimited"; absent:
    /// it may run none.
    cleaning_per_second: Option<Limit>,
}

/// "7 days", "12 hours", "30 minutes" (or "1 day", "1 hour", "1 minute") as a duration, or
/// "unlimited" as `None`.
fn parse_backdate_limit(text: &str) -> Result<Option<Duration>, String> {
    let bad = || {
        format!("backdate_limit {text:?} is not \"N days\", \"N hours\", \"N minutes\" or \"unlimited\"")
    };
    if text.trim() == "unlimited" {
        return Ok(None);
    }
    let mut words = text.split_whitespace();
    let (Some(number), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "day" | "days" => 86_400,
        "hour" | "hours" => 3_600,
        "minute" | "minutes" => 60,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit_seconds)
        .map(|s| Some(Duration::from_secs(s)))
        .ok_or_else(bad)
}

/// An ingest quota: events per minute (at least one), or "unlimited" as `None`.
fn parse_quota(limit: &Limit) -> Result<Option<u64>, String> {
    match limit {
        Limit::Number(n) if *n > 0 => Ok(Some(*n)),
        Limit::Word(w) if w == "unlimited" => Ok(None),
        _ => Err("ingest_per_minute must be a positive number of events or \"unlimited\"".into()),
    }
}

/// An entry's current province and communes, checked against the geography. Without a
/// `province`, one shared by all its communes is taken; without `communes`, any of its province
/// (a province-level unit), or any at all for an agency that may name any district.
fn places(
    province: Option<&str>,
    communes: Option<&[String]>,
    any_district: bool,
) -> Result<(Option<u16>, Communes), String> {
    let province = province
        .map(|name| {
            geography::current_province(name).ok_or_else(|| {
                format!(
                    "province {name:?} is not one of the 34 provinces in force since 1 July 2025"
                )
            })
        })
        .transpose()?;
    let communes = match communes {
        None if province.is_some() || any_district => Communes::Any,
        None => Communes::Only(Vec::new()),
        Some(list) if list.iter().any(|c| c.trim() == "*") => Communes::Any,
        Some(list) => Communes::Only(
            list.iter()
                .map(|c| geography::commune(c, province, &[]).map_err(|e| format!("communes: {e}")))
                .collect::<Result<_, _>>()?,
        ),
    };
    let province = province.map(|p| p.code).or(match &communes {
        Communes::Only(list) => list
            .first()
            .map(|c| c.commune().province)
            .filter(|p| list.iter().all(|c| c.commune().province == *p)),
        Communes::Any => None,
    });
    Ok((province, communes))
}

/// All agencies, looked up by certificate subject.
#[derive(Debug, Clone)]
pub struct AgencyDirectory {
    agencies: Vec<Arc<Agency>>,
}

impl AgencyDirectory {
    /// The embedded default, matching the development certificates in `certs/`.
    pub fn development() -> Self {
        Self::parse(
            "data/agencies.toml",
            include_str!("../../data/agencies.toml"),
        )
        .expect("the embedded agency configuration is valid")
    }

    pub fn load(path: &Path) -> Result<Self, AgencyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AgencyError::Read {
            path: name.clone(),
            source,
        })?;
        Self::parse(&name, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, AgencyError> {
        let invalid = |message: String| AgencyError::Invalid {
            path: path.to_owned(),
            message,
        };
        let file: AgencyFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let default_backdate = match &file.defaults.backdate_limit {
            Some(text) => {
                parse_backdate_limit(text).map_err(|e| invalid(format!("[defaults]: {e}")))?
            }
            None => Some(DEFAULT_BACKDATE_LIMIT),
        };
        let default_quota = match &file.defaults.ingest_per_minute {
            Some(limit) => parse_quota(limit).map_err(|e| invalid(format!("[defaults]: {e}")))?,
            None => Some(DEFAULT_INGEST_PER_MINUTE),
        };
        let mut agencies = Vec::new();
        for entry in file.agency {
            let in_entry = |e: String| invalid(format!("agency {:?}: {e}", entry.id));
            let backdate_limit = match &entry.backdate_limit {
                Some(text) => parse_backdate_limit(text).map_err(in_entry)?,
                None => default_backdate,
            };
            let ingest_per_minute = match &entry.ingest_per_minute {
                Some(limit) => parse_quota(limit).map_err(in_entry)?,
                None => default_quota,
            };
            let cleaning =
                match &entry.cleaning_per_second {
                    None => Cleaning::NotAllowed,
                    Some(Limit::Number(n)) if *n > 0 => Cleaning::PerSecond(*n),
                    Some(Limit::Word(w)) if w == "unlimited" => Cleaning::Unlimited,
                    Some(_) => return Err(in_entry(
                        "cleaning_per_second must be a positive number of records or \"unlimited\""
                            .into(),
                    )),
                };
            let districts = match &entry.districts {
                Some(list) if list.iter().any(|d| d == "*") => Districts::Any,
                Some(list) => Districts::Only(list.iter().map(|d| d.trim().to_owned()).collect()),
                None if entry.district.trim().is_empty() => Districts::Only(Vec::new()),
                None => Districts::Only(vec![entry.district.trim().to_owned()]),
            };
            let (province, communes) = places(
                entry.province.as_deref(),
                entry.communes.as_deref(),
                districts == Districts::Any,
            )
            .map_err(|e| invalid(format!("agency {:?}: {e}", entry.id)))?;
            let scope = if entry.fields.iter().any(|f| f == "all") {
                FieldScope::all()
            } else {
                entry
                    .fields
                    .iter()
                    .map(|f| {
                        ScopeField::from_name(f).ok_or_else(|| {
                            invalid(format!("agency {:?}: unknown field {f:?}", entry.id))
                        })
                    })
                    .collect::<Result<FieldScope, _>>()?
            };
            if agencies
                .iter()
                .any(|a: &Arc<Agency>| a.id == entry.id || a.common_name == entry.common_name)
            {
                return Err(invalid(format!("agency {:?} is listed twice", entry.id)));
            }
            agencies.push(Arc::new(Agency {
                id: entry.id,
                name: entry.name,
                common_name: entry.common_name,
                organization: entry.organization,
                district: entry.district,
                role: entry.role,
                scope,
                report: ReportPolicy {
                    districts,
                    province,
                    communes,
                    backdate_limit,
                    load_test: entry.load_test,
                },
                ingest_per_minute,
                cleaning,
            }));
        }
        Ok(AgencyDirectory { agencies })
    }

    /// The agency whose certificate has this subject CN and O.
    pub fn find(&self, common_name: &str, organization: Option<&str>) -> Option<Arc<Agency>> {
        self.agencies
            .iter()
            .find(|a| {
                a.common_name == common_name
                    && a.organization
                        .as_deref()
                        .is_none_or(|o| Some(o) == organization)
            })
            .cloned()
    }

    /// The agency with this id.
    pub fn by_id(&self, id: &str) -> Option<Arc<Agency>> {
        self.agencies.iter().find(|a| a.id == id).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.iter().map(|a| a.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_directory_scopes() {
        let dir = AgencyDirectory::development();
        let desk = dir
            .find("one-stop-phuong-ba-dinh", Some("UBND phường Ba Đình"))
            .unwrap();
        assert_eq!(desk.scope, FieldScope::all());
        let hospital = dir.by_id("hospital-bach-mai").unwrap();
        assert!(hospital.scope.allows(ScopeField::FullName));
        assert!(!hospital.scope.allows(ScopeField::Religion));
        assert!(!dir.by_id("auditor-thanh-tra").unwrap().role.may_look_up());
        assert!(dir
            .find("one-stop-phuong-ba-dinh", Some("Another org"))
            .is_none());
    }

    #[test]
    fn development_directory_reporting_rules() {
        let dir = AgencyDirectory::development();
        let desk = dir.by_id("one-stop-phuong-ba-dinh").unwrap();
        assert_eq!(
            desk.report,
            ReportPolicy {
                districts: Districts::Only(vec!["Quận Ba Đình".into()]),
                province: Some(1),
                communes: Communes::Only(vec![geography::CommuneCode::new(4).unwrap()]),
                backdate_limit: Some(DEFAULT_BACKDATE_LIMIT),
                load_test: false,
            }
        );
        assert_eq!(desk.ingest_per_minute, Some(DEFAULT_INGEST_PER_MINUTE));
        let simulation = dir.by_id("simulation").unwrap();
        assert_eq!(simulation.report.districts, Districts::Any);
        assert_eq!(simulation.report.backdate_limit, None);
        assert!(simulation.report.load_test);
        assert_eq!(simulation.ingest_per_minute, None);
    }

    #[test]
    fn reads_limits_and_defaults() {
        let text = "[defaults]\nbackdate_limit = '2 days'\ningest_per_minute = 100\n\
                    [[agency]]\nid='a'\nname='A'\ncommon_name='a'\nrole='agency'\nfields=[]\n\
                    district='Huyện Mai Châu'\n\
                    [[agency]]\nid='b'\nname='B'\ncommon_name='b'\nrole='agency'\nfields=[]\n\
                    districts=['X', 'Y']\nbackdate_limit='36 hours'\ningest_per_minute='unlimited'\n";
        let dir = AgencyDirectory::parse("t.toml", text).unwrap();
        let a = dir.by_id("a").unwrap();
        assert_eq!(
            a.report.backdate_limit,
            Some(Duration::from_secs(2 * 86_400))
        );
        assert_eq!(
            a.report.districts,
            Districts::Only(vec!["Huyện Mai Châu".into()])
        );
        assert_eq!(a.ingest_per_minute, Some(100));
        let b = dir.by_id("b").unwrap();
        assert_eq!(
            b.report.backdate_limit,
            Some(Duration::from_secs(36 * 3_600))
        );
        assert_eq!(
            b.report.districts,
            Districts::Only(vec!["X".into(), "Y".into()])
        );
        assert_eq!(b.ingest_per_minute, None);
        for bad in [
            "backdate_limit='a week'",
            "backdate_limit='7'",
            "ingest_per_minute=0",
        ] {
            let text = format!(
                "[[agency]]\nid='a'\nname='A'\ncommon_name='a'\nrole='agency'\nfields=[]\n{bad}\n"
            );
            let e = AgencyDirectory::parse("t.toml", &text)
                .unwrap_err()
                .to_string();
            assert!(e.contains("agency \"a\""), "{bad}: {e}");
        }
    }

    #[test]
    fn reads_provinces_and_communes() {
        let entry = |places: &str| {
            format!("[[agency]]\nid='a'\nname='A'\ncommon_name='a'\nrole='agency'\nfields=[]\n{places}\n")
        };
        let read = |places: &str| {
            AgencyDirectory::parse("t.toml", &entry(places))
                .map(|d| d.by_id("a").unwrap().report.clone())
        };
        let province = read("province = 'Phú Thọ'").unwrap();
        assert_eq!(
            (province.province, province.communes),
            (Some(25), Communes::Any)
        );
        let desk = read("province = 'Phú Thọ'\ncommunes = ['Xã Mai Châu', '05128']").unwrap();
        let names: Vec<_> = match &desk.communes {
            Communes::Only(list) => list.iter().map(|c| c.commune().name).collect(),
            Communes::Any => panic!("a list"),
        };
        assert_eq!(names, ["Xã Mai Châu", "Xã Tân Lạc"]);
        let implied = read("communes = ['Xã Mai Châu, Phú Thọ']").unwrap();
        assert_eq!(implied.province, Some(25));
        for bad in [
            "province = 'Hòa Bình'",
            "province = 'Phú Thọ'\ncommunes = ['Phường Hoàn Kiếm']",
            "communes = ['99999']",
        ] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("agency \"a\""), "{bad}: {e}");
        }
    }

    #[test]
    fn rejects_unknown_fields_and_duplicates() {
        let bad =
            "[[agency]]\nid='a'\nname='A'\ncommon_name='a'\nrole='agency'\nfields=['salary']\n";
        let e = AgencyDirectory::parse("t.toml", bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("salary"), "{e}");
        let one = "[[agency]]\nid='a'\nname='A'\ncommon_name='a'\nrole='agency'\nfields=[]\n";
        let e = AgencyDirectory::parse("t.toml", &one.repeat(2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
