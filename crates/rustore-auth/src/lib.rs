//! RuStore Public API authentication.
//!
//! RuStore's console gives an RSA private key (base64 PKCS#8 DER) and its key ID. To call the
//! API, a client signs `keyId + timestamp` with SHA512withRSA, trades the signature at
//! `POST /public/auth/` for a JWE token that lives 900 s, and sends it as `Public-Token` on
//! every request. This crate does exactly that on top of `auth-core`: the token is cached,
//! refreshed 60 s (plus jitter) before it runs out, fetched by one caller at a time, and fetched
//! again once when the API answers 401.
//!
//! - [`RustoreConfig`]: key ID, private key (console string, PEM PKCS#8, PEM PKCS#1 or base64
//!   PKCS#1 DER), base URL (default `https://public-api.rustore.ru`), extra root certificates.
//! - [`RustorePrivateKey`]: key parsing with precise errors ([`KeyError`]) and signing.
//! - [`RustoreSource`]: the [`auth_core::CredentialSource`]; [`RustoreSource::into_client`]
//!   gives a ready [`auth_core::AuthClient`].
//! - [`protocol`]: the wire format.
//! - `testkit` (feature): a loopback emulator of RuStore for tests.
//!
//! ```no_run
//! use rustore_auth::{RustoreConfig, RustoreSource};
//! use auth_core::SecretString;
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! let key = std::env::var("RUSTORE_PRIVATE_KEY").unwrap_or_default();
//! let config = RustoreConfig::builder()
//!     .key_id("2351024845")
//!     .private_key(SecretString::from(key))
//!     .build()?;
//! let client = RustoreSource::new(config).into_client()?;
//! let response = client
//!     .get("https://public-api.rustore.ru/public/v1/application")
//!     .await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod config;
mod error;
mod key;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{RustoreConfig, RustoreConfigBuilder};
pub use error::{KeyError, KeyForm, PROVIDER};
pub use key::{MIN_KEY_BITS, RustorePrivateKey};
pub use protocol::{ALTERNATIVE_BASE_URL, DEFAULT_BASE_URL, PUBLIC_TOKEN_HEADER};
pub use source::RustoreSource;
