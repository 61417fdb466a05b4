//! Eight processes refreshing on one shared store never send a refresh token twice.
//!
//! Every access token the emulator issues here is already expired, so every acquisition in
//! every process must refresh with the newest refresh token in the store. The workers are this
//! test binary started again (`auth_core::testkit::start_worker`).

use std::process::Child;
use std::sync::Arc;

use auth_core::store::{CredentialStore, FileStore, RedisStore};
use auth_core::testkit::{self, RedisServer};
use waves_auth::WavesSource;
use waves_auth::testkit::{DEMO_LOGIN, DEMO_PASSWORD, Emulator};

const WORKER: &str = "PROPUSK_WAVES_FLEET_WORKER";
const ROUNDS: usize = 5;

/// The worker: `<auth url> <store>`; forces `ROUNDS` renewals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_fleet_worker() {
    let Ok(spec) = std::env::var(WORKER) else {
        return; // Not started as a worker.
    };
    let (auth_url, store) = spec.split_once(' ').unwrap();
    let store: Arc<dyn CredentialStore> = match store.strip_prefix("file:") {
        Some(folder) => Arc::new(FileStore::new(folder)),
        None => Arc::new(RedisStore::open(store).unwrap()),
    };
    let config = waves_auth::WavesConfig::builder()
        .auth_url(auth_url)
        .login(DEMO_LOGIN)
        .password(secrecy::SecretString::from(DEMO_PASSWORD))
        .build()
        .unwrap();
    let cache = WavesSource::new(config)
        .into_cache_builder()
        .store(store)
        .build();
    for _ in 0..ROUNDS {
        let credential = cache.get().await.unwrap();
        cache.invalidate(credential.generation());
    }
}

async fn fleet(emulator: &Emulator, store: &str) {
    emulator.set_access_lifetime(-60);
    let spec = format!("{} {store}", emulator.base_url());
    let workers: Vec<Child> = (0..8)
        .map(|_| testkit::start_worker("waves_fleet_worker", WORKER, &spec))
        .collect();
    tokio::task::spawn_blocking(move || testkit::wait_for_workers(workers))
        .await
        .unwrap();
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "no refresh token was sent twice"
    );
    assert_eq!(emulator.logins(), 1, "one login for the whole fleet");
    assert!(
        emulator.refreshes() >= 8 * ROUNDS - 1,
        "every renewal refreshed ({} refreshes)",
        emulator.refreshes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_refreshing_on_a_file_store_never_reuse_a_refresh_token() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    fleet(&emulator, &format!("file:{}", folder.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_refreshing_on_a_redis_store_never_reuse_a_refresh_token() {
    let redis = RedisServer::start();
    let emulator = Emulator::start().await;
    fleet(&emulator, redis.url()).await;
}

/// Issue 13: with the shared store unreachable, an OAuth source does not log in without the
/// store's lock (a refresh token it spent could not be saved for the fleet); an API key, which
/// nothing spends, is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_oauth_refuses_and_an_api_key_is_served() {
    let emulator = Emulator::start().await;
    let down = || -> Arc<dyn CredentialStore> {
        Arc::new(RedisStore::open("redis://127.0.0.1:1/").unwrap())
    };
    let config = waves_auth::WavesConfig::builder()
        .auth_url(emulator.base_url())
        .login(DEMO_LOGIN)
        .password(secrecy::SecretString::from(DEMO_PASSWORD))
        .build()
        .unwrap();
    let oauth = WavesSource::new(config)
        .into_cache_builder()
        .store(down())
        .build();
    let error = oauth.get().await.unwrap_err();
    assert!(
        matches!(error, auth_core::AuthError::StoreConnection { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("waves does not acquire"),
        "{error}"
    );
    assert_eq!(emulator.logins(), 0);

    let key = waves_auth::WavesConfig::builder()
        .api_key(secrecy::SecretString::from(
            waves_auth::testkit::DEMO_API_KEY,
        ))
        .build()
        .unwrap();
    let api_key = WavesSource::new(key)
        .into_cache_builder()
        .store(down())
        .build();
    api_key.get().await.unwrap();
}
