//! **propusk** (пропуск, "a pass"): get a program authenticated with five business APIs of
//! Russia and Ukraine, keep it authenticated, safely and fast.
//!
//! Enable one feature per provider (or `full`); each re-exports that provider's crate under a
//! short name, beside [`auth`] (`auth-core`: the shared cache, client and stores).
//!
//! | feature | module | provider |
//! |---|---|---|
//! | `kontur` | `propusk::kontur` | Kontur EDI (`KonturEdiAuth` token, OpenID Connect) |
//! | `evotor` | `propusk::evotor` | Evotor Cloud (Cloud token by path; webhook receiver with per-user tokens) |
//! | `rustore` | `propusk::rustore` | RuStore Public API (SHA512withRSA-signed key, JWE sent as `Public-Token`) |
//! | `waves` | `propusk::waves` | Waves Enterprise (node `X-API-Key` and its hash; OAuth Bearer JWTs with rotating refresh tokens) |
//! | `alliance` | `propusk::alliance` | Bank Alliance (device session from a JWE answer, card-data encryption) |
//!
//! # Example
//!
//! Every provider has one shape: `XConfig::builder()…build()?`, then
//! `XSource::new(config).into_client()?` (or `.into_cache_builder()` to add a store). Kontur EDI,
//! with the token cached for 12 h and re-authenticated on 401:
//!
//! ```no_run
//! # #[cfg(feature = "kontur")]
//! # async fn kontur() -> Result<(), propusk::auth::AuthError> {
//! use propusk::auth::SecretString;
//! use propusk::kontur::{KonturConfig, KonturSource};
//!
//! let config = KonturConfig::builder()
//!     .api_client_id("testClient-8ee1638deae84c86b8e2069955c2825a")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("KONTUR_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = KonturSource::new(config).into_client()?;
//! let boxes = client.get("https://edi-api.kontur.ru/V1/Boxes/GetBoxesInfo").await?;
//! # Ok(()) }
//! ```
//!
//! RuStore, with the console's key ID and private key; the JWE is sent as `Public-Token`:
//!
//! ```no_run
//! # #[cfg(feature = "rustore")]
//! # async fn rustore() -> Result<(), propusk::auth::AuthError> {
//! use propusk::auth::SecretString;
//! use propusk::rustore::{RustoreConfig, RustoreSource};
//!
//! let config = RustoreConfig::builder()
//!     .key_id("2351024845")
//!     .private_key(SecretString::from(std::env::var("RUSTORE_PRIVATE_KEY").unwrap_or_default()))
//!     .build()?;
//! let client = RustoreSource::new(config).into_client()?;
//! let apps = client.get("https://public-api.rustore.ru/public/v1/application").await?;
//! # Ok(()) }
//! ```
//!
//! Bank Alliance, with the merchant's EC P-384 JWK; rejections under HTTP 200
//! (`b_used_token`) are re-authorized too. A new authorization ends the previous session, so
//! processes sharing the service code share a store:
//!
//! ```no_run
//! # #[cfg(feature = "alliance")]
//! # async fn alliance() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use propusk::alliance::{AllianceConfig, AllianceSource, MerchantKey};
//! use propusk::auth::AuthClient;
//! use propusk::auth::store::FileStore;
//!
//! let config = AllianceConfig::builder()
//!     .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
//!     .authorization_key(MerchantKey::from_jwk(&std::env::var("ALLIANCE_AUTH_KEY")?)?)
//!     .build()?;
//! let cache = AllianceSource::new(config)
//!     .into_cache_builder()
//!     .store(Arc::new(FileStore::new("/var/cache/my-service/propusk")))
//!     .build();
//! let client = AuthClient::new(cache)?;
//! # Ok(()) }
//! ```
//!
//! Waves Enterprise, OAuth (refreshed 30 s before `exp`, the refresh token rotating) and API-key
//! mode:
//!
//! ```no_run
//! # #[cfg(feature = "waves")]
//! # async fn waves() -> Result<(), propusk::auth::AuthError> {
//! use propusk::auth::SecretString;
//! use propusk::waves::{WavesConfig, WavesSource};
//!
//! let config = WavesConfig::builder()
//!     .auth_url("https://auth.example.com")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("WAVES_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = WavesSource::new(config).into_client()?;
//!
//! let key = WavesConfig::builder().api_key(SecretString::from("ridethewaves!")).build()?;
//! let node = WavesSource::new(key).into_client()?;
//! # Ok(()) }
//! ```
//!
//! Evotor, calling the Cloud with the token its `user/token` webhook delivered into the store
//! your receiver writes:
//!
//! ```no_run
//! # #[cfg(feature = "evotor")]
//! # async fn evotor() -> Result<(), propusk::auth::AuthError> {
//! use std::sync::Arc;
//! use propusk::evotor::webhook::FileCloudTokens;
//! use propusk::evotor::{EvotorConfig, EvotorSource};
//!
//! let tokens = Arc::new(FileCloudTokens::open("/var/lib/my-service/evotor"));
//! let config = EvotorConfig::builder()
//!     .user_id("01-000000000000001")
//!     .cloud_tokens(tokens)
//!     .build()?;
//! let client = EvotorSource::new(config).into_client()?;
//! let stores = client.get("https://api.evotor.ru/api/v1/inventories/stores/search").await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub use auth_core as auth;

/// The README's Rust examples, compiled as doc tests (with every provider).
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;

/// The Russian README's, likewise.
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../../../README.ru.md")]
pub struct ReadmeExamplesRu;

#[cfg(feature = "kontur")]
pub use kontur_auth as kontur;

#[cfg(feature = "evotor")]
pub use evotor_auth as evotor;

#[cfg(feature = "rustore")]
pub use rustore_auth as rustore;

#[cfg(feature = "waves")]
pub use waves_auth as waves;

#[cfg(feature = "alliance")]
pub use alliance_auth as alliance;
