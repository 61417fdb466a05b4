//! Where credentials outlive a process: the [`CredentialStore`] trait and its implementations.

mod file;
mod memory;
mod persisted;
#[cfg(feature = "redis")]
mod redis;
mod restoring;

use std::any::Any;
use std::time::Duration;

use async_trait::async_trait;

pub use file::{DEFAULT_FILE_LEASE, FileStore, STALE_TEMPORARY_AGE};
pub use memory::MemoryStore;
pub use persisted::PersistedCredential;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_LEASE, RETENTION_AFTER_EXPIRY, RedisStore};
pub(crate) use restoring::RestoringStore;

use crate::{AuthError, Credential, Identity};

/// Keeps credentials by [`Identity`], so a restarted process (or another process, or another
/// machine) reuses a credential instead of authenticating again.
///
/// A store that cannot read an entry (corrupt, truncated, written by a newer version) reports it
/// through `tracing` and answers `None`: a broken cache must never stop authentication.
///
/// No store replaces a credential with one that expires earlier: [`save`](Self::save) and
/// [`save_under`](Self::save_under) answer [`Saved::KeptNewer`] instead.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The stored credential for `identity`, if any. Takes no lock.
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError>;

    /// Stores `credential` for `identity`, atomically, unless the stored one expires later.
    /// For writers that hold no lock; a writer under [`try_lock`](Self::try_lock) uses
    /// [`save_under`](Self::save_under).
    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError>;

    /// Stores `credential` as [`save`](Self::save) does, but only while `lock` is still held
    /// (fencing): a holder whose lease lapsed, and whose lock another took, gets
    /// [`Saved::LostLock`] and changes nothing. The default, for stores without a lock, is
    /// [`save`](Self::save).
    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        let _ = lock;
        self.save(identity, credential).await
    }

    /// Forgets the credential for `identity`.
    async fn remove(&self, identity: &Identity) -> Result<(), AuthError>;

    /// Tries once to take the store's acquisition lock for `identity`, so that only one holder
    /// (in this process, or in a fleet for shared stores) talks to the provider at a time.
    ///
    /// [`LockAttempt::Busy`] when another holder's lease is live; [`LockAttempt::Unavailable`]
    /// when the store cannot be reached (an outage: connection refused, timed out, dropped);
    /// `Err` when the store refuses this configuration (a TLS certificate it does not trust, a
    /// wrong password), which waiting will not fix. The default takes a lock that holds
    /// nothing: a cache already single-flights within its process.
    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        let _ = identity;
        Ok(LockAttempt::Taken(StoreLock::none()))
    }

    /// How long a held lock lives without renewal: a holder that dies or stalls frees it within
    /// this, and a waiter waits no longer for a holder that stopped renewing. Default 30 s.
    fn lease(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The credential was written.
    Written,
    /// The store already holds a credential that expires later; it was kept.
    KeptNewer,
    /// The lock this save was made under is no longer held by its writer; nothing was written.
    LostLock,
}

/// The outcome of one [`CredentialStore::try_lock`].
#[derive(Debug)]
pub enum LockAttempt {
    /// Taken: the caller holds it until it calls [`StoreLock::release`].
    Taken(StoreLock),
    /// Another holder's lease is live; poll the credential, then try again.
    Busy,
    /// The store cannot be reached now (an outage, not a configuration error).
    Unavailable(AuthError),
}

/// What a store keeps for a held lock, and how it gives it back.
#[async_trait]
pub trait LockGuard: Send + Sync + 'static {
    /// Gives the lock back now (only if still ours). Awaited by the acquisition before it
    /// returns, so a process that exits right after its work leaves no lock behind.
    async fn release(self: Box<Self>);

    /// The guard as `Any`, so the store that made it can read its holder in
    /// [`CredentialStore::save_under`].
    fn as_any(&self) -> &dyn Any;
}

/// A held acquisition lock. Give it back with [`release`](Self::release); a guard dropped
/// without release frees the lock only when its lease lapses.
pub struct StoreLock {
    guard: Option<Box<dyn LockGuard>>,
}

impl StoreLock {
    /// A lock that holds nothing.
    pub fn none() -> Self {
        Self { guard: None }
    }

    /// A lock held through `guard`.
    pub fn new(guard: impl LockGuard) -> Self {
        Self {
            guard: Some(Box::new(guard)),
        }
    }

    /// The store's guard, if it is a `G`.
    pub fn guard<G: 'static>(&self) -> Option<&G> {
        self.guard.as_ref()?.as_any().downcast_ref()
    }

    /// Gives the lock back and waits until the store has it.
    pub async fn release(self) {
        if let Some(guard) = self.guard {
            guard.release().await;
        }
    }
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock")
    }
}

/// Whether a credential expiring at `candidate_ms` may replace one expiring at `stored_ms`
/// (Unix milliseconds): never an older one over a newer one.
pub(crate) fn may_replace(stored_ms: Option<u64>, candidate_ms: u64) -> bool {
    stored_ms.is_none_or(|stored| candidate_ms >= stored)
}
