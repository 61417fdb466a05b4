//! Hardening (issue 8) for RuStore, over real HTTP on loopback: hostile answers from
//! `/public/auth/` and the API are typed errors classified transient or permanent; oversized
//! answers are refused without being read whole; JSON of the wrong shape never puts the token it
//! carries into an error; a failed refresh never replaces the stored credential; `Public-Token`
//! never reaches another origin; the token endpoint follows no redirect. (503, garbage, a slow
//! answer, a refused connection and non-OK codes are in `emulator.rs`.)

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::FileStore;
use auth_core::testkit::emulator::Failure;
use auth_core::testkit::faults::{
    SERVER_TOKEN, SHORT_TIMEOUT, assert_answers_classified, assert_classified,
    assert_client_keeps_credentials_home, assert_failed_refresh_keeps_stored,
    assert_oversized_refused, assert_token_endpoints_follow_no_redirect,
    assert_transport_faults_are_transient, hostile_answers, transport_faults,
};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, SecretString};
use rustore_auth::testkit::{Emulator, Endpoint, ProviderFailure, TEST_KEY_ID, TEST_PRIVATE_KEY};
use rustore_auth::{PROVIDER, RustoreConfig, RustoreSource};

fn config_at(base_url: &str) -> RustoreConfig {
    RustoreConfig::builder()
        .base_url(base_url)
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .timeout(SHORT_TIMEOUT)
        .build()
        .unwrap()
}

/// A piece of the private key: an error showing it would show the key.
fn key_piece() -> &'static str {
    &TEST_PRIVATE_KEY.trim()[100..140]
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_classified(error, transient, case, &[key_piece()]);
}

/// The token request to a server at `url`, which must fail.
async fn token_errors(url: String) -> Vec<AuthError> {
    vec![
        RustoreSource::new(config_at(&url))
            .request_token()
            .await
            .unwrap_err(),
    ]
}

/// A client over a source at `base_url` whose HTTP client has the configuration's settings (the
/// short timeout).
fn client_at(base_url: &str) -> AuthClient {
    let config = config_at(base_url);
    let http = config.http_settings().build_client(PROVIDER).unwrap();
    AuthClient::with_http_client(
        RustoreSource::new(config).into_cache_builder().build(),
        http,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_at_the_token_endpoint_are_transient_transport_errors() {
    assert_transport_faults_are_transient(token_errors, &[key_piece()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_statuses_and_bodies_at_the_token_endpoint_are_classified() {
    let emulator = Emulator::start().await;
    let source = RustoreSource::new(config_at(&emulator.base_url()));
    emulator.inject(Endpoint::Auth, Failure::Status(500));
    let error = source.request_token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 500, .. }),
        "{error:?}"
    );
    check(&error, true, "500");

    assert_answers_classified(hostile_answers(), token_errors, &[key_piece()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_with_missing_or_wrong_typed_fields_are_permanent_and_do_not_quote_the_token() {
    let answers = [
        "{}".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        r#"{"code":"OK","body":null}"#.to_owned(),
        r#"{"code":"OK","body":{"ttl":900}}"#.to_owned(),
        r#"{"code":"OK","body":{"jwe":5,"ttl":900}}"#.to_owned(),
        r#"{"code":"OK","body":{"jwe":"","ttl":900}}"#.to_owned(),
        format!(r#"{{"code":"OK","message":7,"body":{{"jwe":"{SERVER_TOKEN}","ttl":900}}}}"#),
        format!(r#"{{"code":200,"body":{{"jwe":"{SERVER_TOKEN}","ttl":900}}}}"#),
        format!(r#"{{"code":"OK","body":"{SERVER_TOKEN}"}}"#),
        format!(r#"{{"code":"OK","body":["{SERVER_TOKEN}"]}}"#),
        format!(r#"{{"code":"OK","body":{{"jwe":"{SERVER_TOKEN}\n","ttl":900}}}}"#),
    ];
    for answer in answers {
        let server = HostileServer::start(Misbehaviour::json(200, answer.clone()));
        let error = RustoreSource::new(config_at(&server.url()))
            .request_token()
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                AuthError::Protocol { .. } | AuthError::Rejected { .. }
            ),
            "{answer}: {error:?}"
        );
        check(&error, false, &answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_are_refused_without_being_read_whole() {
    assert_oversized_refused(token_errors, &[key_piece()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(folder.path()));
    let failures = [
        (Failure::Status(503), true),
        (Failure::Status(500), true),
        (Failure::Slow(Duration::from_secs(5)), true),
        (Failure::Garbage, false),
        (
            Failure::Provider(ProviderFailure::Refuse {
                code: "ERROR".into(),
                message: "Key not found".into(),
            }),
            false,
        ),
    ];
    let next = assert_failed_refresh_keeps_stored(
        || RustoreSource::new(config_at(&emulator.base_url())),
        store,
        |failure| emulator.inject(Endpoint::Auth, failure),
        &failures,
        &[key_piece()],
    )
    .await;
    // The first token, the failed background refresh, then one request per failure.
    assert_eq!(emulator.auth_requests(), 2 + failures.len() as u64);

    let client = AuthClient::new(next).unwrap();
    assert_eq!(
        client.get(emulator.resource_url()).await.unwrap().status(),
        200
    );
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_through_the_client_are_typed_and_keep_the_credential() {
    let emulator = Emulator::start().await;
    let client = client_at(&emulator.base_url());
    let first = client.cache().get().await.unwrap();
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let error = match client
            .clone()
            // The hostile server stands in for the API: an allowed origin.
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(format!("{}/public/v1/application", server.url()))
            .await
        {
            Err(error) => error,
            Ok(response) => auth_core::provider::read_body_limited(PROVIDER, response, 1024)
                .await
                .unwrap_err(),
        };
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
    }
    // An API answer over the limit, read the careful way.
    let server = HostileServer::start(Misbehaviour::Endless {
        limit: 64 * 1024 * 1024,
        declare_length: false,
    });
    let response = client
        .clone()
        .allow_origin(&url::Url::parse(&server.url()).unwrap())
        .get(server.url())
        .await
        .unwrap();
    let error =
        auth_core::provider::read_body_limited(PROVIDER, response, auth_core::provider::MAX_BODY)
            .await
            .unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
    assert_eq!(
        client.cache().fresh().unwrap().generation(),
        first.generation()
    );
    assert_eq!(emulator.auth_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_token_never_follows_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let client = client_at(&emulator.base_url());
    assert_client_keeps_credentials_home(&client, "public-token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_follows_no_redirect() {
    assert_token_endpoints_follow_no_redirect(token_errors, &[key_piece()]).await;
}
