//! Bank Alliance (АТ «БАНК АЛЬЯНС», AlliancePay) e-com API authentication.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use alliance_auth::{AllianceConfig, AllianceSource, MerchantKey};
//! use auth_core::{AuthClient, store::FileStore};
//!
//! # async fn run(jwk: &str) -> Result<(), Box<dyn std::error::Error>> {
//! // `jwk`: the merchant's EC P-384 private JWK (the authorization key).
//! let config = AllianceConfig::builder()
//!     .base_url(alliance_auth::TEST_URL)
//!     .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
//!     .authorization_key(MerchantKey::from_jwk(jwk)?)
//!     .build()?;
//! // A new authorize ends the previous session at the bank: give the cache a store shared by
//! // every process using the service code.
//! let store = FileStore::new(FileStore::default_folder().expect("a cache folder"));
//! let cache = AllianceSource::new(config)
//!     .into_cache_builder()
//!     .store(Arc::new(store))
//!     .build();
//! let client = AuthClient::new(cache)?;
//! let answer = client
//!     .get(format!("{}/ecom/execute_request/hpp/v1/operations", alliance_auth::TEST_URL))
//!     .await?;
//! println!("{}", answer.text().await?);
//! # Ok(()) }
//! ```
//!
//! One process alone, with no store: `AllianceSource::new(config).into_client()?`.
//!
//! # What is here
//!
//! The merchant holds an EC P-384 private JWK, the *authorization key*, and a `serviceCode`.
//! `POST {base}/api-gateway/authorize_virtual_device` answers `{"jwe": …}`, encrypted to that
//! key (ECDH-ES+A256KW / A256GCM); inside are `deviceId`, `refreshToken`, `authToken`,
//! `serverPublic` and the expiry. Every request then carries `x-api_version: V1`,
//! `x-device_id`, `x-refresh_token` and a fresh `x-request_id`.
//!
//! - [`MerchantKey`] / [`PublicKey`]: JWKs validated field by field, with precise errors
//!   ([`KeyError`]); a damaged public part with a valid `d` gets the repaired public key.
//! - [`AllianceSource`]: the [`auth_core::CredentialSource`]. Rejection is HTTP 401 *or* an
//!   auth `msgCode` (`b_used_token`, `b_expired_token`, …) in any answer, HTTP 200 included;
//!   [`auth_core::AuthClient`] then authorizes again once and retries once.
//! - [`AllianceSession`]: the session, read back from a credential; encrypts request bodies to
//!   `serverPublic`. [`send_encrypted`] sends such a body through the client and, when the
//!   session is rejected, encrypts it again to the new session's key for the retry;
//!   [`decrypt_answer`] decrypts a `{"jwe": …}` answer with the key of the client's source.
//! - [`CardNumber`] / [`CardData`]: `encryptedCardNumber` and `encryptedCardData` for the
//!   bank's payment key. [`jwe`]: encrypt, check, decrypt.
//! - Feature `testkit`: `testkit::Emulator`, a loopback bank for tests.
//! - Feature `vendored-openssl` (default): builds OpenSSL (for josekit) from source, so no
//!   OpenSSL development files are needed; turn default features off to use the system's.

#![forbid(unsafe_code)]

mod card;
mod config;
mod encrypted;
mod error;
pub mod jwe;
mod key;
pub mod protocol;
mod session;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use card::{CardData, CardError, CardNumber};
pub use config::{
    AllianceConfig, AllianceConfigBuilder, PRODUCTION_URL, SESSION_LIFETIME, TEST_URL,
};
pub use encrypted::{decrypt_answer, send_encrypted};
pub use error::{AllianceError, JweError};
pub use key::{
    CONTENT_ENC, DOCUMENTED_ALG_TYPO, KEY_ALG, KeyError, KeyProblem, KeyRole, MerchantKey,
    P384_BYTES, P384_CHARS, PublicKey,
};
pub use session::{AllianceSession, EXTRA_AUTH_TOKEN, EXTRA_DEVICE_ID, EXTRA_SERVER_PUBLIC};
pub use source::AllianceSource;

/// The provider's short name, used in errors and store keys: `alliance`.
pub const PROVIDER: &str = "alliance";

/// The longest authorize answer accepted: 64 KiB (real ones are about 1.5 KiB).
pub(crate) const AUTHORIZE_MAX_BYTES: usize = 64 * 1024;
