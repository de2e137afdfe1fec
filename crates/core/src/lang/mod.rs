//! Which language a message is written in: English (the default) or Vietnamese, chosen by the
//! caller (`accept-language` gRPC metadata, the gateway's `Accept-Language` header, the CLI's
//! `--lang`), and the Vietnamese message of every reason of the error catalogue
//! ([`Reason::vietnamese`](crate::reason::Reason::vietnamese), in `catalogue`).
//!
//! English stays in the status message (`grpc-message`) whatever the caller asks; a caller that
//! asks for Vietnamese also gets a `google.rpc.LocalizedMessage` (locale `vi-VN`) in the error
//! details, and the gateway's problem+json `detail` is that message. The server writes it
//! (`messages`, with the masked number where the English one has it) while it answers the call
//! in the language the `layer` read from the request.

#![deny(missing_docs)]

mod catalogue;

use std::{fmt, str::FromStr};

use tonic::Status;
use tonic_types::StatusExt;

use crate::reason::Reason;

/// The gRPC metadata key (and HTTP header) a caller names its language with.
pub const ACCEPT_LANGUAGE: &str = "accept-language";

/// The locale of the Vietnamese `google.rpc.LocalizedMessage` (BCP 47).
pub const VIETNAMESE_LOCALE: &str = "vi-VN";

/// A language vnpop writes its messages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Language {
    /// English: the status message, and the default.
    #[default]
    English,
    /// Vietnamese (`vi`, `vi-VN`): a `google.rpc.LocalizedMessage` in locale `vi-VN` besides the
    /// English status message.
    Vietnamese,
}

impl Language {
    /// The language an `Accept-Language` value (RFC 9110: ranges with optional `q` weights)
    /// prefers among those vnpop writes: the acceptable one with the highest weight, the first
    /// listed on a tie; English when it names neither (or is empty, or cannot be read).
    pub fn from_accept_language(value: &str) -> Language {
        let mut best: Option<(Language, f32)> = None;
        for range in value.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let language = match tag.split('-').next() {
                Some("vi") => Language::Vietnamese,
                Some("en") => Language::English,
                _ => continue,
            };
            if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((language, weight));
            }
        }
        best.map_or(Language::English, |(language, _)| language)
    }

    /// The language tag sent as `accept-language` and answered as `Content-Language`: "en" or
    /// "vi-VN".
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Vietnamese => VIETNAMESE_LOCALE,
        }
    }

    /// The language `request`'s `accept-language` metadata asks for (English without it).
    pub fn of_request<T>(request: &tonic::Request<T>) -> Language {
        Language::of_metadata(request.metadata())
    }

    /// The language `accept-language` metadata asks for (English without it).
    pub fn of_metadata(metadata: &tonic::metadata::MetadataMap) -> Language {
        metadata
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Language::English, Language::from_accept_language)
    }

    /// Puts this language in `request`'s `accept-language` metadata (English sends nothing: it
    /// is the server's default).
    pub fn ask<T>(self, request: &mut tonic::Request<T>) {
        if self == Language::Vietnamese {
            request.metadata_mut().insert(
                ACCEPT_LANGUAGE,
                tonic::metadata::MetadataValue::from_static(VIETNAMESE_LOCALE),
            );
        }
    }

    /// The message of `status` in this language: for Vietnamese, the status's own
    /// `LocalizedMessage` in a `vi` locale, else the catalogue's message of its reason (the
    /// English message after it, in parentheses, for the details it may hold), else the English
    /// message; for English, the status message.
    pub fn status_message(self, status: &Status) -> String {
        if self == Language::English {
            return status.message().to_owned();
        }
        let details = status.get_error_details();
        if let Some(localized) = details.localized_message() {
            if localized.locale.to_ascii_lowercase().starts_with("vi") {
                return localized.message.clone();
            }
        }
        match details
            .error_info()
            .and_then(|info| Reason::from(info.reason.as_str()).vietnamese())
        {
            Some(message) if status.message().is_empty() => message.to_owned(),
            Some(message) => format!("{message} ({})", status.message()),
            None => status.message().to_owned(),
        }
    }

    /// `status` with a `LocalizedMessage` in this language added when it is Vietnamese and the
    /// status has none yet (the catalogue's message of its reason): for answers made on this side
    /// (the gateway's own refusals, a server unreachable). The status is otherwise unchanged.
    pub fn localize(self, status: Status) -> Status {
        if self != Language::Vietnamese {
            return status;
        }
        let mut details = status.get_error_details();
        if details.localized_message().is_some() {
            return status;
        }
        let Some(message) = details
            .error_info()
            .and_then(|info| Reason::from(info.reason.as_str()).vietnamese())
        else {
            return status;
        };
        details.set_localized_message(VIETNAMESE_LOCALE, message);
        Status::with_error_details(status.code(), status.message(), details)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A language name that is neither English nor Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: vnpop writes en (English) and vi (Vietnamese, vi-VN)")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    /// "en", "en-US", "vi", "vi-VN" (any case; `_` for `-`).
    fn from_str(text: &str) -> Result<Self, UnknownLanguage> {
        let lower = text.trim().to_ascii_lowercase().replace('_', "-");
        match lower.split('-').next() {
            Some("en") => Ok(Language::English),
            Some("vi") => Ok(Language::Vietnamese),
            _ => Err(UnknownLanguage(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_negotiated_by_weight() {
        use Language::*;
        for (header, expected) in [
            ("vi", Vietnamese),
            ("vi-VN", Vietnamese),
            ("VI-vn", Vietnamese),
            ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", Vietnamese),
            ("en-US,en;q=0.9,vi;q=0.8", English),
            ("fr-FR, vi;q=0.5", Vietnamese),
            ("en;q=0.2, vi;q=0.9", Vietnamese),
            ("vi;q=0", English),
            ("fr", English),
            ("", English),
            ("*", English),
        ] {
            assert_eq!(Language::from_accept_language(header), expected, "{header}");
        }
    }

    #[test]
    fn language_names_parse() {
        assert_eq!("vi".parse(), Ok(Language::Vietnamese));
        assert_eq!("vi_VN".parse(), Ok(Language::Vietnamese));
        assert_eq!("EN".parse(), Ok(Language::English));
        assert!("fr".parse::<Language>().is_err());
        assert_eq!(Language::Vietnamese.to_string(), "vi-VN");
    }

    #[test]
    fn a_status_is_localized_from_the_catalogue_when_it_has_no_message_of_its_own() {
        let details = tonic_types::ErrorDetails::with_error_info(
            "SERVER_UNREACHABLE",
            crate::reason::ERROR_DOMAIN,
            std::collections::HashMap::<String, String>::new(),
        );
        let status = Status::with_error_details(
            tonic::Code::Unavailable,
            "the vnpop server is unreachable",
            details,
        );
        assert_eq!(
            Language::English.localize(status.clone()).message(),
            "the vnpop server is unreachable"
        );
        let localized = Language::Vietnamese.localize(status);
        let message = localized.get_error_details();
        let message = message.localized_message().expect("localized");
        assert_eq!(message.locale, "vi-VN");
        assert_eq!(
            Some(message.message.as_str()),
            Reason::ServerUnreachable.vietnamese()
        );
        assert_eq!(
            Language::Vietnamese.status_message(&localized),
            message.message
        );
        assert_eq!(
            Language::English.status_message(&localized),
            "the vnpop server is unreachable"
        );
    }
}
