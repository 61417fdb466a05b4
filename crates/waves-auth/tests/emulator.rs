//! End to end against the emulator: the first credential, a cache hit, expiry and refresh (not
//! a new login), one refresh for any number of concurrent callers, a rejection answered by one
//! refresh and the request repeated, no refresh token sent twice, the stored refresh token used
//! by the next process, the long form with the Waves policy, and API-key mode against the
//! emulated node.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{CredentialStore, FileStore, MemoryStore};
use auth_core::testkit::emulator::Failure;
use auth_core::{
    AuthClient, CredentialCache, CredentialSource, ExposeSecret, RefreshPolicy, SecretString,
};
use waves_auth::testkit::{DEMO_API_KEY, Emulator, Endpoint, NodeAuth};
use waves_auth::{NodeErrorCode, REFRESH_TOKEN_EXTRA, WavesConfig, WavesSource, api_key_hash};

// ---- the first credential, a cache hit, the long form -------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_credential_is_a_login_and_the_next_calls_are_cache_hits() {
    let emulator = Emulator::start().await;
    let client = WavesSource::new(emulator.config()).into_client().unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    let first = client.cache().get().await.unwrap();
    for _ in 0..100 {
        assert!(client.cache().get().await.unwrap().same_token(&first));
    }
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 0));
    assert_eq!(client.cache().acquisitions(), 1);
    assert_eq!(emulator.node_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_long_form_gets_the_waves_policy() {
    let emulator = Emulator::start().await;
    let source = WavesSource::new(emulator.config());
    let policy = source.refresh_policy();
    assert_eq!(policy.margin, Duration::from_secs(30), "30 s before `exp`");
    let long = AuthClient::new(CredentialCache::new(source)).unwrap();
    assert_eq!(long.cache().policy(), &policy);
    let short = WavesSource::new(emulator.config()).into_client().unwrap();
    assert_eq!(short.cache().policy(), &policy);
    let built = WavesSource::new(emulator.config())
        .into_cache_builder()
        .build();
    assert_eq!(built.policy(), &policy);
    assert_eq!(long.get(emulator.node_url()).await.unwrap().status(), 200);
}

// ---- expiry and refresh ---------------------------------------------------------------------

/// A cache over the demo user with a shared memory store.
fn cache(emulator: &Emulator, store: &Arc<MemoryStore>) -> CredentialCache {
    WavesSource::new(emulator.config())
        .into_cache_builder()
        .store(Arc::clone(store) as _)
        .build()
}

/// A cache that keeps serving a credential issued already expired for two minutes (the cache
/// never serves one for less than `min_retry_interval`), so the node is what notices.
fn trusting_cache(emulator: &Emulator) -> CredentialCache {
    let source = WavesSource::new(emulator.config());
    let policy = RefreshPolicy {
        min_retry_interval: Duration::from_secs(120),
        max_backoff: Duration::from_secs(120),
        ..source.refresh_policy()
    };
    source.into_cache_builder().policy(policy).build()
}

/// Logs in while the emulator hands out tokens that are already expired, so the store holds an
/// expired access token with a live refresh token; then tokens live 5 minutes again.
async fn store_with_expired_token(emulator: &Emulator) -> Arc<MemoryStore> {
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
    let source = WavesSource::new(emulator.config());
    let policy = RefreshPolicy {
        min_retry_interval: Duration::from_millis(5),
        ..source.refresh_policy()
    };
    let cache = source.into_cache_builder().policy(policy).build();

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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
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
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(WavesSource::new(emulator.service_config()));
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

// ---- the stored refresh token, across processes ---------------------------------------------

fn process(emulator: &Emulator, folder: &std::path::Path) -> CredentialCache {
    WavesSource::new(emulator.config())
        .into_cache_builder()
        .store(Arc::new(FileStore::new(folder)))
        .build()
}

async fn stored_refresh_token(emulator: &Emulator, folder: &std::path::Path) -> String {
    let identity = WavesSource::new(emulator.config()).identity().clone();
    let stored = FileStore::new(folder)
        .load(&identity)
        .await
        .unwrap()
        .expect("a stored credential");
    stored
        .extra(REFRESH_TOKEN_EXTRA)
        .expect("the refresh token is stored with the access token")
        .expose_secret()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_process_uses_the_refresh_token_the_last_one_rotated() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    emulator.set_access_lifetime(-60); // every token is expired on arrival

    // Process 1 logs in, then its token expires and it refreshes: r1 is spent, r2 stored.
    let first = process(&emulator, folder.path());
    let login = first.get().await.unwrap();
    let r1 = login
        .extra(REFRESH_TOKEN_EXTRA)
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_eq!(stored_refresh_token(&emulator, folder.path()).await, r1);
    first.invalidate(login.generation());
    let refreshed = first.get().await.unwrap();
    let r2 = refreshed
        .extra(REFRESH_TOKEN_EXTRA)
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        stored_refresh_token(&emulator, folder.path()).await,
        r2,
        "the rotated refresh token replaced the old one in the store at once"
    );
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 1));
    drop(first);

    // Process 2 starts on the same folder, finds the expired token and refreshes with r2.
    emulator.set_access_lifetime(300);
    let second = process(&emulator, folder.path());
    let credential = second.get().await.unwrap();
    assert!(!credential.same_token(&refreshed));
    assert_eq!(emulator.refreshes(), 2, "process 2 refreshed");
    assert_eq!(emulator.logins(), 1, "without logging in");
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "with r2: the emulator saw no spent token presented again"
    );
    let r3 = stored_refresh_token(&emulator, folder.path()).await;
    assert!(r3 != r1 && r3 != r2);

    // Process 3 starts while process 2's token is still good: it takes it from the store.
    let third = process(&emulator, folder.path());
    let reused = third.get().await.unwrap();
    assert!(reused.same_token(&credential));
    assert_eq!(third.store_hits(), 1);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_live_processes_on_one_store_never_spend_a_refresh_token_twice() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let a = process(&emulator, folder.path());
    let b = process(&emulator, folder.path());

    // A logs in; B starts and takes A's credential (and its refresh token r1) from the store.
    let a1 = a.get().await.unwrap();
    let b1 = b.get().await.unwrap();
    assert!(b1.same_token(&a1));
    assert_eq!(emulator.logins(), 1);

    // Both hold r1 in memory. Each round, one process's token is rejected and it refreshes;
    // then the other's is rejected too, and it must take the rotated pair from the store
    // rather than spend the refresh token the first one already spent.
    let mut a_current = a1;
    let mut b_current = b1;
    for round in 0..6 {
        if round % 2 == 0 {
            a.invalidate(a_current.generation());
            a_current = a.get().await.unwrap();
            b.invalidate(b_current.generation());
            b_current = b.get().await.unwrap();
        } else {
            b.invalidate(b_current.generation());
            b_current = b.get().await.unwrap();
            a.invalidate(a_current.generation());
            a_current = a.get().await.unwrap();
        }
        assert!(a_current.same_token(&b_current), "round {round}");
    }
    assert_eq!(emulator.logins(), 1);
    assert_eq!(emulator.refreshes(), 6, "one refresh a round");
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "a process whose refresh token was rotated by the other took the newer one from the store"
    );
    assert_eq!(a.acquisitions(), 4, "A: the login and three refreshes");
    assert_eq!(b.acquisitions(), 3, "B: three refreshes");
    assert_eq!(b.store_hits(), 4, "B: A's login and A's three rotations");
}

// ---- API-key mode against the emulated node -------------------------------------------------

fn client(key: &str) -> AuthClient {
    let config = WavesConfig::builder()
        .api_key(SecretString::from(key.to_owned()))
        .build()
        .unwrap();
    WavesSource::new(config).into_client().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_accepts_the_key_whose_hash_it_holds() {
    let emulator = Emulator::start().await;
    emulator.set_node_auth(NodeAuth::ApiKey(
        "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu".to_owned(),
    ));
    let response = client(DEMO_API_KEY).get(emulator.node_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    let recorded = emulator.requests();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].api_key && !recorded[0].authorization);
    assert_eq!((emulator.logins(), emulator.refreshes()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_gets_the_nodes_403_back_as_is() {
    let emulator = Emulator::start().await;
    emulator.set_node_auth(NodeAuth::ApiKey(api_key_hash(DEMO_API_KEY)));
    let response = client("not-the-key")
        .get(emulator.node_url())
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body = response.bytes().await.unwrap();
    assert_eq!(
        NodeErrorCode::from_body(&body),
        Some(NodeErrorCode::ApiKeyNotCorrect)
    );
    assert_eq!(emulator.node_requests(), 1, "a 403 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulated_nodes_secure_hash_agrees() {
    let emulator = Emulator::start().await;
    let body = reqwest::Client::new()
        .post(format!("{}/utils/hash/secure", emulator.base_url()))
        .body("foo")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["message"], "foo");
    assert_eq!(
        answer["hash"],
        "53gRrs1z87TXZgevWK3NpiNsGpvqk62EkuRdCtiFefhR"
    );
}
