//! Kontur EDI (EDI.Контур) authentication.
//!
//! # Example
//!
//! ```no_run
//! use auth_core::SecretString;
//! use kontur_auth::{KonturConfig, KonturSource};
//!
//! # async fn run(password: SecretString) -> Result<(), auth_core::AuthError> {
//! let config = KonturConfig::builder()
//!     .api_client_id("testClient-8ee1638deae84c86b8e2069955c2825a")
//!     .login("user@example.com")
//!     .password(password)
//!     .build()?;
//! let client = KonturSource::new(config).into_client()?;
//! let boxes = client.get("https://edi-api.kontur.ru/V1/Boxes/GetBoxesInfo").await?;
//! println!("{}", boxes.text().await.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! With a store shared between processes:
//! `KonturSource::new(config).into_cache_builder().store(store).build()`, then
//! [`auth_core::AuthClient::new`]. A client for another HTTP library calls
//! [`auth_core::CredentialCache::headers_for`].
//!
//! # The schemes
//!
//! The `KonturEdiAuth` scheme: the developer key, login and password buy a token at
//! `POST /V1/Authenticate`; every call then carries
//! `Authorization: KonturEdiAuth konturediauth_api_client_id=<id>,konturediauth_token=<token>`.
//! [`KonturSource`] does that exchange; its client caches the token for 12 h less the refresh
//! margin, refreshes it in the background, and re-authenticates once on HTTP 401.
//!
//! The newer OpenID Connect scheme (client credentials, `Authorization: Bearer`) is a second
//! source, [`KonturOidcSource`], with the same shape:
//! `KonturOidcConfig::builder()….build()?` → `KonturOidcSource::new(config).into_client()?`.
//!
//! The loopback emulator of both, for tests, is [`testkit::Emulator`] (feature `testkit`).

#![forbid(unsafe_code)]

mod config;
mod error;
mod oidc;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{KonturConfig, KonturConfigBuilder, PRODUCTION_URL, TEST_URL, TOKEN_LIFETIME};
pub use oidc::{
    DEFAULT_EXPIRES_IN, IDENTITY_PRODUCTION_URL, IDENTITY_TEST_URL, KonturOidcConfig,
    KonturOidcConfigBuilder, KonturOidcSource,
};
pub use source::KonturSource;

/// The provider's short name, used in errors and store keys.
pub const PROVIDER: &str = "kontur";

/// The longest token answer accepted: 64 KiB (real tokens are a few hundred bytes).
pub(crate) const TOKEN_MAX_BYTES: usize = 64 * 1024;
