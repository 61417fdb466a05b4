//! Hardening (issue 8) for Evotor's client side, over real HTTP on loopback. Evotor has no token
//! endpoint (the Cloud pushes its tokens through the `user/token` webhook), so the faults are the
//! API's and the token store's: error statuses come back as answers and keep the credential;
//! timeouts, resets, slow and truncated bodies are transient transport errors; an answer over
//! the limit is refused without being read whole; a damaged or newer token file is a transient
//! store error that leaves the file as it was and never quotes it; `X-Authorization` and
//! `Authorization` never reach another origin; a failed refresh (the Cloud-token file damaged)
//! never replaces the stored credential.

use std::sync::Arc;
use std::time::Duration;

use auth_core::provider::{MAX_BODY, read_body_limited};
use auth_core::store::{CredentialStore, MemoryStore};
use auth_core::testkit::emulator::{Failure, HUGE_BODY_BYTES};
use auth_core::testkit::faults::{
    assert_classified, assert_credentials_stay_home, assert_failed_refresh_keeps_stored,
    short_timeout, transport_faults,
};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, CredentialCache, ExposeSecret, SecretString};
use evotor_auth::testkit::{DEMO_USER_ID, Emulator, Endpoint};
use evotor_auth::webhook::{CLOUD_TOKENS_FILE, FileWebhookStore};
use evotor_auth::{CloudTokenStore, EvotorConfig, EvotorSource, UserId};

const CLOUD_TOKEN: &str = "f46b89a5-8e80-4591-b0aa-94551790444b";

fn client_at(base_url: &str) -> AuthClient {
    let config = EvotorConfig::builder()
        .base_url(base_url)
        .cloud_token(SecretString::from(CLOUD_TOKEN))
        .build()
        .unwrap();
    let source = EvotorSource::new(config);
    AuthClient::with_http_client(
        CredentialCache::new(source),
        short_timeout().build_client("evotor").unwrap(),
    )
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_classified(error, transient, case, &[CLOUD_TOKEN]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_through_the_client_are_typed_and_keep_the_credential() {
    // No webhook is sent in these tests: the emulator needs no receiver.
    let cloud = Emulator::start().await;
    let client = client_at(&cloud.base_url());
    let first = client.cache().get().await.unwrap();
    let v1 = format!("{}api/v1/inventories/stores/search", cloud.base_url());
    let v2 = format!("{}stores", cloud.base_url());

    // Error statuses and garbage that are not rejections go back to the caller as they are.
    for url in [&v1, &v2] {
        for status in [500, 503] {
            cloud.inject(Endpoint::Api, Failure::Status(status));
            assert_eq!(client.get(url).await.unwrap().status(), status);
        }
        cloud.inject(Endpoint::Api, Failure::Garbage);
        assert_eq!(client.get(url).await.unwrap().status(), 200);
        cloud.inject(Endpoint::Api, Failure::Slow(Duration::from_secs(5)));
        let error = client.get(url).await.unwrap_err();
        assert!(matches!(error, AuthError::Transport { .. }), "{error:?}");
        assert!(error.to_string().contains("timed out"), "{error}");
        check(&error, true, "API timeout");
    }

    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let error = match client
            .clone()
            // The hostile server stands in for the API: an allowed origin.
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(format!("{}/api/v1/inventories/stores/search", server.url()))
            .await
        {
            Err(error) => error,
            Ok(response) => read_body_limited("evotor", response, 1024)
                .await
                .unwrap_err(),
        };
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
    }

    // API bodies stream to the caller; read the careful way, a flood is refused early.
    for declare_length in [true, false] {
        let server = HostileServer::start(Misbehaviour::Endless {
            limit: 64 * 1024 * 1024,
            declare_length,
        });
        let response = client
            .clone()
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(format!("{}/stores", server.url()))
            .await
            .unwrap();
        let error = read_body_limited("evotor", response, MAX_BODY)
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
        check(&error, false, "oversized");
        assert!(server.wait_until_quiet(Duration::from_secs(10)));
        assert!(
            server.bytes_sent() < 16 * 1024 * 1024,
            "declared length {declare_length}: {} bytes went out before the client hung up",
            server.bytes_sent()
        );
    }

    let now = client.cache().fresh().expect("never invalidated");
    assert_eq!(now.generation(), first.generation());
    assert_eq!(cloud.api_rejections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_newer_token_file_is_a_store_error_that_leaves_the_file_alone() {
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileWebhookStore::open(folder.path()).unwrap());
    let user = UserId::parse("01-000000000000007").unwrap();
    store
        .save_cloud_token(&user, SecretString::from(CLOUD_TOKEN))
        .await
        .unwrap();
    let file = folder.path().join(CLOUD_TOKENS_FILE);
    let good = std::fs::read(&file).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let mut newer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(newer["format"], 1, "{text}");
    newer["format"] = 99.into();
    let config = EvotorConfig::builder()
        .base_url("http://127.0.0.1:9/")
        .user_id(user.as_str())
        .cloud_tokens(store.clone())
        .build()
        .unwrap();

    for (case, damaged) in [
        ("truncated", good[..good.len() - 10].to_vec()),
        ("garbage", b"\x00\xffnot json".to_vec()),
        ("wrong types", br#"{"format":1,"tokens":[1,2,3]}"#.to_vec()),
        ("newer format", newer.to_string().into_bytes()),
    ] {
        std::fs::write(&file, &damaged).unwrap();
        let cache = CredentialCache::new(EvotorSource::new(config.clone()));
        let error = cache.get().await.unwrap_err();
        assert!(
            matches!(error, AuthError::Store { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            damaged,
            "{case}: the file was rewritten"
        );
    }

    // Put back, the token is there again.
    std::fs::write(&file, &good).unwrap();
    let cache = CredentialCache::new(EvotorSource::new(config));
    assert!(cache.get().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_token_never_follows_a_redirect_to_another_origin() {
    // A v1 path (X-Authorization) and a v2 path (Authorization: Bearer).
    for (path, header) in [("/api/v1/go", "x-authorization"), ("/go", "authorization")] {
        assert_credentials_stay_home(header, |home| async move {
            let client = client_at(&format!("{home}/"));
            let request = client
                .request(http::Method::POST, format!("{home}{path}"))
                .body("payload")
                .build()
                .unwrap();
            client.send(request).await
        })
        .await;
    }
}

/// Evotor's refresh is a read of the Cloud-token store: here the receiver's folder, whose token
/// file each injected failure damages (garbage; a file over the 1 MiB cap). Neither the
/// background refresh nor a forced one may replace the credential the credential store holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential() {
    let cloud = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let tokens = Arc::new(FileWebhookStore::open(folder.path()).unwrap());
    let user = UserId::parse(DEMO_USER_ID).unwrap();
    let token = cloud.issue_cloud_token(&user);
    tokens.save_cloud_token(&user, token.clone()).await.unwrap();
    let file = folder.path().join(CLOUD_TOKENS_FILE);
    let good = std::fs::read(&file).unwrap();
    let config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(DEMO_USER_ID)
        .cloud_tokens(tokens)
        .build()
        .unwrap();
    let store: Arc<dyn CredentialStore> = Arc::new(MemoryStore::new());
    let damage = |failure: Failure| {
        let bytes = match failure {
            Failure::Garbage => b"\x00\xffnot json".to_vec(),
            Failure::Huge => vec![b'A'; HUGE_BODY_BYTES],
            other => panic!("no such damage: {other:?}"),
        };
        std::fs::write(&file, bytes).unwrap();
    };
    let cache = assert_failed_refresh_keeps_stored(
        || EvotorSource::new(config.clone()),
        store,
        damage,
        &[(Failure::Garbage, true), (Failure::Huge, true)],
        &[token.expose_secret(), CLOUD_TOKEN],
    )
    .await;
    std::fs::write(&file, &good).unwrap();
    let client = AuthClient::new(cache).unwrap();
    let url = format!("{}api/v1/inventories/stores/search", cloud.base_url());
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
    assert_eq!(cloud.api_rejections(), 0);
}
