//! The trait each provider implements: how a credential is obtained, applied and rejected.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use url::Url;

use crate::{AuthError, Credential, HttpSettings, Identity, RefreshPolicy};

/// A response as a [`CredentialSource`] sees it when judging whether it is a rejection.
#[derive(Debug, Clone, Copy)]
pub struct ResponseView<'a> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The body, present only when the source asked for it with
    /// [`CredentialSource::inspects_body`].
    pub body: Option<&'a [u8]>,
}

/// How one provider obtains credentials and what its rejection looks like.
///
/// Implemented by every provider crate (`KonturSource`, `RustoreSource`, ...). It speaks `http`
/// types only, so it does not tie users to one reqwest version; the reqwest glue is
/// [`crate::AuthClient`]. An `Arc` of a source is a source too.
#[async_trait]
pub trait CredentialSource: Any + Send + Sync {
    /// The non-secret identity of the account (store key).
    fn identity(&self) -> &Identity;

    /// Obtains a fresh credential from the provider.
    ///
    /// `previous` is the last credential known for this identity (possibly expired or just
    /// rejected) so a provider with refresh tokens can refresh instead of logging in again.
    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError>;

    /// Rebuilds a credential from what a store kept of it: the token, its expiry and the
    /// provider's own fields (`extras`). Each provider builds its request headers here from the
    /// token exactly as [`acquire`](Self::acquire) does; a store's entry never supplies headers,
    /// so whoever can write the store cannot make requests carry headers of their choosing.
    ///
    /// The default refuses (a configuration error): a source that does not implement it gets
    /// no reuse of stored credentials, and authenticates afresh in each process instead.
    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        extras: &BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        let _ = (token, expires_at, extras);
        Err(AuthError::config(
            self.identity().provider(),
            "this credential source cannot rebuild a stored credential (CredentialSource::restore is not implemented)",
        ))
    }

    /// The API origins this source's credential is meant for (the origin of its base URL), as
    /// URLs (only scheme, host and port count). [`crate::AuthClient`] sends the credential to
    /// these origins only, plus any it is told to allow. The default is none: a client over such
    /// a source allows only the origins it is given.
    fn api_origins(&self) -> Vec<Url> {
        Vec::new()
    }

    /// When a cache over this source refreshes and how it backs off, unless its builder is given
    /// another policy ([`CacheBuilder::policy`](crate::CacheBuilder::policy)). Defaults to
    /// [`RefreshPolicy::default`]; a provider whose tokens live shortly overrides it (Waves: 30 s
    /// before `exp`).
    fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy::default()
    }

    /// The connection settings for the provider's API (timeouts, extra root certificates), which
    /// [`AuthClient::new`](crate::AuthClient::new) builds its HTTP client with. Defaults to
    /// [`HttpSettings::default`]; a provider answers its config's settings.
    fn http_settings(&self) -> HttpSettings {
        HttpSettings::default()
    }

    /// Whether the provider rejected the credential a request carried. Defaults to HTTP 401.
    fn is_rejection(&self, response: &ResponseView<'_>) -> bool {
        response.status == StatusCode::UNAUTHORIZED
    }

    /// Whether [`is_rejection`](Self::is_rejection) needs the body (Bank Alliance signals
    /// rejection inside HTTP 200 answers). Defaults to `false`: bodies stay streaming.
    fn inspects_body(&self) -> bool {
        false
    }

    /// Whether two processes may acquire for this account at the same time without harm. Used
    /// only when a shared store is unavailable: `true` (the default) acquires without the
    /// store's lock; `false` fails with the store's error instead. A provider answers `false`
    /// when a new acquisition ends the others' sessions (Bank Alliance) or spends single-use
    /// state (Waves refresh tokens).
    fn parallel_acquisition_is_safe(&self) -> bool {
        true
    }

    /// Puts the credential on a request to `path`. Defaults to copying
    /// [`Credential::headers`]; a provider overrides it for per-request headers (Alliance's
    /// `x-request_id`) or path-dependent ones (Evotor's v1/v2 APIs).
    fn apply(&self, credential: &Credential, path: &str, headers: &mut HeaderMap) {
        let _ = path;
        for (name, value) in credential.headers() {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// A shared source is a source: every method goes to the one inside.
#[async_trait]
impl<S: CredentialSource + ?Sized> CredentialSource for Arc<S> {
    fn identity(&self) -> &Identity {
        (**self).identity()
    }

    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        (**self).acquire(previous).await
    }

    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        extras: &BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        (**self).restore(token, expires_at, extras)
    }

    fn api_origins(&self) -> Vec<Url> {
        (**self).api_origins()
    }

    fn refresh_policy(&self) -> RefreshPolicy {
        (**self).refresh_policy()
    }

    fn http_settings(&self) -> HttpSettings {
        (**self).http_settings()
    }

    fn is_rejection(&self, response: &ResponseView<'_>) -> bool {
        (**self).is_rejection(response)
    }

    fn inspects_body(&self) -> bool {
        (**self).inspects_body()
    }

    fn parallel_acquisition_is_safe(&self) -> bool {
        (**self).parallel_acquisition_is_safe()
    }

    fn apply(&self, credential: &Credential, path: &str, headers: &mut HeaderMap) {
        (**self).apply(credential, path, headers)
    }
}
