//! Expiry and refresh against the emulator: an expired access token is refreshed (not logged in
//! again), one refresh for any number of concurrent callers, and no refresh token sent twice.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::MemoryStore;
use auth_core::{AuthClient, CredentialCache, CredentialSource, ExposeSecret, RefreshPolicy};
use waves_auth::testkit::{Endpoint, Failure, WavesEmulator};
use waves_auth::{REFRESH_TOKEN_EXTRA, WavesSource, refresh_policy};

/// A cache over the demo user with a shared memory store.
fn cache(emulator: &WavesEmulator, store: &Arc<MemoryStore>) -> CredentialCache {
    WavesSource::new(emulator.config())
        .into_cache_builder()
        .store(Arc::clone(store) as _)
        .build()
}

/// A cache that keeps serving a credential issued already expired for two minutes (the cache
/// never serves one for less than `min_retry_interval`), so the node is what notices.
fn trusting_cache(emulator: &WavesEmulator) -> CredentialCache {
    WavesSource::new(emulator.config())
        .into_cache_builder()
        .policy(RefreshPolicy {
            min_retry_interval: Duration::from_secs(120),
            max_backoff: Duration::from_secs(120),
            ..refresh_policy()
        })
        .build()
}

/// Logs in while the emulator hands out tokens that are already expired, so the store holds an
/// expired access token with a live refresh token; then tokens live 5 minutes again.
async fn store_with_expired_token(emulator: &WavesEmulator) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    emulator.set_access_lifetime(-60);
    let first = cache(emulator, &store);
    let expired = first.get().await.unwrap();
    assert_eq!(
        expired.remaining(),
        Duration::ZERO,
        "the emulator issued an expired token"
    );
    assert!(expired.extra(REFRESH_TOKEN_EXTRA).is_some());
    emulator.set_access_lifetime(300);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 0));
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_not_logged_in_again() {
    let emulator = WavesEmulator::start().await;
    let store = store_with_expired_token(&emulator).await;

    let cache = cache(&emulator, &store);
    let credential = cache.get().await.unwrap();
    assert_eq!(emulator.refreshes(), 1, "the expired token was refreshed");
    assert_eq!(emulator.logins(), 1, "and not by logging in again");
    assert_eq!(emulator.refresh_reuses(), 0);
    let remaining = credential.remaining();
    assert!(
        remaining > Duration::from_secs(290) && remaining <= Duration::from_secs(300),
        "the expiry comes from the JWT exp: {remaining:?}"
    );

    // The refreshed token is what the node accepts.
    let client = AuthClient::new(cache).unwrap();
    let response = client.get(emulator.node_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(emulator.node_rejections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_node_calls_expired_is_refreshed_and_the_request_repeated() {
    let emulator = WavesEmulator::start().await;
    emulator.set_access_lifetime(-60);
    let client = AuthClient::new(trusting_cache(&emulator)).unwrap();
    client.cache().get().await.unwrap(); // holds an expired token in memory
    emulator.set_access_lifetime(300);

    let response = client.get(emulator.node_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        emulator.node_requests(),
        2,
        "rejected once (619), repeated once"
    );
    assert_eq!(emulator.node_rejections(), 1);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 1));
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_on_an_expired_token_cause_exactly_one_refresh() {
    let emulator = WavesEmulator::start().await;
    let store = store_with_expired_token(&emulator).await;
    let cache = cache(&emulator, &store);

    let barrier = Arc::new(tokio::sync::Barrier::new(1000));
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                cache.get().await
            })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for caller in callers {
        let credential = caller.await.unwrap().unwrap();
        tokens.insert(credential.token().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1, "every caller got the one refreshed token");
    assert_eq!(emulator.refreshes(), 1);
    assert_eq!(emulator.logins(), 1);
    assert_eq!(emulator.refresh_reuses(), 0);
    assert_eq!(cache.acquisitions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_rejected_as_expired_cause_exactly_one_refresh() {
    let emulator = WavesEmulator::start().await;
    emulator.set_access_lifetime(-60);
    let client = AuthClient::new(trusting_cache(&emulator)).unwrap();
    client.cache().get().await.unwrap();
    emulator.set_access_lifetime(300);

    let barrier = Arc::new(tokio::sync::Barrier::new(1000));
    let requests: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            let url = emulator.node_url();
            tokio::spawn(async move {
                barrier.wait().await;
                client.get(url).await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap(), 200);
    }
    assert_eq!(emulator.refreshes(), 1, "a thousand 401s, one refresh");
    assert_eq!(emulator.logins(), 1);
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_refresh_token_is_ever_sent_twice() {
    let emulator = WavesEmulator::start().await;
    let cache = WavesSource::new(emulator.config())
        .into_cache_builder()
        .policy(RefreshPolicy {
            min_retry_interval: Duration::from_millis(5),
            ..refresh_policy()
        })
        .build();

    // Twenty renewals in a row, each spending the refresh token of the one before.
    for round in 0..20 {
        let credential = cache.get().await.unwrap();
        assert!(cache.invalidate(credential.generation()), "round {round}");
    }
    cache.get().await.unwrap();
    assert_eq!(emulator.logins(), 1);
    assert_eq!(emulator.refreshes(), 20);

    // A refresh that fails in transit may have reached the service: its token is never sent
    // again; the next renewal logs in instead.
    let credential = cache.get().await.unwrap();
    emulator.inject(Endpoint::Refresh, Failure::Status(503));
    cache.invalidate(credential.generation());
    let error = cache.get().await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(emulator.refreshes(), 21);
    cache.get().await.unwrap();
    assert_eq!(
        emulator.refreshes(),
        21,
        "the possibly spent token was not sent again"
    );
    assert_eq!(emulator.logins(), 2);
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_refuses_to_send_a_refresh_token_twice_without_a_request() {
    let emulator = WavesEmulator::start().await;
    let source = WavesSource::new(emulator.config());
    let first = source.grant().await.unwrap();
    let refresh_token = first.extra(REFRESH_TOKEN_EXTRA).unwrap().clone();
    let second = source.refresh(&refresh_token).await.unwrap();
    assert!(!second.same_token(&first));
    assert_ne!(
        second.extra(REFRESH_TOKEN_EXTRA).unwrap().expose_secret(),
        refresh_token.expose_secret(),
        "the refresh token rotated"
    );
    let error = source.refresh(&refresh_token).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert_eq!(emulator.refreshes(), 1, "no request for the spent token");

    // Handed the spent token's credential again, the source logs in rather than reuse it.
    let third = source.acquire(Some(&first)).await.unwrap();
    assert!(!third.same_token(&second));
    assert_eq!((emulator.logins(), emulator.refreshes()), (2, 1));
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_falls_back_to_logging_in() {
    let emulator = WavesEmulator::start().await;
    let source = WavesSource::new(emulator.config());
    let first = source.grant().await.unwrap();
    emulator.revoke_refresh_tokens();
    let second = source.acquire(Some(&first)).await.unwrap();
    assert!(!second.same_token(&first));
    assert_eq!((emulator.logins(), emulator.refreshes()), (2, 1));
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_counts_a_reused_refresh_token() {
    // The acceptance counter can fail: a client that resends a spent token is caught.
    let emulator = WavesEmulator::start().await;
    let spender = WavesSource::new(emulator.config());
    let first = spender.grant().await.unwrap();
    let refresh_token = first.extra(REFRESH_TOKEN_EXTRA).unwrap().clone();
    spender.refresh(&refresh_token).await.unwrap();
    // A second source does not know the token was spent, and sends it.
    let careless = WavesSource::new(emulator.config());
    let error = careless.refresh(&refresh_token).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert!(!error.to_string().contains(refresh_token.expose_secret()));
    assert_eq!(emulator.refresh_reuses(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_mode_exchanges_the_service_token_and_refreshes() {
    let emulator = WavesEmulator::start().await;
    let cache = WavesSource::new(emulator.service_config()).into_cache();
    let first = cache.get().await.unwrap();
    assert_eq!(emulator.service_grants(), 1);
    let client = AuthClient::new(cache.clone()).unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    cache.invalidate(first.generation());
    let second = cache.get().await.unwrap();
    assert!(!second.same_token(&first));
    assert_eq!((emulator.service_grants(), emulator.refreshes()), (1, 1));
    let recorded = emulator.requests();
    assert!(
        recorded
            .iter()
            .any(|r| r.path == "/v1/auth/token" && r.authorization),
        "the service token travels as Authorization: Bearer"
    );
    // A refused refresh falls back to the service token.
    emulator.revoke_refresh_tokens();
    cache.invalidate(second.generation());
    cache.get().await.unwrap();
    assert_eq!(emulator.service_grants(), 2);
    assert_eq!(emulator.refresh_reuses(), 0);
}
