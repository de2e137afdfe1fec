//! What an agency says of a dossier it received: [`DossierInfo`] and its [`DossierChannel`], as
//! the dossier's receipt and every verification made for it report them.

/// How a dossier was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierChannel {
    /// Through the online public-service portal.
    Online,
    /// At the one-stop-shop desk.
    Desk,
}

impl DossierChannel {
    /// As the audit event records it: "online" or "desk".
    pub fn as_str(self) -> &'static str {
        match self {
            DossierChannel::Online => "online",
            DossierChannel::Desk => "desk",
        }
    }
}

/// An administrative dossier as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierInfo {
    /// The dossier's id (mã hồ sơ), e.g. "000.00.01.H26-261123-0001".
    pub id: String,
    /// Procedure code (mã thủ tục hành chính).
    pub procedure_code: String,
    /// District of the receiving unit (dossiers received before 1 July 2025; after, only the
    /// agency's former district, kept for trends).
    pub district: String,
    /// The commune-level unit that received it (since 1 July 2025): its 5-digit code or its
    /// name; empty for the agency's only commune, a province-level unit, or before the reform.
    pub commune: String,
    /// The officer who received it (and, unless
    /// [`Dossier::by_officer`](super::Dossier::by_officer), makes its lookups).
    pub officer_id: String,
    /// How it was received.
    pub channel: DossierChannel,
    /// When it was received, Unix ms; `None` for now.
    pub received_at_ms: Option<i64>,
    /// Marks synthetic load-test traffic (allowed only to agencies whose directory entry says so).
    pub load_test: bool,
}

impl DossierInfo {
    /// A dossier received now, of no commune, not load-test traffic.
    pub fn new(
        id: impl Into<String>,
        procedure_code: impl Into<String>,
        district: impl Into<String>,
        officer_id: impl Into<String>,
        channel: DossierChannel,
    ) -> Self {
        DossierInfo {
            id: id.into(),
            procedure_code: procedure_code.into(),
            district: district.into(),
            commune: String::new(),
            officer_id: officer_id.into(),
            channel,
            received_at_ms: None,
            load_test: false,
        }
    }
}
