//! A store in this process's memory (tests, and servers that need no persistence).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{CredentialStore, LockAttempt, LockGuard, PersistedCredential, Saved, StoreLock};
use crate::{AuthError, Credential, Identity};

/// Keeps credentials in memory; shared by clones of the `Arc` that holds it.
///
/// Caches sharing one `MemoryStore` acquire one at a time: its lock is leased like the shared
/// stores' locks (default 30 s, [`with_lease`](Self::with_lease)), and a save under a lock
/// whose lease lapsed and that another took is refused.
#[derive(Debug)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    lease: Duration,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, PersistedCredential>,
    locks: HashMap<String, (u64, Instant)>,
    next_holder: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            lease: Duration::from_secs(30),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses another lease for its lock. Default 30 s.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a live lock is held for `identity`.
    pub fn is_locked(&self, identity: &Identity) -> bool {
        self.state()
            .locks
            .get(identity.storage_key())
            .is_some_and(|(_, until)| *until > Instant::now())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    fn put(state: &mut State, identity: &Identity, credential: &Credential) -> Saved {
        let entry = PersistedCredential::from_credential(identity.provider(), credential);
        let stored = state
            .entries
            .get(identity.storage_key())
            .map(|e| e.expires_at_ms);
        if !super::may_replace(stored, entry.expires_at_ms) {
            return Saved::KeptNewer;
        }
        state
            .entries
            .insert(identity.storage_key().to_owned(), entry);
        Saved::Written
    }
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A lock on one identity in a [`MemoryStore`].
struct MemoryLease {
    state: Arc<Mutex<State>>,
    key: String,
    holder: u64,
}

#[async_trait]
impl LockGuard for MemoryLease {
    async fn release(self: Box<Self>) {
        let mut state = lock_state(&self.state);
        if state
            .locks
            .get(&self.key)
            .is_some_and(|(h, _)| *h == self.holder)
        {
            state.locks.remove(&self.key);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let state = self.state();
        let Some(entry) = state.entries.get(identity.storage_key()) else {
            return Ok(None);
        };
        Ok(entry.clone().into_credential(identity.provider()).ok())
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError> {
        Ok(Self::put(&mut self.state(), identity, credential))
    }

    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        let mut state = self.state();
        if let Some(lease) = lock.guard::<MemoryLease>() {
            let held = state
                .locks
                .get(identity.storage_key())
                .is_some_and(|(h, until)| *h == lease.holder && *until > Instant::now());
            if !held {
                return Ok(Saved::LostLock);
            }
        }
        Ok(Self::put(&mut state, identity, credential))
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        self.state().entries.remove(identity.storage_key());
        Ok(())
    }

    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        let mut state = self.state();
        let now = Instant::now();
        let key = identity.storage_key().to_owned();
        if state.locks.get(&key).is_some_and(|(_, until)| *until > now) {
            return Ok(LockAttempt::Busy);
        }
        state.next_holder += 1;
        let holder = state.next_holder;
        state.locks.insert(key.clone(), (holder, now + self.lease));
        Ok(LockAttempt::Taken(StoreLock::new(MemoryLease {
            state: Arc::clone(&self.state),
            key,
            holder,
        })))
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
