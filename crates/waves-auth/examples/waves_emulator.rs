//! Both Waves Enterprise modes against the loopback emulator: OAuth with a file store (log in,
//! then an expired token is refreshed with the stored refresh token), and the node's API key.
//!
//! Run with `cargo run -p waves-auth --example waves_emulator`.

use std::sync::Arc;

use auth_core::store::FileStore;
use auth_core::{AuthClient, AuthError, SecretString};
use waves_auth::testkit::{DEMO_API_KEY, Emulator, NodeAuth};
use waves_auth::{WavesConfig, WavesSource, api_key_hash};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), AuthError> {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().map_err(AuthError::store)?;
    println!("authorization service and node at {}", emulator.base_url());

    // OAuth: the cache refreshes 30 s before the JWT's `exp` and keeps the pair in the store.
    let cache = WavesSource::new(emulator.config())
        .into_cache_builder()
        .store(Arc::new(FileStore::new(folder.path())))
        .build();
    let client = AuthClient::new(cache.clone())?;
    let status = client.get(emulator.node_url()).await?;
    println!("GET /node/status -> {}", status.status());
    println!(
        "logged in once; the access token lives {} s more",
        cache.get().await?.remaining().as_secs()
    );

    // The node says the token expired (619): one refresh, the request repeated.
    let credential = cache.get().await?;
    cache.invalidate(credential.generation());
    let status = client.get(emulator.node_url()).await?;
    println!(
        "after a rejection: {} (logins {}, refreshes {}, refresh tokens reused {})",
        status.status(),
        emulator.logins(),
        emulator.refreshes(),
        emulator.refresh_reuses()
    );

    // API-key mode: the node holds the key's hash; requests carry the key itself.
    let hash = api_key_hash(DEMO_API_KEY);
    println!("api-key-hash for the node's config: {hash}");
    emulator.set_node_auth(NodeAuth::ApiKey(hash));
    let config = WavesConfig::builder()
        .api_key(SecretString::from(DEMO_API_KEY))
        .build()?;
    let node = WavesSource::new(config).into_client()?;
    println!(
        "X-API-Key: GET /node/status -> {}",
        node.get(emulator.node_url()).await?.status()
    );
    Ok(())
}
