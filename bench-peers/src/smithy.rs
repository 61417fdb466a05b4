//! aws-smithy-runtime's `IdentityCache::lazy()` over the shared [`Source`], driven directly
//! through `ResolveCachedIdentity::resolve_cached_identity`, the call the SDK's orchestrator makes
//! before signing each request.

use std::sync::Arc;

use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime_api::client::identity::{
    Identity, IdentityFuture, ResolveCachedIdentity, ResolveIdentity, SharedIdentityCache,
    SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

use crate::{Issued, Source, Window};

/// The custom `ResolveIdentity`: one source call per resolution.
#[derive(Debug)]
struct Resolver(Arc<Source>);

impl ResolveIdentity for Resolver {
    fn resolve_identity<'a>(
        &'a self,
        _components: &'a RuntimeComponents,
        _config: &'a ConfigBag,
    ) -> IdentityFuture<'a> {
        IdentityFuture::new(async move {
            let issued = self.0.fetch().await?;
            let expires_at = issued.credential.expires_at();
            Ok(Identity::new(issued, Some(expires_at)))
        })
    }
}

/// The lazy cache and what a call to it needs: the resolver (whose partition keys the cache),
/// runtime components with a real clock and Tokio sleep, and an empty config bag.
pub struct SmithyCache {
    /// `IdentityCache::lazy().buffer_time(window.margin).build()`.
    pub cache: SharedIdentityCache,
    /// The shared resolver, cloned into every call as the SDK does.
    pub resolver: SharedIdentityResolver,
    /// `RuntimeComponentsBuilder::for_tests()` with `SystemTimeSource` and `TokioSleep`.
    pub components: RuntimeComponents,
    /// `ConfigBag::base()`.
    pub config: ConfigBag,
}

impl SmithyCache {
    /// The cache with its buffer time set to the window's margin (smithy then expires the
    /// credential between `margin` and `margin / 2` before its expiry, at random: its jitter
    /// fraction cannot be set outside smithy's own tests), every other setting default.
    pub fn new(source: Arc<Source>, window: Window) -> Self {
        let components = RuntimeComponentsBuilder::for_tests()
            .with_time_source(Some(SystemTimeSource::new()))
            .with_sleep_impl(Some(TokioSleep::new()))
            .build()
            .expect("runtime components for the identity cache");
        Self {
            cache: IdentityCache::lazy().buffer_time(window.margin).build(),
            resolver: SharedIdentityResolver::new(Resolver(source)),
            components,
            config: ConfigBag::base(),
        }
    }

    /// One cached resolution.
    pub async fn get(&self) -> Result<Identity, String> {
        self.cache
            .resolve_cached_identity(self.resolver.clone(), &self.components, &self.config)
            .await
            .map_err(|e| e.to_string())
    }

    /// The serial of the source credential behind `identity`.
    pub fn serial(identity: &Identity) -> u64 {
        identity.data::<Issued>().map_or(0, |issued| issued.serial)
    }
}
