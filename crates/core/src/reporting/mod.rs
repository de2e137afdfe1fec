//! The rules a reported audit event keeps, in one place. The server's Ingest checks every event of
//! a batch against them and refuses that event alone; the client library checks an event before
//! it queues it, so agency software hears of a bad event at once rather than from the outbox's
//! quarantine.
//!
//! Some rules hold for everyone (required fields, bounded lengths, a time at most
//! [`MAX_AHEAD`] in the future); the others come from the reporting agency's entry in the server's
//! agency directory, as a [`ReportPolicy`]: the districts it receives dossiers for, how late it may
//! report, and whether it may mark traffic `load_test`. The client learns its own policy from
//! `WhoAmI`.
//!
//! Where a dossier was received depends on when ([`reform_ms`]): before 1 July 2025 at a district
//! (of one of the 63 old provinces); since, at a commune-level unit or at the province (one of
//! the 34), districts being abolished. A report of a later dossier names its `commune`, checked
//! against the geography and the directory; it may still name the agency's former district (the
//! directory lists it), which is then kept beside the commune so that district figures stay
//! comparable across the reform — but a district alone places it only if the geography maps that
//! district to a current province, and any other district is refused ([`Refusal::DistrictAbolished`]).

mod policy;
mod refusal;

use std::time::Duration;

pub use self::{
    policy::{reform_ms, Communes, Districts, Receiving, ReportPolicy},
    refusal::Refusal,
};
use crate::{
    domain::check_safe_text,
    proto::{self, reported_event::Kind},
    vocabulary::{Channel, Rpc},
};

/// Longest `event_id`, `dossier_id` and `officer_id` (characters).
pub const MAX_ID_CHARS: usize = 128;
/// Longest procedure code, channel, RPC name and outcome label (characters).
pub const MAX_CODE_CHARS: usize = 64;
/// Longest purpose (characters), the same bound as a request context's.
pub const MAX_PURPOSE_CHARS: usize = 256;
/// Longest district name (characters).
pub const MAX_DISTRICT_CHARS: usize = 128;
/// Longest commune (name or code, characters): the same bound as a district's.
pub const MAX_COMMUNE_CHARS: usize = 128;
/// Longest CCCD number input (characters; a number is 12 digits).
pub const MAX_CCCD_CHARS: usize = 32;
/// How far after the server's receive time an event may be dated (clock skew).
pub const MAX_AHEAD: Duration = Duration::from_secs(5 * 60);
/// How long after it happened an event may still be reported, unless the directory says.
pub const DEFAULT_BACKDATE_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// `value` trimmed, if present and at most `max` characters.
fn required<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, Refusal> {
    let value = optional(field, value, max)?;
    if value.is_empty() {
        Err(Refusal::Missing { field })
    } else {
        Ok(value)
    }
}

/// `value` trimmed, if at most `max` characters (possibly empty) and free of control and
/// bidirectional formatting characters ([`check_safe_text`]).
fn optional<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, Refusal> {
    let value = value.trim();
    // Bytes bound characters from above: count only when it could matter.
    if value.len() > max {
        let len = value.chars().count();
        if len > max {
            return Err(Refusal::TooLong { field, len, max });
        }
    }
    check_safe_text(value).map_err(|unsafe_char| Refusal::Invalid {
        field,
        message: unsafe_char.to_string(),
    })?;
    Ok(value)
}

/// The rules every event keeps whoever reports it: required fields present, every string
/// bounded and free of control and bidirectional formatting characters, a known channel, a kind.
pub fn check_fields(event: &proto::ReportedEvent) -> Result<(), Refusal> {
    required("event_id", &event.event_id, MAX_ID_CHARS)?;
    required("dossier_id", &event.dossier_id, MAX_ID_CHARS)?;
    required("officer_id", &event.officer_id, MAX_ID_CHARS)?;
    optional("district", &event.district, MAX_DISTRICT_CHARS)?;
    optional("commune", &event.commune, MAX_COMMUNE_CHARS)?;
    match &event.kind {
        None => {
            return Err(Refusal::Invalid {
                field: "kind",
                message: "set dossier or verification".into(),
            })
        }
        Some(Kind::Dossier(d)) => {
            required("dossier.procedure_code", &d.procedure_code, MAX_CODE_CHARS)?;
            if !Channel::parse(&d.channel).is_known() {
                return Err(Refusal::Invalid {
                    field: "dossier.channel",
                    message: "must be \"online\" or \"desk\"".into(),
                });
            }
        }
        Some(Kind::Verification(v)) => {
            required("verification.rpc", &v.rpc, MAX_CODE_CHARS)?;
            if !Rpc::parse(v.rpc.trim()).is_verification() {
                return Err(Refusal::Invalid {
                    field: "verification.rpc",
                    message: "not a verification method (LookupByCccd, LookupByCmnd, VerifyDemographics, VerifyQr, VerifyChipRead, StartAuthentication, CompleteAuthentication)".into(),
                });
            }
            required("verification.outcome", &v.outcome, MAX_CODE_CHARS)?;
            optional("verification.purpose", &v.purpose, MAX_PURPOSE_CHARS)?;
            optional("verification.cccd_number", &v.cccd_number, MAX_CCCD_CHARS)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verification() -> proto::ReportedEvent {
        proto::ReportedEvent {
            event_id: "e-1".into(),
            dossier_id: "D1".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "cb01".into(),
            occurred_at_ms: 1,
            load_test: false,
            commune: String::new(),
            kind: Some(Kind::Verification(proto::VerificationMade {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "kiểm tra".into(),
                cccd_number: String::new(),
            })),
        }
    }

    #[test]
    fn control_and_bidi_characters_are_refused_naming_the_field() {
        assert_eq!(check_fields(&verification()), Ok(()));
        let mut cases: Vec<(proto::ReportedEvent, &str)> = Vec::new();
        let mut officer = verification();
        officer.officer_id = "cb\u{202E}10".into();
        cases.push((officer, "officer_id"));
        let mut id = verification();
        id.event_id = "e\u{0}1".into();
        cases.push((id, "event_id"));
        let mut district = verification();
        district.district = "Quận\u{7F}".into();
        cases.push((district, "district"));
        let mut purpose = verification();
        if let Some(Kind::Verification(v)) = &mut purpose.kind {
            v.purpose = "a\u{2066}b".into();
        }
        cases.push((purpose, "verification.purpose"));
        for (event, named) in cases {
            match check_fields(&event) {
                Err(refusal @ Refusal::Invalid { .. }) => assert_eq!(refusal.field(), named),
                other => panic!("{named}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_verification_names_a_method_vnpop_serves_and_a_dossier_its_channel() {
        for rpc in ["LookupByCccd", "VerifyChipRead", "CompleteAuthentication"] {
            let mut event = verification();
            if let Some(Kind::Verification(v)) = &mut event.kind {
                v.rpc = rpc.into();
            }
            assert_eq!(check_fields(&event), Ok(()), "{rpc}");
        }
        for rpc in ["Lookup", "SetFaults", "lookupbycccd"] {
            let mut event = verification();
            if let Some(Kind::Verification(v)) = &mut event.kind {
                v.rpc = rpc.into();
            }
            match check_fields(&event) {
                Err(refusal @ Refusal::Invalid { .. }) => {
                    assert_eq!(refusal.field(), "verification.rpc", "{rpc}")
                }
                other => panic!("{rpc}: {other:?}"),
            }
        }
        let mut dossier = verification();
        dossier.kind = Some(Kind::Dossier(proto::DossierReceived {
            procedure_code: "1.004227".into(),
            channel: "fax".into(),
        }));
        assert!(matches!(
            check_fields(&dossier),
            Err(refusal @ Refusal::Invalid { .. }) if refusal.field() == "dossier.channel"
        ));
    }
}
