//! A credential: the headers a request must carry and when they stop being good.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::AuthError;

/// What a provider hands out: the authentication headers (marked sensitive), the token value
/// itself (what `propusk <provider> token` prints), when it expires, and any provider state a
/// later refresh needs (a Waves refresh token, an Alliance `authToken`), kept as secrets.
///
/// `Debug` shows header names and the expiry, never a value.
#[derive(Clone)]
pub struct Credential {
    token: SecretString,
    headers: HeaderMap,
    expires_at: SystemTime,
    extras: BTreeMap<String, SecretString>,
    generation: u64,
    acquired_at: SystemTime,
    follows_rejection: bool,
}

impl Credential {
    /// A credential whose token is `token`, good until `expires_at`, with no headers yet.
    pub fn new(token: SecretString, expires_at: SystemTime) -> Self {
        Self {
            token,
            headers: HeaderMap::new(),
            expires_at,
            extras: BTreeMap::new(),
            generation: 0,
            acquired_at: SystemTime::now(),
            follows_rejection: false,
        }
    }

    /// Adds a header every request must carry. The value is marked sensitive, so `http` and
    /// `reqwest` never print it. A value that is not a valid header value (a line break, say) is
    /// a protocol error naming the header, never showing the value.
    pub fn with_header(
        mut self,
        provider: &'static str,
        name: HeaderName,
        value: &str,
    ) -> Result<Self, AuthError> {
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            AuthError::protocol(
                provider,
                format!("the value for header `{name}` contains characters a header cannot carry"),
            )
        })?;
        value.set_sensitive(true);
        self.headers.append(name, value);
        Ok(self)
    }

    /// Keeps a piece of provider state (e.g. `refresh_token`) with the credential.
    pub fn with_extra(mut self, key: impl Into<String>, value: SecretString) -> Self {
        self.extras.insert(key.into(), value);
        self
    }

    /// The token value (Kontur token, RuStore JWE, Waves access token, ...).
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The authentication headers, values marked sensitive.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// When the provider stops accepting it.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Time left until expiry, zero when already expired.
    pub fn remaining(&self) -> Duration {
        self.expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// A piece of provider state stored with the credential.
    pub fn extra(&self, key: &str) -> Option<&SecretString> {
        self.extras.get(key)
    }

    /// All provider state, by name.
    pub fn extras(&self) -> &BTreeMap<String, SecretString> {
        &self.extras
    }

    /// When the provider issued it: set to now by [`new`](Self::new); a credential read from a
    /// store keeps the time it was first acquired.
    pub fn acquired_at(&self) -> SystemTime {
        self.acquired_at
    }

    /// Sets when it was acquired (for a credential rebuilt from stored data).
    pub fn with_acquired_at(mut self, acquired_at: SystemTime) -> Self {
        self.acquired_at = acquired_at;
        self
    }

    /// Whether it was acquired to replace a credential the provider had just rejected (kept
    /// in stores, so that another process knows it too: see
    /// [`RefreshPolicy::rejection_window`](crate::RefreshPolicy::rejection_window)).
    pub fn follows_rejection(&self) -> bool {
        self.follows_rejection
    }

    /// Sets [`follows_rejection`](Self::follows_rejection) (for a credential rebuilt from
    /// stored data).
    pub fn with_follows_rejection(mut self, follows: bool) -> Self {
        self.follows_rejection = follows;
        self
    }

    /// Which credential of its cache this is: every credential a cache installs gets the next
    /// number, so a rejection can name exactly the credential it rejected.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Whether two credentials carry the same token (used to tell a fresh stored credential
    /// from the one just rejected).
    pub fn same_token(&self, other: &Credential) -> bool {
        self.token.expose_secret() == other.token.expose_secret()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("token", &"[REDACTED]")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("expires_at", &self.expires_at)
            .field("extras", &self.extras.keys().collect::<Vec<_>>())
            .field("generation", &self.generation)
            .finish()
    }
}
