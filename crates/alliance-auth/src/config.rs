//! The settings of a Bank Alliance merchant, validated when built.

use std::fmt;
use std::time::Duration;

use auth_core::AuthError;
use auth_core::HttpSettings;
use url::Url;

use crate::PROVIDER;
use crate::key::MerchantKey;
use crate::protocol::DEFAULT_API_VERSION;

/// The production API host.
pub const PRODUCTION_URL: &str = "https://api-ecom-prod.bankalliance.ua";
/// The bank's test API host.
pub const TEST_URL: &str = "https://api-ecom-release.develop.bankalliance.ua";
/// How long a session lives when the answer's expiry cannot be read: 24 h, the documented
/// lifetime of an authorization. Also the most a session is trusted for.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A merchant's account: base URL, service code, authorization key, API version, HTTP settings.
///
/// Build with [`AllianceConfig::builder`].
#[derive(Clone)]
pub struct AllianceConfig {
    pub(crate) base_url: Url,
    pub(crate) service_code: String,
    pub(crate) authorization_key: MerchantKey,
    pub(crate) api_version: String,
    pub(crate) http_settings: HttpSettings,
}

impl AllianceConfig {
    /// A builder; the base URL defaults to [`PRODUCTION_URL`], the API version to `V1`.
    pub fn builder() -> AllianceConfigBuilder {
        AllianceConfigBuilder::default()
    }

    /// The API base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The merchant's service code.
    pub fn service_code(&self) -> &str {
        &self.service_code
    }

    /// The merchant's authorization key.
    pub fn authorization_key(&self) -> &MerchantKey {
        &self.authorization_key
    }

    /// The `x-api_version` value. Default `V1`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The connection settings.
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http_settings
    }
}

impl fmt::Debug for AllianceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllianceConfig")
            .field("base_url", &self.base_url.as_str())
            .field("service_code", &self.service_code)
            .field("authorization_key", &self.authorization_key)
            .field("api_version", &self.api_version)
            .field("http_settings", &self.http_settings)
            .finish()
    }
}

/// Builds an [`AllianceConfig`]: [`service_code`](Self::service_code) and
/// [`authorization_key`](Self::authorization_key) are required; [`build`](Self::build) checks
/// every setting.
///
/// # Example
///
/// ```
/// use alliance_auth::{AllianceConfig, MerchantKey, TEST_URL};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let jwk = alliance_auth::testkit::DEMO_AUTH_KEY;
/// // `jwk`: the merchant's EC P-384 private JWK, as the bank issued it.
/// let config = AllianceConfig::builder()
///     .base_url(TEST_URL)
///     .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
///     .authorization_key(MerchantKey::from_jwk(jwk)?)
///     .build()?;
/// assert_eq!(config.api_version(), "V1");
/// assert_eq!(config.base_url().as_str(), format!("{TEST_URL}/"));
///
/// // What is missing is named.
/// let error = AllianceConfig::builder().base_url(TEST_URL).build().unwrap_err();
/// assert!(error.to_string().contains("AllianceConfigBuilder::service_code"));
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct AllianceConfigBuilder {
    base_url: Option<String>,
    service_code: Option<String>,
    authorization_key: Option<MerchantKey>,
    api_version: Option<String>,
    http_settings: HttpSettings,
}

impl fmt::Debug for AllianceConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllianceConfigBuilder")
            .field("base_url", &self.base_url)
            .field("service_code", &self.service_code)
            .field("authorization_key", &self.authorization_key)
            .finish_non_exhaustive()
    }
}

impl AllianceConfigBuilder {
    /// The API base URL. Default [`PRODUCTION_URL`]; [`TEST_URL`] for the bank's test host.
    /// `https` is required, except for loopback hosts (emulators).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The merchant's service code (a UUID the bank issues per merchant). Required.
    pub fn service_code(mut self, code: impl Into<String>) -> Self {
        self.service_code = Some(code.into());
        self
    }

    /// The merchant's authorization key. Required. Parse it with [`MerchantKey::from_jwk`].
    pub fn authorization_key(mut self, key: MerchantKey) -> Self {
        self.authorization_key = Some(key);
        self
    }

    /// The `x-api_version` value. Default `V1` (what the official SDKs send; the docs also show
    /// `v1` and `1`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Connection settings (timeouts, extra roots). Default [`HttpSettings::default`]: 10 s to
    /// connect, 30 s per exchange (the bank publishes no timeouts).
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http_settings = settings;
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<AllianceConfig, AuthError> {
        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(PRODUCTION_URL))?;
        let service_code = match self.service_code {
            Some(code) if !code.trim().is_empty() => code,
            _ => {
                return Err(AuthError::config(
                    PROVIDER,
                    "the service code is missing; give it to AllianceConfigBuilder::service_code",
                ));
            }
        };
        if service_code.trim() != service_code
            || service_code.chars().any(char::is_control)
            || service_code.len() > 200
        {
            return Err(AuthError::config(
                PROVIDER,
                "the service code has white space around it, a control character, or is over 200 characters; \
                 it is a UUID such as a51e68aa-c6fa-11ed-afa1-0242ac120005",
            ));
        }
        if uuid::Uuid::parse_str(&service_code).is_err() {
            tracing::warn!(
                "the Alliance service code is not a UUID; the bank issues UUIDs, so check it"
            );
        }
        let authorization_key = self.authorization_key.ok_or_else(|| {
            AuthError::config(
                PROVIDER,
                "the authorization key (EC P-384 private JWK) is missing; give it to AllianceConfigBuilder::authorization_key",
            )
        })?;
        let api_version = self
            .api_version
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        if api_version.is_empty()
            || http::HeaderValue::from_str(&api_version).is_err()
            || api_version.trim() != api_version
        {
            return Err(AuthError::config(
                PROVIDER,
                "the API version is empty or cannot be sent as the x-api_version header; the default is V1",
            ));
        }
        Ok(AllianceConfig {
            base_url,
            service_code,
            authorization_key,
            api_version,
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

#[cfg(test)]
mod tests {
    use super::*;

    const REPAIRED: &str = r#"{"kty":"EC","crv":"P-384",
 "d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
 "x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
 "y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

    fn builder() -> AllianceConfigBuilder {
        AllianceConfig::builder()
            .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
            .authorization_key(MerchantKey::from_jwk(REPAIRED).unwrap())
    }

    #[test]
    fn defaults() {
        let config = builder().build().unwrap();
        assert_eq!(
            config.base_url().as_str(),
            "https://api-ecom-prod.bankalliance.ua/"
        );
        assert_eq!(config.api_version(), "V1");
    }

    #[test]
    fn missing_settings_are_named() {
        let error = AllianceConfig::builder()
            .authorization_key(MerchantKey::from_jwk(REPAIRED).unwrap())
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("service code is missing"),
            "{error}"
        );
        let error = AllianceConfig::builder()
            .service_code("x")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("authorization key"), "{error}");
        assert!(!error.to_string().contains("QVwaujXB"));
    }

    #[test]
    fn base_urls() {
        let url = |u: &str| {
            builder()
                .base_url(u)
                .build()
                .map(|c| c.base_url().to_string())
        };
        assert_eq!(
            url("https://h.example/prefix").unwrap(),
            "https://h.example/prefix/"
        );
        assert_eq!(
            url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
        assert!(url("http://api-ecom-prod.bankalliance.ua").is_err());
        assert!(url("ftp://h.example").is_err());
        assert!(url("not a url").is_err());
        assert!(url("https://h.example/?a=b").is_err());
    }

    #[test]
    fn api_version_must_be_a_header_value() {
        assert!(builder().api_version("v1\n").build().is_err());
        assert!(builder().api_version("").build().is_err());
        assert_eq!(
            builder().api_version("1").build().unwrap().api_version(),
            "1"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let config = builder().build().unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("QVwaujXB"), "{debug}");
    }
}
