//! Side-by-side benchmark of credential caches on one source: propusk's `CredentialCache`,
//! aws-smithy-runtime's `IdentityCache::lazy()` and moka's `future::Cache`.
//!
//! Not a member of the main workspace (the empty `[workspace]` in Cargo.toml), so CI never builds
//! the peers. How to run it, and the figures: `docs/benchmarks.md`, "Side by side with peers".

pub mod moka_cache;
pub mod propusk;
pub mod smithy;
mod source;

use std::sync::Arc;
use std::time::Duration;

pub use source::{Issued, Source, SourceDown};

/// A credential's lifetime and the refresh margin before its expiry, given to each cache in its
/// own terms (propusk: `RefreshPolicy::margin`, smithy: `buffer_time`, moka: `time_to_live` of
/// lifetime − margin).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// How long the source's credentials live.
    pub lifetime: Duration,
    /// How long before expiry a refresh is due.
    pub margin: Duration,
}

/// One of the three caches, behind one interface for the scenarios. The hot-path benches call
/// each cache directly instead.
pub enum Peer {
    /// `auth_core::CredentialCache`.
    Propusk(auth_core::CredentialCache),
    /// `aws_smithy_runtime::client::identity::IdentityCache::lazy()`.
    Smithy(Box<smithy::SmithyCache>),
    /// `moka::future::Cache`.
    Moka(moka_cache::MokaCache),
}

/// The three peer names, in the order the tables print them.
pub const PEERS: [&str; 3] = ["propusk", "smithy", "moka"];

impl Peer {
    /// The peer called `name` (one of [`PEERS`]) over `source`.
    pub fn new(name: &str, source: Arc<Source>, window: Window) -> Self {
        match name {
            "propusk" => Peer::Propusk(propusk::cache(source, window)),
            "smithy" => Peer::Smithy(Box::new(smithy::SmithyCache::new(source, window))),
            "moka" => Peer::Moka(moka_cache::MokaCache::new(source, window)),
            other => panic!("no peer {other:?}; one of {PEERS:?}"),
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Peer::Propusk(_) => "propusk",
            Peer::Smithy(_) => "smithy",
            Peer::Moka(_) => "moka",
        }
    }

    /// A credential, by a number that tells credentials apart (propusk: its generation; the
    /// others: the source's serial), or the error text.
    pub async fn get(&self) -> Result<u64, String> {
        match self {
            Peer::Propusk(cache) => cache
                .get()
                .await
                .map(|c| c.generation())
                .map_err(|e| e.to_string()),
            Peer::Smithy(cache) => cache.get().await.map(|i| smithy::SmithyCache::serial(&i)),
            Peer::Moka(cache) => cache
                .get()
                .await
                .map(|i| i.serial)
                .map_err(|e| e.to_string()),
        }
    }

    /// What a caller does with a 401 for credential `id`: propusk's `invalidate(generation)`,
    /// moka's `invalidate(key)`. `false` when the peer has no way to do it (smithy).
    pub async fn invalidate(&self, id: u64) -> bool {
        match self {
            Peer::Propusk(cache) => {
                cache.invalidate(id);
                true
            }
            Peer::Smithy(_) => false,
            Peer::Moka(cache) => {
                cache.cache.invalidate(moka_cache::KEY).await;
                true
            }
        }
    }
}
