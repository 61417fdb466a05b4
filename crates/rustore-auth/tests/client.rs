//! Single flight and retry-once for RuStore, through `auth-core`'s cache and client, over real
//! HTTP against the emulator.

use auth_core::{AuthClient, AuthError, ExposeSecret as _, SecretString};
use futures_util::future::join_all;
use rustore_auth::testkit::{Emulator, RESOURCE_PATH, TEST_KEY_ID, TEST_PRIVATE_KEY};
use rustore_auth::{RustoreConfig, RustoreSource};

fn client(emulator: &Emulator) -> AuthClient {
    let config = RustoreConfig::builder()
        .base_url(emulator.base_url())
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .build()
        .unwrap();
    RustoreSource::new(config).into_client().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_cause_one_token_request() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let url = emulator.resource_url();
    let answers = join_all((0..1000).map(|_| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move { client.get(url).await.map(|r| r.status().as_u16()) })
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().unwrap(), 200);
    }
    assert_eq!(emulator.auth_requests(), 1);
    assert_eq!(emulator.resource_requests(), 1000);
    assert_eq!(client.cache().acquisitions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_rejections_cause_one_reauthentication() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let url = emulator.resource_url();
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
    emulator.revoke_tokens();
    let answers = join_all((0..1000).map(|_| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move { client.get(url).await.map(|r| r.status().as_u16()) })
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().unwrap(), 200);
    }
    assert_eq!(emulator.auth_requests(), 2);
}

#[tokio::test]
async fn requests_carry_the_token_as_public_token() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let response = client.get(emulator.resource_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["body"]["path"], RESOURCE_PATH);
    assert_eq!(body["body"]["keyId"], TEST_KEY_ID);
    let token = client.cache().get().await.unwrap();
    let sent = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == RESOURCE_PATH)
        .unwrap();
    assert_eq!(
        sent.public_token.as_deref(),
        Some(token.token().expose_secret())
    );
}

#[tokio::test]
async fn the_token_is_reused_until_it_is_due() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    for _ in 0..5 {
        assert_eq!(
            client.get(emulator.resource_url()).await.unwrap().status(),
            200
        );
    }
    assert_eq!(emulator.auth_requests(), 1);
}

#[tokio::test]
async fn a_401_causes_one_reauthentication_and_the_retry_succeeds() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    assert_eq!(
        client.get(emulator.resource_url()).await.unwrap().status(),
        200
    );
    emulator.revoke_tokens();
    assert_eq!(
        client.get(emulator.resource_url()).await.unwrap().status(),
        200
    );
    assert_eq!(emulator.auth_requests(), 2);
    assert_eq!(emulator.resource_requests(), 3);
}

#[tokio::test]
async fn a_second_401_is_final() {
    let emulator = Emulator::start().await;
    emulator.reject_all_resources(true);
    let client = client(&emulator);
    let error = client.get(emulator.resource_url()).await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Rejected {
                status: Some(401),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        emulator.auth_requests(),
        2,
        "one token, then one re-authentication"
    );
    assert_eq!(
        emulator.resource_requests(),
        2,
        "the request, then one retry"
    );
}

#[tokio::test]
async fn a_403_goes_back_to_the_caller_as_it_is() {
    let emulator = Emulator::start().await;
    emulator.forbid(RESOURCE_PATH);
    let client = client(&emulator);
    let response = client.get(emulator.resource_url()).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("does not have rights")
    );
    assert_eq!(emulator.auth_requests(), 1, "no re-authentication on 403");
    assert_eq!(emulator.resource_requests(), 1, "no retry on 403");
}

#[tokio::test]
async fn a_failed_token_request_is_not_cached() {
    let emulator = Emulator::start().await;
    emulator.fail_next_auth(rustore_auth::testkit::Failure::Status(503));
    let client = client(&emulator);
    let error = client.get(emulator.resource_url()).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    // The cache backs off (1 s by default) before it asks again.
    tokio::time::pause();
    tokio::time::advance(std::time::Duration::from_secs(2)).await;
    tokio::time::resume();
    assert_eq!(
        client.get(emulator.resource_url()).await.unwrap().status(),
        200
    );
    assert_eq!(emulator.auth_requests(), 2);
}
