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

use crate::config::{PRODUCTION_URL, parse_base_url, required};
use crate::error;
use crate::{PROVIDER, TOKEN_MAX_BYTES};

/// Kontur's production identity provider.
pub const IDENTITY_PRODUCTION_URL: &str = "https://identity.kontur.ru";
/// Kontur's test identity provider.
pub const IDENTITY_TEST_URL: &str = "https://identity.testkontur.ru";
/// Used when a token answer has no `expires_in`: 5 minutes, so a missing field costs an early
/// refresh rather than a rejected request.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);

/// Client-credentials settings for Kontur's identity provider, validated when built.
///
/// Build with [`KonturOidcConfig::builder`]: the client id (the service name), its secret (the
/// API key) and the scope are required; the identity provider defaults to
/// [`IDENTITY_PRODUCTION_URL`] and the API the token is for to [`PRODUCTION_URL`].
#[derive(Clone)]
pub struct KonturOidcConfig {
    identity_url: Url,
    base_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    http_settings: HttpSettings,
}

impl fmt::Debug for KonturOidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturOidcConfig")
            .field("identity_url", &self.identity_url.as_str())
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("scope", &self.scope)
            .finish()
    }
}

impl KonturOidcConfig {
    /// A builder; the identity provider defaults to [`IDENTITY_PRODUCTION_URL`], the API to
    /// [`PRODUCTION_URL`].
    ///
    /// # Example
    ///
    /// ```
    /// use auth_core::SecretString;
    /// use kontur_auth::{KonturOidcConfig, KonturOidcSource};
    /// # use kontur_auth::testkit::{DEMO_OIDC_CLIENT, DEMO_OIDC_SECRET, Emulator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = Emulator::start().await;
    /// # let (identity_url, base_url) = (emulator.base_url(), emulator.base_url());
    /// # let (service, api_key) = (DEMO_OIDC_CLIENT, SecretString::from(DEMO_OIDC_SECRET));
    /// let config = KonturOidcConfig::builder()
    ///     .identity_url(identity_url) // default IDENTITY_PRODUCTION_URL
    ///     .base_url(base_url) // the API the token is for; default PRODUCTION_URL
    ///     .client_id(service)
    ///     .client_secret(api_key)
    ///     .scope("edi-public-api-staging")
    ///     .build()?;
    /// let client = KonturOidcSource::new(config).into_client()?;
    /// let boxes = client
    ///     .get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()))
    ///     .await?;
    /// assert_eq!(boxes.status(), 200);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> KonturOidcConfigBuilder {
        KonturOidcConfigBuilder::default()
    }

    /// The identity provider's base URL.
    pub fn identity_url(&self) -> &Url {
        &self.identity_url
    }

    /// The API base URL: where the token is sent ([`CredentialSource::api_origins`]).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The client id (the service name).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scope asked for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The connection settings (timeouts, extra roots).
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http_settings
    }
}

/// Builds a [`KonturOidcConfig`].
#[derive(Default)]
pub struct KonturOidcConfigBuilder {
    identity_url: Option<String>,
    base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    scope: Option<String>,
    http_settings: HttpSettings,
}

impl fmt::Debug for KonturOidcConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturOidcConfigBuilder")
            .field("identity_url", &self.identity_url)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl KonturOidcConfigBuilder {
    /// The identity provider. Default [`IDENTITY_PRODUCTION_URL`]; [`IDENTITY_TEST_URL`] for
    /// the test environment, or an emulator.
    pub fn identity_url(mut self, url: impl Into<String>) -> Self {
        self.identity_url = Some(url.into());
        self
    }

    /// The API base URL the token is for: the only origin it is sent to. Default
    /// [`PRODUCTION_URL`]; [`TEST_URL`](crate::TEST_URL) for the test environment.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The client id: the service name from Kontur's developer portal. Required.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret: the service's API key. Required.
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The scope to ask for. Required: EDI scope names are not documented publicly (community
    /// code uses `edi-public-api-production` / `edi-public-api-staging`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Connection settings (timeouts, extra roots). Default [`HttpSettings::default`].
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http_settings = settings;
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<KonturOidcConfig, AuthError> {
        let client_id = required(
            self.client_id,
            "OpenID Connect client id",
            "KonturOidcConfigBuilder::client_id",
        )?;
        let client_secret = self
            .client_secret
            .filter(|secret| !secret.expose_secret().is_empty())
            .ok_or_else(|| {
                error::missing(
                    "OpenID Connect client secret",
                    "KonturOidcConfigBuilder::client_secret",
                )
            })?;
        let scope = self.scope.ok_or_else(|| {
            error::missing("OpenID Connect scope", "KonturOidcConfigBuilder::scope")
        })?;
        Ok(KonturOidcConfig {
            identity_url: parse_base_url(
                self.identity_url
                    .as_deref()
                    .unwrap_or(IDENTITY_PRODUCTION_URL),
            )?,
            base_url: parse_base_url(self.base_url.as_deref().unwrap_or(PRODUCTION_URL))?,
            client_id,
            client_secret,
            scope,
            http_settings: self.http_settings,
        })
    }
}

/// The OpenID Connect credential source: `POST /connect/token` with
/// `grant_type=client_credentials`, expiry from `expires_in`, then
/// `Authorization: Bearer <access_token>` to the API at the config's
/// [`base_url`](KonturOidcConfig::base_url) only ([`CredentialSource::api_origins`]).
///
/// # Example
///
/// ```
/// use kontur_auth::KonturOidcSource;
/// # use auth_core::SecretString;
/// # use kontur_auth::KonturOidcConfig;
/// # use kontur_auth::testkit::{DEMO_OIDC_CLIENT, DEMO_OIDC_SECRET, Emulator};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = Emulator::start().await;
/// # let config = KonturOidcConfig::builder()
/// #     .identity_url(emulator.base_url())
/// #     .base_url(emulator.base_url())
/// #     .client_id(DEMO_OIDC_CLIENT)
/// #     .client_secret(SecretString::from(DEMO_OIDC_SECRET))
/// #     .scope("edi-public-api-staging")
/// #     .build()?;
/// // `config` is a `KonturOidcConfig` (see `KonturOidcConfig::builder`).
/// let client = KonturOidcSource::new(config).into_client()?;
/// let parties = client
///     .get(format!("{}V1/Parties/GetAccessiblePartiesInfo", emulator.base_url()))
///     .await?;
/// assert_eq!(parties.status(), 200);
/// assert_eq!(emulator.token_requests(), 1);
/// # Ok(()) }
/// ```
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
    /// A source for `config`: never fails (the builder validated it).
    pub fn new(config: KonturOidcConfig) -> Self {
        let identity = Identity::new(
            "kontur-oidc",
            [
                config.identity_url.as_str(),
                config.client_id.as_str(),
                config.scope.as_str(),
            ],
        );
        let http = LazyClient::new(PROVIDER, config.http_settings.clone());
        Self {
            config,
            identity,
            http,
        }
    }
}

auth_core::provider::source_shortcuts!(KonturOidcSource);

#[async_trait]
impl CredentialSource for KonturOidcSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's connection settings, for the API client too.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
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
            return Err(error::token_endpoint_redirect(
                "the identity provider",
                status.as_u16(),
                "identity URL",
            ));
        }
        if status != StatusCode::OK {
            if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED)
                && let Ok(refusal) = serde_json::from_slice::<ErrorAnswer>(&body)
            {
                return Err(error::client_credentials_refused(
                    status.as_u16(),
                    &refusal.error,
                    refusal.error_description.as_deref(),
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

    fn api_origins(&self) -> Vec<Url> {
        vec![self.config.base_url.clone()]
    }
}
