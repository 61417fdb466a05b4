//! The on-disk (and in-Redis) form of a credential.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Credential;

/// The format version this build writes. An entry with a higher version is treated as absent.
pub const FORMAT_VERSION: u32 = 1;

/// A credential as stored: plain JSON, written only to owner-readable files or a private Redis.
#[derive(Serialize, Deserialize)]
pub struct PersistedCredential {
    /// Format version: this build writes 1, and treats an entry with a higher one as absent.
    pub format: u32,
    /// The provider, e.g. `kontur` (a check against mixing files up).
    pub provider: String,
    /// The token value.
    pub token: String,
    /// The headers as (name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// Expiry, Unix milliseconds.
    pub expires_at_ms: u64,
    /// Provider state.
    #[serde(default)]
    pub extras: BTreeMap<String, String>,
}

impl fmt::Debug for PersistedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistedCredential")
            .field("format", &self.format)
            .field("provider", &self.provider)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

impl PersistedCredential {
    /// The stored form of `credential`.
    pub fn from_credential(provider: &str, credential: &Credential) -> Self {
        let headers = credential
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let expires_at_ms = credential
            .expires_at()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            format: FORMAT_VERSION,
            provider: provider.to_owned(),
            token: credential.token().expose_secret().to_owned(),
            headers,
            expires_at_ms,
            extras: credential
                .extras()
                .iter()
                .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
                .collect(),
        }
    }

    /// Back to a credential; `Err` says (without secrets) why the entry is unusable.
    pub fn into_credential(self, provider: &str) -> Result<Credential, String> {
        if self.format > FORMAT_VERSION {
            return Err(format!(
                "written by a newer propusk (format {}, this build reads {FORMAT_VERSION})",
                self.format
            ));
        }
        if self.provider != provider {
            return Err(format!(
                "belongs to provider `{}`, expected `{provider}`",
                self.provider
            ));
        }
        let expires_at = UNIX_EPOCH + Duration::from_millis(self.expires_at_ms);
        let mut credential = Credential::new(SecretString::from(self.token), expires_at);
        for (name, value) in self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "a stored header name is invalid".to_owned())?;
            credential = credential
                .with_header("store", name, &value)
                .map_err(|_| "a stored header value is invalid".to_owned())?;
        }
        for (key, value) in self.extras {
            credential = credential.with_extra(key, SecretString::from(value));
        }
        Ok(credential)
    }

    /// Serialises to JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a PersistedCredential always serialises")
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        UNIX_EPOCH + Duration::from_millis(self.expires_at_ms) <= now
    }
}
