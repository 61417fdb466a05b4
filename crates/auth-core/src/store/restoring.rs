//! The store as a cache sees it: stored data turned back into a credential by its provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{CredentialStore, LockAttempt, Saved, StoreLock};
use crate::{AuthError, Credential, CredentialSource, Identity};

/// Wraps a store so that every loaded entry is rebuilt by the source
/// ([`CredentialSource::restore`]): the entry gives the token, expiry and extras, the provider
/// the headers. An entry the source cannot rebuild is reported and treated as absent.
///
/// A save that follows a rejection (`rejection_pending`, set by the cache) marks the saved
/// credential [`follows_rejection`](Credential::follows_rejection), so other processes apply
/// the rejection window to it too.
///
/// Forwards every [`CredentialStore`] method to the wrapped store.
pub(crate) struct RestoringStore {
    store: Arc<dyn CredentialStore>,
    source: Arc<dyn CredentialSource>,
    rejection_pending: Arc<AtomicBool>,
}

impl RestoringStore {
    /// `credential` marked as following a rejection, when the cache says one is pending.
    fn marked(&self, credential: &Credential) -> Option<Credential> {
        self.rejection_pending
            .swap(false, Ordering::AcqRel)
            .then(|| credential.clone().with_follows_rejection(true))
    }

    pub(crate) fn new(
        store: Arc<dyn CredentialStore>,
        source: Arc<dyn CredentialSource>,
        rejection_pending: Arc<AtomicBool>,
    ) -> Self {
        Self {
            store,
            source,
            rejection_pending,
        }
    }
}

#[async_trait]
impl CredentialStore for RestoringStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let Some(stored) = self.store.load(identity).await? else {
            return Ok(None);
        };
        match self
            .source
            .restore(stored.token().clone(), stored.expires_at(), stored.extras())
        {
            Ok(credential) => Ok(Some(
                credential
                    .with_acquired_at(stored.acquired_at())
                    .with_follows_rejection(stored.follows_rejection()),
            )),
            Err(error) => {
                tracing::warn!(%error, "the stored credential cannot be rebuilt; treated as absent");
                Ok(None)
            }
        }
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError> {
        let marked = self.marked(credential);
        self.store
            .save(identity, marked.as_ref().unwrap_or(credential))
            .await
    }

    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        let marked = self.marked(credential);
        self.store
            .save_under(lock, identity, marked.as_ref().unwrap_or(credential))
            .await
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        self.store.remove(identity).await
    }

    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        self.store.try_lock(identity).await
    }

    fn lease(&self) -> Duration {
        self.store.lease()
    }
}
