//! End to end against the Kontur emulator over real HTTP on loopback: the first credential, a
//! cache hit, a refresh, a rejection and its retry (the foundation issue's acceptance lines),
//! and both sources in the one shape.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::FileStore;
use auth_core::testkit::emulator::Failure;
use auth_core::{AuthClient, AuthError, CredentialCache, CredentialSource, SecretString};
use kontur_auth::testkit::{DEMO_OIDC_CLIENT, DEMO_OIDC_SECRET};
use kontur_auth::testkit::{Emulator, Endpoint};
use kontur_auth::{KonturOidcConfig, KonturOidcSource, KonturSource};

fn boxes_url(emulator: &Emulator) -> String {
    format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_callers_on_an_empty_cache_cause_one_authentication() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(KonturSource::new(emulator.config()));
    let mut callers = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let cache = cache.clone();
        callers.push(tokio::spawn(async move { cache.get().await }));
    }
    let mut generations = std::collections::HashSet::new();
    for caller in callers {
        generations.insert(caller.await.unwrap().unwrap().generation());
    }
    assert_eq!(emulator.authentications(), 1);
    assert_eq!(generations.len(), 1, "every caller got the same credential");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_rejections_cause_one_reauthentication_and_all_succeed() {
    let emulator = Emulator::start().await;
    let client =
        AuthClient::new(CredentialCache::new(KonturSource::new(emulator.config()))).unwrap();
    client.cache().get().await.unwrap();
    assert_eq!(emulator.authentications(), 1);
    emulator.revoke_all_tokens();

    let client = Arc::new(client);
    let url = boxes_url(&emulator);
    let mut requests = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let client = Arc::clone(&client);
        let url = url.clone();
        requests.push(tokio::spawn(async move {
            client.get(&url).await.map(|r| r.status().as_u16())
        }));
    }
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap(), 200);
    }
    assert_eq!(
        emulator.authentications(),
        2,
        "exactly one re-authentication"
    );
    let rejected = emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/V1/Boxes") && !r.valid_token)
        .count();
    assert!(rejected >= 1, "the test must really have seen rejections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failing_with_503_keeps_serving_the_still_valid_token() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(KonturSource::new(emulator.config()));
    let first = cache.get().await.unwrap();

    emulator.inject(Endpoint::Authenticate, Failure::Status(503));
    cache.mark_stale();
    let during = cache.get().await.unwrap();
    assert!(
        during.same_token(&first),
        "the old token is served while refreshing"
    );
    cache.settle().await;
    assert_eq!(
        emulator.authentications(),
        2,
        "the refresh was attempted and failed"
    );

    let after = cache.get().await.unwrap();
    assert!(
        after.same_token(&first),
        "after the failed refresh the old token stays in service"
    );
    assert_eq!(after.generation(), first.generation());
    assert_eq!(
        emulator.authentications(),
        2,
        "no retry before the backoff interval"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_acquiring_task_leaves_no_waiter_hanging() {
    let emulator = Emulator::start().await;
    emulator.inject(
        Endpoint::Authenticate,
        Failure::Slow(Duration::from_millis(300)),
    );
    let cache = CredentialCache::new(KonturSource::new(emulator.config()));

    let starter = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get().await }
    });
    while emulator.authentications() == 0 {
        tokio::task::yield_now().await;
    }
    let waiter = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get().await }
    });
    starter.abort();
    assert!(starter.await.unwrap_err().is_cancelled());
    let credential = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter is answered")
        .unwrap()
        .unwrap();
    assert_eq!(credential.generation(), 1);
    assert_eq!(emulator.authentications(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_after_reauthentication_goes_back_to_the_caller() {
    let emulator = Emulator::start().await;
    let client =
        AuthClient::new(CredentialCache::new(KonturSource::new(emulator.config()))).unwrap();
    emulator.inject(Endpoint::Api, Failure::Status(401));
    emulator.inject(Endpoint::Api, Failure::Status(401));
    let error = client.get(boxes_url(&emulator)).await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Rejected {
                status: Some(401),
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        emulator.authentications(),
        2,
        "one authentication, one re-authentication"
    );
    assert_eq!(
        emulator.api_calls(),
        2,
        "the request was repeated exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_sees_the_literal_header_forms() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(KonturSource::new(emulator.config()));
    let credential = cache.get().await.unwrap();
    let header = credential.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let token = secrecy::ExposeSecret::expose_secret(credential.token()).to_owned();
    assert_eq!(
        header,
        format!(
            "KonturEdiAuth konturediauth_api_client_id=testClient-8ee1638deae84c86b8e2069955c2825a,konturediauth_token={token}"
        )
    );
    assert!(credential.headers()["authorization"].is_sensitive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_permanent_rejection_without_the_password() {
    let emulator = Emulator::start().await;
    let config = emulator
        .config_builder()
        .password(secrecy::SecretString::from("Wr0ng-Canary-Pa55"))
        .build()
        .unwrap();
    let error = CredentialCache::new(KonturSource::new(config))
        .get()
        .await
        .unwrap_err();
    assert!(error.is_rejection() && !error.is_transient(), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("Wr0ng-Canary-Pa55"), "{shown}");
    assert!(
        shown.contains("KonturConfigBuilder::password"),
        "says what to check: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_authenticate_answers_are_typed_errors() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::builder(Arc::new(KonturSource::new(emulator.config())))
        .policy(auth_core::RefreshPolicy {
            min_retry_interval: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            ..Default::default()
        })
        .build();
    for (failure, transient) in [
        (Failure::Status(503), true),
        (Failure::Html, true),
        (Failure::Garbage, false),
        (Failure::Huge, false),
        (Failure::Status(400), false),
        (
            Failure::RedirectTo("http://127.0.0.2:1/steal".into()),
            false,
        ),
    ] {
        emulator.inject(Endpoint::Authenticate, failure.clone());
        let error = cache.get().await.unwrap_err();
        assert_eq!(error.is_transient(), transient, "{failure:?}: {error}");
    }
    assert!(
        cache.get().await.is_ok(),
        "recovers once the server behaves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_never_follows_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let elsewhere = Emulator::start().await;
    let client =
        AuthClient::new(CredentialCache::new(KonturSource::new(emulator.config()))).unwrap();
    let target = format!(
        "http://localhost:{}/V1/Boxes/GetBoxesInfo",
        elsewhere
            .base_url()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
    );
    emulator.inject(Endpoint::Api, Failure::RedirectTo(target));
    let response = client.get(boxes_url(&emulator)).await.unwrap();
    assert_eq!(response.status(), 401, "the other origin saw no credential");
    assert_eq!(elsewhere.api_calls(), 1);
    assert!(elsewhere.requests().iter().all(|r| !r.valid_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_shape_with_a_store_reuses_the_stored_credential() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(folder.path()));
    let cache = KonturSource::new(emulator.config())
        .into_cache_builder()
        .store(store.clone())
        .build();
    let client = AuthClient::new(cache).unwrap();
    assert_eq!(
        client.get(boxes_url(&emulator)).await.unwrap().status(),
        200
    );
    assert_eq!(client.cache().acquisitions(), 1);

    // Another process with the same store: the stored credential, no authentication.
    let again = AuthClient::new(
        KonturSource::new(emulator.config())
            .into_cache_builder()
            .store(store)
            .build(),
    )
    .unwrap();
    assert_eq!(again.get(boxes_url(&emulator)).await.unwrap().status(), 200);
    assert_eq!(again.cache().store_hits(), 1);
    assert_eq!(again.cache().acquisitions(), 0);
    assert_eq!(emulator.authentications(), 1);
    assert!(again.cache().source_as::<KonturSource>().is_some());
}

fn oidc_config(emulator: &Emulator) -> kontur_auth::KonturOidcConfigBuilder {
    KonturOidcConfig::builder()
        .identity_url(emulator.base_url())
        .client_id(DEMO_OIDC_CLIENT)
        .client_secret(SecretString::from(DEMO_OIDC_SECRET))
        .scope("edi-public-api-staging")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_connect_in_the_one_shape_sends_its_token_to_the_api_origin_only() {
    let emulator = Emulator::start().await;
    let client = KonturOidcSource::new(
        oidc_config(&emulator)
            .base_url(emulator.base_url())
            .build()
            .unwrap(),
    )
    .into_client()
    .unwrap();
    assert_eq!(
        client.get(boxes_url(&emulator)).await.unwrap().status(),
        200
    );
    assert_eq!(emulator.token_requests(), 1);
    assert!(
        emulator
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/V1/Boxes") && r.valid_token)
    );

    // Another origin (the same server by another name) is refused before anything is sent.
    let calls = emulator.api_calls();
    let elsewhere = boxes_url(&emulator).replace("127.0.0.1", "localhost");
    let error = client.get(elsewhere).await.unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
    assert_eq!(emulator.api_calls(), calls);

    // By default the token is for the production API.
    let source = KonturOidcSource::new(oidc_config(&emulator).build().unwrap());
    assert_eq!(
        source.api_origins(),
        [url::Url::parse(kontur_auth::PRODUCTION_URL).unwrap()]
    );
}

#[test]
fn an_openid_connect_config_names_what_is_missing() {
    for (builder, setter) in [
        (
            KonturOidcConfig::builder(),
            "KonturOidcConfigBuilder::client_id",
        ),
        (
            KonturOidcConfig::builder().client_id("service"),
            "KonturOidcConfigBuilder::client_secret",
        ),
        (
            KonturOidcConfig::builder()
                .client_id("service")
                .client_secret(SecretString::from("")),
            "KonturOidcConfigBuilder::client_secret",
        ),
        (
            KonturOidcConfig::builder()
                .client_id("service")
                .client_secret(SecretString::from("Canary-Key")),
            "KonturOidcConfigBuilder::scope",
        ),
    ] {
        let error = builder.build().unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
        assert!(message.contains(setter), "{message}");
        assert!(!message.contains("Canary-Key"), "{message}");
    }
    let error = KonturOidcConfig::builder()
        .client_id("service")
        .client_secret(SecretString::from("key"))
        .scope("s")
        .identity_url("http://identity.example")
        .build()
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
}
