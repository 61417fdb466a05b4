//! Hardening (issue 8) for Bank Alliance, over real HTTP on loopback: hostile answers from
//! `authorize_virtual_device` and the API are typed errors classified transient or permanent;
//! oversized answers are refused without being read whole (the client reads API bodies, to find
//! rejections under HTTP 200); decrypted sessions with missing or wrong-typed fields are refused
//! without quoting them; a failed re-authorization never replaces the stored session;
//! `x-device_id` and `x-refresh_token` never reach another origin; authorize follows no redirect.
//! (503, HTML, garbage, a wrong key or algorithm, a slow and a 2 MiB answer at authorize are in
//! `emulator.rs`.)

use std::sync::Arc;
use std::time::Duration;

use alliance_auth::testkit::{
    DEMO_SERVICE_CODE, Emulator, Endpoint, ProviderFailure, Rejection, demo_auth_key,
};
use alliance_auth::{AllianceConfig, AllianceSource};
use auth_core::store::FileStore;
use auth_core::testkit::emulator::Failure;
use auth_core::testkit::faults::{
    SERVER_TOKEN, assert_classified, assert_client_keeps_credentials_home,
    assert_failed_refresh_keeps_stored, assert_oversized_refused,
    assert_token_endpoints_follow_no_redirect, assert_transport_faults_are_transient,
    short_timeout, transport_faults,
};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, CredentialCache};
use serde_json::json;

const OPERATIONS: &str = "ecom/execute_request/hpp/v1/operations";

fn config_at(base_url: &str) -> AllianceConfig {
    AllianceConfig::builder()
        .base_url(base_url)
        .service_code(DEMO_SERVICE_CODE)
        .authorization_key(demo_auth_key())
        .http_settings(short_timeout())
        .build()
        .unwrap()
}

/// The private scalar of the demo authorization key: no error may show it.
fn private_scalar() -> String {
    let key: serde_json::Value =
        serde_json::from_str(alliance_auth::testkit::DEMO_AUTH_KEY).unwrap();
    key["d"].as_str().unwrap().to_owned()
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_classified(error, transient, case, &[&private_scalar()]);
}

/// The token request to a server at `url`, which must fail.
async fn authorize_errors(url: String) -> Vec<AuthError> {
    vec![
        AllianceSource::new(config_at(&url))
            .authorize()
            .await
            .unwrap_err(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_at_authorize_are_transient_transport_errors() {
    assert_transport_faults_are_transient(authorize_errors, &[&private_scalar()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_statuses_and_bodies_at_authorize_are_classified() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Authorize, Failure::Status(500));
    let error = AllianceSource::new(config_at(&emulator.base_url()))
        .authorize()
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 500, .. }),
        "{error:?}"
    );
    check(&error, true, "500");

    let cases = [
        (
            Misbehaviour::answer(200, "text/html", "<html><body>Maintenance</body></html>"),
            false,
        ),
        (Misbehaviour::answer(429, "text/plain", "slow down"), true),
        (
            Misbehaviour::answer(503, "text/html", "<html>down</html>"),
            true,
        ),
        (Misbehaviour::json(200, ""), false),
        (Misbehaviour::json(200, "{}"), false),
        (Misbehaviour::json(200, "[]"), false),
        (Misbehaviour::json(200, r#"{"jwe":5}"#), false),
        (
            Misbehaviour::json(200, format!(r#"{{"jwe":"{SERVER_TOKEN}"}}"#)),
            false,
        ),
        (Misbehaviour::json(200, r#"{"jwe":"a.b.c.d.e"}"#), false),
        (Misbehaviour::json(200, r#"{"msgType":"ERROR"}"#), false),
    ];
    for (misbehaviour, transient) in cases {
        let case = format!("{misbehaviour:?}");
        let server = HostileServer::start(misbehaviour);
        let error = AllianceSource::new(config_at(&server.url()))
            .authorize()
            .await
            .unwrap_err();
        check(&error, transient, &case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decrypted_sessions_with_missing_or_wrong_typed_fields_are_refused_without_quoting_them() {
    let emulator = Emulator::start().await;
    let source = AllianceSource::new(config_at(&emulator.base_url()));
    let server_public: serde_json::Value =
        serde_json::from_str(&demo_auth_key().public_key().to_jwk_json()).unwrap();
    let payloads = [
        json!({}),
        json!([]),
        json!(SERVER_TOKEN),
        json!({"refreshToken": SERVER_TOKEN, "serverPublic": server_public}),
        json!({"deviceId": 5, "refreshToken": SERVER_TOKEN, "serverPublic": server_public}),
        json!({"deviceId": "device-1", "serverPublic": server_public}),
        json!({"deviceId": "device-1", "refreshToken": 7, "serverPublic": server_public}),
        json!({"deviceId": "device-1", "refreshToken": [SERVER_TOKEN], "serverPublic": server_public}),
        json!({"deviceId": "device-1", "refreshToken": format!("{SERVER_TOKEN}\n"), "serverPublic": server_public}),
        json!({"deviceId": "device-1", "refreshToken": SERVER_TOKEN, "authToken": 5, "serverPublic": server_public}),
        json!({"deviceId": "device-1", "refreshToken": SERVER_TOKEN}),
        json!({"deviceId": "device-1", "refreshToken": SERVER_TOKEN, "serverPublic": SERVER_TOKEN}),
        json!({"deviceId": "device-1", "refreshToken": SERVER_TOKEN, "serverPublic": {"kty": "EC"}}),
    ];
    for payload in payloads {
        emulator.inject(
            Endpoint::Authorize,
            Failure::Provider(ProviderFailure::Payload(payload.to_string())),
        );
        let error = source.authorize().await.unwrap_err();
        assert!(
            matches!(error, AuthError::Protocol { .. }),
            "{payload}: {error:?}"
        );
        check(&error, false, &payload.to_string());
    }
    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::Payload(format!(
            "refreshToken={SERVER_TOKEN}"
        ))),
    );
    let error = source.authorize().await.unwrap_err();
    check(&error, false, "not JSON");
    source.authorize().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_are_refused_without_being_read_whole() {
    assert_oversized_refused(authorize_errors, &[&private_scalar()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reauthorization_never_replaces_the_stored_session() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let next = assert_failed_refresh_keeps_stored(
        || AllianceSource::new(config_at(&emulator.base_url())),
        Arc::new(FileStore::new(folder.path())),
        |failure| emulator.inject(Endpoint::Authorize, failure),
        &[
            (Failure::Status(503), true),
            (Failure::Status(500), true),
            (Failure::Html, true),
            (Failure::Slow(Duration::from_secs(5)), true),
            (Failure::Garbage, false),
            (Failure::Huge, false),
            (Failure::Provider(ProviderFailure::ServiceCodeClosed), false),
            (
                Failure::Provider(ProviderFailure::Reject(Rejection::unauthorized())),
                false,
            ),
        ],
        &[&private_scalar()],
    )
    .await;
    // The first authorize, the failed background one, then one per failure.
    assert_eq!(emulator.authorizations(), 2 + 8);

    // The stored session is intact: a new process takes it and the bank accepts it.
    let client = AuthClient::new(next).unwrap();
    let response = client.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_through_the_client_are_typed_and_keep_the_session() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(AllianceSource::new(config_at(&emulator.base_url())));
    let client =
        AuthClient::with_http_client(cache, short_timeout().build_client("alliance").unwrap());
    let first = client.cache().get().await.unwrap();
    let url = emulator.url(OPERATIONS);

    for status in [500, 503] {
        emulator.inject(Endpoint::Api, Failure::Status(status));
        assert_eq!(client.get(&url).await.unwrap().status(), status);
    }
    // The client reads API bodies to find rejections under 200: a 2 MiB one is refused.
    emulator.inject(Endpoint::Api, Failure::Huge);
    let error = client.get(&url).await.unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
    check(&error, false, "2 MiB API answer");
    emulator.inject(Endpoint::Api, Failure::Slow(Duration::from_secs(5)));
    let error = client.get(&url).await.unwrap_err();
    assert!(matches!(error, AuthError::Transport { .. }), "{error:?}");
    check(&error, true, "API timeout");

    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let error = client
            .clone()
            // The hostile server stands in for the API: an allowed origin.
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(format!("{}/{OPERATIONS}", server.url()))
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
    }
    for declare_length in [true, false] {
        let server = HostileServer::start(Misbehaviour::Endless {
            limit: 64 * 1024 * 1024,
            declare_length,
        });
        let error = client
            .clone()
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(server.url())
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
        assert!(server.wait_until_quiet(Duration::from_secs(10)));
        assert!(
            server.bytes_sent() < 16 * 1024 * 1024,
            "{}",
            server.bytes_sent()
        );
    }
    assert_eq!(
        client.cache().fresh().unwrap().generation(),
        first.generation()
    );
    assert_eq!(
        emulator.authorizations(),
        1,
        "none of it cost a new session"
    );
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_headers_never_follow_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let client = AuthClient::new(CredentialCache::new(AllianceSource::new(config_at(
        &emulator.base_url(),
    ))))
    .unwrap();
    for header in ["x-device_id", "x-refresh_token"] {
        assert_client_keeps_credentials_home(&client, header).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_follows_no_redirect() {
    assert_token_endpoints_follow_no_redirect(authorize_errors, &[&private_scalar()]).await;
}
