//! The user's settings: which credentials, and where the authorization service is.

use std::fmt;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::HttpSettings;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::PROVIDER;

/// How long an access token whose JWT has no readable `exp` is assumed to live: 5 minutes.
/// Short on purpose — the real lifetime is unknown, and a 401 is handled anyway.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// How long an API-key credential is kept before it is (freely) re-made: 365 days. The key
/// itself never expires; re-making it costs no request.
pub const API_KEY_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The longest an access token is trusted, whatever its `exp` says: 365 days.
pub const MAX_TOKEN_LIFETIME: Duration = API_KEY_LIFETIME;

/// The account name used in store keys when none is set: `default`.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Which kind of credential a configuration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavesMode {
    /// The node's `api-key` mode: `X-API-Key: <key>` on every request.
    ApiKey,
    /// A user of the authorization service: login and password, then rotating refresh tokens.
    Password,
    /// A service: a long-lived service token buys pairs at `/v1/auth/token`.
    Service,
}

#[derive(Clone)]
pub(crate) enum Secrets {
    ApiKey(SecretString),
    Password {
        login: String,
        password: SecretString,
    },
    Service(SecretString),
}

/// Validated settings for a [`crate::WavesSource`]. Build with [`WavesConfig::builder`].
///
/// `Debug` shows the mode, the auth service URL and the login, never a key, password or token.
#[derive(Clone)]
pub struct WavesConfig {
    pub(crate) secrets: Secrets,
    pub(crate) auth_url: Option<Url>,
    pub(crate) account: String,
    pub(crate) default_token_lifetime: Duration,
    pub(crate) http_settings: HttpSettings,
}

impl WavesConfig {
    /// A builder with nothing set.
    pub fn builder() -> WavesConfigBuilder {
        WavesConfigBuilder::default()
    }

    /// Which kind of credential this is.
    pub fn mode(&self) -> WavesMode {
        match self.secrets {
            Secrets::ApiKey(_) => WavesMode::ApiKey,
            Secrets::Password { .. } => WavesMode::Password,
            Secrets::Service(_) => WavesMode::Service,
        }
    }

    /// The authorization service's base URL (without a trailing slash); `None` in API-key mode,
    /// where requests go to the nodes the caller names and no URL is part of the settings.
    /// (This is the crate's base URL: there is no public production one, each deployment runs
    /// its own authorization service.)
    pub fn auth_url(&self) -> Option<&Url> {
        self.auth_url.as_ref()
    }

    /// The login, in password mode.
    pub fn login(&self) -> Option<&str> {
        match &self.secrets {
            Secrets::Password { login, .. } => Some(login),
            _ => None,
        }
    }

    /// The account name that keeps credentials apart in a store (API-key and service modes).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The lifetime assumed for an access token without a readable `exp`.
    pub fn default_token_lifetime(&self) -> Duration {
        self.default_token_lifetime
    }

    /// The HTTP settings for the authorization service.
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http_settings
    }

    /// `{auth}{path}`, for a path like `/v1/auth/login`.
    pub(crate) fn endpoint(&self, path: &str) -> Result<Url, AuthError> {
        let base = self
            .auth_url
            .as_ref()
            .ok_or_else(|| AuthError::config(PROVIDER, "auth_url is required in OAuth mode"))?;
        Ok(endpoint(base, path))
    }
}

pub(crate) fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

impl fmt::Debug for WavesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavesConfig")
            .field("mode", &self.mode())
            .field("auth_url", &self.auth_url.as_ref().map(Url::as_str))
            .field("login", &self.login())
            .field("account", &self.account)
            .field("default_token_lifetime", &self.default_token_lifetime)
            .finish_non_exhaustive()
    }
}

/// Builds a [`WavesConfig`]. Set exactly one of: [`api_key`](Self::api_key);
/// [`login`](Self::login) with [`password`](Self::password); or
/// [`service_token`](Self::service_token). The last two need [`auth_url`](Self::auth_url).
///
/// Errors name the setting that is wrong, never its value.
///
/// # Example
///
/// ```
/// use auth_core::SecretString;
/// use waves_auth::{WavesConfig, WavesMode};
///
/// // A user of the authorization service (OAuth):
/// let config = WavesConfig::builder()
///     .auth_url("https://we.example.com/authService")
///     .login("user@example.com")
///     .password(SecretString::from("hunter2"))
///     .build()?;
/// assert_eq!(config.mode(), WavesMode::Password);
/// assert_eq!(config.auth_url().unwrap().as_str(), "https://we.example.com/authService");
///
/// // The node's API key (no authorization service):
/// let config = WavesConfig::builder()
///     .api_key(SecretString::from("ridethewaves!"))
///     .build()?;
/// assert_eq!(config.mode(), WavesMode::ApiKey);
/// assert!(config.auth_url().is_none());
///
/// // Alternatives are refused, naming the settings, never their values:
/// let error = WavesConfig::builder()
///     .api_key(SecretString::from("ridethewaves!"))
///     .service_token(SecretString::from("svc"))
///     .build()
///     .unwrap_err();
/// assert!(error.to_string().contains("set only one of them"));
/// # Ok::<(), auth_core::AuthError>(())
/// ```
#[derive(Default)]
pub struct WavesConfigBuilder {
    auth_url: Option<String>,
    login: Option<String>,
    password: Option<SecretString>,
    service_token: Option<SecretString>,
    api_key: Option<SecretString>,
    account: Option<String>,
    default_token_lifetime: Option<Duration>,
    http_settings: HttpSettings,
}

impl fmt::Debug for WavesConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavesConfigBuilder")
            .field("auth_url", &self.auth_url)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field(
                "service_token",
                &self.service_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl WavesConfigBuilder {
    /// The authorization service's base URL, e.g. `https://auth.example.com` or
    /// `https://node.example.com/authService` (endpoints are appended to its path). Required in
    /// password and service modes. No default: it is deployment-specific.
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// The user's login (an e-mail address), for password mode.
    pub fn login(mut self, login: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self
    }

    /// The user's password, for password mode. Also used to log in again when a refresh token
    /// is refused.
    pub fn password(mut self, password: SecretString) -> Self {
        self.password = Some(password);
        self
    }

    /// A long-lived service token, for service mode (sent as `Authorization: Bearer` to
    /// `/v1/auth/token`).
    pub fn service_token(mut self, token: SecretString) -> Self {
        self.service_token = Some(token);
        self
    }

    /// The node API key, for API-key mode (sent as `X-API-Key`).
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// A non-secret name that keeps apart, in one credential store, the credentials of
    /// different API keys or service tokens (whose secrets must not name the store entry).
    /// Default [`DEFAULT_ACCOUNT`]. Password mode is keyed by auth URL and login instead.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The lifetime assumed for an access token without a readable JWT `exp`. Default
    /// [`DEFAULT_TOKEN_LIFETIME`] (5 min); at least 1 s.
    pub fn default_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_token_lifetime = Some(lifetime);
        self
    }

    /// Timeouts and extra root certificates for the authorization service. Default
    /// [`HttpSettings::default`] (10 s connect, 30 s total, no redirects).
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http_settings = settings;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<WavesConfig, AuthError> {
        let error = |message: &str| AuthError::config(PROVIDER, message);
        let has_password_mode = self.login.is_some() || self.password.is_some();
        let modes = [
            self.api_key.is_some(),
            has_password_mode,
            self.service_token.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if modes == 0 {
            return Err(error(
                "no credentials configured: set api_key (API-key mode), login and password (OAuth), or service_token (OAuth service mode)",
            ));
        }
        if modes > 1 {
            return Err(error(
                "api_key, login/password and service_token are alternatives: set only one of them",
            ));
        }
        let account = self.account.unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned());
        if account.trim().is_empty() {
            return Err(error("account is empty"));
        }
        let default_token_lifetime = self
            .default_token_lifetime
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        if default_token_lifetime < Duration::from_secs(1) {
            return Err(error("default_token_lifetime must be at least 1 s"));
        }

        if let Some(key) = self.api_key {
            check_header_safe(key.expose_secret(), "api_key")?;
            if self.auth_url.is_some() {
                return Err(error(
                    "auth_url is not used in API-key mode (the key goes to the node directly); remove it or drop api_key",
                ));
            }
            return Ok(WavesConfig {
                secrets: Secrets::ApiKey(key),
                auth_url: None,
                account,
                default_token_lifetime,
                http_settings: self.http_settings,
            });
        }

        let auth_url = parse_auth_url(self.auth_url.as_deref())?;
        let secrets = if let Some(token) = self.service_token {
            check_header_safe(token.expose_secret(), "service_token")?;
            Secrets::Service(token)
        } else {
            let login = self
                .login
                .ok_or_else(|| error("login is required with password"))?;
            let password = self
                .password
                .ok_or_else(|| error("password is required with login"))?;
            if login.trim().is_empty() {
                return Err(error("login is empty"));
            }
            if password.expose_secret().is_empty() {
                return Err(error("password is empty"));
            }
            Secrets::Password { login, password }
        };
        Ok(WavesConfig {
            secrets,
            auth_url: Some(auth_url),
            account,
            default_token_lifetime,
            http_settings: self.http_settings,
        })
    }
}

fn check_header_safe(value: &str, setting: &str) -> Result<(), AuthError> {
    if value.trim().is_empty() {
        return Err(AuthError::config(PROVIDER, format!("{setting} is empty")));
    }
    if value != value.trim() || value.chars().any(|c| !c.is_ascii() || c.is_ascii_control()) {
        return Err(AuthError::config(
            PROVIDER,
            format!(
                "{setting} contains characters an HTTP header cannot carry (non-ASCII, control characters, or surrounding spaces)"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn parse_auth_url(url: Option<&str>) -> Result<Url, AuthError> {
    let error = |message: &str| AuthError::config(PROVIDER, message);
    let url = url.ok_or_else(|| {
        error("auth_url is required in OAuth mode (the authorization service's base URL)")
    })?;
    let parsed = Url::parse(url.trim()).map_err(|_| {
        error("auth_url is not a valid absolute URL (e.g. https://auth.example.com)")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(error("auth_url must use http or https"));
    }
    if parsed.host().is_none() {
        return Err(error("auth_url has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(error(
            "auth_url must not carry a user name or password; use login/password instead",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(error("auth_url must not have a query or fragment"));
    }
    let mut parsed = parsed;
    let trimmed = parsed.path().trim_end_matches('/').to_owned();
    parsed.set_path(&trimmed);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn password_builder() -> WavesConfigBuilder {
        WavesConfig::builder()
            .auth_url("https://auth.example.com/")
            .login("user@example.com")
            .password(secret("hunter2-secret"))
    }

    #[test]
    fn builds_each_mode() {
        let config = password_builder().build().unwrap();
        assert_eq!(config.mode(), WavesMode::Password);
        assert_eq!(config.login(), Some("user@example.com"));
        assert_eq!(
            config.endpoint("/v1/auth/login").unwrap().as_str(),
            "https://auth.example.com/v1/auth/login"
        );
        assert_eq!(config.default_token_lifetime(), DEFAULT_TOKEN_LIFETIME);

        let config = WavesConfig::builder()
            .api_key(secret("ridethewaves!"))
            .build()
            .unwrap();
        assert_eq!(config.mode(), WavesMode::ApiKey);
        assert!(config.auth_url().is_none());

        let config = WavesConfig::builder()
            .auth_url("https://we.example.com/authService/")
            .service_token(secret("svc-secret"))
            .account("anchoring")
            .build()
            .unwrap();
        assert_eq!(config.mode(), WavesMode::Service);
        assert_eq!(config.account(), "anchoring");
        assert_eq!(
            config.endpoint("/v1/auth/token").unwrap().as_str(),
            "https://we.example.com/authService/v1/auth/token"
        );
    }

    #[test]
    fn errors_name_the_setting_never_the_value() {
        let cases: Vec<(WavesConfigBuilder, &str)> = vec![
            (WavesConfig::builder(), "no credentials configured"),
            (
                password_builder().api_key(secret("key-secret")),
                "set only one",
            ),
            (
                password_builder().service_token(secret("svc-secret")),
                "set only one",
            ),
            (
                WavesConfig::builder()
                    .auth_url("https://a.example.com")
                    .login("u"),
                "password is required",
            ),
            (
                WavesConfig::builder()
                    .auth_url("https://a.example.com")
                    .password(secret("hunter2-secret")),
                "login is required",
            ),
            (
                WavesConfig::builder()
                    .login("u")
                    .password(secret("hunter2-secret")),
                "auth_url is required",
            ),
            (
                password_builder().auth_url("not a url hunter2-secret"),
                "auth_url is not a valid",
            ),
            (
                password_builder().auth_url("ftp://a.example.com"),
                "http or https",
            ),
            (
                password_builder().auth_url("https://me:hunter2-secret@a.example.com"),
                "user name or password",
            ),
            (
                password_builder().auth_url("https://a.example.com/?x=1"),
                "query or fragment",
            ),
            (password_builder().password(secret("")), "password is empty"),
            (password_builder().login("  "), "login is empty"),
            (
                WavesConfig::builder().api_key(secret("key-secret\nX: y")),
                "api_key contains characters",
            ),
            (
                WavesConfig::builder().api_key(secret("ключ-secret")),
                "api_key contains characters",
            ),
            (
                WavesConfig::builder()
                    .api_key(secret("key-secret"))
                    .auth_url("https://a.example.com"),
                "auth_url is not used",
            ),
            (
                password_builder().default_token_lifetime(Duration::from_millis(10)),
                "default_token_lifetime",
            ),
            (password_builder().account(""), "account is empty"),
        ];
        for (builder, expected) in cases {
            let error = builder.build().unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "expected {expected:?} in {error:?}"
            );
            for secret in ["hunter2-secret", "key-secret", "svc-secret"] {
                assert!(!error.contains(secret), "{error}");
            }
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let builder = password_builder();
        assert!(!format!("{builder:?}").contains("hunter2-secret"));
        let config = builder.build().unwrap();
        assert!(!format!("{config:?}").contains("hunter2-secret"));
        let config = WavesConfig::builder()
            .api_key(secret("key-secret"))
            .build()
            .unwrap();
        assert!(!format!("{config:?}").contains("key-secret"));
        let builder = WavesConfig::builder()
            .auth_url("https://a.example.com")
            .service_token(secret("svc-secret"));
        assert!(!format!("{builder:?}").contains("svc-secret"));
        assert!(!format!("{:?}", builder.build().unwrap()).contains("svc-secret"));
    }
}
