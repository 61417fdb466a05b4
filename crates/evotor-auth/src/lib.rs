//! Evotor Cloud authentication, both ways.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use evotor_auth::{EvotorConfig, EvotorSource};
//! use evotor_auth::webhook::FileCloudTokens;
//!
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! // The Cloud tokens your receiver keeps in its folder (it holds the folder's lock; this reads).
//! let tokens = Arc::new(FileCloudTokens::open("/var/lib/my-service/evotor"));
//! let config = EvotorConfig::builder()
//!     .user_id("01-000000000000001")
//!     .cloud_tokens(tokens)
//!     .build()?;
//! let client = EvotorSource::new(config).into_client()?;
//! let stores = client
//!     .get("https://api.evotor.ru/api/v1/inventories/stores/search")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Evotor is two-sided: your service calls the Cloud (`api.evotor.ru`) with a **Cloud token**,
//! and the Cloud calls your service (webhooks) with a **service credential** or a **user
//! token** your receiver issued.
//!
//! **Calling the Cloud.** The Cloud delivers its token for each user through the `user/token`
//! webhook; the receiver keeps it in a [`CloudTokenStore`] and [`EvotorSource`] reads the latest
//! from there (there is no refresh call). A token known in advance goes to
//! [`EvotorConfigBuilder::cloud_token`] instead. On `/api/v1/...` the source sends
//! `X-Authorization: <token>`; elsewhere (the v2 API) `Authorization: Bearer <token>` with
//! `Accept: application/vnd.evotor.v2+json`. A 401 makes [`auth_core::AuthClient`] read the
//! store again and retry once. With a credential store of its own (shared by processes):
//! `EvotorSource::new(config).into_cache_builder().store(store).build()`, then
//! [`AuthClient::new`](auth_core::AuthClient::new).
//!
//! **Receiving webhooks.** [`webhook::Receiver`] checks the service credential (`Bearer <uuid4>`
//! or `Basic base64(login:password)`, constant-time) or the user token, parses the typed bodies,
//! issues user tokens, stores Cloud tokens, acknowledges re-sent events once, and answers in
//! Evotor's error format. With feature `axum`, [`axum::router`] serves it (see the example
//! there):
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
//! Feature `testkit` adds [`testkit::Emulator`], an emulated Cloud that drives a receiver
//! through the whole life of an account and serves `GET /api/v1/inventories/stores/search` and
//! `GET /stores`.

#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
mod config;
mod error;
pub mod protocol;
mod source;
#[cfg(feature = "testkit")]
pub mod testkit;
mod tokens;
mod user;
pub mod webhook;

pub use config::{
    DEFAULT_BODY_LIMIT, DEFAULT_EVENT_RETENTION, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TOKEN_LIFETIME,
    EventAuth, EvotorConfig, EvotorConfigBuilder, PRODUCTION_URL, ReceiverConfig,
    ReceiverConfigBuilder, V2Auth,
};
pub use source::EvotorSource;
pub use tokens::CloudTokenStore;
pub use user::UserId;

/// The provider's short name in errors, identities and store keys: `evotor`.
pub const PROVIDER: &str = "evotor";
