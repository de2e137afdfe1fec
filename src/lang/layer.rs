//! The language of the call being served: read from the request's `accept-language` metadata by
//! [`LanguageLayer`], outermost on the server, and kept for the whole of the call's future (and
//! of the inner services' `call`) in a task-local, which `From<ApiError> for Status` reads
//! ([`caller_language`]) to add the Vietnamese `LocalizedMessage` the caller asked for. An error
//! made outside a call (on another task, at start-up) is English only.

use std::task::{Context, Poll};

use tokio::task::futures::TaskLocalFuture;
use tower_layer::Layer;
use tower_service::Service;

use super::{Language, ACCEPT_LANGUAGE};

tokio::task_local! {
    /// The language the caller of the call being served asked for.
    static CALLER: Language;
}

/// The language the caller of the call being served asked for; English outside a call.
pub(crate) fn caller_language() -> Language {
    CALLER.try_with(|language| *language).unwrap_or_default()
}

/// `future`, run as serving a caller who asked for `language` (the gateway's dispatch, which
/// reads the header itself).
pub(crate) fn serving_in<F: std::future::Future>(
    language: Language,
    future: F,
) -> TaskLocalFuture<Language, F> {
    CALLER.scope(language, future)
}

/// Runs `f` as if serving a caller who asked for `language` (tests and other entry points).
#[cfg(test)]
pub(crate) fn as_caller<T>(language: Language, f: impl FnOnce() -> T) -> T {
    CALLER.sync_scope(language, f)
}

/// Reads each request's `accept-language` and serves it in that language.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LanguageLayer;

impl<S> Layer<S> for LanguageLayer {
    type Service = WithLanguage<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithLanguage { inner }
    }
}

/// The service [`LanguageLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub(crate) struct WithLanguage<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for WithLanguage<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Language, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let language = request
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map_or(Language::English, Language::from_accept_language);
        let future = CALLER.sync_scope(language, || self.inner.call(request));
        CALLER.scope(language, future)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_language_is_english_outside_a_call() {
        assert_eq!(caller_language(), Language::English);
        assert_eq!(
            as_caller(Language::Vietnamese, caller_language),
            Language::Vietnamese
        );
    }
}
