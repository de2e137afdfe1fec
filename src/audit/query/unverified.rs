//! Dossiers received in a period without any lookup the server served that consulted a record, page by page: the
//! officers' desks to visit first.

use rusqlite::{params_from_iter, types::Value};

use super::{commune_label, push_filters, AuditReader};
use crate::audit::AuditError;

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
    /// page.
    pub fn unverified(&self, query: &UnverifiedQuery) -> Result<Vec<DossierRow>, AuditError> {
        let mut conditions = vec![
            "served_consulted = 0".to_owned(),
            "load_test = 0".to_owned(),
            "received_at_ms >= ?".to_owned(),
            "received_at_ms < ?".to_owned(),
        ];
        let mut values = vec![Value::Integer(query.from_ms), Value::Integer(query.to_ms)];
        push_filters(
            &mut conditions,
            &mut values,
            &[
                ("agency_id", &query.agency_id),
                ("district", &query.district),
                ("officer_id", &query.officer_id),
            ],
        );
        if let Some((at, agency, dossier)) = &query.after {
            conditions.push("(received_at_ms, agency_id, dossier_id) > (?, ?, ?)".into());
            values.extend([
                Value::Integer(*at),
                Value::Text(agency.clone()),
                Value::Text(dossier.clone()),
            ]);
        }
        values.push(Value::Integer(query.limit as i64));
        let sql = format!(
            "SELECT agency_id, dossier_id, COALESCE(district, ''), COALESCE(officer_id, ''),
                    COALESCE(procedure, ''), COALESCE(channel, ''), received_at_ms, commune
             FROM dossiers WHERE {} ORDER BY received_at_ms, agency_id, dossier_id LIMIT ?",
            conditions.join(" AND ")
        );
        let mut statement = self.connection().prepare(&sql)?;
        let rows = statement
            .query_map(params_from_iter(values), |r| {
                Ok(DossierRow {
                    agency_id: r.get(0)?,
                    dossier_id: r.get(1)?,
                    district: r.get(2)?,
                    officer_id: r.get(3)?,
                    procedure: r.get(4)?,
                    channel: r.get(5)?,
                    received_at_ms: r.get(6)?,
                    commune: commune_label(r.get::<_, Option<i64>>(7)?.unwrap_or(0)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
