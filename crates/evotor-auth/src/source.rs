//! The Cloud token as a [`CredentialSource`]: read from the store, put on each request by path.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::HttpSettings;
use auth_core::{AuthError, Credential, CredentialSource, Identity};
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{EvotorConfig, V2Auth};
use crate::protocol::{self, ApiVersion, V2_MEDIA_TYPE, X_AUTHORIZATION};
use crate::{PROVIDER, UserId, error};

/// The extra under which the credential keeps the `Authorization: Bearer` value for v2 paths.
const BEARER_EXTRA: &str = "bearer";

/// The Evotor Cloud token of one user, as a credential source.
///
/// - [`acquire`](CredentialSource::acquire) reads the latest token from where the config says
///   ([`EvotorConfigBuilder::cloud_tokens`](crate::EvotorConfigBuilder::cloud_tokens) or
///   [`cloud_token`](crate::EvotorConfigBuilder::cloud_token)); there is no refresh call in
///   Evotor. With no token delivered yet it fails with [`AuthError::Rejected`] saying the Cloud
///   has not delivered one.
/// - The credential "expires" after [`EvotorConfig::token_lifetime`] (24 h by default) only so
///   the store is consulted again now and then; Cloud tokens have no published lifetime.
/// - HTTP 401 is a rejection: [`auth_core::AuthClient`] invalidates the credential, reads the
///   store again (a newer token may have arrived through `/user/token`) and retries once.
/// - [`apply`](CredentialSource::apply) writes `X-Authorization: <token>` on `/api/v1/...` and,
///   elsewhere (v2), `Authorization: Bearer <token>` plus `Accept: application/vnd.evotor.v2+json`
///   (unless the request already has an `Accept`); see [`V2Auth`] for the alternatives.
///
/// The credential's own headers (what `cache.get()` hands a caller of another HTTP client) are
/// the v1 form, `X-Authorization: <token>`.
///
/// # Example
///
/// Against the crate's [emulator](crate::testkit::Emulator), which stands in for
/// `api.evotor.ru`:
///
/// ```
/// use evotor_auth::{EvotorConfig, EvotorSource};
/// # use evotor_auth::testkit::{DEMO_USER_ID, Emulator};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// # let emulator = Emulator::start().await;
/// # let base_url = emulator.base_url();
/// # let token = emulator.issue_cloud_token(&evotor_auth::UserId::parse(DEMO_USER_ID).unwrap());
/// let config = EvotorConfig::builder()
///     .base_url(&base_url)
///     .user_id("01-000000000000001")
///     .cloud_token(token)
///     .build()?;
/// let client = EvotorSource::new(config).into_client()?;
/// // v1: X-Authorization; v2 (`/stores`): Authorization: Bearer and the v2 media type.
/// let v1 = client.get(format!("{base_url}api/v1/inventories/stores/search")).await?;
/// let v2 = client.get(format!("{base_url}stores")).await?;
/// assert_eq!((v1.status().as_u16(), v2.status().as_u16()), (200, 200));
/// # Ok(()) }
/// ```
pub struct EvotorSource {
    config: EvotorConfig,
    identity: Identity,
}

impl EvotorSource {
    /// A source over `config` (already checked by [`build`](crate::EvotorConfigBuilder::build)).
    /// The identity is the base URL and the user id (`-` for a fixed token given without
    /// one), never the token.
    pub fn new(config: EvotorConfig) -> Self {
        let identity = Identity::new(
            PROVIDER,
            [config.base_url.as_str(), config.user_id.as_str()],
        );
        Self { config, identity }
    }

    /// The settings.
    pub fn config(&self) -> &EvotorConfig {
        &self.config
    }

    /// The user whose token this source hands out.
    pub fn user_id(&self) -> &UserId {
        &self.config.user_id
    }

    /// The credential for `token`, without any store: `X-Authorization: <token>`, good for the
    /// configured lifetime.
    pub fn credential_for(&self, token: &str) -> Result<Credential, AuthError> {
        self.credential_until(token, SystemTime::now() + self.config.token_lifetime)
    }

    /// The credential for `token` good until `expires_at`; its headers (and the Bearer value
    /// for v2 paths) are built from the token alone.
    fn credential_until(
        &self,
        token: &str,
        expires_at: SystemTime,
    ) -> Result<Credential, AuthError> {
        if !protocol::is_header_safe_token(token) {
            return Err(error::unusable_cloud_token(self.user_id()));
        }
        Credential::new(SecretString::from(token.to_owned()), expires_at)
            .with_extra(
                BEARER_EXTRA,
                SecretString::from(protocol::bearer_value(token)),
            )
            .with_header(
                PROVIDER,
                X_AUTHORIZATION,
                &protocol::x_authorization_value(token),
            )
    }
}

impl fmt::Debug for EvotorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvotorSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

auth_core::provider::source_shortcuts!(EvotorSource);

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[async_trait]
impl CredentialSource for EvotorSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's connection settings, for the API client too.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
    }

    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        let user_id = self.user_id();
        let token = self
            .config
            .cloud_tokens
            .cloud_token(user_id)
            .await?
            .ok_or_else(|| error::no_cloud_token(user_id))?;
        if let Some(previous) = previous
            && previous.token().expose_secret() == token.expose_secret()
        {
            tracing::debug!(user = %user_id, "the store still holds the same Cloud token");
        }
        self.credential_for(token.expose_secret())
    }

    /// A stored credential: `X-Authorization` and the v2 Bearer value are rebuilt from the
    /// token (a stored Bearer value is never used).
    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        _extras: &std::collections::BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        self.credential_until(token.expose_secret(), expires_at)
    }

    fn api_origins(&self) -> Vec<url::Url> {
        vec![self.config.base_url.clone()]
    }

    fn apply(&self, credential: &Credential, path: &str, headers: &mut HeaderMap) {
        let version = protocol::api_version(self.config.base_url.path(), path);
        let x_authorization = credential.headers().get(&X_AUTHORIZATION).cloned();
        let bearer = credential
            .extra(BEARER_EXTRA)
            .and_then(|value| sensitive(value.expose_secret()));
        match version {
            ApiVersion::V1 => {
                if let Some(value) = x_authorization {
                    headers.insert(X_AUTHORIZATION, value);
                }
            }
            ApiVersion::V2 => {
                let (send_x, send_bearer) = match self.config.v2_auth {
                    V2Auth::Bearer => (false, true),
                    V2Auth::XAuthorization => (true, false),
                    V2Auth::Both => (true, true),
                };
                if send_x && let Some(value) = x_authorization {
                    headers.insert(X_AUTHORIZATION, value);
                }
                if send_bearer && let Some(value) = bearer {
                    headers.insert(AUTHORIZATION, value);
                }
                if !headers.contains_key(ACCEPT) {
                    headers.insert(ACCEPT, HeaderValue::from_static(V2_MEDIA_TYPE));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(v2_auth: V2Auth) -> EvotorSource {
        let config = EvotorConfig::builder()
            .v2_auth(v2_auth)
            .cloud_token(SecretString::from("f46b89a5-8e80-4591-b0aa-94551790444b"))
            .build()
            .unwrap();
        EvotorSource::new(config)
    }

    async fn applied(source: &EvotorSource, path: &str) -> HeaderMap {
        let credential = source.acquire(None).await.unwrap();
        let mut headers = HeaderMap::new();
        source.apply(&credential, path, &mut headers);
        headers
    }

    #[tokio::test]
    async fn v1_paths_get_x_authorization_only() {
        let headers = applied(&source(V2Auth::Bearer), "/api/v1/inventories/stores/search").await;
        assert_eq!(
            headers["x-authorization"],
            "f46b89a5-8e80-4591-b0aa-94551790444b"
        );
        assert!(headers["x-authorization"].is_sensitive());
        assert!(!headers.contains_key(AUTHORIZATION));
        assert!(!headers.contains_key(ACCEPT));
    }

    #[tokio::test]
    async fn v2_paths_get_bearer_and_the_v2_media_type() {
        let headers = applied(&source(V2Auth::Bearer), "/stores").await;
        assert_eq!(
            headers[AUTHORIZATION],
            "Bearer f46b89a5-8e80-4591-b0aa-94551790444b"
        );
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[ACCEPT], "application/vnd.evotor.v2+json");
        assert!(!headers.contains_key("x-authorization"));
    }

    #[tokio::test]
    async fn the_switch_sends_x_authorization_on_v2_too() {
        let headers = applied(&source(V2Auth::XAuthorization), "/stores").await;
        assert_eq!(
            headers["x-authorization"],
            "f46b89a5-8e80-4591-b0aa-94551790444b"
        );
        assert!(!headers.contains_key(AUTHORIZATION));
        let both = applied(&source(V2Auth::Both), "/devices").await;
        assert!(both.contains_key("x-authorization") && both.contains_key(AUTHORIZATION));
    }

    #[tokio::test]
    async fn an_accept_the_caller_chose_is_kept() {
        let source = source(V2Auth::Bearer);
        let credential = source.acquire(None).await.unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.evotor.v2+bulk+json"),
        );
        source.apply(&credential, "/bulks/1", &mut headers);
        assert_eq!(headers[ACCEPT], "application/vnd.evotor.v2+bulk+json");
    }

    #[tokio::test]
    async fn debug_hides_the_token() {
        let source = source(V2Auth::Bearer);
        let credential = source.acquire(None).await.unwrap();
        let text = format!("{source:?} {credential:?}");
        assert!(!text.contains("f46b89a5"), "{text}");
    }

    #[tokio::test]
    async fn header_unsafe_tokens_are_refused() {
        let config = EvotorConfig::builder()
            .cloud_token(SecretString::from("a\r\nX-Evil: 1"))
            .build()
            .unwrap();
        let source = EvotorSource::new(config);
        let error = source.acquire(None).await.unwrap_err();
        assert!(!error.to_string().contains("X-Evil"), "{error}");
    }
}
