//! The receiving side: the Evotor Cloud calls YOUR service.
//!
//! - Reading `Authorization` ([`parse_authorization`]) and checking the service credential in
//!   constant time ([`ServiceVerifier`]).
//! - [`generate_user_token`] and [`TokenDigest`]: user tokens, the tokens **your** receiver
//!   issues per user (256 random bits, URL-safe) and the Cloud sends back on notifications. The
//!   Cloud's own token for a user arrives as a [`CloudTokenDelivery`] and is kept for the client
//!   side ([`crate::CloudTokenStore`]).
//! - Typed request bodies ([`UserCreate`], [`CloudTokenDelivery`], [`Shop`], ...) and
//!   [`parse_body`] with Evotor's 2001/2002/2003 codes.
//! - [`WebhookError`]: Evotor's error format with the right statuses.
//! - [`WebhookStore`]: users, user tokens, Cloud tokens, applied events;
//!   [`MemoryWebhookStore`], [`FileWebhookStore`] (one receiver per folder) and, with feature
//!   `postgres`, `PostgresWebhookStore` (several receivers on one database).
//! - [`Receiver`]: all of it together, independent of any web framework; feature `axum` adds
//!   [`crate::axum::router`].

mod authorization;
mod bodies;
mod error;
mod file_store;
#[cfg(feature = "postgres")]
mod postgres_store;
mod receiver;
mod reference;
mod store;
mod user_token;

pub use authorization::{
    AuthorizationProblem, Presented, ServiceVerifier, decode_basic, parse_authorization,
};
pub use bodies::{
    CloudTokenDelivery, Device, Document, Employee, EmployeeShop, Extra, InstallationData,
    InstallationEvent, InstallationEventType, Notification, Product, ReceiptData, ReceiptEvent,
    Shop, SubscriptionEvent, SubscriptionEventType, Timestamp, UserCreate, UserVerify,
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
