//! The [`CredentialSource`] for RuStore: sign `keyId + timestamp`, trade it for a JWE at
//! `/public/auth/`, and carry the JWE as `Public-Token`.

use std::fmt;
use std::time::SystemTime;

use auth_core::HttpSettings;
use auth_core::provider::{LazyClient, MAX_BODY, read_body_limited};
use auth_core::{
    AuthError, Credential, CredentialSource, ExposeSecret as _, Identity, SecretString,
};
use time::OffsetDateTime;

use crate::PROVIDER;
use crate::config::RustoreConfig;
use crate::protocol::{
    AuthRequest, format_timestamp, interpret_auth_answer, public_token_header_name, signing_message,
};

/// Obtains RuStore tokens for one API key.
///
/// A rejection is HTTP 401 (the default of [`CredentialSource::is_rejection`]); a 403 means the
/// key lacks rights for that method or app, which a new token would not fix, so it goes back to
/// the caller as it is. The token lives the answer's `ttl` (900 s when absent), counted from
/// when the request was sent; the cache refreshes it 60 s (plus jitter) before that.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// # let emulator = rustore_auth::testkit::Emulator::start().await;
/// # let resource = emulator.resource_url();
/// use rustore_auth::RustoreSource;
///
/// let config = emulator.config(); // or RustoreConfig::builder()...build()?
/// let client = RustoreSource::new(config).into_client()?;
/// let answer = client.get(&resource).await?; // carries Public-Token
/// assert_eq!(answer.status(), 200);
/// assert_eq!(emulator.auth_requests(), 1);
/// # Ok(()) }
/// ```
pub struct RustoreSource {
    config: RustoreConfig,
    identity: Identity,
    http: LazyClient,
}

impl RustoreSource {
    /// A source for `config`. No connection is made until the first token is needed.
    pub fn new(config: RustoreConfig) -> Self {
        // The base URL without its trailing slash, as stores have always keyed RuStore tokens.
        let base_url = config.base_url().as_str().trim_end_matches('/');
        let identity = Identity::new(PROVIDER, [base_url, config.key_id()]);
        let http = LazyClient::new(PROVIDER, config.http_settings().clone());
        Self {
            config,
            identity,
            http,
        }
    }

    /// The settings.
    pub fn config(&self) -> &RustoreConfig {
        &self.config
    }

    /// The token request for `timestamp` (sent exactly as given), signed with the key.
    pub fn signed_request(&self, timestamp: &str) -> Result<AuthRequest, AuthError> {
        let key_id = self.config.key_id();
        let message = signing_message(key_id, timestamp);
        let signature = self.config.private_key().sign_base64(message.as_bytes())?;
        Ok(AuthRequest {
            key_id: key_id.to_owned(),
            timestamp: timestamp.to_owned(),
            signature: SecretString::from(signature),
        })
    }

    /// Asks RuStore for a new token now (bypassing any cache).
    pub async fn request_token(&self) -> Result<Credential, AuthError> {
        let timestamp = format_timestamp(OffsetDateTime::now_utc());
        let request = self.signed_request(&timestamp)?;
        let body = serde_json::to_vec(&request).map_err(|error| {
            AuthError::protocol(PROVIDER, format!("could not encode the request: {error}"))
        })?;
        let client = self.http.get()?;
        tracing::debug!(key_id = self.config.key_id(), %timestamp, "requesting a RuStore token");
        let sent_at = SystemTime::now();
        let response = client
            .post(self.config.auth_url())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let answer = read_body_limited(PROVIDER, response, MAX_BODY).await?;
        let issued = interpret_auth_answer(status, &answer, &request.timestamp)?;
        tracing::debug!(
            ttl_s = issued.ttl.as_secs(),
            ttl_from_answer = issued.ttl_from_answer,
            "RuStore token issued"
        );
        self.credential_for(issued.jwe, sent_at + issued.ttl)
    }

    /// `Public-Token: <JWE>`, for a new or a stored token.
    fn credential_for(
        &self,
        jwe: SecretString,
        expires_at: SystemTime,
    ) -> Result<Credential, AuthError> {
        let header_value = jwe.expose_secret().to_owned();
        Credential::new(jwe, expires_at).with_header(
            PROVIDER,
            public_token_header_name(),
            &header_value,
        )
    }
}

auth_core::provider::source_shortcuts!(RustoreSource);

impl fmt::Debug for RustoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustoreSource")
            .field("config", &self.config)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

#[auth_core::async_trait]
impl CredentialSource for RustoreSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's settings, so API calls trust the same extra roots as the token request.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        self.request_token().await
    }

    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        _extras: &std::collections::BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        self.credential_for(token, expires_at)
    }

    fn api_origins(&self) -> Vec<url::Url> {
        vec![self.config.base_url().clone()]
    }
}
