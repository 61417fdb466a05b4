//! One session for a fleet: processes sharing a file store or a Redis store authenticate once.
//!
//! The workers are this very test binary, started again with `PROPUSK_FLEET_WORKER` set and the
//! filter `fleet_worker`, so each is a real separate process with its own cache.

use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::store::{CredentialStore, FileStore, RedisStore};
use auth_core::testkit::emulator::Failure;
use auth_core::testkit::{self, RedisServer};
use auth_core::{AuthClient, CredentialCache};
use kontur_auth::KonturSource;
use kontur_auth::testkit::{Emulator, Endpoint};

const WORKER: &str = "PROPUSK_FLEET_WORKER";

/// The worker's body: `<base url> <store> <lease ms> <requests>`; every request must succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_worker() {
    let Ok(spec) = std::env::var(WORKER) else {
        return; // Not started as a worker: nothing to do.
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let (base_url, store, lease_ms, requests) = (parts[0], parts[1], parts[2], parts[3]);
    let store: Arc<dyn CredentialStore> = match store.strip_prefix("file:") {
        Some(folder) => Arc::new(FileStore::new(folder)),
        None => Arc::new(
            RedisStore::open(store)
                .unwrap()
                .with_lease(Duration::from_millis(lease_ms.parse().unwrap())),
        ),
    };
    let config = kontur_auth::KonturConfig::builder()
        .base_url(base_url)
        .api_client_id(kontur_auth::testkit::DEMO_CLIENT_ID)
        .login(kontur_auth::testkit::DEMO_LOGIN)
        .password(secrecy::SecretString::from(
            kontur_auth::testkit::DEMO_PASSWORD,
        ))
        .build()
        .unwrap();
    let cache = CredentialCache::builder(Arc::new(KonturSource::new(config)))
        .store(store)
        .build();
    let client = Arc::new(AuthClient::new(cache).unwrap());
    let url = format!("{base_url}V1/Boxes/GetBoxesInfo");
    let mut tasks = Vec::new();
    for _ in 0..requests.parse::<usize>().unwrap() {
        let client = Arc::clone(&client);
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client.get(&url).await.map(|r| r.status().as_u16())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
}

fn start_worker(emulator: &Emulator, store: &str, lease_ms: u64, requests: usize) -> Child {
    let spec = format!("{} {store} {lease_ms} {requests}", emulator.base_url());
    testkit::start_worker("fleet_worker", WORKER, &spec)
}

async fn wait_all(children: Vec<Child>) {
    tokio::task::spawn_blocking(move || testkit::wait_for_workers(children))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_an_empty_file_store_authenticate_once() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = format!("file:{}", folder.path().display());
    let workers = (0..8)
        .map(|_| start_worker(&emulator, &store, 0, 100))
        .collect();
    wait_all(workers).await;
    assert_eq!(emulator.authentications(), 1);
    assert_eq!(emulator.api_calls(), 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_an_empty_redis_store_authenticate_once() {
    let redis = RedisServer::start();
    let emulator = Emulator::start().await;
    let workers = (0..8)
        .map(|_| start_worker(&emulator, redis.url(), 5000, 100))
        .collect();
    wait_all(workers).await;
    assert_eq!(emulator.authentications(), 1);
    assert_eq!(emulator.api_calls(), 800);
}

async fn killing_the_lock_holder_lets_another_acquire(store: &str, lease_ms: u64) -> Duration {
    let emulator = Emulator::start().await;
    emulator.inject(
        Endpoint::Authenticate,
        Failure::Slow(Duration::from_secs(60)),
    );
    let mut holder = start_worker(&emulator, store, lease_ms, 1);
    let started = Instant::now();
    while emulator.authentications() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the holder never asked"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let others: Vec<Child> = (0..7)
        .map(|_| start_worker(&emulator, store, lease_ms, 10))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        emulator.authentications(),
        1,
        "the others wait for the lock"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    let killed = Instant::now();
    wait_all(others).await;
    assert_eq!(
        emulator.authentications(),
        2,
        "exactly one of the others acquired"
    );
    killed.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_file_lock_holder_lets_another_acquire() {
    let folder = tempfile::tempdir().unwrap();
    let took = killing_the_lock_holder_lets_another_acquire(
        &format!("file:{}", folder.path().display()),
        0,
    )
    .await;
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_redis_lock_holder_lets_another_acquire_within_the_lease() {
    let redis = RedisServer::start();
    let took = killing_the_lock_holder_lets_another_acquire(redis.url(), 1500).await;
    // The lease lapses after 1.5 s; allow the survivors' start-up and polling on top.
    assert!(took < Duration::from_millis(1500 + 8000), "{took:?}");
}

/// Issue 13: Kontur sessions do not end each other, so with the shared store unreachable a
/// process authenticates without the lock, and keeps serving its credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_process_authenticates_without_the_lock() {
    let emulator = Emulator::start().await;
    let store = Arc::new(RedisStore::open("redis://127.0.0.1:1/").unwrap());
    let cache = CredentialCache::builder(Arc::new(KonturSource::new(emulator.config())))
        .store(store)
        .build();
    let first = cache.get().await.unwrap();
    let again = cache.get().await.unwrap();
    assert!(first.same_token(&again));
    assert_eq!(emulator.authentications(), 1);
}
