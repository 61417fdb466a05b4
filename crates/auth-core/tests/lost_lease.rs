//! A holder stalled past its lease (issue 13): a real process takes the store's lock, asks a slow
//! provider, and is stopped with SIGSTOP. Once its lease lapses another cache takes the lock and
//! saves; the stalled process, continued, finishes its acquisition with a credential that even
//! expires later, and its write is refused: the store ends with the newer holder's credential,
//! and the stalled process takes that one too. For the file store and for Redis.

#![cfg(unix)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::store::{CredentialStore, FileStore, RedisStore};
use auth_core::testkit::{self, RedisServer};
use auth_core::{CredentialCache, Identity};
use common::ScriptedSource;
use secrecy::ExposeSecret;

const WORKER: &str = "PROPUSK_LOST_LEASE_WORKER";
const LEASE: Duration = Duration::from_millis(600);

fn store(spec: &str) -> Arc<dyn CredentialStore> {
    match spec.strip_prefix("file:") {
        Some(folder) => Arc::new(FileStore::new(folder).with_lease(LEASE)),
        None => Arc::new(RedisStore::open(spec).unwrap().with_lease(LEASE)),
    }
}

fn cache(source: ScriptedSource, spec: &str) -> CredentialCache {
    CredentialCache::builder(Arc::new(source))
        .store(store(spec))
        .build()
}

/// The stalled holder: acquires `stale-1` slowly; must end up with the other's `fresh-1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_lease_worker() {
    let Ok(spec) = std::env::var(WORKER) else {
        return;
    };
    let mut source = ScriptedSource::new(Duration::from_secs(7200));
    source.prefix = "stale";
    source.delay = Duration::from_secs(3);
    let credential = cache(source, &spec).get().await.unwrap();
    assert_eq!(credential.token().expose_secret(), "fresh-1");
}

/// Sends `name` (`-STOP`, `-CONT`) to `child` with the shell's own `kill` (no procps needed).
fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill {name} {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name}");
}

async fn a_stalled_holder_never_overwrites(spec: &str, is_locked: impl Fn() -> bool) {
    let stalled = testkit::start_worker("lost_lease_worker", WORKER, spec);
    let started = Instant::now();
    while !is_locked() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the worker never locked"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(&stalled, "-STOP");
    tokio::time::sleep(LEASE * 2).await;

    let mut source = ScriptedSource::new(Duration::from_secs(3600));
    source.prefix = "fresh";
    let fresh = cache(source, spec).get().await.unwrap();
    assert_eq!(
        fresh.token().expose_secret(),
        "fresh-1",
        "took the lapsed lock"
    );

    signal(&stalled, "-CONT");
    tokio::task::spawn_blocking(move || testkit::wait_for_workers(vec![stalled]))
        .await
        .unwrap();
    let stored = store(spec)
        .load(&Identity::new("test", ["account"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.token().expose_secret(),
        "fresh-1",
        "the stalled holder's later write was refused"
    );
    assert!(!is_locked(), "no lock left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_holder_stalled_past_its_lease_never_overwrites() {
    let folder = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", folder.path().display());
    let probe = FileStore::new(folder.path());
    let identity = Identity::new("test", ["account"]);
    a_stalled_holder_never_overwrites(&spec, || probe.is_locked(&identity)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_holder_stalled_past_its_lease_never_overwrites() {
    let redis = RedisServer::start();
    let probe = RedisStore::open(redis.url()).unwrap();
    let lock_key = probe.lock_key(&Identity::new("test", ["account"]));
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = std::sync::Mutex::new(client.get_connection().unwrap());
    a_stalled_holder_never_overwrites(redis.url(), || {
        redis::cmd("EXISTS")
            .arg(&lock_key)
            .query::<i64>(&mut *connection.lock().unwrap())
            .unwrap()
            == 1
    })
    .await;
}
