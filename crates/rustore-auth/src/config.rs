//! The user's settings, validated when built. Errors name the setting, never its value.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpSettings;
use auth_core::provider::{PlainHttp, parse_base_url};
use auth_core::{AuthError, SecretString};
use url::Url;
use zeroize::Zeroizing;

use crate::PROVIDER;
use crate::error::KeyError;
use crate::key::RustorePrivateKey;
use crate::protocol::AUTH_PATH;

/// The production API host, the default base URL.
pub const PRODUCTION_URL: &str = "https://public-api.rustore.ru";

/// The second production host, serving the same API as [`PRODUCTION_URL`] (some clients try it
/// first). Its certificate chain ends at the Russian Trusted Root CA, which is not in the usual
/// root sets: add it with [`RustoreConfigBuilder::add_root_certificate_pem`], and build the API
/// client with the configuration's [`http_settings`](RustoreConfig::http_settings) too. It is
/// never tried automatically: choose it with [`RustoreConfigBuilder::base_url`].
pub const ALTERNATIVE_PRODUCTION_URL: &str = "https://public-api-m.rustore.ru";

/// The longest key file read: 64 KiB (a 4096-bit PEM key is about 3.3 KiB).
const MAX_KEY_FILE: u64 = auth_core::provider::private_fs::MAX_KEY_FILE_BYTES;

/// Validated settings for one RuStore API key.
///
/// Built with [`RustoreConfig::builder`]. Cloning is cheap (the key is shared). `Debug` shows the
/// base URL, the key ID and the key size, never the key.
#[derive(Clone)]
pub struct RustoreConfig {
    base_url: Url,
    key_id: String,
    key: Arc<RustorePrivateKey>,
    http: HttpSettings,
}

impl RustoreConfig {
    /// A builder with the defaults: base URL [`PRODUCTION_URL`], 10 s connect timeout, 30 s
    /// request timeout, the platform's trusted roots; `key_id` and the private key are required.
    ///
    /// # Example
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auth_core::AuthError> {
    /// # let emulator = rustore_auth::testkit::Emulator::start().await;
    /// # let base_url = emulator.base_url();
    /// # let private_key = rustore_auth::testkit::TEST_PRIVATE_KEY;
    /// use auth_core::SecretString;
    /// use rustore_auth::RustoreConfig;
    ///
    /// let config = RustoreConfig::builder()
    ///     .base_url(base_url) // default: rustore_auth::PRODUCTION_URL
    ///     .key_id("2351024845")
    ///     .private_key(SecretString::from(private_key))
    ///     .build()?;
    /// assert_eq!(config.key_id(), "2351024845");
    /// assert!(config.auth_url().as_str().ends_with("/public/auth/"));
    /// # Ok(()) }
    /// ```
    pub fn builder() -> RustoreConfigBuilder {
        RustoreConfigBuilder::default()
    }

    /// The base URL, ending in `/`, e.g. `https://public-api.rustore.ru/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The key ID from the console.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The private key.
    pub fn private_key(&self) -> &RustorePrivateKey {
        &self.key
    }

    /// The connection settings (timeouts, extra roots) for the token endpoint and API calls.
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http
    }

    /// The token endpoint: the base URL followed by `public/auth/` (a path prefix is kept).
    pub fn auth_url(&self) -> Url {
        let mut url = self.base_url.clone();
        let path = format!("{}{}", url.path(), AUTH_PATH.trim_start_matches('/'));
        url.set_path(&path);
        url
    }
}

impl fmt::Debug for RustoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustoreConfig")
            .field("base_url", &self.base_url.as_str())
            .field("key_id", &self.key_id)
            .field("private_key", &self.key)
            .field("http", &self.http)
            .finish()
    }
}

enum KeyInput {
    Text(SecretString),
    File(PathBuf),
    Parsed(Box<RustorePrivateKey>),
}

/// Builds a [`RustoreConfig`]; every check happens in [`build`](Self::build).
#[derive(Default)]
pub struct RustoreConfigBuilder {
    base_url: Option<String>,
    key_id: Option<String>,
    key: Option<KeyInput>,
    http: HttpSettings,
    error: Option<AuthError>,
}

impl fmt::Debug for RustoreConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.key {
            None => "none",
            Some(KeyInput::Text(_)) => "text [REDACTED]",
            Some(KeyInput::File(_)) => "file",
            Some(KeyInput::Parsed(_)) => "parsed [REDACTED]",
        };
        f.debug_struct("RustoreConfigBuilder")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("private_key", &key)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl RustoreConfigBuilder {
    /// The API's base URL. Default [`PRODUCTION_URL`]; the second production host is
    /// [`ALTERNATIVE_PRODUCTION_URL`]. Must be `https://`, except on a loopback address (an
    /// emulator). A path prefix (a proxy) is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The key ID shown in the console next to the key (required). Surrounding whitespace is
    /// ignored.
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The private key text in any accepted form: base64 PKCS#8 DER as the console gives it,
    /// PEM PKCS#8, PEM PKCS#1 or base64 PKCS#1 DER. Replaces an earlier key setting.
    pub fn private_key(mut self, key: SecretString) -> Self {
        self.key = Some(KeyInput::Text(key));
        self
    }

    /// Reads the private key from a file (any accepted form) when building. Replaces an earlier
    /// key setting.
    pub fn private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = Some(KeyInput::File(path.into()));
        self
    }

    /// Uses an already parsed key. Replaces an earlier key setting.
    pub fn parsed_private_key(mut self, key: RustorePrivateKey) -> Self {
        self.key = Some(KeyInput::Parsed(Box::new(key)));
        self
    }

    /// Trusts the certificates in `pem` as extra roots, e.g. the Russian Trusted Root CA (and
    /// Sub CA) for `public-api-m.rustore.ru`. Default: the platform's roots only.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        if let Err(error) = self.http.add_root_certificate_pem(PROVIDER, pem) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Time allowed to connect. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole exchange. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// Replaces all connection settings (timeouts and extra roots).
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// Checks every setting and reads the key.
    pub fn build(self) -> Result<RustoreConfig, AuthError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let base_url = parse_base_url(
            PROVIDER,
            self.base_url.as_deref().unwrap_or(PRODUCTION_URL),
            PlainHttp::LoopbackOnly,
        )?;
        let key_id = validate_key_id(self.key_id.as_deref())?;
        let key = match self.key {
            None => {
                return Err(AuthError::config(
                    PROVIDER,
                    "private_key is required: the key the RuStore console showed when the key was created",
                ));
            }
            Some(KeyInput::Parsed(key)) => *key,
            Some(KeyInput::Text(text)) => RustorePrivateKey::from_secret(&text)?,
            Some(KeyInput::File(path)) => RustorePrivateKey::parse(&read_key_file(&path)?)?,
        };
        Ok(RustoreConfig {
            base_url,
            key_id,
            key: Arc::new(key),
            http: self.http,
        })
    }
}

fn read_key_file(path: &std::path::Path) -> Result<Zeroizing<String>, KeyError> {
    let shown = path.display().to_string();
    let file_error = |problem: String| KeyError::File {
        path: shown.clone(),
        problem,
    };
    let bytes = Zeroizing::new(
        auth_core::provider::private_fs::read_capped(path, MAX_KEY_FILE)
            .map_err(|error| file_error(error.to_string()))?,
    );
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(file_error(
            "it is not text (binary DER?): give the key as base64 or PEM".to_owned(),
        )),
    }
}

fn validate_key_id(raw: Option<&str>) -> Result<String, AuthError> {
    let key_id = raw.map(str::trim).unwrap_or_default();
    if key_id.is_empty() {
        return Err(AuthError::config(
            PROVIDER,
            "key_id is required: the ID shown next to the key in the RuStore console",
        ));
    }
    if key_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AuthError::config(
            PROVIDER,
            "key_id contains spaces or control characters; copy the ID from the console again",
        ));
    }
    if key_id.len() > 256 {
        return Err(AuthError::config(
            PROVIDER,
            "key_id is longer than 256 characters; that is not a key ID",
        ));
    }
    Ok(key_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base URL as [`RustoreConfigBuilder::build`] checks it.
    fn validate_base_url(raw: &str) -> Result<String, AuthError> {
        Ok(parse_base_url(PROVIDER, raw, PlainHttp::LoopbackOnly)?.to_string())
    }

    #[test]
    fn base_url_is_normalised_and_checked() {
        assert_eq!(
            validate_base_url("https://public-api.rustore.ru/").unwrap(),
            "https://public-api.rustore.ru/"
        );
        assert_eq!(
            validate_base_url("https://proxy.example/rustore/").unwrap(),
            "https://proxy.example/rustore/"
        );
        assert_eq!(
            validate_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
        for bad in [
            "public-api.rustore.ru",
            "http://public-api.rustore.ru",
            "ftp://public-api.rustore.ru",
            "https://user:secret@public-api.rustore.ru",
            "https://public-api.rustore.ru/?x=1",
        ] {
            let error = validate_base_url(bad).unwrap_err().to_string();
            assert!(error.contains("base URL"), "{error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn key_id_is_required_and_trimmed() {
        assert_eq!(
            validate_key_id(Some(" 2351024845\n")).unwrap(),
            "2351024845"
        );
        assert!(
            validate_key_id(None)
                .unwrap_err()
                .to_string()
                .contains("key_id")
        );
        assert!(validate_key_id(Some("  ")).is_err());
        assert!(validate_key_id(Some("12 34")).is_err());
    }
}
