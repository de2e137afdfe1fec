//! The request context (dossier, purpose, officer) that every lookup must carry.

use crate::{domain::check_safe_text, error::ApiError, proto, security::Agency};

const MAX_ID: usize = 128;
const MAX_PURPOSE: usize = 256;

/// A checked request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub dossier_id: String,
    pub purpose: String,
    pub officer_id: String,
    pub load_test: bool,
    /// The client's name for this call ([`proto::RequestContext::call_id`]): a call tried again
    /// under the same id is recorded once. `None` when not given.
    pub call_id: Option<String>,
}

impl RequestContext {
    /// Checks that dossier id, purpose and officer id are present, not too long (the error
    /// names every missing field) and hold no control or bidirectional formatting character
    /// ([`check_safe_text`]), and that `load_test` is set only by an agency whose directory
    /// entry allows load tests.
    pub(crate) fn from_proto(
        context: Option<proto::RequestContext>,
        agency: &Agency,
    ) -> Result<Self, ApiError> {
        let context = context.unwrap_or_default();
        let fields = [
            ("context.dossier_id", context.dossier_id.trim(), MAX_ID),
            ("context.purpose", context.purpose.trim(), MAX_PURPOSE),
            ("context.officer_id", context.officer_id.trim(), MAX_ID),
        ];
        let call_id = context.call_id.trim();
        let missing: Vec<&'static str> = fields
            .iter()
            .filter(|(_, value, _)| value.is_empty())
            .map(|(name, _, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::ContextIncomplete { missing });
        }
        let optional = ("context.call_id", call_id, MAX_ID);
        let all = || fields.iter().chain(std::iter::once(&optional));
        if let Some((field, _, max)) = all().find(|(_, v, max)| v.chars().count() > *max) {
            return Err(ApiError::ContextTooLong { field, max: *max });
        }
        for (field, value, _) in all() {
            check_safe_text(value).map_err(|unsafe_char| ApiError::InvalidField {
                field,
                message: unsafe_char.to_string(),
            })?;
        }
        if context.load_test && !agency.report.load_test {
            return Err(ApiError::LoadTestNotAllowed {
                agency: agency.id.clone(),
            });
        }
        // Reuse the request's strings when they need no trimming (the usual case): no copy.
        let keep = |text: String| {
            if text.trim().len() == text.len() {
                text
            } else {
                text.trim().to_owned()
            }
        };
        Ok(RequestContext {
            dossier_id: keep(context.dossier_id),
            purpose: keep(context.purpose),
            officer_id: keep(context.officer_id),
            load_test: context.load_test,
            call_id: (!call_id.is_empty()).then(|| call_id.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::AgencyDirectory;

    fn desk() -> std::sync::Arc<Agency> {
        AgencyDirectory::development()
            .by_id("one-stop-phuong-ba-dinh")
            .unwrap()
    }

    #[test]
    fn load_tests_are_a_permission() {
        let context = proto::RequestContext {
            dossier_id: "D".into(),
            purpose: "p".into(),
            officer_id: "o".into(),
            load_test: true,
            call_id: String::new(),
        };
        assert!(matches!(
            RequestContext::from_proto(Some(context.clone()), &desk()),
            Err(ApiError::LoadTestNotAllowed { .. })
        ));
        let simulation = AgencyDirectory::development().by_id("simulation").unwrap();
        assert!(
            RequestContext::from_proto(Some(context), &simulation)
                .unwrap()
                .load_test
        );
    }

    #[test]
    fn refuses_control_and_bidi_characters_naming_the_field() {
        let fine = proto::RequestContext {
            dossier_id: "D".into(),
            purpose: "kiểm tra".into(),
            officer_id: "cb01".into(),
            load_test: false,
            call_id: "run/D/v0".into(),
        };
        assert!(RequestContext::from_proto(Some(fine.clone()), &desk()).is_ok());
        for (context, named) in [
            (
                proto::RequestContext {
                    officer_id: "cb\0".into(),
                    ..fine.clone()
                },
                "context.officer_id",
            ),
            (
                proto::RequestContext {
                    dossier_id: "D\u{202E}1".into(),
                    ..fine.clone()
                },
                "context.dossier_id",
            ),
            (
                proto::RequestContext {
                    call_id: "v0\u{7f}".into(),
                    ..fine.clone()
                },
                "context.call_id",
            ),
            (
                proto::RequestContext {
                    purpose: "line\nforged".into(),
                    ..fine.clone()
                },
                "context.purpose",
            ),
        ] {
            match RequestContext::from_proto(Some(context), &desk()) {
                Err(error @ ApiError::InvalidField { field, .. }) => {
                    assert_eq!(field, named);
                    assert_eq!(error.reason(), crate::reason::Reason::FieldInvalid);
                    assert_eq!(error.code(), tonic::Code::InvalidArgument);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn names_every_missing_field() {
        let err = RequestContext::from_proto(
            Some(proto::RequestContext {
                call_id: String::new(),
                dossier_id: " ".into(),
                purpose: "kiểm tra".into(),
                officer_id: String::new(),
                load_test: false,
            }),
            &desk(),
        )
        .unwrap_err();
        match err {
            ApiError::ContextIncomplete { missing } => {
                assert_eq!(missing, vec!["context.dossier_id", "context.officer_id"])
            }
            other => panic!("{other:?}"),
        }
        assert!(RequestContext::from_proto(None, &desk()).is_err());
        let long = proto::RequestContext {
            call_id: String::new(),
            dossier_id: "x".repeat(129),
            purpose: "p".into(),
            officer_id: "o".into(),
            load_test: false,
        };
        assert!(matches!(
            RequestContext::from_proto(Some(long), &desk()),
            Err(ApiError::ContextTooLong {
                field: "context.dossier_id",
                ..
            })
        ));
    }
}
