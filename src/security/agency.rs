//! The agency directory: which certificate identities are which agencies, their roles and their
//! field scopes. Loaded from TOML (`data/agencies.toml` is embedded as the default).

use std::{path::Path, sync::Arc};

use serde::Deserialize;

/// What an agency may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Lookups and verifications.
    Agency,
    /// The audit service only.
    Auditor,
    /// Everything, including QA administration.
    Admin,
}

impl Role {
    /// Whether this role may look citizens up and verify them.
    pub fn may_look_up(self) -> bool {
        matches!(self, Role::Agency | Role::Admin)
    }

    /// Whether this role may query the audit trail.
    pub fn may_audit(self) -> bool {
        matches!(self, Role::Auditor | Role::Admin)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Agency => "agency",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// A citizen field that a scope can grant. `cccd_number` and `status` are always visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeField {
    CmndNumber,
    FullName,
    DateOfBirth,
    Sex,
    Nationality,
    Ethnicity,
    Religion,
    PlaceOfOrigin,
    PermanentAddress,
    Card,
    VneidLevel,
    DateOfDeath,
    /// What only the chip holds: parents' and spouse's names, identification features (DG13).
    Family,
}

impl ScopeField {
    pub const ALL: [ScopeField; 13] = [
        ScopeField::CmndNumber,
        ScopeField::FullName,
        ScopeField::DateOfBirth,
        ScopeField::Sex,
        ScopeField::Nationality,
        ScopeField::Ethnicity,
        ScopeField::Religion,
        ScopeField::PlaceOfOrigin,
        ScopeField::PermanentAddress,
        ScopeField::Card,
        ScopeField::VneidLevel,
        ScopeField::DateOfDeath,
        ScopeField::Family,
    ];

    /// The field's name in the `Citizen` message and in configuration.
    pub fn name(self) -> &'static str {
        match self {
            ScopeField::CmndNumber => "cmnd_number",
            ScopeField::FullName => "full_name",
            ScopeField::DateOfBirth => "date_of_birth",
            ScopeField::Sex => "sex",
            ScopeField::Nationality => "nationality",
            ScopeField::Ethnicity => "ethnicity",
            ScopeField::Religion => "religion",
            ScopeField::PlaceOfOrigin => "place_of_origin",
            ScopeField::PermanentAddress => "permanent_address",
            ScopeField::Card => "card",
            ScopeField::VneidLevel => "vneid_level",
            ScopeField::DateOfDeath => "date_of_death",
            ScopeField::Family => "family",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The set of citizen fields an agency may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldScope(u16);

impl FieldScope {
    pub fn all() -> Self {
        ScopeField::ALL.into_iter().collect()
    }

    pub fn allows(self, field: ScopeField) -> bool {
        self.0 & (1 << field as u16) != 0
    }
}

impl FromIterator<ScopeField> for FieldScope {
    fn from_iter<I: IntoIterator<Item = ScopeField>>(fields: I) -> Self {
        FieldScope(fields.into_iter().fold(0, |bits, f| bits | 1 << f as u16))
    }
}

/// One agency allowed to call vnpop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Short stable identifier, e.g. "one-stop-ba-dinh"; what the audit trail records.
    pub id: String,
    pub name: String,
    /// Subject Common Name of its client certificate.
    pub common_name: String,
    /// Subject Organization of its client certificate, if checked.
    pub organization: Option<String>,
    /// District of the receiving unit (for the auditor's breakdowns).
    pub district: String,
    pub role: Role,
    pub scope: FieldScope,
}

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
    agency: Vec<AgencyEntry>,
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
        let mut agencies = Vec::new();
        for entry in file.agency {
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
            .find("one-stop-ba-dinh", Some("UBND quận Ba Đình"))
            .unwrap();
        assert_eq!(desk.scope, FieldScope::all());
        let hospital = dir.by_id("hospital-bach-mai").unwrap();
        assert!(hospital.scope.allows(ScopeField::FullName));
        assert!(!hospital.scope.allows(ScopeField::Religion));
        assert!(!dir.by_id("auditor-thanh-tra").unwrap().role.may_look_up());
        assert!(dir.find("one-stop-ba-dinh", Some("Another org")).is_none());
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
