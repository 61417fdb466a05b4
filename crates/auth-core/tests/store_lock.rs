//! The store's lock as the cache uses it (issue 13): read first, lock only on a miss, release
//! before answering on every path, fenced saves, never an older credential over a newer one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use auth_core::store::{
    CredentialStore, FileStore, LockAttempt, MemoryStore, RedisStore, Saved, StoreLock,
};
use auth_core::testkit::RedisServer;
use auth_core::{AuthError, Credential, Identity, SecretString, async_trait};
use common::{ScriptedSource, cache_over, transient};
use secrecy::ExposeSecret;

fn identity() -> Identity {
    Identity::new("test", ["account"])
}

fn credential(token: &str, lifetime: Duration) -> Credential {
    Credential::new(SecretString::from(token), SystemTime::now() + lifetime)
}

fn token_of(credential: &Credential) -> String {
    credential.token().expose_secret().to_owned()
}

/// A store that counts lock attempts of the store it wraps.
struct Counting<S> {
    inner: S,
    lock_attempts: AtomicUsize,
}

impl<S> Counting<S> {
    fn new(inner: S) -> Arc<Self> {
        Arc::new(Self {
            inner,
            lock_attempts: AtomicUsize::new(0),
        })
    }

    fn lock_attempts(&self) -> usize {
        self.lock_attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<S: CredentialStore> CredentialStore for Counting<S> {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        self.inner.load(identity).await
    }
    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError> {
        self.inner.save(identity, credential).await
    }
    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        self.inner.save_under(lock, identity, credential).await
    }
    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        self.inner.remove(identity).await
    }
    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        self.lock_attempts.fetch_add(1, Ordering::SeqCst);
        self.inner.try_lock(identity).await
    }
}

#[tokio::test]
async fn a_usable_stored_credential_is_taken_without_any_lock() {
    let folder = tempfile::tempdir().unwrap();
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let first = Counting::new(FileStore::new(folder.path()));
    cache_over(&source, first.clone()).get().await.unwrap();
    assert_eq!(first.lock_attempts(), 1, "the miss took the lock");

    let second = Counting::new(FileStore::new(folder.path()));
    let cache = cache_over(&source, second.clone());
    assert_eq!(token_of(&cache.get().await.unwrap()), "token-1");
    assert_eq!(second.lock_attempts(), 0, "a hit takes no lock");
    assert_eq!(source.calls(), 1);
}

#[tokio::test]
async fn the_lock_is_released_before_the_answer_on_success_error_and_cancellation() {
    let store = Arc::new(MemoryStore::new());
    let identity = identity();
    let mut slow = ScriptedSource::new(Duration::from_secs(3600));
    slow.delay = Duration::from_millis(200);
    let source = Arc::new(slow);

    // Success.
    let cache = cache_over(&source, store.clone());
    cache.get().await.unwrap();
    assert!(!store.is_locked(&identity), "held after a success");

    // Error.
    store.remove(&identity).await.unwrap();
    source.fail_next(transient());
    let failing = cache_over(&source, store.clone());
    failing.get().await.unwrap_err();
    assert!(!store.is_locked(&identity), "held after an error");

    // A caller that gives up: the acquisition goes on in its task and still releases.
    store.remove(&identity).await.unwrap();
    let cancelled = cache_over(&source, store.clone());
    let gave_up = tokio::time::timeout(Duration::from_millis(50), cancelled.get()).await;
    assert!(gave_up.is_err());
    assert!(store.is_locked(&identity), "the acquisition is under way");
    cancelled.settle().await;
    assert!(!store.is_locked(&identity), "held after a cancelled caller");
}

#[tokio::test]
async fn a_waiter_takes_the_holders_credential_and_the_provider_is_asked_once() {
    let store = Arc::new(MemoryStore::new());
    let mut slow = ScriptedSource::new(Duration::from_secs(3600));
    slow.delay = Duration::from_millis(300);
    let source = Arc::new(slow);
    let caches: Vec<_> = (0..8).map(|_| cache_over(&source, store.clone())).collect();
    let tokens = futures_util::future::join_all(caches.iter().map(|c| c.get())).await;
    for token in tokens {
        assert_eq!(token_of(&token.unwrap()), "token-1");
    }
    assert_eq!(source.calls(), 1);
    assert_eq!(
        caches.iter().map(|c| c.store_hits()).sum::<u64>(),
        7,
        "seven took the saved one"
    );
}

async fn never_older(store: &dyn CredentialStore) {
    let identity = identity();
    let newer = credential("newer", Duration::from_secs(3600));
    let older = credential("older", Duration::from_secs(600));
    assert_eq!(store.save(&identity, &newer).await.unwrap(), Saved::Written);
    assert_eq!(
        store.save(&identity, &older).await.unwrap(),
        Saved::KeptNewer
    );
    let LockAttempt::Taken(lock) = store.try_lock(&identity).await.unwrap() else {
        panic!("the lock is free");
    };
    assert_eq!(
        store.save_under(&lock, &identity, &older).await.unwrap(),
        Saved::KeptNewer
    );
    lock.release().await;
    let stored = store.load(&identity).await.unwrap().unwrap();
    assert_eq!(token_of(&stored), "newer");
}

#[tokio::test]
async fn no_store_replaces_a_credential_with_an_older_one() {
    never_older(&MemoryStore::new()).await;
    let folder = tempfile::tempdir().unwrap();
    never_older(&FileStore::new(folder.path())).await;
    let redis = RedisServer::start();
    never_older(&RedisStore::open(redis.url()).unwrap()).await;
}

async fn a_lost_lock_refuses_the_write(first: &dyn CredentialStore, second: &dyn CredentialStore) {
    let identity = identity();
    let LockAttempt::Taken(stale) = first.try_lock(&identity).await.unwrap() else {
        panic!("the lock is free");
    };
    assert!(matches!(
        second.try_lock(&identity).await.unwrap(),
        LockAttempt::Busy
    ));
    // The lease lapses (the stale holder stopped renewing, or its key was evicted).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let LockAttempt::Taken(fresh) = second.try_lock(&identity).await.unwrap() else {
        panic!("a lapsed lease is taken over");
    };
    let newer = credential("fresh", Duration::from_secs(600));
    assert_eq!(
        second.save_under(&fresh, &identity, &newer).await.unwrap(),
        Saved::Written
    );
    // The stale holder's credential even expires later: only the fence refuses it.
    let late = credential("stale", Duration::from_secs(3600));
    assert_eq!(
        first.save_under(&stale, &identity, &late).await.unwrap(),
        Saved::LostLock
    );
    stale.release().await;
    assert!(
        matches!(first.try_lock(&identity).await.unwrap(), LockAttempt::Busy),
        "the stale holder's release left the new holder's lock alone"
    );
    fresh.release().await;
    let stored = first.load(&identity).await.unwrap().unwrap();
    assert_eq!(token_of(&stored), "fresh");
}

#[tokio::test]
async fn a_memory_lock_whose_lease_lapsed_cannot_write() {
    // MemoryStore does not renew: its lease lapses on its own.
    let store = MemoryStore::new().with_lease(Duration::from_millis(500));
    a_lost_lock_refuses_the_write(&store, &store).await;
}

#[tokio::test]
async fn a_redis_lock_whose_key_was_evicted_cannot_write() {
    let redis = RedisServer::start();
    let first = RedisStore::open(redis.url()).unwrap();
    let second = RedisStore::open(redis.url()).unwrap();
    let identity = identity();
    let LockAttempt::Taken(stale) = first.try_lock(&identity).await.unwrap() else {
        panic!("the lock is free");
    };
    // An eviction (or a failover that lost the key) frees the lock under the holder's feet.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(first.lock_key(&identity))
        .query_async(&mut connection)
        .await
        .unwrap();
    let LockAttempt::Taken(fresh) = second.try_lock(&identity).await.unwrap() else {
        panic!("the freed lock is taken");
    };
    let newer = credential("fresh", Duration::from_secs(600));
    assert_eq!(
        second.save_under(&fresh, &identity, &newer).await.unwrap(),
        Saved::Written
    );
    let late = credential("stale", Duration::from_secs(3600));
    assert_eq!(
        first.save_under(&stale, &identity, &late).await.unwrap(),
        Saved::LostLock
    );
    stale.release().await;
    let holder: Option<String> = redis::cmd("GET")
        .arg(second.lock_key(&identity))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        holder.is_some(),
        "the stale release left the new lock alone"
    );
    fresh.release().await;
    let left: i64 = redis::cmd("EXISTS")
        .arg(second.lock_key(&identity))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(left, 0, "released");
    assert_eq!(
        token_of(&first.load(&identity).await.unwrap().unwrap()),
        "fresh"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_an_error() {
    let store = RedisStore::open("redis://127.0.0.1:1/").unwrap();
    match store.try_lock(&identity()).await {
        Ok(LockAttempt::Unavailable(error)) => {
            assert!(error.to_string().contains("Redis"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unusable_stored_entry_never_blocks_a_save() {
    let redis = RedisServer::start();
    let store = RedisStore::open(redis.url()).unwrap();
    let identity = identity();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    for planted in [
        r#"{"format":1,"provider":"other","token":"t","headers":[],"expires_at_ms":99999999999999}"#,
        r#"{"format":99,"provider":"test","token":"t","headers":[],"expires_at_ms":99999999999999}"#,
        "not json",
    ] {
        let _: () = redis::cmd("SET")
            .arg(store.key(&identity))
            .arg(planted)
            .query_async(&mut connection)
            .await
            .unwrap();
        let fresh = credential("fresh", Duration::from_secs(600));
        assert_eq!(
            store.save(&identity, &fresh).await.unwrap(),
            Saved::Written,
            "{planted}"
        );
    }
}

#[tokio::test]
async fn a_valid_credential_keeps_being_served_when_redis_goes_away() {
    let redis = RedisServer::start();
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let cache = cache_over(&source, Arc::new(RedisStore::open(redis.url()).unwrap()));
    let first = cache.get().await.unwrap();
    drop(redis);
    for _ in 0..100 {
        assert!(cache.get().await.unwrap().same_token(&first));
    }
    assert_eq!(source.calls(), 1);
}

#[tokio::test]
async fn a_waiter_gives_up_on_a_holder_that_keeps_renewing_after_two_leases() {
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(folder.path()).with_lease(Duration::from_millis(300)));
    let LockAttempt::Taken(held) = store.try_lock(&identity()).await.unwrap() else {
        panic!("the lock is free");
    };
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let started = std::time::Instant::now();
    let error = cache_over(&source, store.clone()).get().await.unwrap_err();
    let waited = started.elapsed();
    assert!(error.to_string().contains("keeps renewing"), "{error}");
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(source.calls(), 0, "the holder's lock was respected");
    held.release().await;
}
