//! The settings of a Kontur EDI account, validated when built.

use std::fmt;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::HttpSettings;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{PROVIDER, error};

/// The production API host.
pub const PRODUCTION_URL: &str = "https://edi-api.kontur.ru";
/// The test API host.
pub const TEST_URL: &str = "https://test-edi-api.kontur.ru";
/// How long Kontur says a token lives: up to 12 hours.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A Kontur EDI account for the `KonturEdiAuth` scheme.
///
/// Build with [`KonturConfig::builder`]. Every value is checked so the header cannot be
/// ambiguous: no `,`, `=`, control character, leading or trailing space, and (unless
/// [`allow_non_ascii`](KonturConfigBuilder::allow_non_ascii)) ASCII only.
#[derive(Clone)]
pub struct KonturConfig {
    pub(crate) base_url: Url,
    pub(crate) api_client_id: String,
    pub(crate) login: String,
    pub(crate) password: SecretString,
    pub(crate) token_lifetime: Duration,
    pub(crate) http_settings: HttpSettings,
}

impl KonturConfig {
    /// A builder; the base URL defaults to [`PRODUCTION_URL`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use auth_core::SecretString;
    /// use kontur_auth::{KonturConfig, KonturSource};
    /// # use kontur_auth::testkit::{DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = Emulator::start().await;
    /// # let base_url = emulator.base_url();
    /// # let (client_id, login) = (DEMO_CLIENT_ID, DEMO_LOGIN);
    /// # let password = SecretString::from(DEMO_PASSWORD);
    /// let config = KonturConfig::builder()
    ///     .base_url(base_url) // default PRODUCTION_URL; TEST_URL for the test stand
    ///     .api_client_id(client_id)
    ///     .login(login)
    ///     .password(password)
    ///     .token_lifetime(Duration::from_secs(6 * 60 * 60)) // default 12 h
    ///     .build()?;
    /// assert_eq!(config.token_lifetime(), Duration::from_secs(6 * 60 * 60));
    /// let client = KonturSource::new(config).into_client()?;
    /// # assert_eq!(client.get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url())).await?.status(), 200);
    ///
    /// // A missing setting is refused when built, naming the builder method.
    /// let error = KonturConfig::builder().build().unwrap_err();
    /// assert!(error.to_string().contains("KonturConfigBuilder::api_client_id"));
    /// # Ok(()) }
    /// ```
    pub fn builder() -> KonturConfigBuilder {
        KonturConfigBuilder::default()
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The developer key (`konturediauth_api_client_id`).
    pub fn api_client_id(&self) -> &str {
        &self.api_client_id
    }

    /// The login.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// How long a token is trusted after it is received. Default 12 h.
    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    /// The connection settings (timeouts, extra roots).
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http_settings
    }
}

impl fmt::Debug for KonturConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_client_id", &"[REDACTED]")
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// Builds a [`KonturConfig`].
#[derive(Default)]
pub struct KonturConfigBuilder {
    base_url: Option<String>,
    api_client_id: Option<String>,
    login: Option<String>,
    password: Option<SecretString>,
    token_lifetime: Option<Duration>,
    allow_non_ascii: bool,
    http_settings: HttpSettings,
}

impl fmt::Debug for KonturConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KonturConfigBuilder")
            .field("base_url", &self.base_url)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl KonturConfigBuilder {
    /// The API base URL. Default [`PRODUCTION_URL`]; [`TEST_URL`] for the test environment.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The developer key ("ключ разработчика"), sent as `konturediauth_api_client_id`.
    pub fn api_client_id(mut self, id: impl Into<String>) -> Self {
        self.api_client_id = Some(id.into());
        self
    }

    /// The user's login.
    pub fn login(mut self, login: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self
    }

    /// The user's password.
    pub fn password(mut self, password: SecretString) -> Self {
        self.password = Some(password);
        self
    }

    /// How long a token is trusted after it is received. Default 12 h (Kontur's upper bound);
    /// a 401 re-authenticates earlier whenever the server says so.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// Accepts non-ASCII logins and passwords, sent as raw UTF-8 (the encoding is not
    /// documented by Kontur). Default: refused.
    pub fn allow_non_ascii(mut self, allow: bool) -> Self {
        self.allow_non_ascii = allow;
        self
    }

    /// Connection settings (timeouts, extra roots). Default [`HttpSettings::default`].
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http_settings = settings;
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<KonturConfig, AuthError> {
        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(PRODUCTION_URL))?;
        let api_client_id = required(
            self.api_client_id,
            "api client id (developer key)",
            "KonturConfigBuilder::api_client_id",
        )?;
        let login = required(self.login, "login", "KonturConfigBuilder::login")?;
        let password = self
            .password
            .ok_or_else(|| error::missing("password", "KonturConfigBuilder::password"))?;
        check_value("konturediauth_api_client_id", &api_client_id, false)?;
        check_value("konturediauth_login", &login, self.allow_non_ascii)?;
        check_value(
            "konturediauth_password",
            password.expose_secret(),
            self.allow_non_ascii,
        )?;
        let token_lifetime = self.token_lifetime.unwrap_or(TOKEN_LIFETIME);
        if token_lifetime.is_zero() {
            return Err(AuthError::config(
                PROVIDER,
                "the token lifetime must be more than zero",
            ));
        }
        Ok(KonturConfig {
            base_url,
            api_client_id,
            login,
            password,
            token_lifetime,
            http_settings: self.http_settings,
        })
    }
}

/// `value`, unless it is absent or empty: then the error names `setter`.
pub(crate) fn required(
    value: Option<String>,
    what: &str,
    setter: &str,
) -> Result<String, AuthError> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(error::missing(what, setter)),
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

/// Refuses a value the `KonturEdiAuth` header cannot carry unambiguously. The error names the
/// parameter, never the value.
pub(crate) fn check_value(
    parameter: &str,
    value: &str,
    allow_non_ascii: bool,
) -> Result<(), AuthError> {
    let problem = if value.is_empty() {
        Some("is empty".to_owned())
    } else if let Some(c) = value.chars().find(|c| matches!(c, ',' | '=')) {
        Some(format!(
            "contains '{c}', which the KonturEdiAuth scheme cannot carry"
        ))
    } else if value.chars().any(char::is_control) {
        Some("contains a control character (line break, tab, ...), which the KonturEdiAuth scheme cannot carry".to_owned())
    } else if value.trim() != value {
        Some("starts or ends with white space, which servers may trim; remove it".to_owned())
    } else if !allow_non_ascii && !value.is_ascii() {
        Some("contains non-ASCII characters, whose encoding Kontur does not document; use allow_non_ascii(true) to send them as UTF-8".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AuthError::config(
            PROVIDER,
            format!("{parameter} {problem}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> KonturConfigBuilder {
        KonturConfig::builder()
            .api_client_id("testClient-8ee1638deae84c86b8e2069955c2825a")
            .login("user@example.com")
            .password(SecretString::from("s3cret-Pa55"))
    }

    #[test]
    fn a_valid_account_builds_with_defaults() {
        let config = builder().build().unwrap();
        assert_eq!(config.base_url().as_str(), "https://edi-api.kontur.ru/");
        assert_eq!(config.token_lifetime(), TOKEN_LIFETIME);
    }

    #[test]
    fn delimiters_are_refused_naming_the_parameter_not_the_value() {
        for (bad, parameter) in [
            (
                builder().password(SecretString::from("pa,ss")),
                "konturediauth_password",
            ),
            (
                builder().password(SecretString::from("pa=ss")),
                "konturediauth_password",
            ),
            (
                builder().password(SecretString::from("pa\nss")),
                "konturediauth_password",
            ),
            (builder().login("us,er"), "konturediauth_login"),
            (
                builder().api_client_id("id\r1"),
                "konturediauth_api_client_id",
            ),
            (builder().login(" user"), "konturediauth_login"),
        ] {
            let message = bad.build().unwrap_err().to_string();
            assert!(message.contains(parameter), "{message}");
            assert!(
                !message.contains("pa,ss") && !message.contains("pa=ss"),
                "{message}"
            );
        }
    }

    #[test]
    fn non_ascii_needs_an_explicit_opt_in() {
        assert!(builder().login("Иванов").build().is_err());
        assert!(
            builder()
                .login("Иванов")
                .allow_non_ascii(true)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn missing_settings_say_which_builder_method_gives_them() {
        let message = KonturConfig::builder().build().unwrap_err().to_string();
        assert!(
            message.contains("KonturConfigBuilder::api_client_id"),
            "{message}"
        );
        let message = KonturConfig::builder()
            .api_client_id("id")
            .login("l")
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("KonturConfigBuilder::password"),
            "{message}"
        );
        assert!(
            !message.contains("KONTUR_"),
            "no command-line words: {message}"
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        assert!(builder().base_url("edi-api.kontur.ru").build().is_err());
        assert!(
            builder()
                .base_url("ftp://edi-api.kontur.ru")
                .build()
                .is_err()
        );
        let config = builder()
            .base_url("http://127.0.0.1:8080/edi")
            .build()
            .unwrap();
        assert_eq!(config.base_url().as_str(), "http://127.0.0.1:8080/edi/");
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", builder().build().unwrap());
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        assert!(!text.contains("8ee1638deae84c86b8e2069955c2825a"), "{text}");
    }
}
