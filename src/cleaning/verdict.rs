//! One record's verdict: its number resolved ([`super::number`]), the fields it gives compared
//! with the citizen's through the registry's matching rules within the agency's field scope,
//! the status the scope lets it be told, and an old-form address converted
//! ([`super::address`]). Pure but for the store read, so it is tested without a server.

use chrono::Datelike;

use super::{address, job, number};
use crate::{
    domain::{
        matching::{displays_as, Match},
        CccdNumber, Citizen, CitizenStatus, Sex,
    },
    error::ApiError,
    proto::{self, CleaningVerdict, FieldResult},
    registry::{
        convert::{self, match_result},
        verify_demographics, Declared,
    },
    security::{Agency, ScopeField},
    store::CitizenStore,
    vocabulary::{Answer, Outcome},
};

/// The longest name looked at (bytes), as VerifyDemographics'.
const MAX_NAME_BYTES: usize = 256;
/// The longest address looked at (bytes), as VerifyDemographics'.
const MAX_ADDRESS_BYTES: usize = 512;
/// An address comparison scoring at least this matches (as VerifyDemographics' overall match).
const ADDRESS_MATCH_MIN: u32 = 80;

/// A record's verdict, and what the audit trail records of it.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// The answer sent back (its `verification_id` filled by the caller).
    pub(crate) message: proto::RecordVerdict,
    /// The citizen concerned (the audit subject), if any.
    pub(crate) subject: Option<CccdNumber>,
    /// The outcome recorded.
    pub(crate) outcome: Outcome,
}

/// The verdict on `record` for `agency`.
pub(crate) fn verdict(
    mut record: proto::CleanRecord,
    store: &CitizenStore,
    agency: &Agency,
) -> Verdict {
    if let Some(problem) = job::record_id_problem(&record.record_id) {
        return malformed(
            record.record_id,
            ApiError::InvalidField {
                field: "record_id",
                message: problem,
            },
        );
    }
    let declared = match declared(&mut record) {
        Ok(declared) => declared,
        Err(error) => return malformed(record.record_id, error),
    };
    let (citizen, via_cmnd) = match number::resolve(&record.number, store, agency) {
        number::Resolved::Malformed(error) => return malformed(record.record_id, error),
        number::Resolved::Unknown(cccd) => {
            return Verdict {
                message: proto::RecordVerdict {
                    record_id: record.record_id,
                    verdict: CleaningVerdict::UnknownNumber as i32,
                    converted_address: declared
                        .address
                        .as_deref()
                        .and_then(|a| address::converted(a, None))
                        .unwrap_or_default(),
                    ..Default::default()
                },
                subject: cccd,
                outcome: Answer::UnknownNumber.into(),
            }
        }
        number::Resolved::Found { citizen, via_cmnd } => (citizen, via_cmnd),
    };
    let scope = agency.scope;
    let given = [
        ("full_name", declared.full_name.is_some()),
        ("date_of_birth", declared.date_of_birth.is_some()),
        ("sex", declared.sex.is_some()),
        ("address", declared.address.is_some()),
    ];
    // The declared fields the scope covers are compared; the others are not comparable.
    let shows_address = scope.allows(ScopeField::PermanentAddress);
    let address = declared.address;
    let covered = Declared {
        full_name: declared
            .full_name
            .filter(|_| scope.allows(ScopeField::FullName)),
        date_of_birth: declared
            .date_of_birth
            .filter(|_| scope.allows(ScopeField::DateOfBirth)),
        sex: declared.sex.filter(|_| scope.allows(ScopeField::Sex)),
        address: address.clone().filter(|_| shows_address),
    };
    let mut compared = verify_demographics(&covered, &citizen);
    let mut fields = Vec::with_capacity(given.len());
    let mut mismatch = false;
    for (field, is_given) in given {
        let result = compared.fields.iter().find(|(f, _)| *f == field);
        fields.push(match (is_given, result) {
            (false, _) => not_comparable(field, "not given by the record"),
            (true, None) => not_comparable(field, "outside the agency's field scope"),
            (true, Some((_, m))) => {
                let matched = match m {
                    Match::Exact | Match::DiacriticInsensitive => true,
                    Match::Partial(score) => *score >= ADDRESS_MATCH_MIN,
                    Match::NoMatch => false,
                };
                mismatch |= !matched;
                proto::FieldVerdict {
                    field: field.to_owned(),
                    result: if matched {
                        FieldResult::Match
                    } else {
                        FieldResult::Mismatch
                    } as i32,
                    detail: match_result(*m) as i32,
                    population_value: population_value(field, &citizen),
                    note: if field == "address" && !matched {
                        compared.address_problem.take().unwrap_or_default()
                    } else {
                        String::new()
                    },
                }
            }
        });
    }
    let status = convert::status_for(citizen.status, scope);
    let (verdict, outcome) = match status {
        proto::CitizenStatus::Deceased => (CleaningVerdict::Deceased, Answer::CitizenDeceased),
        proto::CitizenStatus::CardRevoked => (CleaningVerdict::CardRevoked, Answer::CardRevoked),
        _ if mismatch => (CleaningVerdict::Mismatch, Answer::Mismatch),
        _ => (CleaningVerdict::Match, Answer::Match),
    };
    debug_assert!(
        citizen.status != CitizenStatus::Deceased || verdict == CleaningVerdict::Deceased
    );
    // A declared address that is the citizen's two-level one as written needs no conversion
    // (the common case, so no parse).
    let converted_address = match address.as_deref() {
        Some(a) if shows_address && displays_as(a, &citizen.permanent_address) => None,
        Some(a) => address::converted(a, shows_address.then_some(&*citizen)),
        None => None,
    };
    Verdict {
        message: proto::RecordVerdict {
            record_id: record.record_id,
            verdict: verdict as i32,
            linked_cccd: if via_cmnd {
                citizen.cccd.to_string()
            } else {
                String::new()
            },
            fields,
            status: status as i32,
            converted_address: converted_address.unwrap_or_default(),
            ..Default::default()
        },
        subject: Some(citizen.cccd),
        outcome: outcome.into(),
    }
}

/// The population's value of `field`, as the verdict shows it.
fn population_value(field: &str, citizen: &Citizen) -> String {
    match field {
        "full_name" => citizen.full_name.clone(),
        "date_of_birth" => {
            let d = citizen.date_of_birth;
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        }
        "sex" => match citizen.sex {
            Sex::Male => "male".into(),
            Sex::Female => "female".into(),
        },
        _ => citizen.permanent_address.to_string(),
    }
}

/// A field not compared, and why.
fn not_comparable(field: &str, why: &str) -> proto::FieldVerdict {
    proto::FieldVerdict {
        field: field.to_owned(),
        result: FieldResult::NotComparable as i32,
        note: why.to_owned(),
        ..Default::default()
    }
}

/// The MALFORMED verdict for `error`, naming its reason and field.
fn malformed(record_id: String, error: ApiError) -> Verdict {
    let (field, problem) = error
        .violations()
        .into_iter()
        .next()
        .unwrap_or_else(|| ("number".into(), error.to_string()));
    Verdict {
        message: proto::RecordVerdict {
            record_id,
            verdict: CleaningVerdict::Malformed as i32,
            reason: error.reason().as_str().to_owned(),
            field,
            problem,
            ..Default::default()
        },
        subject: None,
        outcome: Outcome::Failed(tonic::Code::InvalidArgument),
    }
}

/// The record's fields as declared data, each bounded and checked (its texts taken out of it);
/// the error names the field.
fn declared(record: &mut proto::CleanRecord) -> Result<Declared, ApiError> {
    let text = |field: &'static str, value: Option<String>, max: usize| match value {
        Some(v) if v.len() > max => Err(ApiError::FieldTooLong {
            field,
            len: v.len(),
            max,
        }),
        Some(v) if v.trim().is_empty() => Ok(None),
        value => Ok(value),
    };
    let sex = match record.sex.map(proto::Sex::try_from) {
        None | Some(Ok(proto::Sex::Unspecified)) => None,
        Some(Ok(proto::Sex::Male)) => Some(Sex::Male),
        Some(Ok(proto::Sex::Female)) => Some(Sex::Female),
        Some(Err(_)) => {
            return Err(ApiError::InvalidField {
                field: "sex",
                message: "must be SEX_MALE or SEX_FEMALE".into(),
            })
        }
    };
    Ok(Declared {
        full_name: text("full_name", record.full_name.take(), MAX_NAME_BYTES)?,
        date_of_birth: record
            .date_of_birth
            .as_ref()
            .map(|d| convert::parse_date("date_of_birth", d))
            .transpose()?,
        sex,
        address: text("address", record.address.take(), MAX_ADDRESS_BYTES)?,
    })
}
