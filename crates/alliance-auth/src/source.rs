//! The [`CredentialSource`]: a device session from `authorize_virtual_device`, and what a
//! rejection looks like (HTTP 401, or an auth `msgCode` in any answer, HTTP 200 included).

use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::HttpSettings;
use auth_core::provider::{LazyClient, read_body_limited};
use auth_core::{AuthError, Credential, CredentialSource, Identity, ResponseView};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use url::Url;
use uuid::Uuid;

use crate::config::AllianceConfig;
use crate::jwe;
use crate::protocol::{
    API_VERSION_HEADER, AUTHORIZE_PATH, AuthorizeRequest, DEVICE_ID_HEADER, ErrorEnvelope,
    REFRESH_TOKEN_HEADER, REQUEST_ID_HEADER, SERVER_OVERLOADED, SERVICE_CODE_CLOSED,
};
use crate::session::AllianceSession;
use crate::{AUTHORIZE_MAX_BYTES, PROVIDER};

/// Obtains Bank Alliance device sessions.
///
/// - [`acquire`](CredentialSource::acquire) calls `POST {base}/api-gateway/authorize_virtual_device`
///   with `x-api_version`, a fresh `x-request_id`, empty `x-device_id`/`x-refresh_token` (as the
///   official SDKs send them) and `{"serviceCode": …}`; decrypts the `{"jwe": …}` answer with the
///   authorization key (ECDH-ES+A256KW / A256GCM only) and turns the session into a
///   [`Credential`] (see [`AllianceSession::to_credential`]). There is no refresh endpoint:
///   every renewal is a new authorize, which ends the previous session at the bank.
/// - [`apply`](CredentialSource::apply) adds the session headers and a fresh `x-request_id`.
/// - [`is_rejection`](CredentialSource::is_rejection): HTTP 401, or `msgType: ERROR` with one of
///   the [`AUTH_MSG_CODES`](crate::protocol::AUTH_MSG_CODES), whatever the status. It reads
///   bodies ([`inspects_body`](CredentialSource::inspects_body) is `true`).
///
/// Because a new authorize ends the previous session, give the cache a store shared by every
/// process using the same service code (e.g. [`auth_core::store::FileStore`]): the cache then
/// takes the store's lock, reuses a session another process saved, and only one process
/// authorizes at a time.
///
/// # Example
///
/// ```
/// use alliance_auth::AllianceSource;
/// use auth_core::store::FileStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = alliance_auth::testkit::Emulator::start().await;
/// # let folder = tempfile::tempdir()?;
/// # let config = emulator.config();
/// # let url = emulator.url("ecom/execute_request/hpp/v1/operations");
/// // `config`: an `AllianceConfig` (see `AllianceConfig::builder`).
/// let store = FileStore::new(folder.path());
/// let cache = AllianceSource::new(config)
///     .into_cache_builder()
///     .store(std::sync::Arc::new(store))
///     .build();
/// let client = auth_core::AuthClient::new(cache)?;
/// let answer = client.get(&url).await?; // authorizes first, then sends the session headers
/// assert_eq!(answer.status(), 200);
/// # assert_eq!(emulator.authorizations(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AllianceSource {
    config: AllianceConfig,
    identity: Identity,
    authorize_url: Url,
    http: LazyClient,
}

impl AllianceSource {
    /// A source for `config`. Builds no HTTP client until the first authorize.
    pub fn new(config: AllianceConfig) -> Self {
        let identity = Identity::new(
            PROVIDER,
            [config.base_url.as_str(), config.service_code.as_str()],
        );
        let authorize_url = config
            .base_url
            .join(AUTHORIZE_PATH)
            .unwrap_or_else(|_| config.base_url.clone());
        let http = LazyClient::new(PROVIDER, config.http_settings.clone());
        Self {
            config,
            identity,
            authorize_url,
            http,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AllianceConfig {
        &self.config
    }

    /// The authorize endpoint's URL.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// One `authorize_virtual_device` call: a new session (the bank ends the previous one).
    pub async fn authorize(&self) -> Result<AllianceSession, AuthError> {
        let client = self.http.get()?;
        let body = serde_json::to_vec(&AuthorizeRequest {
            service_code: &self.config.service_code,
        })
        .map_err(|_| AuthError::config(PROVIDER, "the service code cannot be written as JSON"))?;
        let response = client
            .post(self.authorize_url.clone())
            .header(API_VERSION_HEADER, self.config.api_version.as_str())
            .header(REQUEST_ID_HEADER, Uuid::new_v4().to_string())
            .header(DEVICE_ID_HEADER, "")
            .header(REFRESH_TOKEN_HEADER, "")
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let issued_at = SystemTime::now();
        let body = read_body_limited(PROVIDER, response, AUTHORIZE_MAX_BYTES).await?;
        if let Some(envelope) = ErrorEnvelope::parse(&body) {
            return Err(authorize_error(status, &envelope));
        }
        if status.is_redirection() {
            return Err(AuthError::protocol(
                PROVIDER,
                format!(
                    "authorize_virtual_device answered with a redirect (HTTP {}); it is not followed with a service code — check the base URL",
                    status.as_u16()
                ),
            ));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(AuthError::rejected(
                PROVIDER,
                Some(status.as_u16()),
                format!(
                    "authorize_virtual_device refused the service code (answer: {})",
                    jwe::describe_shape(&body)
                ),
            ));
        }
        if !status.is_success() {
            // Described, not quoted: an authorize answer may carry a session in clear.
            let shape = jwe::describe_shape(&body);
            return Err(AuthError::server(
                PROVIDER,
                status.as_u16(),
                shape.as_bytes(),
            ));
        }
        let plaintext =
            jwe::decrypt_answer(&self.config.authorization_key, &body).map_err(|error| {
                AuthError::protocol(PROVIDER, format!("the authorize answer: {error}"))
            })?;
        let session = AllianceSession::from_payload(&plaintext, issued_at)?;
        tracing::debug!(
            remaining_s = session
                .expires_at()
                .duration_since(SystemTime::now())
                .map(|d| d.as_secs())
                .unwrap_or(0),
            "device session authorized"
        );
        Ok(session)
    }
}

auth_core::provider::source_shortcuts!(AllianceSource);

/// The error for an error envelope from `authorize_virtual_device`.
fn authorize_error(status: StatusCode, envelope: &ErrorEnvelope) -> AuthError {
    let code = envelope.msg_code.as_str();
    if code.eq_ignore_ascii_case(SERVICE_CODE_CLOSED) {
        return AuthError::rejected(
            PROVIDER,
            Some(status.as_u16()),
            format!(
                "authorize_virtual_device answered {code}: the service code has been closed because it was \
                 not used for more than 200 days. Only the bank can reopen it: contact Bank Alliance support \
                 (authorizing again will not help)"
            ),
        );
    }
    let summary = envelope.summary();
    let what = format!("authorize_virtual_device answered {summary}");
    if code.eq_ignore_ascii_case(SERVER_OVERLOADED) {
        return AuthError::Server {
            provider: PROVIDER,
            status: 503,
            message: what,
        };
    }
    if status.is_server_error() || code.eq_ignore_ascii_case("b_unknown_error") {
        return AuthError::Server {
            provider: PROVIDER,
            status: status.as_u16().max(500),
            message: what,
        };
    }
    if envelope.is_auth_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
    {
        return AuthError::rejected(PROVIDER, Some(status.as_u16()), what);
    }
    AuthError::Server {
        provider: PROVIDER,
        status: status.as_u16(),
        message: what,
    }
}

#[async_trait]
impl CredentialSource for AllianceSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's connection settings, for the API client too.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        // No refresh endpoint exists: a renewal is a new authorize.
        self.authorize()
            .await?
            .to_credential(&self.config.api_version)
    }

    /// A stored session: its refresh token, `deviceId`, `serverPublic` and `authToken` are
    /// read back and the headers built from them as for a new session.
    fn restore(
        &self,
        token: secrecy::SecretString,
        expires_at: std::time::SystemTime,
        extras: &std::collections::BTreeMap<String, secrecy::SecretString>,
    ) -> Result<Credential, AuthError> {
        let stored = extras.iter().fold(
            Credential::new(token, expires_at),
            |credential, (key, value)| credential.with_extra(key.clone(), value.clone()),
        );
        AllianceSession::from_credential(&stored)?.to_credential(&self.config.api_version)
    }

    fn api_origins(&self) -> Vec<url::Url> {
        vec![self.config.base_url.clone()]
    }

    fn is_rejection(&self, response: &ResponseView<'_>) -> bool {
        if response.status == StatusCode::UNAUTHORIZED {
            return true;
        }
        match response.body.and_then(ErrorEnvelope::parse) {
            Some(envelope) if envelope.is_auth_error() => {
                tracing::debug!(
                    status = response.status.as_u16(),
                    msg_code = %auth_core::provider::excerpt(envelope.msg_code.as_bytes()),
                    "the bank rejected the session"
                );
                true
            }
            _ => false,
        }
    }

    fn inspects_body(&self) -> bool {
        true
    }

    /// No: a new authorize ends the session another process holds.
    fn parallel_acquisition_is_safe(&self) -> bool {
        false
    }

    fn apply(&self, credential: &Credential, _path: &str, headers: &mut HeaderMap) {
        for (name, value) in credential.headers() {
            headers.insert(name.clone(), value.clone());
        }
        if let Ok(request_id) = HeaderValue::from_str(&Uuid::new_v4().to_string()) {
            headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), request_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(code: &str, kind: &str) -> ErrorEnvelope {
        ErrorEnvelope::parse(
            format!(r#"{{"msgCode":"{code}","msgType":"{kind}","msgText":"t"}}"#).as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn closed_service_code_is_permanent_and_says_to_contact_the_bank() {
        let error = authorize_error(
            StatusCode::UNAUTHORIZED,
            &envelope("b_auth_token_expired", "ERROR"),
        );
        assert!(error.is_rejection() && !error.is_transient());
        let message = error.to_string();
        assert!(message.contains("more than 200 days"), "{message}");
        assert!(
            message.contains("contact Bank Alliance support"),
            "{message}"
        );
        // Also under HTTP 200.
        assert!(
            authorize_error(StatusCode::OK, &envelope("b_auth_token_expired", "ERROR"))
                .is_rejection()
        );
    }

    #[test]
    fn other_authorize_errors() {
        let overloaded =
            authorize_error(StatusCode::OK, &envelope("b_server_is_overloaded", "ERROR"));
        assert!(overloaded.is_transient(), "{overloaded}");
        let bad = authorize_error(
            StatusCode::BAD_REQUEST,
            &envelope("b_request_is_not_correct", "ERROR"),
        );
        assert!(!bad.is_transient() && !bad.is_rejection(), "{bad}");
        assert!(
            bad.to_string().contains("b_request_is_not_correct (t)"),
            "{bad}"
        );
        let unknown = authorize_error(StatusCode::OK, &envelope("b_unknown_error", "ERROR"));
        assert!(unknown.is_transient());
        let device = authorize_error(StatusCode::OK, &envelope("b_unknown_device", "ERROR"));
        assert!(device.is_rejection());
    }
}
