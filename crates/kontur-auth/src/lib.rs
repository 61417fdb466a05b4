//! Kontur EDI (EDI.Контур) authentication.
//!
//! The `KonturEdiAuth` scheme: the developer key, login and password buy a token at
//! `POST /V1/Authenticate`; every call then carries
//! `Authorization: KonturEdiAuth konturediauth_api_client_id=<id>,konturediauth_token=<token>`.
//! [`KonturSource`] does that exchange; wrapped in an [`auth_core::CredentialCache`] the token is
//! cached for 12 h less the refresh margin, refreshed in the background, and re-authenticated
//! once on HTTP 401 by [`auth_core::AuthClient`].
//!
//! The newer OpenID Connect scheme (client credentials, `Authorization: Bearer`) is a second
//! source, [`KonturOidcSource`].
//!
//! ```no_run
//! use kontur_auth::{KonturConfig, KonturSource};
//! use auth_core::{AuthClient, CredentialCache, SecretString};
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! let config = KonturConfig::builder()
//!     .api_client_id("testClient-8ee1638deae84c86b8e2069955c2825a")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("KONTUR_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = AuthClient::new(CredentialCache::new(KonturSource::new(config)))?;
//! let boxes = client.get("https://edi-api.kontur.ru/V1/Boxes/GetBoxesInfo").await?;
//! println!("{}", boxes.text().await.unwrap_or_default());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod config;
mod oidc;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{KonturConfig, KonturConfigBuilder, PRODUCTION_URL, TEST_URL, TOKEN_LIFETIME};
pub use oidc::{
    DEFAULT_EXPIRES_IN, IDENTITY_PRODUCTION_URL, IDENTITY_TEST_URL, KonturOidcConfig,
    KonturOidcSource,
};
pub use source::KonturSource;

/// The provider's short name, used in errors and store keys.
pub const PROVIDER: &str = "kontur";

/// The longest token answer accepted: 64 KiB (real tokens are a few hundred bytes).
pub(crate) const TOKEN_MAX_BYTES: usize = 64 * 1024;
