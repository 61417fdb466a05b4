//! The on-disk (and in-Redis) form of a credential.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Credential;

/// The format version this build writes. An entry with a higher version is treated as absent.
pub const FORMAT_VERSION: u32 = 1;

/// A credential as stored: plain JSON, written only to owner-readable files or a private Redis.
///
/// It is data, not headers: the token, its expiry, when it was acquired and the provider's own
/// fields. The provider rebuilds the request headers from them
/// ([`CredentialSource::restore`](crate::CredentialSource::restore)); anything else an entry
/// holds (the `headers` list older versions wrote, or a field planted by whoever could write the
/// entry) is ignored with a warning and never sent.
#[derive(Clone, Serialize, Deserialize)]
pub struct PersistedCredential {
    /// Format version: this build writes 1, and treats an entry with a higher one as absent.
    pub format: u32,
    /// The provider, e.g. `kontur` (a check against mixing files up).
    pub provider: String,
    /// The token value.
    pub token: String,
    /// Expiry, Unix milliseconds.
    pub expires_at_ms: u64,
    /// When it was acquired, Unix milliseconds (absent in entries of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquired_at_ms: Option<u64>,
    /// Whether it replaced a credential that had just been rejected (the rejection window).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_rejection: bool,
    /// Provider state.
    #[serde(default)]
    pub extras: BTreeMap<String, String>,
    /// Any other field of the entry (e.g. an old `headers` list): ignored, never written back.
    #[serde(flatten, skip_serializing)]
    pub ignored: BTreeMap<String, serde::de::IgnoredAny>,
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
    /// The stored form of `credential`: its token, expiry, acquisition time and extras (never
    /// its headers).
    pub fn from_credential(provider: &str, credential: &Credential) -> Self {
        Self {
            format: FORMAT_VERSION,
            provider: provider.to_owned(),
            token: credential.token().expose_secret().to_owned(),
            expires_at_ms: unix_ms(credential.expires_at()),
            acquired_at_ms: Some(unix_ms(credential.acquired_at())),
            follows_rejection: credential.follows_rejection(),
            extras: credential
                .extras()
                .iter()
                .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
                .collect(),
            ignored: BTreeMap::new(),
        }
    }

    /// Back to a credential's data: token, expiry, acquisition time and extras, with no headers
    /// (the provider adds them in [`CredentialSource::restore`](crate::CredentialSource::restore)).
    /// Fields this build does not know are ignored with a warning. `Err` says (without secrets)
    /// why the entry is unusable.
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
        if !self.ignored.is_empty() {
            tracing::warn!(
                provider,
                fields = self.ignored.len(),
                stored_headers = self.ignored.contains_key("headers"),
                "the stored credential has fields this version does not use (stored headers, say); they are ignored and never sent"
            );
        }
        let expires_at = UNIX_EPOCH + Duration::from_millis(self.expires_at_ms);
        let mut credential = Credential::new(SecretString::from(self.token), expires_at)
            // An entry of an older version: its age is unknown, so it counts as old.
            .with_acquired_at(UNIX_EPOCH + Duration::from_millis(self.acquired_at_ms.unwrap_or(0)))
            .with_follows_rejection(self.follows_rejection);
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

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_data_and_planted_headers_are_dropped() {
        let json = br#"{"format":1,"provider":"kontur","token":"t0k","headers":[["authorization","x"],["x-planted","1"]],"expires_at_ms":4102444800000,"extras":{"e":"v"},"x-other":{"a":1}}"#;
        let entry: PersistedCredential = serde_json::from_slice(json).unwrap();
        assert_eq!(entry.ignored.len(), 2);
        let credential = entry.into_credential("kontur").unwrap();
        assert!(credential.headers().is_empty(), "{credential:?}");
        assert_eq!(credential.token().expose_secret(), "t0k");
        assert_eq!(credential.extra("e").unwrap().expose_secret(), "v");
        assert_eq!(
            credential.acquired_at(),
            UNIX_EPOCH,
            "an old entry counts as old"
        );
    }

    #[test]
    fn the_stored_form_holds_no_headers() {
        let credential = Credential::new(SecretString::from("t0k"), SystemTime::now())
            .with_header("test", http::header::AUTHORIZATION, "Bearer t0k")
            .unwrap();
        let json = PersistedCredential::from_credential("test", &credential).to_json();
        let text = String::from_utf8(json).unwrap();
        assert!(
            !text.contains("headers") && !text.contains("Bearer"),
            "{text}"
        );
        assert!(text.contains("acquired_at_ms"), "{text}");
    }
}
