//! Getting a token from `POST /V1/Authenticate`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::HttpSettings;
use auth_core::provider::{LazyClient, read_body_limited};
use auth_core::{AuthError, Credential, CredentialSource, Identity};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH};
use http::{HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use crate::config::KonturConfig;
use crate::error;
use crate::protocol::{self, AUTHENTICATE_PATH};
use crate::{PROVIDER, TOKEN_MAX_BYTES};

/// The `KonturEdiAuth` credential source: authenticates with the developer key, login and
/// password, and hands out `Authorization: KonturEdiAuth konturediauth_api_client_id=…,konturediauth_token=…`
/// valid for the configured lifetime (12 h). HTTP 401 means the token was rejected. The
/// credential goes to the base URL's origin only ([`CredentialSource::api_origins`]).
///
/// # Example
///
/// ```
/// use kontur_auth::KonturSource;
/// # use kontur_auth::testkit::Emulator;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = Emulator::start().await;
/// # let config = emulator.config();
/// // `config` is a `KonturConfig` (see `KonturConfig::builder`), here one for the emulator.
/// let client = KonturSource::new(config).into_client()?;
/// let boxes = client
///     .get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()))
///     .await?;
/// assert_eq!(boxes.status(), 200);
///
/// // The source itself, from the client: the account it authenticates.
/// let source = client.cache().source_as::<KonturSource>().expect("a Kontur client");
/// assert_eq!(source.config().login(), "demo@example.com");
/// # Ok(()) }
/// ```
pub struct KonturSource {
    config: KonturConfig,
    identity: Identity,
    http: LazyClient,
}

impl KonturSource {
    /// A source for the account in `config`.
    pub fn new(config: KonturConfig) -> Self {
        let identity = Identity::new(
            PROVIDER,
            [
                config.base_url.as_str(),
                config.api_client_id.as_str(),
                config.login.as_str(),
            ],
        );
        let http = LazyClient::new(PROVIDER, config.http_settings.clone());
        Self {
            config,
            identity,
            http,
        }
    }

    /// The account's settings.
    pub fn config(&self) -> &KonturConfig {
        &self.config
    }

    /// Authenticates once, without any caching: the raw exchange.
    pub async fn authenticate(&self) -> Result<Credential, AuthError> {
        let url = self
            .config
            .base_url
            .join(AUTHENTICATE_PATH)
            .map_err(|error| AuthError::config(PROVIDER, format!("bad base URL: {error}")))?;
        let mut authorization = HeaderValue::from_str(&protocol::authenticate_header(
            &self.config.api_client_id,
            &self.config.login,
            self.config.password.expose_secret(),
        ))
        .map_err(|_| AuthError::config(PROVIDER, "the credentials cannot form a header"))?;
        authorization.set_sensitive(true);
        let response = self
            .http
            .get()?
            .post(url)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header(CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let body = read_body_limited(PROVIDER, response, TOKEN_MAX_BYTES).await?;
        match status {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(error::authenticate_refused(status.as_u16(), &body));
            }
            status if status.is_redirection() => {
                return Err(error::token_endpoint_redirect(
                    "Authenticate",
                    status.as_u16(),
                    "base URL",
                ));
            }
            status => return Err(AuthError::server(PROVIDER, status.as_u16(), &body)),
        }
        let token = std::str::from_utf8(&body)
            .map_err(|_| error::not_a_token("the token is not UTF-8 text"))?
            .trim_end();
        if token.is_empty() {
            return Err(error::not_a_token(
                "Authenticate answered 200 with an empty body instead of a token",
            ));
        }
        // Tokens are base64-like; quotes, braces and angle brackets mean JSON or an error page.
        if token.chars().any(|c| {
            c.is_control() || c.is_whitespace() || matches!(c, ',' | '"' | '<' | '>' | '{' | '}')
        }) {
            return Err(error::not_a_token(
                "the answer to Authenticate is not a token (it contains spaces, commas, quotes, braces, angle brackets or control characters: an error page or JSON?)",
            ));
        }
        self.credential_for(
            SecretString::from(token.to_owned()),
            SystemTime::now() + self.config.token_lifetime,
        )
    }

    /// The credential for `token`: `Authorization: KonturEdiAuth …` built from the token and
    /// the configured developer key (also what a stored credential is rebuilt with).
    fn credential_for(
        &self,
        token: SecretString,
        expires_at: SystemTime,
    ) -> Result<Credential, AuthError> {
        let header = protocol::token_header(&self.config.api_client_id, token.expose_secret());
        Credential::new(token, expires_at).with_header(PROVIDER, AUTHORIZATION, &header)
    }
}

auth_core::provider::source_shortcuts!(KonturSource);

impl fmt::Debug for KonturSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CredentialSource for KonturSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's connection settings, for the API client too.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        self.authenticate().await
    }

    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        _extras: &BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        self.credential_for(token, expires_at)
    }

    fn api_origins(&self) -> Vec<url::Url> {
        vec![self.config.base_url.clone()]
    }
}
