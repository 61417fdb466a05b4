//! The newer OpenID Connect scheme Kontur's SDK recommends since v2.21.1: client credentials at
//! Kontur's identity provider, then `Authorization: Bearer <access_token>`.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::HttpSettings;
use auth_core::provider::{LazyClient, read_body_limited};
use auth_core::{AuthError, Credential, CredentialSource, Identity};
use http::StatusCode;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::config::parse_base_url;
use crate::{PROVIDER, TOKEN_MAX_BYTES};

/// Kontur's production identity provider.
pub const IDENTITY_PRODUCTION_URL: &str = "https://identity.kontur.ru";
/// Kontur's test identity provider.
pub const IDENTITY_TEST_URL: &str = "https://identity.testkontur.ru";
/// Used when a token answer has no `expires_in`: 5 minutes, so a missing field costs an early
/// refresh rather than a rejected request.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);

/// Client-credentials settings for Kontur's identity provider.
#[derive(Clone)]
pub struct KonturOidcConfig {
    identity_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    http: HttpSettings,
}

impl fmt::Debug for KonturOidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturOidcConfig")
            .field("identity_url", &self.identity_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("scope", &self.scope)
            .finish()
    }
}

impl KonturOidcConfig {
    /// Settings for `client_id` (the service name) and `client_secret` (the API key) asking for
    /// `scope` (EDI scope names are not documented publicly; community code uses
    /// `edi-public-api-production` / `edi-public-api-staging`). Identity URL defaults to
    /// [`IDENTITY_PRODUCTION_URL`].
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        scope: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let client_id = client_id.into();
        let scope = scope.into();
        if client_id.is_empty() {
            return Err(AuthError::config(
                PROVIDER,
                "the OpenID Connect client id is empty",
            ));
        }
        if client_secret.expose_secret().is_empty() {
            return Err(AuthError::config(
                PROVIDER,
                "the OpenID Connect client secret is empty",
            ));
        }
        Ok(Self {
            identity_url: parse_base_url(IDENTITY_PRODUCTION_URL)?,
            client_id,
            client_secret,
            scope,
            http: HttpSettings::default(),
        })
    }

    /// Uses another identity provider ([`IDENTITY_TEST_URL`], or an emulator).
    pub fn identity_url(mut self, url: &str) -> Result<Self, AuthError> {
        self.identity_url = parse_base_url(url)?;
        Ok(self)
    }

    /// Connection settings. Default [`HttpSettings::default`].
    pub fn http(mut self, http: HttpSettings) -> Self {
        self.http = http;
        self
    }
}

/// The OpenID Connect credential source: `POST /connect/token` with
/// `grant_type=client_credentials`, expiry from `expires_in`.
pub struct KonturOidcSource {
    config: KonturOidcConfig,
    identity: Identity,
    http: LazyClient,
}

impl fmt::Debug for KonturOidcSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturOidcSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl KonturOidcSource {
    /// A source for `config`.
    pub fn new(config: KonturOidcConfig) -> Self {
        let identity = Identity::new(
            "kontur-oidc",
            [
                config.identity_url.as_str(),
                config.client_id.as_str(),
                config.scope.as_str(),
            ],
        );
        let http = LazyClient::new(PROVIDER, config.http.clone());
        Self {
            config,
            identity,
            http,
        }
    }
}

#[async_trait]
impl CredentialSource for KonturOidcSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        let url = self
            .config
            .identity_url
            .join("connect/token")
            .map_err(|error| AuthError::config(PROVIDER, format!("bad identity URL: {error}")))?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", self.config.client_secret.expose_secret())
            .append_pair("scope", &self.config.scope)
            .finish();
        let response = self
            .http
            .get()?
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let body = read_body_limited(PROVIDER, response, TOKEN_MAX_BYTES).await?;
        if status.is_redirection() {
            return Err(AuthError::protocol(
                PROVIDER,
                format!(
                    "the identity provider answered with a redirect (HTTP {}); token endpoints are not followed across redirects — check the identity URL",
                    status.as_u16()
                ),
            ));
        }
        if status != StatusCode::OK {
            if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED)
                && let Ok(error) = serde_json::from_slice::<ErrorAnswer>(&body)
            {
                return Err(AuthError::rejected(
                    PROVIDER,
                    Some(status.as_u16()),
                    format!(
                        "the identity provider refused the client credentials: {}{}",
                        error.error,
                        error
                            .error_description
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ),
                ));
            }
            return Err(AuthError::server(PROVIDER, status.as_u16(), &body));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|error| {
            AuthError::protocol(
                PROVIDER,
                format!("the token answer is not the expected JSON: {error}"),
            )
        })?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(AuthError::protocol(
                PROVIDER,
                format!("the token type is `{kind}`, expected Bearer"),
            ));
        }
        if answer.access_token.is_empty() {
            return Err(AuthError::protocol(PROVIDER, "the access token is empty"));
        }
        let lifetime = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_EXPIRES_IN);
        self.restore(
            SecretString::from(answer.access_token),
            SystemTime::now() + lifetime,
            &Default::default(),
        )
    }

    /// `Authorization: Bearer <token>`, for a new or a stored token.
    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        _extras: &std::collections::BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        let header = format!("Bearer {}", token.expose_secret());
        Credential::new(token, expires_at).with_header(PROVIDER, AUTHORIZATION, &header)
    }
}
