//! An agency as the directory describes it ([`Agency`]): its role, the citizen fields it may see
//! ([`FieldScope`]) and what it may report. The directory file they are read from is
//! `security::directory`.

use serde::Deserialize;

use crate::reporting::{Receiving, ReportPolicy};

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
    pub(crate) fn may_look_up(self) -> bool {
        matches!(self, Role::Agency | Role::Admin)
    }

    /// Whether this role may query the audit trail.
    pub(crate) fn may_audit(self) -> bool {
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
    pub(crate) const ALL: [ScopeField; 13] = [
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
    /// Short stable identifier, e.g. "one-stop-phuong-ba-dinh"; what the audit trail records.
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
    /// What it may report to the audit trail: districts, backdate limit, load tests.
    pub report: ReportPolicy,
    /// Events it may ingest per minute; `None`: no limit.
    pub ingest_per_minute: Option<u64>,
    /// Whether it may run data-cleaning jobs, and how fast.
    pub cleaning: Cleaning,
}

/// Whether an agency may run data-cleaning jobs (`DataCleaning.CleanRecords`), and at what rate:
/// the directory's `cleaning_per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleaning {
    /// No cleaning jobs (no `cleaning_per_second` in its entry).
    NotAllowed,
    /// At most this many records a second, over all the agency's jobs (the server paces their
    /// streams on one schedule).
    PerSecond(u64),
    /// As fast as the server answers.
    Unlimited,
}

impl Agency {
    /// The unit the agency is on the day `at_ms` (Unix ms), as the log records the calls it
    /// makes then: before 1 July 2025 its district; since, its commune and province as well
    /// (its district kept beside them as its former one), when its entry names them.
    pub fn unit_at(&self, at_ms: i64) -> Receiving {
        self.report.own_unit(at_ms).unwrap_or_else(|| Receiving {
            district: self.district.clone(),
            commune: None,
            province: None,
        })
    }
}
