//! The audit events an [`AgencyClient`](super::AgencyClient) reports: how they are named
//! ([`EventIds`]), what a dossier's receipt and a verification carry, and the outcome label of a
//! call's result.

use std::sync::atomic::{AtomicU64, Ordering};

use super::DossierInfo;
use crate::{
    proto::{self, reported_event::Kind},
    reporting,
    vocabulary::{Outcome, Rpc},
    ClientError,
};

/// The longest event id the server accepts.
const MAX_EVENT_ID: usize = 128;

/// How a client names its events: each dossier opened gets a base, and its events are named
/// under it ([`event_id`]).
pub(super) enum EventIds {
    /// `RUN-N`: a random run id and a client-wide counter, a new base each time a dossier is
    /// opened or resumed.
    Random { run: String, counter: AtomicU64 },
    /// `RUN/DOSSIER`: the same work gives the same ids.
    Deterministic { run: String },
}

/// The room kept after a dossier's base for the longest name of one of its events.
const LONGEST_SUFFIX: usize = "/v18446744073709551615-t0123456789abcdef".len();

/// Which of a dossier's events.
#[derive(Debug, Clone, Copy)]
pub(super) enum Which<'a> {
    /// Its receipt.
    Receipt,
    /// Its n-th verification: the call id its calls are made under, and the id its report has
    /// once the server answered.
    Verification(u64),
    /// A try of its n-th verification that failed in transport, named by a random `tag`: its
    /// report, apart from the verification's own (which a later try reports).
    FailedTry(u64, &'a str),
}

impl EventIds {
    /// The base of the events of the dossier `dossier_id`, opened (or resumed) now.
    pub(super) fn base(&self, dossier_id: &str) -> String {
        match self {
            EventIds::Random { run, counter } => {
                format!("{run}-{}", counter.fetch_add(1, Ordering::Relaxed))
            }
            EventIds::Deterministic { run } => {
                let base = format!("{run}/{dossier_id}");
                if base.len() + LONGEST_SUFFIX <= MAX_EVENT_ID {
                    base
                } else {
                    format!("{run}/#{:016x}", fnv1a(dossier_id.as_bytes()))
                }
            }
        }
    }
}

/// The id of the event `which` of the dossier whose events have `base`.
pub(super) fn event_id(base: &str, which: Which<'_>) -> String {
    match which {
        Which::Receipt => format!("{base}/received"),
        Which::Verification(n) => format!("{base}/v{n}"),
        Which::FailedTry(n, tag) => format!("{base}/v{n}-t{tag}"),
    }
}

/// FNV-1a, 64 bits: a stable stand-in for a dossier id too long to fit in an event id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
/// The event `event_id` of the dossier `info` at `at` (Unix ms).
pub(super) fn event(
    event_id: String,
    info: &DossierInfo,
    at: i64,
    kind: Kind,
) -> proto::ReportedEvent {
    proto::ReportedEvent {
        event_id,
        dossier_id: info.id.clone(),
        district: info.district.clone(),
        officer_id: info.officer_id.clone(),
        occurred_at_ms: at,
        load_test: info.load_test,
        kind: Some(kind),
        commune: info.commune.clone(),
    }
}

/// What a dossier's receipt reports.
pub(super) fn receipt(info: &DossierInfo) -> Kind {
    Kind::Dossier(proto::DossierReceived {
        procedure_code: info.procedure_code.clone(),
        channel: info.channel.as_str().to_owned(),
    })
}

/// What a verification reports: the call `rpc`, its outcome, and the citizen `cccd` it named
/// (the words spelled here, at the proto edge).
pub(super) fn verification(rpc: &Rpc, purpose: &str, cccd: &str, outcome: &Outcome) -> Kind {
    // An input too long to be a number names no citizen: reported as unknown.
    let cccd = cccd.trim();
    let cccd = if cccd.len() > reporting::MAX_CCCD_CHARS {
        ""
    } else {
        cccd
    };
    Kind::Verification(proto::VerificationMade {
        rpc: rpc.as_str().to_owned(),
        outcome: outcome.as_str().to_owned(),
        purpose: purpose.to_owned(),
        cccd_number: cccd.to_owned(),
    })
}

/// The outcome reported for a call's result, as the server records the same call: `ok`'s for
/// an answer; for a VNeID refusal (a `VNEID_*` reason) that reason; for any other failure its
/// gRPC code.
///
/// The VNeID service records its refusals after serving them, under their reason code, and
/// their gRPC codes (UNAUTHENTICATED for a wrong passcode or a reused code, RESOURCE_EXHAUSTED
/// for a locked account) are among those reconciliation reads as never having reached the
/// server ([`Outcome::reaches_server`]): reported under
/// the code, every failed login would be `served_not_reported`. Every `VNEID_*` reason is such a
/// served refusal; the refusals made before a call is served (role, certificate, overload) have
/// other reasons and keep their code.
pub(super) fn outcome<T>(
    result: &Result<T, ClientError>,
    ok: impl FnOnce(&T) -> Outcome,
) -> Outcome {
    match result {
        Ok(answer) => ok(answer),
        Err(error @ ClientError::Rpc(_)) => match error.reason() {
            Some(reason) if reason.is_vneid_refusal() => Outcome::VneidRefused(reason),
            _ => Outcome::Failed(error.code()),
        },
        Err(error) => Outcome::Failed(error.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_event_ids_depend_on_the_work_only() {
        let ids = EventIds::Deterministic {
            run: "sim-1".into(),
        };
        let base = ids.base("H35.00-1");
        assert_eq!(event_id(&base, Which::Receipt), "sim-1/H35.00-1/received");
        assert_eq!(event_id(&base, Which::Verification(0)), "sim-1/H35.00-1/v0");
        let long = "d".repeat(200);
        let longest = event_id(
            &ids.base(&long),
            Which::FailedTry(u64::MAX, "0123456789abcdef"),
        );
        assert!(longest.len() <= MAX_EVENT_ID, "{longest}");
        assert_eq!(ids.base(&long), ids.base(&long));
        assert_ne!(ids.base(&long), ids.base(&"e".repeat(200)));
    }

    #[test]
    fn a_vneid_refusal_is_reported_under_its_reason_as_the_server_records_it() {
        use std::collections::HashMap;
        use tonic::{Code, Status};
        use tonic_types::{ErrorDetails, StatusExt};
        let refusal = |code, reason: &str| -> Result<(), ClientError> {
            let details = ErrorDetails::with_error_info(
                reason,
                vnpop_core::reason::ERROR_DOMAIN,
                HashMap::<String, String>::new(),
            );
            Err(ClientError::Rpc(Status::with_error_details(
                code, "refused", details,
            )))
        };
        let label =
            |result: Result<(), ClientError>| outcome(&result, |_| Outcome::OK).as_str().to_owned();
        assert_eq!(
            label(refusal(Code::Unauthenticated, "VNEID_PASSCODE_WRONG")),
            "VNEID_PASSCODE_WRONG"
        );
        assert_eq!(
            label(refusal(Code::ResourceExhausted, "VNEID_ACCOUNT_LOCKED")),
            "VNEID_ACCOUNT_LOCKED"
        );
        // Refused before being served: the code, as the server records none.
        assert_eq!(
            label(refusal(Code::PermissionDenied, "ROLE_NOT_ALLOWED")),
            "permission_denied"
        );
        assert_eq!(
            label(refusal(Code::NotFound, "CITIZEN_NOT_FOUND")),
            "not_found"
        );
        assert_eq!(label(Ok(())), "ok");
    }

    #[test]
    fn random_event_ids_count_up_per_dossier_opened() {
        let ids = EventIds::Random {
            run: "r".into(),
            counter: AtomicU64::new(0),
        };
        assert_eq!(event_id(&ids.base("a"), Which::Verification(2)), "r-0/v2");
        assert_eq!(event_id(&ids.base("a"), Which::Receipt), "r-1/received");
        assert_eq!(event_id("r-1", Which::FailedTry(2, "ab")), "r-1/v2-tab");
    }
}
