//! moka's `future::Cache` over the shared [`Source`]: one key, a time-to-live, `try_get_with`.

use std::sync::Arc;

use crate::{Issued, Source, SourceDown, Window};

/// The one key: the cache holds one account's credential.
pub const KEY: &str = "account";

/// The moka cache and its source.
pub struct MokaCache {
    /// `future::Cache` with `time_to_live(window.lifetime - window.margin)`: moka has no refresh
    /// ahead of expiry, so expiring the entry at the start of the window is how one uses it.
    pub cache: moka::future::Cache<&'static str, Arc<Issued>>,
    source: Arc<Source>,
}

impl MokaCache {
    /// The cache (unbounded: it holds one entry).
    pub fn new(source: Arc<Source>, window: Window) -> Self {
        let cache = moka::future::Cache::builder()
            .time_to_live(window.lifetime.saturating_sub(window.margin))
            .build();
        Self { cache, source }
    }

    /// `try_get_with`: the cached credential, or one acquisition shared by concurrent callers.
    pub async fn get(&self) -> Result<Arc<Issued>, Arc<SourceDown>> {
        self.cache
            .try_get_with(KEY, async { self.source.fetch().await.map(Arc::new) })
            .await
    }
}
