//! propusk's `auth_core::CredentialCache` over the shared [`Source`].

use std::sync::Arc;

use auth_core::{
    AuthError, Credential, CredentialCache, CredentialSource, Identity, RefreshPolicy,
};

use crate::{Source, Window};

struct Adapter {
    source: Arc<Source>,
    identity: Identity,
}

#[auth_core::async_trait]
impl CredentialSource for Adapter {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        match self.source.fetch().await {
            Ok(issued) => Ok(issued.credential),
            Err(_) => Err(AuthError::server("bench", 503, b"down")),
        }
    }
}

/// The cache, with its refresh margin set to the window's, no jitter, and the default backoff
/// (1 s doubling to 60 s).
pub fn cache(source: Arc<Source>, window: Window) -> CredentialCache {
    let adapter = Adapter {
        source,
        identity: Identity::new("bench", ["account"]),
    };
    let policy = RefreshPolicy {
        margin: window.margin,
        jitter: std::time::Duration::ZERO,
        ..RefreshPolicy::default()
    };
    CredentialCache::builder(Arc::new(adapter))
        .policy(policy)
        .build()
}
