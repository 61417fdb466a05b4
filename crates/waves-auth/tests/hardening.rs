//! Hardening (issue 8) for Waves Enterprise, over real HTTP on loopback: hostile answers from
//! `/v1/auth/login`, `/v1/auth/token`, `/v1/auth/refresh` and the node are typed errors
//! classified transient or permanent; oversized answers are refused without being read whole;
//! token pairs with missing or wrong-typed fields are refused without quoting them; a failed
//! refresh never replaces the stored credential (nor its refresh token); `Authorization` and
//! `X-API-Key` never reach another origin; the token endpoints follow no redirect. (Garbage,
//! HTML, 503, 2 MiB, a redirect and a slow answer at login are in `errors.rs`.)

use std::sync::Arc;
use std::time::Duration;

use auth_core::http::HttpSettings;
use auth_core::store::{CredentialStore, FileStore};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{
    AuthClient, AuthError, CredentialCache, CredentialSource, ExposeSecret, RefreshPolicy,
    SecretString,
};
use waves_auth::testkit::{
    DEMO_API_KEY, DEMO_LOGIN, DEMO_PASSWORD, DEMO_SERVICE_TOKEN, Endpoint, Failure, WavesEmulator,
};
use waves_auth::{REFRESH_TOKEN_EXTRA, WavesConfig, WavesSource, refresh_policy};
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

fn short_timeout() -> HttpSettings {
    let mut http = HttpSettings::default();
    http.timeout = Duration::from_millis(400);
    http
}

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

fn impatient() -> RefreshPolicy {
    RefreshPolicy {
        min_retry_interval: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..refresh_policy()
    }
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_eq!(error.is_transient(), transient, "{case}: {error:?}");
    let shown = format!("{error} {error:?}");
    for secret in [
        SERVER_TOKEN,
        DEMO_PASSWORD,
        DEMO_SERVICE_TOKEN,
        DEMO_API_KEY,
    ] {
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
async fn broken_connections_at_every_token_endpoint_are_transient_transport_errors() {
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        for (endpoint, error) in all_grants(&server.url()).await {
            assert!(
                matches!(error, AuthError::Transport { .. }),
                "{case} at {endpoint}: {error:?}"
            );
            check(&error, true, &format!("{case} at {endpoint}"));
        }
        assert_eq!(server.connections(), 3, "{case}");
    }

    // The emulator's slow answers, against 400 ms.
    let emulator = WavesEmulator::start().await;
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
    let emulator = WavesEmulator::start().await;
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
        (
            Misbehaviour::answer(404, "text/plain", "no such path"),
            false,
        ),
        (Misbehaviour::json(200, ""), false),
        (
            Misbehaviour::answer(200, "application/json", vec![0xff, 0xfe]),
            false,
        ),
    ];
    for (misbehaviour, transient) in cases {
        let case = format!("{misbehaviour:?}");
        let server = HostileServer::start(misbehaviour);
        for (endpoint, error) in all_grants(&server.url()).await {
            check(&error, transient, &format!("{case} at {endpoint}"));
        }
    }
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
    for declare_length in [true, false] {
        let server = HostileServer::start(Misbehaviour::Endless {
            limit: 64 * 1024 * 1024,
            declare_length,
        });
        for (endpoint, error) in all_grants(&server.url()).await {
            assert!(
                matches!(error, AuthError::Protocol { .. }),
                "{endpoint}: {error:?}"
            );
            assert!(error.to_string().contains("limit"), "{error}");
            check(&error, false, endpoint);
        }
        assert!(server.wait_until_quiet(Duration::from_secs(10)));
        assert!(
            server.bytes_sent() < 3 * 16 * 1024 * 1024,
            "declared length {declare_length}: {} bytes went out before the clients hung up",
            server.bytes_sent()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential_or_its_refresh_token() {
    let emulator = WavesEmulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(folder.path()));
    let source = Arc::new(password_at(&emulator.base_url()));
    let identity = source.identity().clone();
    let cache = CredentialCache::builder(source)
        .policy(impatient())
        .store(store.clone())
        .build();
    let first = cache.get().await.unwrap();
    let refresh_token = first
        .extra(REFRESH_TOKEN_EXTRA)
        .unwrap()
        .expose_secret()
        .to_owned();
    let stored = || async {
        let stored = store
            .load(&identity)
            .await
            .unwrap()
            .expect("the stored credential is still there");
        (
            stored.token().expose_secret().to_owned(),
            stored
                .extra(REFRESH_TOKEN_EXTRA)
                .map(|r| r.expose_secret().to_owned()),
        )
    };
    let unchanged = (
        first.token().expose_secret().to_owned(),
        Some(refresh_token),
    );

    // The refresh fails with a server error: the old pair stays stored, and in service.
    emulator.inject(Endpoint::Refresh, Failure::Status(503));
    cache.mark_stale();
    assert!(cache.get().await.unwrap().same_token(&first));
    cache.settle().await;
    assert_eq!(emulator.refreshes(), 1);
    assert_eq!(stored().await, unchanged);

    // That refresh token counts as spent: every later try is a login; each one fails.
    for (failure, transient) in [
        (Failure::Status(500), true),
        (Failure::Html, true),
        (Failure::Slow(Duration::from_secs(5)), true),
        (Failure::Garbage, false),
        (Failure::Huge, false),
        (Failure::Status(401), false),
    ] {
        emulator.inject(Endpoint::Login, failure.clone());
        cache.invalidate(first.generation());
        let error = cache.get().await.unwrap_err();
        check(&error, transient, &format!("{failure:?}"));
        assert_eq!(
            stored().await,
            unchanged,
            "{failure:?} replaced the stored pair"
        );
    }
    assert_eq!(emulator.refreshes(), 1, "the refresh token was sent once");
    assert_eq!(emulator.refresh_reuses(), 0);

    // The stored pair is intact: a new process takes it and the node accepts the token.
    let next = CredentialCache::builder(Arc::new(password_at(&emulator.base_url())))
        .policy(refresh_policy())
        .store(store.clone())
        .build();
    let client = AuthClient::new(next).unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_faults_through_the_client_are_typed_and_keep_the_credential() {
    let emulator = WavesEmulator::start().await;
    let cache = CredentialCache::builder(Arc::new(password_at(&emulator.base_url())))
        .policy(refresh_policy())
        .build();
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
        let error = match client.get(format!("{}/node/status", server.url())).await {
            Err(error) => error,
            Ok(response) => auth_core::http::read_body_limited("waves", response, 1024)
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
    let emulator = WavesEmulator::start().await;
    let other = MockServer::start().await;
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&other)
        .await;
    let statuses = [301, 302, 303, 307, 308];
    let mut sent = 0;
    for status in statuses {
        let home = MockServer::start().await;
        Mock::given(path("/go"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/landing", other.uri())),
            )
            .mount(&home)
            .await;
        let sources = [
            (password_at(&emulator.base_url()), "authorization"),
            (
                WavesSource::new(WavesConfig::api_key(SecretString::from(DEMO_API_KEY)).unwrap()),
                "x-api-key",
            ),
        ];
        for (source, header) in sources {
            let client = AuthClient::new(source.into_cache()).unwrap();
            let request = client
                .request(http::Method::POST, format!("{}/go", home.uri()))
                .body("payload")
                .build()
                .unwrap();
            let response = client.send(request).await.unwrap();
            assert_eq!(response.text().await.unwrap(), "landed", "HTTP {status}");
            sent += 1;
            let at_home = home.received_requests().await.unwrap();
            assert!(
                at_home.last().unwrap().headers.get(header).is_some(),
                "the first origin got `{header}`, so a leak would be seen"
            );
        }
    }
    let received = other.received_requests().await.unwrap();
    assert_eq!(received.len(), sent);
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
async fn the_token_endpoints_follow_no_redirect() {
    let other = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"access_token":"{SERVER_TOKEN}","refresh_token":"{SERVER_TOKEN}"}}"#
        )))
        .mount(&other)
        .await;
    for status in [301, 302, 303, 307, 308] {
        let home = MockServer::start().await;
        for endpoint in ["/v1/auth/login", "/v1/auth/token", "/v1/auth/refresh"] {
            Mock::given(path(endpoint))
                .respond_with(
                    ResponseTemplate::new(status)
                        .insert_header("location", format!("{}{endpoint}", other.uri())),
                )
                .mount(&home)
                .await;
        }
        for (endpoint, error) in all_grants(&home.uri()).await {
            assert!(
                error.to_string().contains("redirect"),
                "HTTP {status} at {endpoint}: {error}"
            );
            check(&error, false, &format!("redirect {status} at {endpoint}"));
        }
        assert_eq!(home.received_requests().await.unwrap().len(), 3);
    }
    let received = other.received_requests().await.unwrap();
    assert!(received.is_empty(), "the redirect target was contacted");
}
