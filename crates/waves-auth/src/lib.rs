//! Waves Enterprise authentication.
//!
//! # Example
//!
//! ```no_run
//! use auth_core::SecretString;
//! use waves_auth::{WavesConfig, WavesSource};
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! let config = WavesConfig::builder()
//!     .auth_url("https://auth.example.com") // your deployment's authorization service
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("WAVES_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = WavesSource::new(config).into_client()?;
//! let answer = client.get("https://auth.example.com/status").await?;
//! # let _ = answer;
//! # Ok(()) }
//! ```
//!
//! A node is another origin than the authorization service: allow it on the client
//! ([`AuthClient::allow_origin`](auth_core::AuthClient::allow_origin)) before sending the
//! credential there. With a store, so that the rotating refresh token outlives the process:
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::store::FileStore;
//! use auth_core::{AuthClient, SecretString};
//! use waves_auth::{WavesConfig, WavesSource};
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! let config = WavesConfig::builder()
//!     .auth_url("https://auth.example.com")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("WAVES_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let cache = WavesSource::new(config)
//!     .into_cache_builder() // refreshes 30 s before `exp`
//!     .store(Arc::new(FileStore::new("/var/cache/my-app/propusk")))
//!     .build();
//! let node = url::Url::parse("https://node.example.com:6862").expect("a URL");
//! let client = AuthClient::new(cache)?.allow_origin(&node);
//! let status = client.get("https://node.example.com:6862/node/status").await?;
//! println!("{}", status.text().await.unwrap_or_default());
//!
//! // API-key mode (the node's default), and the hash for the node's `api-key-hash` setting:
//! let config = WavesConfig::builder()
//!     .api_key(SecretString::from("ridethewaves!"))
//!     .build()?;
//! assert_eq!(
//!     waves_auth::api_key_hash("ridethewaves!"),
//!     "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu"
//! );
//! let keyed = WavesSource::new(config).into_client()?.allow_origin(&node);
//! # let _ = keyed;
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! A Waves Enterprise node guards its REST API in one of two ways (`node.api.auth.type`):
//!
//! - **`api-key`** (the node's default): every request carries the plain key as
//!   `X-API-Key: <key>`; the node compares [`api_key_hash`] of what it receives with its
//!   configured `api-key-hash`. [`api_key_hash`] is also what an operator writes into that setting.
//! - **`oauth2`**: every request carries `Authorization: Bearer <access_token>`, a JWT from the
//!   authorization service. [`WavesSource`] logs in (`POST {auth}/v1/auth/login`) or exchanges a
//!   service token (`POST {auth}/v1/auth/token`), reads the expiry from the JWT's `exp` claim,
//!   and refreshes with the single-use refresh token (`POST {auth}/v1/auth/refresh`), which
//!   rotates: the new one is kept with the credential, so a cache with a store saves it at once.
//!
//! In an [`auth_core::CredentialCache`] (its policy comes from the source: 30 s before `exp`)
//! the token is refreshed in the background, one refresh for any number of concurrent callers,
//! and [`auth_core::AuthClient`] re-authenticates once on HTTP 401 (node codes 618, 619, 622).
//! HTTP 403 (621, a missing role; or 2, a wrong API key) goes back to the caller as is.
//!
//! There is no public production URL: each Waves Enterprise deployment runs its own
//! authorization service and nodes, so [`WavesConfigBuilder::auth_url`] has no default.

#![forbid(unsafe_code)]

mod config;
mod error;
mod hash;
pub mod jwt;
pub mod protocol;
mod register;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{
    API_KEY_LIFETIME, DEFAULT_ACCOUNT, DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, WavesConfig,
    WavesConfigBuilder, WavesMode,
};
pub use error::NodeErrorCode;
pub use hash::{api_key_hash, api_key_matches};
pub use register::{Locale, Registration, UserKind};
pub use source::{REFRESH_TOKEN_EXTRA, WavesSource};

/// The provider's short name, used in errors and store keys: `waves`.
pub const PROVIDER: &str = "waves";
