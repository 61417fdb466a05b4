//! The receiving side: the Evotor Cloud calls YOUR service.
//!
//! - [`authorization`]: reading `Authorization` and checking the service credential in
//!   constant time ([`ServiceVerifier`]).
//! - [`generate_user_token`] and [`TokenDigest`]: per-user tokens (256 random bits, URL-safe).
//! - [`bodies`]: typed request bodies and [`parse_body`] with Evotor's 2001/2002/2003 codes.
//! - [`WebhookError`]: Evotor's error format with the right statuses.
//! - [`WebhookStore`]: users, user tokens, Cloud tokens, applied events;
//!   [`MemoryWebhookStore`], [`FileWebhookStore`] (one receiver per folder) and, with feature
//!   `postgres`, `PostgresWebhookStore` (several receivers on one database).
//! - [`Receiver`]: all of it together, independent of any web framework; feature `axum` adds
//!   [`crate::axum::router`].

pub mod authorization;
pub mod bodies;
mod error;
mod file_store;
#[cfg(feature = "postgres")]
mod postgres_store;
mod receiver;
mod reference;
mod store;
mod user_token;

pub use authorization::{AuthorizationProblem, Presented, ServiceVerifier};
pub use bodies::{
    Device, Document, Employee, EmployeeStore, InstallationData, InstallationEvent,
    InstallationEventType, Notification, Product, ReceiptData, ReceiptEvent, Store,
    SubscriptionEvent, SubscriptionEventType, Timestamp, UserCreate, UserToken, UserVerify,
    VerifiedUser, parse_body, parse_items,
};
pub use error::{ErrorItem, WebhookError};
pub use file_store::{
    CLOUD_TOKENS_FILE, EVENTS_FILE, FileCloudTokens, FileWebhookStore, LOCK_FILE, USERS_FILE,
};
#[cfg(feature = "postgres")]
pub use postgres_store::{DEFAULT_POOL_SIZE, PostgresWebhookStore, SCHEMA_VERSION};
pub use receiver::{AccountHandler, Caller, Endpoint, Guard, Receiver, WebhookResponse};
pub use reference::ReferenceAccounts;
pub use store::{MemoryWebhookStore, UserTokenRecord, WebhookStore};
pub use user_token::{MAX_USER_TOKEN_LEN, TokenDigest, USER_TOKEN_BYTES, generate_user_token};

pub use crate::UserId;
