//! The non-secret identity of an account, and the store key derived from it.

use std::fmt;

use sha2::{Digest, Sha256};

/// Who a credential belongs to, made of non-secret settings only (provider, base URL, client id,
/// login, ...). Two sources with the same identity may share one stored credential.
///
/// Only a hash of the parts ever reaches a file name or a Redis key, and `Debug` shows only the
/// provider and that hash, since some parts (a Kontur developer key) are better kept private.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    provider: &'static str,
    storage_key: String,
}

impl Identity {
    /// The identity of an account of `provider` described by `parts`.
    pub fn new<I, S>(provider: &'static str, parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut hasher = Sha256::new();
        hasher.update(provider.as_bytes());
        for part in parts {
            hasher.update([0u8]);
            hasher.update(part.as_ref().as_bytes());
        }
        let digest = hasher.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            provider,
            storage_key: format!("{provider}-{hex}"),
        }
    }

    /// The provider's short name, e.g. `kontur`.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// `<provider>-<32 hex digits of SHA-256 over the parts>`: safe as a file name or a Redis key.
    pub fn storage_key(&self) -> &str {
        &self.storage_key
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.storage_key)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.storage_key)
    }
}
