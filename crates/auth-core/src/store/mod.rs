//! Where credentials outlive a process: the [`CredentialStore`] trait and its implementations.

mod file;
mod memory;
mod persisted;
#[cfg(feature = "redis")]
mod redis;
mod restoring;

use async_trait::async_trait;

pub use file::{FileStore, STALE_TEMPORARY_AGE};
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
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The stored credential for `identity`, if any.
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError>;

    /// Stores `credential` for `identity`, replacing what was there, atomically.
    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<(), AuthError>;

    /// Forgets the credential for `identity`.
    async fn remove(&self, identity: &Identity) -> Result<(), AuthError>;

    /// Takes the store's acquisition lock for `identity`, so that only one holder (in this
    /// process, or in a fleet for shared stores) talks to the provider at a time. The lock is
    /// released when the guard is dropped. The default is a no-op guard: a cache already
    /// single-flights within its process.
    async fn lock(&self, identity: &Identity) -> Result<StoreLock, AuthError> {
        let _ = identity;
        Ok(StoreLock::none())
    }
}

/// A held acquisition lock; released on drop.
pub struct StoreLock {
    _guard: Option<Box<dyn Send + Sync>>,
}

impl StoreLock {
    /// A guard that holds nothing.
    pub fn none() -> Self {
        Self { _guard: None }
    }

    /// A guard that releases the lock when `guard` is dropped.
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Some(Box::new(guard)),
        }
    }
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock")
    }
}
