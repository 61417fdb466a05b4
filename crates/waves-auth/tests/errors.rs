//! What goes wrong, and how it is reported: refusals, a missing role, tokens without `exp`,
//! broken or slow servers. No error message carries a secret.

use std::time::Duration;

use auth_core::HttpSettings;
use auth_core::testkit::emulator::Failure;
use auth_core::{AuthError, CredentialSource, SecretString};
use waves_auth::testkit::{DEMO_LOGIN, DEMO_PASSWORD, Emulator, Endpoint};
use waves_auth::{DEFAULT_TOKEN_LIFETIME, NodeErrorCode, WavesConfig, WavesSource};

fn assert_no_secret(error: &AuthError) {
    let text = format!("{error} {error:?}");
    for secret in [DEMO_PASSWORD, "wrong-password-123", "demo-service-token"] {
        assert!(!text.contains(secret), "secret in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_rejection_without_the_password() {
    let emulator = Emulator::start().await;
    let config = emulator
        .config_builder()
        .password(SecretString::from("wrong-password-123"))
        .build()
        .unwrap();
    let error = WavesSource::new(config).acquire(None).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert!(!error.is_transient());
    assert!(error.to_string().contains("HTTP 401"), "{error}");
    assert!(error.to_string().contains("login and password"), "{error}");
    assert_no_secret(&error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_service_token_is_a_rejection() {
    let emulator = Emulator::start().await;
    let config = WavesConfig::builder()
        .auth_url(emulator.base_url())
        .service_token(SecretString::from("not-the-service-token"))
        .build()
        .unwrap();
    let error = WavesSource::new(config).acquire(None).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert!(!error.to_string().contains("not-the-service-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_role_goes_back_to_the_caller_as_is() {
    let emulator = Emulator::start().await;
    emulator.require_role(Some("admin"));
    let client = WavesSource::new(emulator.config()).into_client().unwrap();
    let response = client.get(emulator.node_url()).await.unwrap();
    assert_eq!(response.status(), 403);
    let body = response.bytes().await.unwrap();
    assert_eq!(
        NodeErrorCode::from_body(&body),
        Some(NodeErrorCode::MissingRole)
    );
    assert_eq!(emulator.node_requests(), 1, "not retried");
    assert_eq!(
        emulator.logins(),
        1,
        "no new login for a permission problem"
    );

    emulator.set_roles(&["user", "admin"]);
    let response = WavesSource::new(emulator.config())
        .into_client()
        .unwrap()
        .get(emulator.node_url())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_after_reauthenticating_is_final() {
    let emulator = Emulator::start().await;
    emulator.set_access_lifetime(-60); // the node refuses every token
    let client = WavesSource::new(emulator.config()).into_client().unwrap();
    let error = client.get(emulator.node_url()).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert_eq!(emulator.node_requests(), 2);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 1));
    assert_eq!(emulator.refresh_reuses(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_exp_is_assumed_to_live_five_minutes() {
    let emulator = Emulator::builder().include_exp(false).start().await;
    let credential = WavesSource::new(emulator.config())
        .acquire(None)
        .await
        .unwrap();
    let remaining = credential.remaining();
    assert_eq!(DEFAULT_TOKEN_LIFETIME, Duration::from_secs(300));
    assert!(
        remaining > Duration::from_secs(290) && remaining <= DEFAULT_TOKEN_LIFETIME,
        "{remaining:?}"
    );
    let config = emulator
        .config_builder()
        .default_token_lifetime(Duration::from_secs(60))
        .build()
        .unwrap();
    let credential = WavesSource::new(config).acquire(None).await.unwrap();
    assert!(credential.remaining() <= Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_are_reported_clearly() {
    let emulator = Emulator::start().await;
    let source = WavesSource::new(emulator.config());
    let cases = [
        (Failure::Garbage, "not JSON"),
        (Failure::Html, "HTTP 502"),
        (Failure::Status(503), "HTTP 503"),
        (Failure::Huge, "limit"),
        (
            Failure::RedirectTo("http://elsewhere.invalid/".into()),
            "redirect",
        ),
    ];
    for (failure, expected) in cases {
        emulator.inject(Endpoint::Login, failure.clone());
        let error = source.acquire(None).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{failure:?}: {error}");
        assert_no_secret(&error);
    }
    // And then it works.
    source.acquire(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_service_times_out_as_a_transient_error() {
    let emulator = Emulator::start().await;
    let mut http = HttpSettings::default();
    http.timeout = Duration::from_millis(200);
    let config = emulator
        .config_builder()
        .http_settings(http)
        .build()
        .unwrap();
    emulator.inject(Endpoint::Login, Failure::Slow(Duration::from_secs(5)));
    let error = WavesSource::new(config).acquire(None).await.unwrap_err();
    assert!(matches!(error, AuthError::Transport { .. }), "{error}");
    assert!(error.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_is_a_transport_error() {
    let emulator = Emulator::start().await;
    let url = emulator.base_url();
    drop(emulator);
    let config = WavesConfig::builder()
        .auth_url(url)
        .login(DEMO_LOGIN)
        .password(SecretString::from(DEMO_PASSWORD))
        .build()
        .unwrap();
    let error = WavesSource::new(config).acquire(None).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_no_secret(&error);
}
