//! RuStore Public API authentication.
//!
//! # Example
//!
//! ```no_run
//! use auth_core::SecretString;
//! use rustore_auth::{RustoreConfig, RustoreSource};
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! # let private_key = String::new();
//! let config = RustoreConfig::builder()
//!     .key_id("2351024845")
//!     .private_key(SecretString::from(private_key))
//!     .build()?;
//! let client = RustoreSource::new(config).into_client()?;
//! let answer = client
//!     .get("https://public-api.rustore.ru/public/v1/application")
//!     .await?;
//! println!("{}", answer.status());
//! # Ok(()) }
//! ```
//!
//! RuStore's console gives an RSA private key (base64 PKCS#8 DER) and its key ID. To call the
//! API, a client signs `keyId + timestamp` with SHA512withRSA, trades the signature at
//! `POST /public/auth/` for a JWE token that lives 900 s, and sends it as `Public-Token` on
//! every request. This crate does exactly that on top of `auth-core`: the token is cached,
//! refreshed 60 s (plus jitter) before it runs out, fetched by one caller at a time, and fetched
//! again once when the API answers 401.
//!
//! - [`RustoreConfig`]: key ID, private key (console string, PEM PKCS#8, PEM PKCS#1 or base64
//!   PKCS#1 DER), base URL (default [`PRODUCTION_URL`]; the second production host is
//!   [`ALTERNATIVE_PRODUCTION_URL`]), extra root certificates.
//! - [`RustorePrivateKey`]: key parsing with precise errors ([`KeyError`]) and signing.
//! - [`RustoreSource`]: the [`auth_core::CredentialSource`]; [`RustoreSource::into_client`]
//!   gives a ready [`auth_core::AuthClient`].
//! - [`protocol`]: the wire format.
//! - `testkit` (feature): a loopback emulator of RuStore for tests.
//!
//! `into_client` (and `AuthClient::new`) build the API client with the configuration's HTTP
//! settings, so API calls to [`ALTERNATIVE_PRODUCTION_URL`] trust the same extra roots as the
//! token request.

#![forbid(unsafe_code)]

mod config;
mod error;
mod key;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{ALTERNATIVE_PRODUCTION_URL, PRODUCTION_URL, RustoreConfig, RustoreConfigBuilder};
pub use error::{KeyError, KeyForm};
pub use key::{MIN_KEY_BITS, RustorePrivateKey};
pub use source::RustoreSource;

/// The provider's short name, used in errors and store keys: `rustore`.
pub const PROVIDER: &str = "rustore";
