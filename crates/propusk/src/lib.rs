//! **propusk** (пропуск, "a pass"): get a program authenticated with five business APIs of
//! Russia and Ukraine, keep it authenticated, safely and fast.
//!
//! Enable one feature per provider (or `full`); each re-exports that provider's crate under a
//! short name, beside [`core`] (the shared cache, client and stores).
//!
//! | feature | module | provider |
//! |---|---|---|
//! | `kontur` | `propusk::kontur` | Kontur EDI (`KonturEdiAuth` token, OpenID Connect) |
//! | `evotor` | `propusk::evotor` | Evotor Cloud (Cloud token by path; webhook receiver with per-user tokens) |
//! | `rustore` | `propusk::rustore` | RuStore Public API (SHA512withRSA-signed key, JWE sent as `Public-Token`) |
//! | `waves` | `propusk::waves` | Waves Enterprise (node `X-API-Key` and its hash; OAuth Bearer JWTs with rotating refresh tokens) |
//! | `alliance` | `propusk::alliance` | Bank Alliance (device session from a JWE answer, card-data encryption) |
//!
//! Kontur EDI, with the token cached for 12 h and re-authenticated on 401:
//!
//! ```no_run
//! # #[cfg(feature = "kontur")]
//! # async fn kontur() -> Result<(), propusk::core::AuthError> {
//! use propusk::core::{AuthClient, CredentialCache, SecretString};
//! use propusk::kontur::{KonturConfig, KonturSource};
//!
//! let config = KonturConfig::builder()
//!     .api_client_id("testClient-8ee1638deae84c86b8e2069955c2825a")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("KONTUR_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = AuthClient::new(CredentialCache::new(KonturSource::new(config)))?;
//! let boxes = client.get("https://edi-api.kontur.ru/V1/Boxes/GetBoxesInfo").await?;
//! # Ok(()) }
//! ```
//!
//! RuStore, with the console's key ID and private key; the JWE is sent as `Public-Token`:
//!
//! ```no_run
//! # #[cfg(feature = "rustore")]
//! # async fn rustore() -> Result<(), propusk::core::AuthError> {
//! use propusk::core::SecretString;
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
//! (`b_used_token`) are re-authorized too, and card data is encrypted to the bank's key:
//!
//! ```no_run
//! # #[cfg(feature = "alliance")]
//! # async fn alliance() -> Result<(), Box<dyn std::error::Error>> {
//! use propusk::alliance::{AllianceConfig, AllianceSource, CardNumber, MerchantKey, PublicKey};
//! use propusk::core::{AuthClient, CredentialCache};
//!
//! let key = MerchantKey::from_jwk(&std::env::var("ALLIANCE_AUTH_KEY")?)?;
//! let config = AllianceConfig::builder()
//!     .base_url(propusk::alliance::TEST_URL)
//!     .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
//!     .authorization_key(key)
//!     .build()?;
//! let client = AuthClient::new(CredentialCache::new(AllianceSource::new(config)))?;
//! let operations = client
//!     .get(format!("{}/ecom/execute_request/hpp/v1/operations", propusk::alliance::TEST_URL))
//!     .await?;
//! let payment_key = PublicKey::payment_key(&std::env::var("ALLIANCE_PAYMENT_KEY")?)?;
//! let encrypted_card_number = CardNumber::new("5573670000000304")?.encrypt(&payment_key)?;
//! # Ok(()) }
//! ```
//!
//! Waves Enterprise, OAuth (refreshed 30 s before `exp` with the rotating refresh token) or the
//! node's API key:
//!
//! ```no_run
//! # #[cfg(feature = "waves")]
//! # async fn waves() -> Result<(), propusk::core::AuthError> {
//! use propusk::core::{AuthClient, SecretString};
//! use propusk::waves::{WavesConfig, WavesSource};
//!
//! let config = WavesConfig::builder()
//!     .auth_url("https://auth.example.com")
//!     .login("user@example.com")
//!     .password(SecretString::from(std::env::var("WAVES_PASSWORD").unwrap_or_default()))
//!     .build()?;
//! let client = AuthClient::new(WavesSource::new(config).into_cache())?;
//! let status = client.get("https://node.example.com:6862/node/status").await?;
//!
//! let api_key = std::env::var("WAVES_API_KEY").unwrap_or_default();
//! let key = WavesConfig::api_key(SecretString::from(api_key))?;
//! let node = AuthClient::new(WavesSource::new(key).into_cache())?;
//! # Ok(()) }
//! ```
//!
//! Evotor, calling the Cloud with the token its `user/token` webhook delivered into the store
//! your receiver writes:
//!
//! ```no_run
//! # #[cfg(feature = "evotor")]
//! # async fn evotor() -> Result<(), propusk::core::AuthError> {
//! use std::sync::Arc;
//! use propusk::core::{AuthClient, CredentialCache};
//! use propusk::evotor::webhook::FileCloudTokens;
//! use propusk::evotor::{EvotorConfig, EvotorSource};
//!
//! let store = Arc::new(FileCloudTokens::open("/var/lib/my-service/evotor"));
//! let config = EvotorConfig::builder().user_id("01-000000000000001").build()?;
//! let client = AuthClient::new(CredentialCache::new(EvotorSource::new(config, store)?))?;
//! let stores = client.get("https://api.evotor.ru/api/v1/inventories/stores/search").await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub use auth_core as core;

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
