//! A record's number: a 12-digit CCCD number or a legacy 9-digit CMND number, resolved to the
//! citizen who holds it. A CMND number is linked to its holder's CCCD number (the main task of
//! cleaning an older registry); reading by CMND number needs the `cmnd_number` scope, as
//! LookupByCmnd does.

use std::sync::Arc;

use crate::{
    domain::{CccdNumber, Citizen, CmndNumber},
    error::ApiError,
    registry::scope,
    security::{Agency, ScopeField},
    store::CitizenStore,
};

/// The longest number looked at (bytes), as the registry's.
const MAX_NUMBER_BYTES: usize = 32;

/// What a record's number resolved to.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// The citizen holding it; `via_cmnd` when the record gave a CMND number.
    Found {
        /// The citizen.
        citizen: Arc<Citizen>,
        /// The record's number was a CMND number, linked to `citizen.cccd`.
        via_cmnd: bool,
    },
    /// Well formed, held by nobody; the CCCD number when it was one (the audit subject).
    Unknown(Option<CccdNumber>),
    /// Not readable as either number, or not allowed to the agency.
    Malformed(ApiError),
}

/// Resolves `number` against `store` for `agency`.
pub(crate) fn resolve(number: &str, store: &CitizenStore, agency: &Agency) -> Resolved {
    let text = number.trim();
    if text.len() > MAX_NUMBER_BYTES {
        return Resolved::Malformed(ApiError::FieldTooLong {
            field: "number",
            len: text.len(),
            max: MAX_NUMBER_BYTES,
        });
    }
    if text.len() == 9 {
        if let Err(error) = scope::require(agency, ScopeField::CmndNumber, "number") {
            return Resolved::Malformed(error);
        }
        return match CmndNumber::parse(text) {
            Err(error) => Resolved::Malformed(ApiError::InvalidCmnd {
                field: "number",
                error,
            }),
            Ok(cmnd) => match store.get_by_cmnd(cmnd) {
                Some(citizen) => Resolved::Found {
                    citizen,
                    via_cmnd: true,
                },
                None => Resolved::Unknown(None),
            },
        };
    }
    match CccdNumber::parse(text) {
        Err(error) => Resolved::Malformed(ApiError::InvalidCccd {
            field: "number",
            error,
        }),
        Ok(cccd) => match store.get(cccd) {
            Some(citizen) => Resolved::Found {
                citizen,
                via_cmnd: false,
            },
            None => Resolved::Unknown(Some(cccd)),
        },
    }
}
