//! Evotor Cloud authentication, both ways.
//!
//! Evotor is two-sided: your service calls the Cloud (`api.evotor.ru`) with a **Cloud token**,
//! and the Cloud calls your service (webhooks) with a **service credential** or a **user
//! token** you issued.
//!
//! **Calling the Cloud.** The Cloud delivers its token for each user through the `user/token`
//! webhook; the receiver keeps it in a [`CloudTokenStore`] and [`EvotorSource`] reads the latest
//! from there (there is no refresh call). On `/api/v1/...` it sends `X-Authorization: <token>`;
//! elsewhere (the v2 API) `Authorization: Bearer <token>` with
//! `Accept: application/vnd.evotor.v2+json`. A 401 makes [`auth_core::AuthClient`] read the store
//! again and retry once.
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::{AuthClient, CredentialCache};
//! use evotor_auth::{EvotorConfig, EvotorSource, webhook::FileCloudTokens};
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! // The folder your receiver keeps (it holds the folder's lock; this only reads).
//! let store = Arc::new(FileCloudTokens::open("/var/lib/my-service/evotor"));
//! let config = EvotorConfig::builder().user_id("01-000000000000001").build()?;
//! let client = AuthClient::new(CredentialCache::new(EvotorSource::new(config, store)?))?;
//! let stores = client
//!     .get("https://api.evotor.ru/api/v1/inventories/stores/search")
//!     .await?
//!     .text()
//!     .await;
//! # Ok(()) }
//! ```
//!
//! **Receiving webhooks.** [`webhook::Receiver`] checks the service credential (`Bearer <uuid4>`
//! or `Basic base64(login:password)`, constant-time) or the user token, parses the typed bodies,
//! issues user tokens, stores Cloud tokens, acknowledges re-sent events once, and answers in
//! Evotor's error format. With feature `axum`, [`axum::router`] serves it:
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use evotor_auth::ReceiverConfig;
//! use evotor_auth::webhook::{FileWebhookStore, Receiver, ReferenceAccounts, WebhookStore};
//! use secrecy::SecretString;
//!
//! let config = ReceiverConfig::builder()
//!     .service_token(SecretString::from(std::env::var("EVOTOR_SERVICE_TOKEN")?))
//!     .build()?;
//! let store: Arc<dyn WebhookStore> = Arc::new(FileWebhookStore::open("/var/lib/my-service/evotor")?);
//! // Replace ReferenceAccounts with your own AccountHandler.
//! let receiver = Receiver::new(config, store.clone(), Arc::new(ReferenceAccounts::new(store)));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
//! // Header-read timeout, connection limit, graceful shutdown (plain axum::serve has none).
//! let settings = evotor_auth::axum::ServeSettings::default();
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! evotor_auth::axum::serve_with(listener, evotor_auth::axum::router(receiver), &settings, shutdown)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Feature `testkit` adds [`testkit::FakeCloud`], which drives a receiver through the whole life
//! of an account and serves `GET /api/v1/inventories/stores/search`.

#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod config;
mod error;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;
mod tokens;
mod user;
pub mod webhook;

pub use config::{
    EventAuth, EvotorConfig, EvotorConfigBuilder, ReceiverConfig, ReceiverConfigBuilder, V2Auth,
};
pub use protocol::PRODUCTION_URL;
pub use source::EvotorSource;
pub use tokens::{CloudTokenStore, FixedCloudToken};
pub use user::UserId;

/// The provider's short name in errors, identities and store keys: `evotor`.
pub const PROVIDER: &str = "evotor";
