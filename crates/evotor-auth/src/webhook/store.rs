//! What the receiver keeps: registered users, user tokens (as digests), Cloud tokens, and the
//! keys of events already applied. The [`WebhookStore`] trait and the in-memory store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::AuthError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::TokenDigest;
use crate::UserId;
use crate::tokens::CloudTokenStore;

/// A user token as stored: whose it is and when it was issued. The token itself is never
/// stored, only its [`TokenDigest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTokenRecord {
    /// The user the token was issued to.
    pub user_id: UserId,
    /// When, Unix milliseconds.
    pub issued_at_ms: u64,
}

/// Where a receiver keeps its state. Implementations must make each call atomic; the receiver
/// serialises work on one event key itself.
#[async_trait]
pub trait WebhookStore: CloudTokenStore {
    /// Registers `user_id`; `false` when it was already registered.
    async fn register_user(&self, user_id: &UserId) -> Result<bool, AuthError>;

    /// Whether `user_id` is registered.
    async fn is_registered(&self, user_id: &UserId) -> Result<bool, AuthError>;

    /// Keeps a newly issued user token (by digest).
    async fn save_user_token(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError>;

    /// The record of the token with `digest`, if it is known and not revoked.
    async fn find_user_token(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<UserTokenRecord>, AuthError>;

    /// Revokes every token of `record.user_id` and keeps the one with `digest`, as ONE atomic
    /// operation: after any number of concurrent calls for a user (from any number of
    /// receivers on the store), exactly one token of that user is valid.
    async fn replace_user_tokens(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError>;

    /// Revokes one token; `false` when it was not known.
    async fn revoke_user_token(&self, digest: &TokenDigest) -> Result<bool, AuthError>;

    /// Revokes every token of `user_id`; returns how many there were.
    async fn revoke_user_tokens(&self, user_id: &UserId) -> Result<usize, AuthError>;

    /// Whether the event with `key` was already applied.
    async fn event_applied(&self, key: &str) -> Result<bool, AuthError>;

    /// Records that the event with `key` was applied at `now_ms`, and forgets keys older than
    /// `retention`.
    async fn mark_event_applied(
        &self,
        key: &str,
        now_ms: u64,
        retention: Duration,
    ) -> Result<(), AuthError>;
}

/// The receiver's state, as one value (what the file store writes).
#[derive(Default, Clone)]
pub(crate) struct State {
    pub(crate) users: BTreeSet<UserId>,
    pub(crate) user_tokens: BTreeMap<TokenDigest, UserTokenRecord>,
    pub(crate) cloud_tokens: HashMap<UserId, SecretString>,
    pub(crate) events: BTreeMap<String, u64>,
}

impl State {
    pub(crate) fn revoke_user(&mut self, user_id: &UserId) -> usize {
        let before = self.user_tokens.len();
        self.user_tokens
            .retain(|_, record| &record.user_id != user_id);
        before - self.user_tokens.len()
    }

    pub(crate) fn replace_user_tokens(&mut self, digest: TokenDigest, record: UserTokenRecord) {
        self.revoke_user(&record.user_id);
        self.user_tokens.insert(digest, record);
    }

    pub(crate) fn mark_event(&mut self, key: &str, now_ms: u64, retention: Duration) {
        let horizon = now_ms.saturating_sub(retention.as_millis() as u64);
        self.events.retain(|_, at| *at >= horizon);
        self.events.insert(key.to_owned(), now_ms);
    }
}

/// A store in this process's memory: for tests, and for receivers that may forget everything
/// on restart (the Cloud would then need to verify its users again).
#[derive(Default)]
pub struct MemoryWebhookStore {
    state: Mutex<State>,
}

impl MemoryWebhookStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl fmt::Debug for MemoryWebhookStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with(|state| {
            f.debug_struct("MemoryWebhookStore")
                .field("users", &state.users.len())
                .field("user_tokens", &state.user_tokens.len())
                .field("cloud_tokens", &state.cloud_tokens.len())
                .field("events", &state.events.len())
                .finish()
        })
    }
}

#[async_trait]
impl CloudTokenStore for MemoryWebhookStore {
    async fn cloud_token(&self, user_id: &UserId) -> Result<Option<SecretString>, AuthError> {
        Ok(self.with(|state| state.cloud_tokens.get(user_id).cloned()))
    }

    async fn save_cloud_token(
        &self,
        user_id: &UserId,
        token: SecretString,
    ) -> Result<(), AuthError> {
        self.with(|state| state.cloud_tokens.insert(user_id.clone(), token));
        Ok(())
    }
}

#[async_trait]
impl WebhookStore for MemoryWebhookStore {
    async fn register_user(&self, user_id: &UserId) -> Result<bool, AuthError> {
        Ok(self.with(|state| state.users.insert(user_id.clone())))
    }

    async fn is_registered(&self, user_id: &UserId) -> Result<bool, AuthError> {
        Ok(self.with(|state| state.users.contains(user_id)))
    }

    async fn save_user_token(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        self.with(|state| state.user_tokens.insert(*digest, record));
        Ok(())
    }

    async fn replace_user_tokens(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        self.with(|state| state.replace_user_tokens(*digest, record));
        Ok(())
    }

    async fn find_user_token(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<UserTokenRecord>, AuthError> {
        Ok(self.with(|state| state.user_tokens.get(digest).cloned()))
    }

    async fn revoke_user_token(&self, digest: &TokenDigest) -> Result<bool, AuthError> {
        Ok(self.with(|state| state.user_tokens.remove(digest).is_some()))
    }

    async fn revoke_user_tokens(&self, user_id: &UserId) -> Result<usize, AuthError> {
        Ok(self.with(|state| state.revoke_user(user_id)))
    }

    async fn event_applied(&self, key: &str) -> Result<bool, AuthError> {
        Ok(self.with(|state| state.events.contains_key(key)))
    }

    async fn mark_event_applied(
        &self,
        key: &str,
        now_ms: u64,
        retention: Duration,
    ) -> Result<(), AuthError> {
        self.with(|state| state.mark_event(key, now_ms, retention));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn user(n: u8) -> UserId {
        UserId::parse(&format!("01-00000000000000{n}")).unwrap()
    }

    #[tokio::test]
    async fn tokens_are_found_and_revoked() {
        let store = MemoryWebhookStore::new();
        let a = TokenDigest::of("a");
        let b = TokenDigest::of("b");
        store
            .save_user_token(
                &a,
                UserTokenRecord {
                    user_id: user(1),
                    issued_at_ms: 1,
                },
            )
            .await
            .unwrap();
        store
            .save_user_token(
                &b,
                UserTokenRecord {
                    user_id: user(1),
                    issued_at_ms: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store.find_user_token(&a).await.unwrap().unwrap().user_id,
            user(1)
        );
        assert!(store.revoke_user_token(&a).await.unwrap());
        assert!(!store.revoke_user_token(&a).await.unwrap());
        assert!(store.find_user_token(&a).await.unwrap().is_none());
        assert_eq!(store.revoke_user_tokens(&user(1)).await.unwrap(), 1);
        assert!(store.find_user_token(&b).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn cloud_tokens_last_write_wins() {
        let store = MemoryWebhookStore::new();
        assert!(store.cloud_token(&user(1)).await.unwrap().is_none());
        store
            .save_cloud_token(&user(1), SecretString::from("t1"))
            .await
            .unwrap();
        store
            .save_cloud_token(&user(1), SecretString::from("t2"))
            .await
            .unwrap();
        assert_eq!(
            store
                .cloud_token(&user(1))
                .await
                .unwrap()
                .unwrap()
                .expose_secret(),
            "t2"
        );
        assert!(!format!("{store:?}").contains("t2"));
    }

    #[tokio::test]
    async fn old_event_keys_are_forgotten() {
        let store = MemoryWebhookStore::new();
        let day = Duration::from_secs(86_400);
        store.mark_event_applied("a", 0, day).await.unwrap();
        assert!(store.event_applied("a").await.unwrap());
        store
            .mark_event_applied("b", 2 * 86_400_000, day)
            .await
            .unwrap();
        assert!(!store.event_applied("a").await.unwrap());
        assert!(store.event_applied("b").await.unwrap());
    }
}
