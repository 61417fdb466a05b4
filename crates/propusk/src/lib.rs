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
