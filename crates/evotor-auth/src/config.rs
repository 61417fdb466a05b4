//! The settings of both sides, validated when built: [`EvotorConfig`] for calling the Cloud,
//! [`ReceiverConfig`] for receiving its webhooks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::HttpSettings;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::protocol::is_header_safe_token;
use crate::tokens::{CloudTokenStore, FixedCloudToken};
use crate::{PROVIDER, UserId};

/// The production Cloud API: `https://api.evotor.ru/`.
pub const PRODUCTION_URL: &str = "https://api.evotor.ru/";

/// The user id of a source with one fixed Cloud token and no user id given: `-`.
const NO_USER: &str = "-";

/// How long a Cloud token read from the store is used before the store is read again: 24 h.
///
/// Cloud tokens have no published lifetime and no refresh call; a new one can arrive through
/// `/user/token` at any time. The "expiry" is only how often the store is consulted again; a 401
/// from the Cloud makes the cache read the store at once.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest webhook body the receiver reads: 10 MiB, the Cloud's own request limit.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// How long a request body may take to arrive once its headers are in: 30 s, then 408.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long delivered event ids are remembered: 7 days (the Cloud re-sends for up to 3).
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Which headers carry the Cloud token on v2 paths (everything outside `/api/v1/...`).
///
/// The newer documentation says `Authorization: Bearer`; the official v2 Java SDK sends
/// `X-Authorization` on v2 URLs; some community clients send both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V2Auth {
    /// `Authorization: Bearer <token>` (the default).
    #[default]
    Bearer,
    /// `X-Authorization: <token>` everywhere, v2 included.
    XAuthorization,
    /// Both headers on v2 paths.
    Both,
}

/// Settings for calling the Evotor Cloud on behalf of one user: where the API is, whose Cloud
/// token to send and where that token comes from.
///
/// Build with [`EvotorConfig::builder`].
#[derive(Clone)]
pub struct EvotorConfig {
    pub(crate) base_url: Url,
    pub(crate) user_id: UserId,
    pub(crate) cloud_tokens: Arc<dyn CloudTokenStore>,
    pub(crate) fixed_token: bool,
    pub(crate) v2_auth: V2Auth,
    pub(crate) token_lifetime: Duration,
    pub(crate) http_settings: HttpSettings,
}

impl EvotorConfig {
    /// A builder; the base URL defaults to [`PRODUCTION_URL`].
    pub fn builder() -> EvotorConfigBuilder {
        EvotorConfigBuilder::default()
    }

    /// The Cloud API base URL. Default `https://api.evotor.ru/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The Evotor user whose Cloud token is used; `-` for a fixed token given without a user
    /// id.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Whether the Cloud token is one fixed token ([`EvotorConfigBuilder::cloud_token`]) rather
    /// than read from a store ([`EvotorConfigBuilder::cloud_tokens`]).
    pub fn has_fixed_token(&self) -> bool {
        self.fixed_token
    }

    /// Which headers carry the token on v2 paths. Default [`V2Auth::Bearer`].
    pub fn v2_auth(&self) -> V2Auth {
        self.v2_auth
    }

    /// How long a token read from the store is used before the store is read again.
    /// Default [`DEFAULT_TOKEN_LIFETIME`] (24 h).
    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    /// Connection settings. Default [`HttpSettings::default`].
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http_settings
    }
}

impl fmt::Debug for EvotorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvotorConfig")
            .field("base_url", &self.base_url.as_str())
            .field("user_id", &self.user_id)
            .field(
                "cloud_tokens",
                &if self.fixed_token {
                    "fixed token [REDACTED]"
                } else {
                    "store"
                },
            )
            .field("v2_auth", &self.v2_auth)
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// Builds an [`EvotorConfig`].
///
/// The Cloud token comes from one of two places, and exactly one must be given: a store the
/// receiver keeps the Cloud's deliveries in ([`cloud_tokens`](Self::cloud_tokens), with the
/// [`user_id`](Self::user_id) whose token to read), or one token known in advance
/// ([`cloud_token`](Self::cloud_token)).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use evotor_auth::{CloudTokenStore, EvotorConfig, PRODUCTION_URL, V2Auth};
/// use evotor_auth::webhook::MemoryWebhookStore;
///
/// # fn main() -> Result<(), auth_core::AuthError> {
/// // The store your receiver keeps the Cloud's token deliveries in.
/// let store: Arc<dyn CloudTokenStore> = Arc::new(MemoryWebhookStore::new());
/// let config = EvotorConfig::builder()
///     .user_id("01-000000000000001")
///     .cloud_tokens(store)
///     .v2_auth(V2Auth::Both)
///     .build()?;
/// assert_eq!(config.base_url().as_str(), PRODUCTION_URL);
///
/// // A store without a user id is refused when built, naming the setter.
/// let error = EvotorConfig::builder()
///     .cloud_tokens(Arc::new(MemoryWebhookStore::new()))
///     .build()
///     .unwrap_err();
/// assert!(error.to_string().contains("EvotorConfigBuilder::user_id"));
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct EvotorConfigBuilder {
    base_url: Option<String>,
    user_id: Option<String>,
    cloud_tokens: Option<Arc<dyn CloudTokenStore>>,
    cloud_token: Option<SecretString>,
    v2_auth: V2Auth,
    token_lifetime: Option<Duration>,
    http_settings: HttpSettings,
}

impl fmt::Debug for EvotorConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvotorConfigBuilder")
            .field("base_url", &self.base_url)
            .field("user_id", &self.user_id)
            .field("cloud_tokens", &self.cloud_tokens.as_ref().map(|_| "store"))
            .field(
                "cloud_token",
                &self.cloud_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("v2_auth", &self.v2_auth)
            .field("token_lifetime", &self.token_lifetime)
            .finish_non_exhaustive()
    }
}

impl EvotorConfigBuilder {
    /// The Cloud API base URL. Default [`PRODUCTION_URL`] (`https://api.evotor.ru/`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The Evotor user (`01-000000000000001`) whose Cloud token to use. Needed with
    /// [`cloud_tokens`](Self::cloud_tokens); optional with [`cloud_token`](Self::cloud_token),
    /// where it only names the account (in the identity and store keys). Default: none.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Reads the Cloud token of [`user_id`](Self::user_id) from `store` (the receiver's
    /// [`WebhookStore`](crate::webhook::WebhookStore), or
    /// [`FileCloudTokens`](crate::webhook::FileCloudTokens) over its folder), the latest one
    /// each time the cache asks. Either this or [`cloud_token`](Self::cloud_token).
    pub fn cloud_tokens(mut self, store: Arc<dyn CloudTokenStore>) -> Self {
        self.cloud_tokens = Some(store);
        self
    }

    /// Uses one Cloud token known in advance (copied from the dev portal, say) for every
    /// request. Either this or [`cloud_tokens`](Self::cloud_tokens).
    pub fn cloud_token(mut self, token: SecretString) -> Self {
        self.cloud_token = Some(token);
        self
    }

    /// Which headers carry the token on v2 paths. Default [`V2Auth::Bearer`];
    /// [`V2Auth::XAuthorization`] is what the official v2 Java SDK sends.
    pub fn v2_auth(mut self, v2_auth: V2Auth) -> Self {
        self.v2_auth = v2_auth;
        self
    }

    /// How long a token read from the store is used before the store is read again. Default
    /// [`DEFAULT_TOKEN_LIFETIME`] (24 h); a 401 re-reads the store at once regardless.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// Connection settings (timeouts, extra roots). Default [`HttpSettings::default`].
    pub fn http_settings(mut self, http_settings: HttpSettings) -> Self {
        self.http_settings = http_settings;
        self
    }

    /// Checks every setting and builds the configuration. Errors name the setter, never a
    /// token.
    pub fn build(self) -> Result<EvotorConfig, AuthError> {
        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(PRODUCTION_URL))?;
        let user_id = match self.user_id {
            None => None,
            Some(text) => Some(UserId::parse(&text).map_err(|problem| {
                AuthError::config(PROVIDER, format!("the user id {problem}"))
            })?),
        };
        let (user_id, cloud_tokens, fixed_token) = match (self.cloud_tokens, self.cloud_token) {
            (Some(store), None) => (
                user_id.ok_or_else(crate::error::missing_user_id)?,
                store,
                false,
            ),
            (None, Some(token)) => {
                let store: Arc<dyn CloudTokenStore> = Arc::new(FixedCloudToken::new(token));
                let user_id = user_id
                    .unwrap_or_else(|| UserId::parse(NO_USER).expect("'-' is a valid user id"));
                (user_id, store, true)
            }
            (None, None) => return Err(crate::error::no_token_source()),
            (Some(_), Some(_)) => return Err(crate::error::two_token_sources()),
        };
        let token_lifetime = self.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
        if token_lifetime < Duration::from_secs(1) {
            return Err(AuthError::config(
                PROVIDER,
                "the token lifetime must be at least 1 s",
            ));
        }
        Ok(EvotorConfig {
            base_url,
            user_id,
            cloud_tokens,
            fixed_token,
            v2_auth: self.v2_auth,
            token_lifetime,
            http_settings: self.http_settings,
        })
    }
}

/// Parses a base URL with the shared rule: https, plain http only to loopback.
pub(crate) fn parse_base_url(text: &str) -> Result<Url, AuthError> {
    auth_core::provider::parse_base_url(
        PROVIDER,
        text,
        auth_core::provider::PlainHttp::LoopbackOnly,
    )
}

/// Which credential may guard the subscription and installation events.
///
/// The vendor's documents contradict each other (the authorization page says the service
/// credential, Swagger says the user token), so the default accepts either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventAuth {
    /// The service credential or a known user token (the default).
    #[default]
    ServiceOrUser,
    /// The service credential only.
    ServiceOnly,
    /// A known user token only.
    UserOnly,
}

/// Settings for receiving the Cloud's webhooks.
///
/// At least one service credential is required: the service token (`Bearer <uuid4>`) entered
/// in the dev portal, a Basic login/password pair, or both (the portal chooses the mode per
/// webhook). Build with [`ReceiverConfig::builder`].
#[derive(Clone)]
pub struct ReceiverConfig {
    pub(crate) service_token: Option<SecretString>,
    pub(crate) basic: Option<(String, SecretString)>,
    pub(crate) accept_bare_token: bool,
    pub(crate) body_limit: usize,
    pub(crate) user_token_lifetime: Option<Duration>,
    pub(crate) event_retention: Duration,
    pub(crate) event_auth: EventAuth,
    pub(crate) request_timeout: Duration,
}

impl ReceiverConfig {
    /// A builder.
    pub fn builder() -> ReceiverConfigBuilder {
        ReceiverConfigBuilder::default()
    }

    /// Whether a service token is configured.
    pub fn has_service_token(&self) -> bool {
        self.service_token.is_some()
    }

    /// The Basic login, when Basic mode is configured.
    pub fn basic_login(&self) -> Option<&str> {
        self.basic.as_ref().map(|(login, _)| login.as_str())
    }

    /// Whether a bare token (no scheme) is accepted. Default `true`.
    pub fn accept_bare_token(&self) -> bool {
        self.accept_bare_token
    }

    /// The largest body read. Default [`DEFAULT_BODY_LIMIT`] (10 MiB).
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// How long an issued user token is accepted. Default: no limit.
    pub fn user_token_lifetime(&self) -> Option<Duration> {
        self.user_token_lifetime
    }

    /// How long delivered event ids are remembered. Default 7 days.
    pub fn event_retention(&self) -> Duration {
        self.event_retention
    }

    /// Which credential may guard events. Default [`EventAuth::ServiceOrUser`].
    pub fn event_auth(&self) -> EventAuth {
        self.event_auth
    }

    /// How long a body may take to arrive (408 after). Default [`DEFAULT_REQUEST_TIMEOUT`]
    /// (30 s).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field(
                "service_token",
                &self.service_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("basic_login", &self.basic_login())
            .field("basic_password", &self.basic.as_ref().map(|_| "[REDACTED]"))
            .field("accept_bare_token", &self.accept_bare_token)
            .field("body_limit", &self.body_limit)
            .field("user_token_lifetime", &self.user_token_lifetime)
            .field("event_retention", &self.event_retention)
            .field("event_auth", &self.event_auth)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Builds a [`ReceiverConfig`].
pub struct ReceiverConfigBuilder {
    service_token: Option<SecretString>,
    basic: Option<(String, SecretString)>,
    accept_bare_token: bool,
    body_limit: usize,
    user_token_lifetime: Option<Duration>,
    event_retention: Duration,
    event_auth: EventAuth,
    request_timeout: Duration,
}

impl Default for ReceiverConfigBuilder {
    fn default() -> Self {
        Self {
            service_token: None,
            basic: None,
            accept_bare_token: true,
            body_limit: DEFAULT_BODY_LIMIT,
            user_token_lifetime: None,
            event_retention: DEFAULT_EVENT_RETENTION,
            event_auth: EventAuth::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl fmt::Debug for ReceiverConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfigBuilder")
            .field(
                "service_token",
                &self.service_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("basic_login", &self.basic.as_ref().map(|(login, _)| login))
            .finish_non_exhaustive()
    }
}

impl ReceiverConfigBuilder {
    /// The service token ("токен стороннего сервиса", a uuid4) entered in the dev portal; the
    /// Cloud sends it as `Authorization: Bearer <token>`. Default: none.
    pub fn service_token(mut self, token: SecretString) -> Self {
        self.service_token = Some(token);
        self
    }

    /// The Basic login and password entered in the dev portal; the Cloud sends
    /// `Authorization: Basic base64(login:password)`. Default: none.
    pub fn basic(mut self, login: impl Into<String>, password: SecretString) -> Self {
        self.basic = Some((login.into(), password));
        self
    }

    /// Accepts a token sent with no scheme (`Authorization: <token>`), which one vendor example
    /// shows. Default `true`.
    pub fn accept_bare_token(mut self, accept: bool) -> Self {
        self.accept_bare_token = accept;
        self
    }

    /// The largest body read, in bytes; a larger one is answered 413. Default 10 MiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long an issued user token is accepted; after that the Cloud gets 401 with code
    /// 1003 ("expired"). Default: no limit (the Cloud has no way to renew a user token except a
    /// new `/user/verify`).
    pub fn user_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.user_token_lifetime = Some(lifetime);
        self
    }

    /// How long delivered event ids are remembered to recognise re-sent events. Default 7 days;
    /// the Cloud re-sends for up to 3.
    pub fn event_retention(mut self, retention: Duration) -> Self {
        self.event_retention = retention;
        self
    }

    /// Which credential may guard subscription and installation events. Default
    /// [`EventAuth::ServiceOrUser`].
    pub fn event_auth(mut self, event_auth: EventAuth) -> Self {
        self.event_auth = event_auth;
        self
    }

    /// How long a request body may take to arrive once the headers are in; a slower one is
    /// answered 408. Default 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Checks every setting and builds the configuration. Errors name the setting, never its
    /// value.
    pub fn build(self) -> Result<ReceiverConfig, AuthError> {
        if self.service_token.is_none() && self.basic.is_none() {
            return Err(AuthError::config(
                PROVIDER,
                "no service credential: give the service token to ReceiverConfigBuilder::service_token, or the Basic login and password to ReceiverConfigBuilder::basic",
            ));
        }
        if let Some(token) = &self.service_token
            && !is_header_safe_token(token.expose_secret())
        {
            return Err(AuthError::config(
                PROVIDER,
                "the service token must be non-empty visible ASCII with no spaces (the dev portal asks for a uuid4)",
            ));
        }
        if let Some((login, password)) = &self.basic {
            check_basic_part("Basic login", login)?;
            check_basic_part("Basic password", password.expose_secret())?;
        }
        if self.body_limit == 0 {
            return Err(AuthError::config(
                PROVIDER,
                "the body limit must be more than zero",
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(AuthError::config(
                PROVIDER,
                "the request timeout must be more than zero",
            ));
        }
        if self.user_token_lifetime.is_some_and(|l| l.is_zero()) {
            return Err(AuthError::config(
                PROVIDER,
                "the user token lifetime must be more than zero",
            ));
        }
        Ok(ReceiverConfig {
            service_token: self.service_token,
            basic: self.basic,
            accept_bare_token: self.accept_bare_token,
            body_limit: self.body_limit,
            user_token_lifetime: self.user_token_lifetime,
            event_retention: self.event_retention,
            event_auth: self.event_auth,
            request_timeout: self.request_timeout,
        })
    }
}

/// A Basic login or password: non-empty, no `:` (the strict decoder wants exactly one, between
/// the two), no control characters.
fn check_basic_part(setting: &str, value: &str) -> Result<(), AuthError> {
    let problem = if value.is_empty() {
        "is empty"
    } else if value.contains(':') {
        "contains ':', which Basic credentials cannot carry unambiguously"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(AuthError::config(
        PROVIDER,
        format!("the {setting} {problem}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> EvotorConfigBuilder {
        EvotorConfig::builder().cloud_token(SecretString::from("f46b89a5-8e80"))
    }

    #[test]
    fn client_defaults() {
        let config = fixed().build().unwrap();
        assert_eq!(config.base_url().as_str(), "https://api.evotor.ru/");
        assert_eq!(config.base_url().as_str(), PRODUCTION_URL);
        assert_eq!(config.v2_auth(), V2Auth::Bearer);
        assert_eq!(config.token_lifetime(), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(config.user_id().as_str(), "-");
        assert!(config.has_fixed_token());
    }

    #[test]
    fn client_settings_are_checked() {
        assert!(fixed().base_url("api.evotor.ru").build().is_err());
        assert!(fixed().user_id("").build().is_err());
        assert!(fixed().user_id("01 0").build().is_err());
        let config = fixed()
            .base_url("http://127.0.0.1:9/evotor")
            .user_id("01-000000000000001")
            .v2_auth(V2Auth::XAuthorization)
            .build()
            .unwrap();
        assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/evotor/");
        assert_eq!(config.v2_auth(), V2Auth::XAuthorization);
        assert_eq!(config.user_id().as_str(), "01-000000000000001");
    }

    #[test]
    fn the_token_comes_from_exactly_one_place() {
        let store = || -> Arc<dyn CloudTokenStore> {
            Arc::new(FixedCloudToken::new(SecretString::from("x")))
        };
        let none = EvotorConfig::builder().build().unwrap_err().to_string();
        assert!(none.contains("EvotorConfigBuilder::cloud_tokens"), "{none}");
        assert!(none.contains("EvotorConfigBuilder::cloud_token"), "{none}");
        let no_user = EvotorConfig::builder()
            .cloud_tokens(store())
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            no_user.contains("EvotorConfigBuilder::user_id"),
            "{no_user}"
        );
        let both = fixed()
            .cloud_tokens(store())
            .build()
            .unwrap_err()
            .to_string();
        assert!(both.contains("not both"), "{both}");
        let config = EvotorConfig::builder()
            .user_id("01-000000000000001")
            .cloud_tokens(store())
            .build()
            .unwrap();
        assert!(!config.has_fixed_token());
        let text = format!("{config:?} {:?}", fixed());
        assert!(!text.contains("f46b89a5"), "{text}");
    }

    #[test]
    fn a_receiver_needs_a_service_credential() {
        let message = ReceiverConfig::builder().build().unwrap_err().to_string();
        assert!(
            message.contains("ReceiverConfigBuilder::service_token"),
            "{message}"
        );
    }

    #[test]
    fn bad_service_credentials_are_named_not_shown() {
        for (builder, setting, secret) in [
            (
                ReceiverConfig::builder().service_token(SecretString::from("bad token")),
                "service token",
                "bad token",
            ),
            (
                ReceiverConfig::builder().basic("log:in", SecretString::from("pw")),
                "Basic login",
                "log:in",
            ),
            (
                ReceiverConfig::builder().basic("login", SecretString::from("pa:ss")),
                "Basic password",
                "pa:ss",
            ),
        ] {
            let message = builder.build().unwrap_err().to_string();
            assert!(message.contains(setting), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
    }

    #[test]
    fn receiver_debug_shows_no_secret() {
        let config = ReceiverConfig::builder()
            .service_token(SecretString::from("9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11"))
            .basic("partner", SecretString::from("Hunter2-secret"))
            .build()
            .unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("9f0c6f0e"), "{text}");
        assert!(!text.contains("Hunter2"), "{text}");
        assert!(text.contains("partner"), "{text}");
        assert_eq!(config.body_limit(), DEFAULT_BODY_LIMIT);
        assert!(config.accept_bare_token());
        assert_eq!(config.event_auth(), EventAuth::ServiceOrUser);
    }
}
