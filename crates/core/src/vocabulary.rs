//! The audit trail's words, shared by the agency's client library and the server: which call was
//! made ([`Rpc`]), how it ended ([`Outcome`]), how a dossier came in ([`Channel`]) and whom a
//! call concerned ([`Subject`]).
//!
//! Each word is declared once here, with its spelling. The client reports, the server records,
//! and reconciliation and the query side compare these types; strings appear only where the words
//! cross a boundary: the log's record codec, the protos and JSON. A word this version does not
//! know — in a log written by an older version, or reported by a newer client — is kept as
//! written (`Other`), so reading a log never fails on a word and its leaves hash as they were
//! signed.

#![deny(missing_docs)]

use std::{borrow::Cow, fmt};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tonic::Code;

use crate::{
    proto::{ChipVerdict, QrVerdict},
    reason::{code_label, Reason},
};

/// Declares a closed word list as an enum: each variant with its documentation and its spelling,
/// once, plus `Other` for a spelling this version does not know.
macro_rules! words {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[doc = $doc:literal])* $variant:ident = $text:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[doc = $doc])* $variant, )*
            /// A word this version does not know, as written.
            Other(Box<str>),
        }

        impl $name {
            /// Every word this version knows.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// How it is spelled in the log, the protos and JSON.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(text) => text,
                }
            }

            /// The word spelled `text` (`Other` when this version does not know it).
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )*
                    other => $name::Other(other.into()),
                }
            }

            /// The spelling of a word this version knows (`None` for `Other`).
            pub fn known_str(&self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )*
                    $name::Other(_) => None,
                }
            }

            /// Whether this version knows the word.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::parse(&Cow::<str>::deserialize(deserializer)?))
            }
        }
    };
}

words! {
    /// A call the trail records: a verification made for a dossier, or an action outside any
    /// dossier (QA administration, token introspection) that changes or reads what auditors see.
    Rpc {
        /// CitizenRegistry.LookupByCccd.
        LookupByCccd = "LookupByCccd",
        /// CitizenRegistry.LookupByCmnd.
        LookupByCmnd = "LookupByCmnd",
        /// CitizenRegistry.VerifyDemographics.
        VerifyDemographics = "VerifyDemographics",
        /// CitizenRegistry.VerifyQr.
        VerifyQr = "VerifyQr",
        /// ChipVerification.VerifyChipRead.
        VerifyChipRead = "VerifyChipRead",
        /// VneidAuthentication.StartAuthentication.
        StartAuthentication = "StartAuthentication",
        /// VneidAuthentication.CompleteAuthentication.
        CompleteAuthentication = "CompleteAuthentication",
        /// VneidAuthentication.IntrospectToken (an action: no dossier).
        IntrospectToken = "IntrospectToken",
        /// QaAdministration.SetFaults (an action).
        SetFaults = "SetFaults",
        /// QaAdministration.ClearFaults (an action).
        ClearFaults = "ClearFaults",
        /// QaAdministration.PutCitizen (an action).
        PutCitizen = "PutCitizen",
        /// QaAdministration.RemoveCitizen (an action).
        RemoveCitizen = "RemoveCitizen",
        /// QaAdministration.RevokeCard (an action).
        RevokeCard = "RevokeCard",
        /// QaAdministration.MarkDeceased (an action).
        MarkDeceased = "MarkDeceased",
        /// QaAdministration.ResetPopulation (an action).
        ResetPopulation = "ResetPopulation",
        /// One record of a data-cleaning job (DataCleaning.CleanRecords): a cleaning
        /// verification, recorded under its job, never a dossier's lookup.
        CleanRecord = "CleanRecord",
    }
}

impl Rpc {
    /// Whether it is a data-cleaning verification: recorded with its job id where a
    /// verification has its dossier id, and left out of every dossier figure (ratios, coverage,
    /// reconciliation, anomalies) while a citizen's access log shows it.
    pub fn is_cleaning(&self) -> bool {
        matches!(self, Rpc::CleanRecord)
    }

    /// Whether it is a verification made for a dossier (what agencies report), not an action.
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            Rpc::LookupByCccd
                | Rpc::LookupByCmnd
                | Rpc::VerifyDemographics
                | Rpc::VerifyQr
                | Rpc::VerifyChipRead
                | Rpc::StartAuthentication
                | Rpc::CompleteAuthentication
        )
    }
}

words! {
    /// How a dossier was received.
    Channel {
        /// At the one-stop-shop desk.
        Desk = "desk",
        /// Through the public-service portal.
        Online = "online",
    }
}

words! {
    /// The verdicts and answers an outcome names by a word of its own (see [`Outcome`]).
    Answer {
        /// A lookup found the citizen.
        Found = "found",
        /// The declared details match the record.
        Match = "match",
        /// They do not.
        NoMatch = "no_match",
        /// A QR code or chip read is genuine and agrees with the record.
        Valid = "valid",
        /// A QR code disagrees with the record.
        Mismatch = "mismatch",
        /// The card has expired.
        CardExpired = "card_expired",
        /// The card was revoked.
        CardRevoked = "card_revoked",
        /// The citizen has died.
        CitizenDeceased = "citizen_deceased",
        /// No citizen holds the number.
        UnknownNumber = "unknown_number",
        /// A chip's data group does not hash to the signed value.
        DataGroupTampered = "data_group_tampered",
        /// A chip's security object is not signed by its signer.
        BadSignature = "bad_signature",
        /// A chip's signer does not chain to the CSCA.
        UnknownSigner = "unknown_signer",
        /// A genuine chip disagrees with the record.
        DatabaseMismatch = "database_mismatch",
        /// A verdict the server did not give.
        Unspecified = "unspecified",
        /// A VNeID challenge was sent.
        Challenge = "challenge",
        /// A VNeID login succeeded.
        Authenticated = "authenticated",
        /// An answer with nothing more to say.
        Ok = "ok",
        /// A QA change was applied.
        Applied = "applied",
        /// An introspected token is active.
        Active = "active",
    }
}

/// How a recorded call ended, as the server records it and the client reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// An answer or verdict ([`Answer`]).
    Answered(Answer),
    /// A VNeID refusal, made after the call was served: its reason (`VNEID_*`).
    VneidRefused(Reason),
    /// The call ended with this gRPC status code (an error: a miss is `NOT_FOUND`), spelled by
    /// [`code_label`]. Some never reach the server ([`Outcome::reaches_server`]).
    Failed(Code),
    /// An introspected token is not active, and why: spelled `inactive: REASON`, kept whole.
    Inactive(Box<str>),
}

/// gRPC codes of failures that never reached the server's handler: the server has no record of
/// these, by design.
const NOT_REACHING_SERVER: &[Code] = &[
    Code::Unavailable,
    Code::DeadlineExceeded,
    Code::Cancelled,
    Code::Unknown,
    Code::ResourceExhausted,
    Code::PermissionDenied,
    Code::Unauthenticated,
    Code::Aborted,
    Code::Internal,
];

/// gRPC codes of failures that consulted no citizen record: the request was refused as
/// malformed or not allowed (`NOT_FOUND` is not among them: a miss consulted the register).
const CONSULTED_NO_RECORD: &[Code] = &[
    Code::InvalidArgument,
    Code::FailedPrecondition,
    Code::OutOfRange,
    Code::AlreadyExists,
    Code::Unimplemented,
    Code::DataLoss,
];

const INACTIVE: &str = "inactive: ";

impl Outcome {
    /// An answer with nothing more to say.
    pub const OK: Outcome = Outcome::Answered(Answer::Ok);

    /// The outcome of a QR code's verdict.
    pub fn qr(verdict: QrVerdict) -> Self {
        Outcome::Answered(match verdict {
            QrVerdict::Unspecified => Answer::Unspecified,
            QrVerdict::Valid => Answer::Valid,
            QrVerdict::Mismatch => Answer::Mismatch,
            QrVerdict::CardExpired => Answer::CardExpired,
            QrVerdict::CardRevoked => Answer::CardRevoked,
            QrVerdict::CitizenDeceased => Answer::CitizenDeceased,
            QrVerdict::UnknownNumber => Answer::UnknownNumber,
        })
    }

    /// The outcome of a chip read's verdict.
    pub fn chip(verdict: ChipVerdict) -> Self {
        Outcome::Answered(match verdict {
            ChipVerdict::Unspecified => Answer::Unspecified,
            ChipVerdict::Valid => Answer::Valid,
            ChipVerdict::DataGroupTampered => Answer::DataGroupTampered,
            ChipVerdict::BadSignature => Answer::BadSignature,
            ChipVerdict::UnknownSigner => Answer::UnknownSigner,
            ChipVerdict::CardExpired => Answer::CardExpired,
            ChipVerdict::CardRevoked => Answer::CardRevoked,
            ChipVerdict::DatabaseMismatch => Answer::DatabaseMismatch,
            ChipVerdict::UnknownNumber => Answer::UnknownNumber,
            ChipVerdict::CitizenDeceased => Answer::CitizenDeceased,
        })
    }

    /// The outcome of an introspected token that is not active, for `why`.
    pub fn inactive(why: &str) -> Self {
        Outcome::Inactive(format!("{INACTIVE}{why}").into())
    }

    /// How it is spelled in the log, the protos and JSON.
    pub fn as_str(&self) -> &str {
        match self {
            Outcome::Answered(answer) => answer.as_str(),
            Outcome::VneidRefused(reason) => reason.as_str(),
            Outcome::Failed(code) => code_label(*code),
            Outcome::Inactive(text) => text,
        }
    }

    /// The outcome spelled `text`. A word this version does not know is an
    /// [`Answer::Other`]: an answer, which consulted a record.
    pub fn parse(text: &str) -> Self {
        if text.starts_with(INACTIVE) {
            return Outcome::Inactive(text.into());
        }
        if text.starts_with("VNEID_") {
            return Outcome::VneidRefused(text.parse().unwrap_or_else(|e| match e {}));
        }
        match (0..=16)
            .map(Code::from_i32)
            .find(|&code| code != Code::Ok && code_label(code) == text)
        {
            Some(code) => Outcome::Failed(code),
            None => Outcome::Answered(Answer::parse(text)),
        }
    }

    /// Whether the call reached the server's handler, so the server recorded it too: not a
    /// failure in transport, a refusal before the call was served (role, certificate, overload)
    /// or the client's own.
    pub fn reaches_server(&self) -> bool {
        !matches!(self, Outcome::Failed(code) if NOT_REACHING_SERVER.contains(code))
    }

    /// Whether it consulted a citizen record (found or not, matched or not, a QR or chip
    /// verdict, a VNeID account checked): what coverage counts. A malformed or refused request,
    /// a verdict the server did not give, or a call that failed, did not.
    pub fn consulted_a_record(&self) -> bool {
        match self {
            Outcome::Failed(code) => {
                !(CONSULTED_NO_RECORD.contains(code) || NOT_REACHING_SERVER.contains(code))
            }
            Outcome::Answered(Answer::Unspecified) => false,
            _ => true,
        }
    }
}

impl From<Answer> for Outcome {
    fn from(answer: Answer) -> Self {
        Outcome::Answered(answer)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Outcome::parse(&Cow::<str>::deserialize(deserializer)?))
    }
}

/// The citizen a call concerned, as the trail keeps them: a keyed hash (HMAC-SHA-256) of the CCCD
/// number under the server's subject key, never the number itself. Spelled as 64 lower-case hex
/// digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject(pub [u8; 32]);

impl Subject {
    /// The subject spelled `hex` (64 lower-case hex digits), if it is one.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let digits = hex.as_bytes();
        if digits.len() != 64
            || !digits
                .iter()
                .all(|d| d.is_ascii_digit() || (b'a'..=b'f').contains(d))
        {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let nibble = |d: u8| if d <= b'9' { d - b'0' } else { d - b'a' + 10 };
            *byte = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        Some(Subject(bytes))
    }

    /// Its 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        hex
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.to_hex())
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = Cow::<str>::deserialize(deserializer)?;
        Subject::from_hex(&hex)
            .ok_or_else(|| serde::de::Error::custom("a subject is 64 lower-case hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_word_reads_back_as_itself_and_is_spelled_once() {
        fn check<T: PartialEq + fmt::Debug>(
            known: &[T],
            spell: impl Fn(&T) -> &str,
            parse: impl Fn(&str) -> T,
        ) {
            let mut seen = std::collections::HashSet::new();
            for word in known {
                assert_eq!(&parse(spell(word)), word);
                assert!(
                    seen.insert(spell(word).to_owned()),
                    "{word:?} spelled twice"
                );
            }
        }
        check(Rpc::KNOWN, Rpc::as_str, Rpc::parse);
        check(Channel::KNOWN, Channel::as_str, Channel::parse);
        check(Answer::KNOWN, Answer::as_str, Answer::parse);
        assert_eq!(Rpc::parse("Newer"), Rpc::Other("Newer".into()));
        assert_eq!(Rpc::parse("Newer").as_str(), "Newer");
    }

    #[test]
    fn outcomes_read_back_as_themselves() {
        let mut outcomes: Vec<Outcome> = Answer::KNOWN.iter().cloned().map(Outcome::from).collect();
        outcomes.extend((1..=16).map(|c| Outcome::Failed(Code::from_i32(c))));
        outcomes.extend(
            Reason::KNOWN
                .iter()
                .filter(|r| r.is_vneid_refusal())
                .map(|r| Outcome::VneidRefused(r.clone())),
        );
        outcomes.push(Outcome::inactive("TOKEN_EXPIRED"));
        outcomes.push(Outcome::Answered(Answer::Other("newer".into())));
        let mut seen = std::collections::HashSet::new();
        for outcome in outcomes {
            let text = outcome.as_str().to_owned();
            assert_eq!(Outcome::parse(&text), outcome, "{text}");
            assert!(seen.insert(text.clone()), "{text} spelled twice");
        }
        // The spellings the trail has always had.
        assert_eq!(Outcome::Failed(Code::NotFound).as_str(), "not_found");
        assert_eq!(Outcome::qr(QrVerdict::CardExpired).as_str(), "card_expired");
        assert_eq!(
            Outcome::chip(ChipVerdict::DataGroupTampered).as_str(),
            "data_group_tampered"
        );
        assert_eq!(Outcome::inactive("X").as_str(), "inactive: X");
    }

    #[test]
    fn only_outcomes_that_consulted_a_record_cover_a_dossier() {
        for consulted in [
            "found",
            "not_found",
            "match",
            "no_match",
            "valid",
            "mismatch",
            "card_revoked",
            "database_mismatch",
            "challenge",
            "authenticated",
            "VNEID_PASSCODE_WRONG",
        ] {
            assert!(
                Outcome::parse(consulted).consulted_a_record(),
                "{consulted}"
            );
        }
        for refused in [
            "invalid_argument",
            "failed_precondition",
            "out_of_range",
            "unspecified",
            "unavailable",
            "deadline_exceeded",
            "permission_denied",
        ] {
            assert!(!Outcome::parse(refused).consulted_a_record(), "{refused}");
        }
        for failed in [
            "unavailable",
            "deadline_exceeded",
            "cancelled",
            "unknown",
            "resource_exhausted",
            "permission_denied",
            "unauthenticated",
            "aborted",
            "internal",
        ] {
            assert!(!Outcome::parse(failed).reaches_server(), "{failed}");
        }
        assert!(Outcome::parse("not_found").reaches_server());
        assert!(Outcome::parse("VNEID_ACCOUNT_LOCKED").reaches_server());
    }

    #[test]
    fn subjects_are_64_hex_digits() {
        let hex = "39213e42db72d67ea2c8c78946f2e510f3308fdf5d577a2dfb91ae76fa88e377";
        let subject = Subject::from_hex(hex).unwrap();
        assert_eq!(subject.to_hex(), hex);
        assert_eq!(Subject::from_hex(&hex.to_uppercase()), None);
        assert_eq!(Subject::from_hex("s"), None);
    }
}
