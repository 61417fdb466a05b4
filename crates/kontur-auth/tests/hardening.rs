//! Hardening (issue 8) for Kontur, over real HTTP on loopback: hostile answers from
//! `/V1/Authenticate`, `/connect/token` and the API are typed errors classified transient or
//! permanent; oversized answers are refused without being read whole; a failed refresh never
//! replaces the stored credential; credentials never reach another origin; token endpoints
//! follow no redirect. (The emulator's 503/HTML/garbage/2 MiB/400/redirect answers at
//! Authenticate are in `emulator.rs`.)

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::FileStore;
use auth_core::testkit::emulator::Failure;
use auth_core::testkit::faults::{
    assert_classified, assert_client_keeps_credentials_home, assert_failed_refresh_keeps_stored,
    assert_oversized_refused, assert_token_endpoints_follow_no_redirect,
    assert_transport_faults_are_transient, short_timeout, transport_faults,
};
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, CredentialCache, CredentialSource, SecretString};
use kontur_auth::testkit::{
    DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_OIDC_CLIENT, DEMO_OIDC_SECRET, DEMO_PASSWORD, Emulator,
    Endpoint,
};
use kontur_auth::{KonturConfig, KonturOidcConfig, KonturOidcSource, KonturSource};

fn config_at(base_url: &str) -> KonturConfig {
    KonturConfig::builder()
        .base_url(base_url)
        .api_client_id(DEMO_CLIENT_ID)
        .login(DEMO_LOGIN)
        .password(SecretString::from(DEMO_PASSWORD))
        .http_settings(short_timeout())
        .build()
        .unwrap()
}

fn oidc_at(identity_url: &str) -> KonturOidcSource {
    KonturOidcSource::new(
        KonturOidcConfig::builder()
            .identity_url(identity_url)
            .client_id(DEMO_OIDC_CLIENT)
            .client_secret(SecretString::from(DEMO_OIDC_SECRET))
            .scope("edi-public-api-staging")
            .http_settings(short_timeout())
            .build()
            .unwrap(),
    )
}

/// The error is of the expected transience and shows no secret.
fn check(error: &AuthError, transient: bool, case: &str) {
    assert_classified(error, transient, case, &[DEMO_PASSWORD, DEMO_OIDC_SECRET]);
}

/// Both token requests (Authenticate, OpenID Connect) to a server at `url`, which must fail.
async fn token_errors(url: String) -> Vec<AuthError> {
    let url = format!("{url}/");
    vec![
        KonturSource::new(config_at(&url))
            .authenticate()
            .await
            .unwrap_err(),
        oidc_at(&url).acquire(None).await.unwrap_err(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_at_the_token_endpoints_are_transient_transport_errors() {
    assert_transport_faults_are_transient(token_errors, &[DEMO_PASSWORD, DEMO_OIDC_SECRET]).await;

    // The emulator's slow answer against the short limit.
    let emulator = Emulator::start().await;
    emulator.inject(
        Endpoint::Authenticate,
        Failure::Slow(Duration::from_secs(5)),
    );
    let error = KonturSource::new(config_at(&emulator.base_url()))
        .authenticate()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    check(&error, true, "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_statuses_and_bodies_at_authenticate_are_classified() {
    let emulator = Emulator::start().await;
    let source = KonturSource::new(config_at(&emulator.base_url()));
    emulator.inject(Endpoint::Authenticate, Failure::Status(500));
    let error = source.authenticate().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 500, .. }),
        "{error:?}"
    );
    check(&error, true, "500");

    let cases = [
        // An error page or JSON under 200 is not a token, even without a space in it.
        (
            Misbehaviour::answer(200, "text/html", "<html><body>Maintenance</body></html>"),
            false,
        ),
        (
            Misbehaviour::answer(200, "text/html", "<html>Maintenance</html>"),
            false,
        ),
        (
            Misbehaviour::json(200, r#"{"token":"SERVER-TOKEN-7f3a"}"#),
            false,
        ),
        (Misbehaviour::json(200, ""), false),
        (
            Misbehaviour::answer(200, "text/plain", vec![0xff, 0xfe, 0x41]),
            false,
        ),
        (
            Misbehaviour::answer(503, "text/html", "<html><h1>503</h1></html>"),
            true,
        ),
        (Misbehaviour::answer(429, "text/plain", "slow down"), true),
        (
            Misbehaviour::answer(404, "text/html", "<html>not found</html>"),
            false,
        ),
    ];
    for (misbehaviour, transient) in cases {
        let case = format!("{misbehaviour:?}");
        let server = HostileServer::start(misbehaviour);
        let error = KonturSource::new(config_at(&format!("{}/", server.url())))
            .authenticate()
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::Protocol { .. } | AuthError::Server { .. }),
            "{case}: {error:?}"
        );
        check(&error, transient, &case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_are_refused_without_being_read_whole() {
    assert_oversized_refused(token_errors, &[DEMO_PASSWORD, DEMO_OIDC_SECRET]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_answers_with_missing_or_wrong_typed_fields_are_protocol_errors() {
    let answers = [
        "{}",
        "[]",
        "null",
        r#"{"access_token":5}"#,
        r#"{"access_token":["SERVER-TOKEN-7f3a"]}"#,
        r#"{"access_token":"SERVER-TOKEN-7f3a","expires_in":"soon"}"#,
        r#"{"access_token":"SERVER-TOKEN-7f3a","expires_in":-5}"#,
        r#"{"access_token":"SERVER-TOKEN-7f3a","token_type":"mac"}"#,
        r#"{"access_token":"SERVER-TOKEN-7f3a","token_type":7}"#,
        r#"{"access_token":""}"#,
        r#"{"access_token":"SERVER-TOKEN-7f3a""#,
    ];
    for answer in answers {
        let server = HostileServer::start(Misbehaviour::json(200, answer));
        let error = oidc_at(&server.url()).acquire(None).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Protocol { .. }),
            "{answer}: {error:?}"
        );
        check(&error, false, answer);
    }
    for (status, transient) in [(500, true), (503, true), (502, true), (400, false)] {
        let server = HostileServer::start(Misbehaviour::answer(
            status,
            "text/html",
            "<html>proxy error</html>",
        ));
        let error = oidc_at(&server.url()).acquire(None).await.unwrap_err();
        check(&error, transient, &format!("HTTP {status}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_never_replaces_the_stored_credential() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let next = assert_failed_refresh_keeps_stored(
        || KonturSource::new(config_at(&emulator.base_url())),
        Arc::new(FileStore::new(folder.path())),
        |failure| emulator.inject(Endpoint::Authenticate, failure),
        &[
            (Failure::Status(503), true),
            (Failure::Status(500), true),
            (Failure::Html, true),
            (Failure::Slow(Duration::from_secs(5)), true),
            (Failure::Garbage, false),
            (Failure::Huge, false),
            (Failure::Status(401), false),
        ],
        &[DEMO_PASSWORD, DEMO_OIDC_SECRET],
    )
    .await;
    // The first authentication, the failed background refresh, and the seven failures.
    assert_eq!(emulator.authentications(), 9);

    // The stored credential is intact: a new process takes it and the API accepts it.
    let client = AuthClient::new(next).unwrap();
    let response = client
        .get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_through_the_client_are_typed_and_keep_the_credential() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(KonturSource::new(config_at(&emulator.base_url())));
    let client =
        AuthClient::with_http_client(cache, short_timeout().build_client("kontur").unwrap());
    let boxes = format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url());
    let first = client.cache().get().await.unwrap();

    // Error statuses that are not rejections come back as answers; the credential stays.
    for status in [500, 503, 502] {
        emulator.inject(Endpoint::Api, Failure::Status(status));
        assert_eq!(client.get(&boxes).await.unwrap().status(), status);
    }
    emulator.inject(Endpoint::Api, Failure::Slow(Duration::from_secs(5)));
    let error = client.get(&boxes).await.unwrap_err();
    assert!(matches!(error, AuthError::Transport { .. }), "{error:?}");
    check(&error, true, "API timeout");

    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let outcome = client
            .clone()
            // The hostile server stands in for the API: an allowed origin.
            .allow_origin(&url::Url::parse(&server.url()).unwrap())
            .get(format!("{}/V1/Boxes/GetBoxesInfo", server.url()))
            .await;
        let error = match outcome {
            Err(error) => error,
            // Slow and truncated bodies break while the caller reads the body.
            Ok(response) => {
                let error = auth_core::provider::read_body_limited("kontur", response, 1024)
                    .await
                    .unwrap_err();
                assert!(case != "connection reset", "{case}");
                error
            }
        };
        assert!(
            matches!(error, AuthError::Transport { .. }),
            "{case}: {error:?}"
        );
        check(&error, true, case);
    }
    let now = client.cache().fresh().expect("still fresh");
    assert_eq!(now.generation(), first.generation());
    assert_eq!(
        emulator.authentications(),
        1,
        "no re-authentication for any of it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_header_follows_a_redirect_to_another_origin() {
    let emulator = Emulator::start().await;
    let sources: [Arc<dyn CredentialSource>; 2] = [
        Arc::new(KonturSource::new(config_at(&emulator.base_url()))),
        Arc::new(oidc_at(&emulator.base_url())),
    ];
    for source in sources {
        let client = AuthClient::new(CredentialCache::new(source)).unwrap();
        assert_client_keeps_credentials_home(&client, "authorization").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoints_follow_no_redirect() {
    assert_token_endpoints_follow_no_redirect(token_errors, &[DEMO_PASSWORD, DEMO_OIDC_SECRET])
        .await;
}
