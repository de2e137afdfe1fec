//! Dossiers received in a period without any lookup the server served that consulted a record, page by page: the
//! officers' desks to visit first.

use std::ops::Bound;

use super::{commune_label, AuditReader};
use crate::{projector::UnverifiedKey, AuditError};

/// Which dossiers without a lookup to list: received in `[from_ms, to_ms)`, after `after`
/// (the last row of the previous page: received time, agency, dossier id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnverifiedQuery {
    /// Start of the period (Unix ms, inclusive).
    pub from_ms: i64,
    /// End of the period (Unix ms, exclusive).
    pub to_ms: i64,
    /// Only this agency's (any when `None`).
    pub agency_id: Option<String>,
    /// Only this district's (any when `None`).
    pub district: Option<String>,
    /// Only this officer's (any when `None`).
    pub officer_id: Option<String>,
    /// The last row of the previous page (received time, agency, dossier id).
    pub after: Option<(i64, String, String)>,
    /// At most this many.
    pub limit: usize,
}

/// A dossier as the summary holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierRow {
    /// The agency's directory id.
    pub agency_id: String,
    /// The dossier, as the agency numbers it.
    pub dossier_id: String,
    /// The district (the directory's spelling).
    pub district: String,
    /// The officer who handled it.
    pub officer_id: String,
    /// The administrative procedure's code.
    pub procedure: String,
    /// How the dossier came in (desk, online, ...).
    pub channel: String,
    /// When the dossier was received (Unix ms).
    pub received_at_ms: i64,
    /// "Xã Mai Châu, Phú Thọ" for a dossier received since 1 July 2025; empty before.
    pub commune: String,
}

impl AuditReader {
    /// Dossiers received in the period without any lookup the server served, oldest first, one
    /// page: read from the list kept in memory, in (receipt time, agency, dossier id) order.
    pub fn unverified(&self, query: &UnverifiedQuery) -> Result<Vec<DossierRow>, AuditError> {
        self.with_state(|state| {
            let start = match &query.after {
                Some((at, agency, dossier)) => Bound::Excluded(UnverifiedKey {
                    received_at_ms: (*at).max(query.from_ms),
                    agency_id: agency.as_str().into(),
                    dossier_id: dossier.as_str().into(),
                }),
                None => Bound::Included(UnverifiedKey {
                    received_at_ms: query.from_ms,
                    agency_id: "".into(),
                    dossier_id: "".into(),
                }),
            };
            // A cursor before the period starts the period (an excluded key there would skip
            // nothing of it).
            let start = match start {
                Bound::Excluded(key) if key.received_at_ms < query.from_ms => {
                    Bound::Included(UnverifiedKey {
                        received_at_ms: query.from_ms,
                        agency_id: "".into(),
                        dossier_id: "".into(),
                    })
                }
                other => other,
            };
            let wanted = |filter: &Option<String>, id: u32| {
                filter.as_deref().is_none_or(|f| state.texts.text(id) == f)
            };
            let mut rows = Vec::new();
            for (key, rollup) in state.unverified_from(start) {
                if key.received_at_ms >= query.to_ms || rows.len() >= query.limit {
                    break;
                }
                let attributes = state.rollup_key(*rollup);
                if query
                    .agency_id
                    .as_deref()
                    .is_some_and(|a| a != &*key.agency_id)
                    || !wanted(&query.district, attributes.district)
                    || !wanted(&query.officer_id, attributes.officer)
                {
                    continue;
                }
                rows.push(DossierRow {
                    agency_id: key.agency_id.to_string(),
                    dossier_id: key.dossier_id.to_string(),
                    district: state.texts.text(attributes.district).to_owned(),
                    officer_id: state.texts.text(attributes.officer).to_owned(),
                    procedure: state.texts.text(attributes.procedure).to_owned(),
                    channel: state.texts.text(attributes.channel).to_owned(),
                    received_at_ms: key.received_at_ms,
                    commune: commune_label(i64::from(attributes.commune)),
                });
            }
            Ok(rows)
        })
    }
}
