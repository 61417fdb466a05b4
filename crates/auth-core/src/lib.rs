//! What every propusk provider shares.
//!
//! - [`Credential`]: the headers a request must carry, when they stop being good, and the
//!   cache generation that issued them.
//! - [`CredentialSource`]: implemented by each provider crate; obtains a credential and says
//!   what a rejection looks like.
//! - [`CredentialCache`]: lock-free reads, single-flight acquisition, early refresh with jitter
//!   under a [`RefreshPolicy`], backoff, invalidation by generation.
//! - [`store`]: where credentials outlive a process ([`store::MemoryStore`], [`store::FileStore`],
//!   `store::RedisStore` with feature `redis`).
//! - [`provider`]: the tools a provider crate is written with (body limits, base URLs,
//!   owner-only files); a user of the providers needs none of it.
//! - [`AuthClient`]: the reqwest glue, with retry-once on rejection and redirect handling that
//!   never carries credentials to another origin. Feature `middleware` adds
//!   [`AuthMiddleware`] for `reqwest-middleware` users.
//!
//! Secrets are [`secrecy::SecretString`]s throughout, and every type that holds one has a
//! hand-written `Debug` that leaves it out.
//!
//! ```no_run
//! use auth_core::{AuthClient, AuthError, Credential, CredentialCache, CredentialSource, Identity};
//! use secrecy::SecretString;
//! use std::time::{Duration, SystemTime};
//!
//! struct StaticToken(Identity);
//!
//! #[async_trait::async_trait]
//! impl CredentialSource for StaticToken {
//!     fn identity(&self) -> &Identity { &self.0 }
//!     async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
//!         Credential::new(SecretString::from("t0ken"), SystemTime::now() + Duration::from_secs(3600))
//!             .with_header("example", http::header::AUTHORIZATION, "Bearer t0ken")
//!     }
//! }
//!
//! # async fn run() -> Result<(), AuthError> {
//! let cache = CredentialCache::new(StaticToken(Identity::new("example", ["account-1"])));
//! let client = AuthClient::new(cache)?;
//! let response = client.get("https://api.example.com/v1/things").await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod cache;
mod client;
mod credential;
mod error;
mod http;
mod identity;
#[cfg(feature = "middleware")]
mod middleware;
mod policy;
pub mod provider;
mod source;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use cache::{CacheBuilder, CredentialCache, RequestHeaders};
pub use client::{AuthClient, MAX_REDIRECTS};
pub use credential::Credential;
pub use error::AuthError;
pub use http::HttpSettings;
pub use identity::Identity;
#[cfg(feature = "middleware")]
pub use middleware::AuthMiddleware;
pub use policy::RefreshPolicy;
pub use source::{CredentialSource, ResponseView};

pub use async_trait::async_trait;
pub use secrecy::{self, ExposeSecret, SecretString};
