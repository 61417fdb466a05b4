//! Hardening (issue 8) for RuStore, over real HTTP on loopback: hostile answers from
//! `/public/auth/` and the API are typed errors classified transient or permanent; oversized
//! answers are refused without being read whole; JSON of the wrong shape never puts the token it
//! carries into an error; a failed refresh never replaces the stored credential; `Public-Token`
//! never reaches another origin; the token endpoint follows no redirect. (503, garbage, a slow
//! answer, a refused connection and non-OK codes are in `token_endpoint.rs`.)

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{CredentialStore, FileStore};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{
    AuthClient, AuthError, CredentialCache, CredentialSource, ExposeSecret, RefreshPolicy,
    SecretString,
};
use rustore_auth::testkit::{Emulator, Failure, TEST_KEY_ID, TEST_PRIVATE_KEY};
use rustore_auth::{RustoreConfig, RustoreSource};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every header any provider authenticates with; none may reach another origin.
const CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "public-token",
    "x-api-key",
    "x-authorization",
    "x-refresh_token",
    "x-device_id",
    "cookie",
];

/// A token a hostile answer carries; it must never show up in an error.
const SERVER_TOKEN: &str = "SERVER-TOKEN-7f3a";

fn config_at(base_url: &str) -> RustoreConfig {
    RustoreConfig::builder()
        .base_url(base_url)
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap()
}

fn impatient() -> RefreshPolicy {
    RefreshPolicy {
        min_retry_interval: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..RefreshPolicy::default()
    }
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_eq!(error.is_transient(), transient, "{case}: {error:?}");
    let shown = format!("{error} {error:?}");
    let key_piece = &TEST_PRIVATE_KEY.trim()[100..140];
    for secret in [SERVER_TOKEN, key_piece] {
        assert!(!shown.contains(secret), "{case}: secret in {shown}");
    }
}

fn transport_faults() -> Vec<(&'static str, Misbehaviour)> {
    vec![
        ("connection reset", Misbehaviour::Reset),
        (
            "slow body",
            Misbehaviour::SlowBody {
                length: 64,
                every: Duration::from_millis(150),
            },
        ),
        (
            "truncated body",
            Misbehaviour::Truncated {
                length: 100,
                sent: 10,
            },
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_at_the_token_endpoint_are_transient_transport_errors() {
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let error = RustoreSource::new(config_at(&server.url()))
            .request_token()
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
        assert_eq!(server.connections(), 1, "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_statuses_and_bodies_at_the_token_endpoint_are_classified() {
    let emulator = Emulator::start().await;
    let source = RustoreSource::new(config_at(&emulator.base_url()));
    emulator.fail_next_auth(Failure::Status(500));
    let error = source.request_token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 500, .. }),
        "{error:?}"
    );
    check(&error, true, "500");

    let cases = [
        (
            Misbehaviour::answer(502, "text/html", "<html><h1>502 Bad Gateway</h1></html>"),
            true,
        ),
        (
            Misbehaviour::answer(200, "text/html", "<html><body>Maintenance</body></html>"),
            false,
        ),
        (Misbehaviour::answer(429, "text/plain", "slow down"), true),
        (Misbehaviour::json(200, ""), false),
        (
            Misbehaviour::answer(200, "application/json", vec![0xff, 0xfe]),
            false,
        ),
    ];
    for (misbehaviour, transient) in cases {
        let case = format!("{misbehaviour:?}");
        let server = HostileServer::start(misbehaviour);
        let error = RustoreSource::new(config_at(&server.url()))
            .request_token()
            .await
            .unwrap_err();
        check(&error, transient, &case);
    }
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
    for declare_length in [true, false] {
        let server = HostileServer::start(Misbehaviour::Endless {
            limit: 64 * 1024 * 1024,
            declare_length,
        });
        let error = RustoreSource::new(config_at(&server.url()))
            .request_token()
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
        assert!(error.to_string().contains("limit"), "{error}");
        check(&error, false, "oversized");
        assert!(server.wait_until_quiet(Duration::from_secs(10)));
        assert!(
            server.bytes_sent() < 16 * 1024 * 1024,
            "declared length {declare_length}: {} bytes went out before the client hung up",
            server.bytes_sent()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(folder.path()));
    let source = Arc::new(RustoreSource::new(config_at(&emulator.base_url())));
    let identity = source.identity().clone();
    let cache = CredentialCache::builder(source)
        .policy(impatient())
        .store(store.clone())
        .build();
    let first = cache.get().await.unwrap();
    let stored_token = || async {
        store
            .load(&identity)
            .await
            .unwrap()
            .expect("the stored credential is still there")
            .token()
            .expose_secret()
            .to_owned()
    };

    emulator.fail_next_auth(Failure::Status(503));
    cache.mark_stale();
    assert!(cache.get().await.unwrap().same_token(&first));
    cache.settle().await;
    assert_eq!(emulator.auth_requests(), 2);
    assert_eq!(stored_token().await, first.token().expose_secret());

    for (failure, transient) in [
        (Failure::Status(500), true),
        (Failure::Status(503), true),
        (Failure::Slow(Duration::from_secs(5)), true),
        (Failure::Garbage, false),
        (
            Failure::Refuse {
                code: "ERROR".into(),
                message: "Key not found".into(),
            },
            false,
        ),
    ] {
        emulator.fail_next_auth(failure.clone());
        cache.invalidate(first.generation());
        let error = cache.get().await.unwrap_err();
        check(&error, transient, &format!("{failure:?}"));
        assert_eq!(
            stored_token().await,
            first.token().expose_secret(),
            "{failure:?} replaced the stored credential"
        );
    }

    let next = CredentialCache::builder(Arc::new(RustoreSource::new(config_at(
        &emulator.base_url(),
    ))))
    .store(store.clone())
    .build();
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
    let client = RustoreSource::new(config_at(&emulator.base_url()))
        .into_client()
        .unwrap();
    let first = client.cache().get().await.unwrap();
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let error = match client
            .get(format!("{}/public/v1/application", server.url()))
            .await
        {
            Err(error) => error,
            Ok(response) => auth_core::http::read_body_limited("rustore", response, 1024)
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
    let response = client.get(server.url()).await.unwrap();
    let error = auth_core::http::read_body_limited("rustore", response, auth_core::http::MAX_BODY)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
    assert_eq!(
        client.cache().fresh().unwrap().generation(),
        first.generation()
    );
    assert_eq!(emulator.auth_requests(), 1);
}

async fn assert_no_credential_arrived(other: &MockServer, expected: usize) {
    let received = other.received_requests().await.unwrap();
    assert_eq!(received.len(), expected, "the redirect was followed");
    for request in &received {
        for name in CREDENTIAL_HEADERS {
            assert!(
                request.headers.get(name).is_none(),
                "`{name}` reached the other origin"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_token_never_follows_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let other = MockServer::start().await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&other)
        .await;
    let client = RustoreSource::new(config_at(&emulator.base_url()))
        .into_client()
        .unwrap();
    let statuses = [301, 302, 303, 307, 308];
    for status in statuses {
        let home = MockServer::start().await;
        Mock::given(path("/go"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/landing", other.uri())),
            )
            .mount(&home)
            .await;
        let request = client
            .request(http::Method::POST, format!("{}/go", home.uri()))
            .body("payload")
            .build()
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.text().await.unwrap(), "landed", "HTTP {status}");
        let at_home = home.received_requests().await.unwrap();
        assert!(
            at_home[0].headers.get("public-token").is_some(),
            "the first origin got the token, so a leak would be seen"
        );
    }
    assert_no_credential_arrived(&other, statuses.len()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_follows_no_redirect() {
    let other = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"code":"OK","body":{{"jwe":"{SERVER_TOKEN}","ttl":900}}}}"#
        )))
        .mount(&other)
        .await;
    for status in [301, 302, 303, 307, 308] {
        let home = MockServer::start().await;
        Mock::given(path("/public/auth/"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/public/auth/", other.uri())),
            )
            .mount(&home)
            .await;
        let error = RustoreSource::new(config_at(&home.uri()))
            .request_token()
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
        assert!(error.to_string().contains("redirect"), "{error}");
        check(&error, false, &format!("redirect {status}"));
        assert_eq!(home.received_requests().await.unwrap().len(), 1);
    }
    let received = other.received_requests().await.unwrap();
    assert!(received.is_empty(), "the redirect target was contacted");
}
