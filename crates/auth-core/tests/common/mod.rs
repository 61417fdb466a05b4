//! A scripted credential source for the core's tests.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::store::CredentialStore;
use auth_core::{
    AuthError, Credential, CredentialCache, CredentialSource, Identity, RefreshPolicy,
    SecretString, async_trait,
};

/// Hands out `token-N` credentials living `lifetime`, or the scripted errors first.
pub struct ScriptedSource {
    pub identity: Identity,
    pub lifetime: Duration,
    pub calls: AtomicUsize,
    pub script: Mutex<VecDeque<AuthError>>,
    pub delay: Duration,
    pub seen_previous: Mutex<Vec<Option<String>>>,
    /// Tokens are `<prefix>-N`; default `token`.
    pub prefix: &'static str,
    /// What `api_origins` answers (default: none).
    pub origins: Vec<url::Url>,
}

impl ScriptedSource {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            identity: Identity::new("test", ["account"]),
            lifetime,
            calls: AtomicUsize::new(0),
            script: Mutex::new(VecDeque::new()),
            delay: Duration::ZERO,
            seen_previous: Mutex::new(Vec::new()),
            prefix: "token",
            origins: Vec::new(),
        }
    }

    pub fn fail_next(&self, error: AuthError) {
        self.script.lock().unwrap().push_back(error);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

pub fn transient() -> AuthError {
    AuthError::Server {
        provider: "test",
        status: 503,
        message: "unavailable".into(),
    }
}

#[async_trait]
impl CredentialSource for ScriptedSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen_previous.lock().unwrap().push(
            previous
                .and_then(|p| p.extra("refresh"))
                .map(|s| secrecy::ExposeSecret::expose_secret(s).to_owned()),
        );
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if let Some(error) = self.script.lock().unwrap().pop_front() {
            return Err(error);
        }
        let prefix = self.prefix;
        Credential::new(
            SecretString::from(format!("{prefix}-{n}")),
            SystemTime::now() + self.lifetime,
        )
        .with_extra("refresh", SecretString::from(format!("refresh-{n}")))
        .with_header(
            "test",
            http::header::AUTHORIZATION,
            &format!("Bearer {prefix}-{n}"),
        )
    }

    fn api_origins(&self) -> Vec<url::Url> {
        self.origins.clone()
    }

    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        extras: &std::collections::BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        let header = format!("Bearer {}", secrecy::ExposeSecret::expose_secret(&token));
        let credential = extras
            .iter()
            .fold(Credential::new(token, expires_at), |c, (k, v)| {
                c.with_extra(k.clone(), v.clone())
            });
        credential.with_header("test", http::header::AUTHORIZATION, &header)
    }
}

/// A cache over `source` with the default policy, keeping its credentials in `store`.
pub fn cache_over(
    source: &Arc<ScriptedSource>,
    store: Arc<dyn CredentialStore>,
) -> CredentialCache {
    CredentialCache::builder(source.clone())
        .policy(RefreshPolicy::default())
        .store(store)
        .build()
}
