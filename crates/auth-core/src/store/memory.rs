//! A store in this process's memory (tests, and servers that need no persistence).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{CredentialStore, PersistedCredential};
use crate::{AuthError, Credential, Identity};

/// Keeps credentials in memory; shared by clones of the `Arc` that holds it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, PersistedCredential>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.get(identity.storage_key()) else {
            return Ok(None);
        };
        Ok(entry.clone().into_credential(identity.provider()).ok())
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<(), AuthError> {
        let entry = PersistedCredential::from_credential(identity.provider(), credential);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(identity.storage_key().to_owned(), entry);
        Ok(())
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(identity.storage_key());
        Ok(())
    }
}
