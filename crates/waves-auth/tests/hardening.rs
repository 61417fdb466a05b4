//! Hardening (issue 8) for Waves Enterprise, over real HTTP on loopback: hostile answers from
//! `/v1/auth/login`, `/v1/auth/token`, `/v1/auth/refresh` and the node are typed errors
//! classified transient or permanent; oversized answers are refused without being read whole;
//! token pairs with missing or wrong-typed fields are refused without quoting them; a failed
//! refresh never replaces the stored credential (nor its refresh token); `Authorization` and
//! `X-API-Key` never reach another origin; the token endpoints follow no redirect. (Garbage,
//! HTML, 503, 2 MiB, a redirect and a slow answer at login are in `errors.rs`.)

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{CredentialStore, FileStore};
use auth_core::testkit::emulator::Failure;
use auth_core::testkit::faults::{
    SERVER_TOKEN, assert_answers_classified, assert_classified,
    assert_client_keeps_credentials_home, assert_failed_refresh_keeps_stored,
    assert_oversized_refused, assert_token_endpoints_follow_no_redirect,
    assert_transport_faults_are_transient, hostile_answers, short_timeout, transport_faults,
};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, CredentialCache, CredentialSource, SecretString};
use waves_auth::testkit::{
    DEMO_API_KEY, DEMO_LOGIN, DEMO_PASSWORD, DEMO_SERVICE_TOKEN, Emulator, Endpoint,
};
use waves_auth::{REFRESH_TOKEN_EXTRA, WavesConfig, WavesSource};

/// The secrets no error may show.
const SECRETS: &[&str] = &[DEMO_PASSWORD, DEMO_SERVICE_TOKEN, DEMO_API_KEY];

fn password_at(auth_url: &str) -> WavesSource {
    WavesSource::new(
        WavesConfig::builder()
            .auth_url(auth_url)
            .login(DEMO_LOGIN)
            .password(SecretString::from(DEMO_PASSWORD))
            .http_settings(short_timeout())
            .build()
            .unwrap(),
    )
}

fn service_at(auth_url: &str) -> WavesSource {
    WavesSource::new(
        WavesConfig::builder()
            .auth_url(auth_url)
            .service_token(SecretString::from(DEMO_SERVICE_TOKEN))
            .http_settings(short_timeout())
            .build()
            .unwrap(),
    )
}

/// The three token endpoints of a source at `auth_url`: login, the service grant, a refresh.
async fn all_grants(auth_url: &str) -> Vec<(&'static str, AuthError)> {
    vec![
        (
            "login",
            password_at(auth_url).acquire(None).await.unwrap_err(),
        ),
        (
            "service",
            service_at(auth_url).acquire(None).await.unwrap_err(),
        ),
        (
            "refresh",
            password_at(auth_url)
                .refresh(&SecretString::from(SERVER_TOKEN))
                .await
                .unwrap_err(),
        ),
    ]
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_classified(error, transient, case, SECRETS);
}

/// Each grant's error, for the checks that want errors alone.
async fn grant_errors(auth_url: String) -> Vec<AuthError> {
    all_grants(&auth_url)
        .await
        .into_iter()
        .map(|(_, error)| error)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_at_every_token_endpoint_are_transient_transport_errors() {
    assert_transport_faults_are_transient(grant_errors, SECRETS).await;

    // The emulator's slow answers, against the short limit.
    let emulator = Emulator::start().await;
    for endpoint in [Endpoint::Login, Endpoint::Token, Endpoint::Refresh] {
        emulator.inject(endpoint, Failure::Slow(Duration::from_secs(5)));
    }
    for (endpoint, error) in all_grants(&emulator.base_url()).await {
        assert!(
            error.to_string().contains("timed out"),
            "{endpoint}: {error}"
        );
        check(&error, true, endpoint);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_statuses_and_bodies_at_every_token_endpoint_are_classified() {
    let emulator = Emulator::start().await;
    for endpoint in [Endpoint::Login, Endpoint::Token, Endpoint::Refresh] {
        emulator.inject(endpoint, Failure::Status(500));
    }
    for (endpoint, error) in all_grants(&emulator.base_url()).await {
        assert!(
            matches!(error, AuthError::Server { status: 500, .. }),
            "{endpoint}: {error:?}"
        );
        check(&error, true, endpoint);
    }

    let mut cases = hostile_answers();
    cases.push((
        Misbehaviour::answer(404, "text/plain", "no such path"),
        false,
    ));
    assert_answers_classified(cases, grant_errors, SECRETS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_pairs_with_missing_or_wrong_typed_fields_are_refused_without_quoting_them() {
    let answers = [
        "{}".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        format!(r#""{SERVER_TOKEN}""#),
        r#"{"access_token":5}"#.to_owned(),
        format!(r#"{{"access_token":["{SERVER_TOKEN}"]}}"#),
        format!(r#"{{"refresh_token":"{SERVER_TOKEN}"}}"#),
        format!(r#"{{"access_token":"{SERVER_TOKEN}","refresh_token":7}}"#),
        format!(r#"{{"access_token":"{SERVER_TOKEN}","token_type":{{}}}}"#),
        format!(r#"{{"access_token":"{SERVER_TOKEN}\u0001"}}"#),
        format!(r#"{{"access_token":"{SERVER_TOKEN}""#),
    ];
    for answer in answers {
        let server = HostileServer::start(Misbehaviour::json(200, answer.clone()));
        for (endpoint, error) in all_grants(&server.url()).await {
            assert!(
                matches!(error, AuthError::Protocol { .. }),
                "{answer} at {endpoint}: {error:?}"
            );
            check(&error, false, &format!("{answer} at {endpoint}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_are_refused_without_being_read_whole() {
    assert_oversized_refused(grant_errors, SECRETS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential_or_its_refresh_token() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store: Arc<dyn CredentialStore> = Arc::new(FileStore::new(folder.path()));
    // The background refresh fails at /v1/auth/refresh; that refresh token then counts as
    // spent, so every later try is a login, and each one fails.
    let refreshed = Cell::new(false);
    let inject = |failure: Failure| {
        let endpoint = if refreshed.replace(true) {
            Endpoint::Login
        } else {
            Endpoint::Refresh
        };
        emulator.inject(endpoint, failure);
    };
    let next = assert_failed_refresh_keeps_stored(
        || password_at(&emulator.base_url()),
        Arc::clone(&store),
        inject,
        &[
            (Failure::Status(503), true),
            (Failure::Status(500), true),
            (Failure::Html, true),
            (Failure::Slow(Duration::from_secs(5)), true),
            (Failure::Garbage, false),
            (Failure::Huge, false),
            (Failure::Status(401), false),
        ],
        SECRETS,
    )
    .await;
    assert_eq!(emulator.refreshes(), 1, "the refresh token was sent once");
    assert_eq!(emulator.refresh_reuses(), 0);

    // The stored pair is intact: a new process takes it and the node accepts the token ...
    let client = AuthClient::new(next).unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
    // ... and its refresh token is the one the failed refresh carried, never spent by the
    // service: refreshing with it works, and is no reuse.
    let stored = client.cache().get().await.unwrap();
    assert!(stored.extra(REFRESH_TOKEN_EXTRA).is_some());
    client.cache().invalidate(stored.generation());
    let refreshed = client.cache().get().await.unwrap();
    assert!(!refreshed.same_token(&stored));
    assert_eq!(emulator.refreshes(), 2);
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_faults_through_the_client_are_typed_and_keep_the_credential() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(password_at(&emulator.base_url()));
    let client =
        AuthClient::with_http_client(cache, short_timeout().build_client("waves").unwrap());
    let first = client.cache().get().await.unwrap();
    for status in [500, 503] {
        emulator.inject(Endpoint::Node, Failure::Status(status));
        assert_eq!(
            client.get(emulator.node_url()).await.unwrap().status(),
            status
        );
    }
    emulator.inject(Endpoint::Node, Failure::Slow(Duration::from_secs(5)));
    let error = client.get(emulator.node_url()).await.unwrap_err();
    assert!(matches!(error, AuthError::Transport { .. }), "{error:?}");
    check(&error, true, "node timeout");
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        // The hostile server stands in for the node: an allowed origin.
        let node = client
            .clone()
            .allow_origin(&url::Url::parse(&server.url()).unwrap());
        let error = match node.get(format!("{}/node/status", server.url())).await {
            Err(error) => error,
            Ok(response) => auth_core::provider::read_body_limited("waves", response, 1024)
                .await
                .unwrap_err(),
        };
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
    }
    assert_eq!(
        client.cache().fresh().unwrap().generation(),
        first.generation()
    );
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_api_key_never_follow_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let sources = [
        (password_at(&emulator.base_url()), "authorization"),
        (
            WavesSource::new(
                WavesConfig::builder()
                    .api_key(SecretString::from(DEMO_API_KEY))
                    .build()
                    .unwrap(),
            ),
            "x-api-key",
        ),
    ];
    for (source, header) in sources {
        let client = source.into_client().unwrap();
        assert_client_keeps_credentials_home(&client, header).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoints_follow_no_redirect() {
    assert_token_endpoints_follow_no_redirect(grant_errors, SECRETS).await;
}
