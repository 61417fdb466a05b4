//! End to end against the emulator, over real HTTP on loopback: the signed token exchange and
//! how RuStore's answers become errors, then single flight and retry-once through `auth-core`'s
//! cache and client.

use std::time::{Duration, SystemTime};

use auth_core::testkit::emulator::Failure;
use auth_core::testkit::{HostileServer, Misbehaviour};
use auth_core::{AuthClient, AuthError, ExposeSecret as _, SecretString};
use futures_util::future::join_all;
use rustore_auth::testkit::{
    Emulator, Endpoint, ProviderFailure, RESOURCE_PATH, TEST_KEY_ID, TEST_PRIVATE_KEY,
};
use rustore_auth::{RustoreConfig, RustoreSource};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn source(emulator: &Emulator) -> RustoreSource {
    source_with(emulator, |builder| builder)
}

fn source_with(
    emulator: &Emulator,
    adjust: impl FnOnce(rustore_auth::RustoreConfigBuilder) -> rustore_auth::RustoreConfigBuilder,
) -> RustoreSource {
    RustoreSource::new(adjust(emulator.config_builder()).build().unwrap())
}

fn client(emulator: &Emulator) -> AuthClient {
    RustoreSource::new(emulator.config()).into_client().unwrap()
}

/// `credential`, asked for at `before`, lives `seconds` (give or take one).
fn assert_lives(credential: &auth_core::Credential, before: SystemTime, seconds: u64) {
    let lifetime = credential.expires_at().duration_since(before).unwrap();
    assert!(
        lifetime >= Duration::from_secs(seconds - 1)
            && lifetime <= Duration::from_secs(seconds + 1),
        "{lifetime:?}"
    );
}

/// The status of a GET of the emulator's resource through `client`.
async fn get_status(client: &AuthClient, emulator: &Emulator) -> u16 {
    client
        .get(emulator.resource_url())
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A thousand concurrent GETs of the emulator's resource through `client` all answer 200.
async fn assert_thousand_gets_succeed(client: &AuthClient, emulator: &Emulator) {
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
}

fn refuse(code: &str, message: &str) -> Failure<ProviderFailure> {
    Failure::Provider(ProviderFailure::Refuse {
        code: code.into(),
        message: message.into(),
    })
}

#[tokio::test]
async fn token_request_is_signed_and_gives_a_public_token_credential() {
    let emulator = Emulator::start().await;
    let before = SystemTime::now();
    let credential = source(&emulator).request_token().await.unwrap();

    assert_eq!(emulator.auth_requests(), 1);
    assert_eq!(emulator.tokens_issued(), 1);
    let jwe = credential.token().expose_secret();
    assert!(jwe.starts_with("eyJ"), "opaque JWE expected");
    let header = credential.headers().get("Public-Token").unwrap();
    assert_eq!(header.to_str().unwrap(), jwe);
    assert!(header.is_sensitive());
    assert_eq!(credential.headers().len(), 1);
    assert_lives(&credential, before, 900);

    let log = emulator.auth_request_log();
    let request = &log[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/public/auth/");
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let body = request.json().unwrap();
    let mut fields: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    // Sorted: serde_json keeps insertion order when another crate in the build turns on its
    // `preserve_order` feature, and the set of fields is what matters here.
    fields.sort();
    assert_eq!(fields, ["keyId", "signature", "timestamp"]);
    assert!(body["keyId"].is_string(), "keyId goes as a JSON string");
    assert_eq!(body["keyId"], TEST_KEY_ID);
}

#[tokio::test]
async fn timestamp_is_rfc3339_with_milliseconds_an_offset_and_now() {
    let emulator = Emulator::start().await;
    source(&emulator).request_token().await.unwrap();
    let body = emulator.auth_request_log()[0].json().unwrap();
    let timestamp = body["timestamp"].as_str().unwrap().to_owned();
    // e.g. 2025-01-01T12:00:00.123+00:00
    assert_eq!(timestamp.len(), 29, "{timestamp}");
    assert_eq!(&timestamp[19..20], ".", "{timestamp}");
    assert!(
        timestamp[20..23].chars().all(|c| c.is_ascii_digit()),
        "{timestamp}"
    );
    assert!(matches!(&timestamp[23..24], "+" | "-"), "{timestamp}");
    assert_eq!(&timestamp[26..27], ":", "{timestamp}");
    let sent = OffsetDateTime::parse(&timestamp, &Rfc3339).unwrap();
    assert!((OffsetDateTime::now_utc() - sent).unsigned_abs() < Duration::from_secs(5));
}

#[tokio::test]
async fn ttl_comes_from_the_answer() {
    let emulator = Emulator::start().await;
    emulator.set_ttl(Some(120));
    let before = SystemTime::now();
    let credential = source(&emulator).request_token().await.unwrap();
    assert_lives(&credential, before, 120);
}

#[tokio::test]
async fn missing_ttl_falls_back_to_900_seconds() {
    let emulator = Emulator::start().await;
    emulator.set_ttl(None);
    let before = SystemTime::now();
    let credential = source(&emulator).request_token().await.unwrap();
    assert_lives(&credential, before, 900);
}

#[tokio::test]
async fn clock_skew_is_explained_with_the_timestamp_sent() {
    let emulator = Emulator::start().await;
    emulator.set_clock_skew(120);
    let error = source(&emulator).request_token().await.unwrap_err();
    let sent = emulator.auth_request_log()[0].json().unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            AuthError::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message.contains(&sent), "{message}");
    assert!(
        message.contains("clock") && message.contains("Range timestamp not valid"),
        "{message}"
    );
    assert!(!error.is_transient());

    // 50 s of skew is inside the 60 s window.
    emulator.set_clock_skew(-50);
    source(&emulator).request_token().await.unwrap();
}

#[tokio::test]
async fn wrong_key_is_a_rejection_with_the_server_message() {
    let emulator = Emulator::builder().without_test_key().start().await;
    // Register the test key ID with a different public key: the signature cannot verify.
    emulator.add_key_pem(TEST_KEY_ID, include_str!("fixtures/other-key.public.pem"));
    let error = source(&emulator).request_token().await.unwrap_err();
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
    assert!(
        error.to_string().contains("Signature is not valid"),
        "{error}"
    );
}

#[tokio::test]
async fn unknown_and_deleted_keys_are_rejections() {
    let emulator = Emulator::start().await;
    let error = source_with(&emulator, |b| b.key_id("999"))
        .request_token()
        .await
        .unwrap_err();
    assert!(error.is_rejection(), "{error:?}");
    assert!(error.to_string().contains("Unknown keyId"), "{error}");

    emulator.delete_key(TEST_KEY_ID);
    let error = source(&emulator).request_token().await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Rejected {
                status: Some(200),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("Key not found"), "{error}");
}

#[tokio::test]
async fn non_ok_code_is_a_rejection_showing_the_message() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Auth, refuse("ERROR", "Company is blocked"));
    let error = source(&emulator).request_token().await.unwrap_err();
    assert!(error.is_rejection(), "{error:?}");
    assert!(error.to_string().contains("Company is blocked"), "{error}");
}

#[tokio::test]
async fn unavailable_server_is_transient() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Auth, Failure::Status(503));
    let source = source(&emulator);
    let error = source.request_token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    source.request_token().await.unwrap();
    assert_eq!(emulator.auth_requests(), 2);
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Auth, Failure::Garbage);
    let error = source(&emulator).request_token().await.unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");

    // Garbage with control characters: they are replaced in the error.
    let server = HostileServer::start(Misbehaviour::answer(
        200,
        "text/html",
        "<html><body>garbage \u{1}\u{2}</body></html>",
    ));
    let error = source_with(&emulator, |b| b.base_url(server.url()))
        .request_token()
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
    assert!(
        !error.to_string().contains('\u{1}'),
        "control characters are replaced"
    );
}

#[tokio::test]
async fn slow_server_times_out_as_a_transport_error() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Auth, Failure::Slow(Duration::from_secs(10)));
    let source = source_with(&emulator, |b| b.timeout(Duration::from_millis(300)));
    let error = source.request_token().await.unwrap_err();
    assert!(matches!(error, AuthError::Transport { .. }), "{error:?}");
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let emulator = Emulator::start().await;
    let base = emulator.base_url();
    drop(emulator);
    tokio::task::yield_now().await;
    let source = RustoreSource::new(
        RustoreConfig::builder()
            .base_url(base)
            .key_id(TEST_KEY_ID)
            .private_key(SecretString::from(TEST_PRIVATE_KEY))
            .build()
            .unwrap(),
    );
    let error = source.request_token().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    let emulator = Emulator::start().await;
    let source = source_with(&emulator, |b| {
        b.base_url(format!("{}/", emulator.base_url()))
    });
    assert_eq!(
        source.config().auth_url().as_str(),
        format!("{}/public/auth/", emulator.base_url())
    );
    source.request_token().await.unwrap();
}

#[test]
fn extra_root_certificate_must_be_pem() {
    let error = RustoreConfig::builder()
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .add_root_certificate_pem(b"not a certificate")
        .build()
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
    assert!(error.to_string().contains("root certificate"), "{error}");
}

#[test]
fn extra_root_certificate_is_accepted() {
    // A self-signed CA made with `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=test-root`.
    let pem = include_bytes!("fixtures/test-root-ca.pem");
    let config = RustoreConfig::builder()
        .base_url(rustore_auth::ALTERNATIVE_PRODUCTION_URL)
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .add_root_certificate_pem(pem)
        .build()
        .unwrap();
    assert_eq!(
        config.base_url().as_str(),
        "https://public-api-m.rustore.ru/"
    );
    assert!(format!("{:?}", config.http_settings()).contains("extra_roots: 1"));
}

#[tokio::test]
async fn debug_and_errors_never_show_the_signature_token_or_key() {
    let emulator = Emulator::start().await;
    let source = source(&emulator);
    let credential = source.request_token().await.unwrap();
    let jwe = credential.token().expose_secret().to_owned();
    let signature = emulator.auth_request_log()[0].json().unwrap()["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_piece = &TEST_PRIVATE_KEY.trim()[100..140];
    let resource = emulator.requests();
    for debug in [
        format!("{source:?}"),
        format!("{credential:?}"),
        format!("{emulator:?}"),
        format!("{resource:?}"),
        format!(
            "{:?}",
            source
                .signed_request("2025-01-01T12:00:00.123+00:00")
                .unwrap()
        ),
    ] {
        assert!(!debug.contains(&jwe), "{debug}");
        assert!(!debug.contains(&signature), "{debug}");
        assert!(!debug.contains(key_piece), "{debug}");
    }

    // Failed exchanges: the error text holds none of the secrets either.
    emulator.set_clock_skew(300);
    let skew = source.request_token().await.unwrap_err().to_string();
    emulator.set_clock_skew(0);
    emulator.inject(Endpoint::Auth, refuse("ERROR", "nope"));
    let refused = source.request_token().await.unwrap_err().to_string();
    for message in [skew, refused] {
        for request in emulator.auth_request_log() {
            let sent = request.json().unwrap()["signature"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(!message.contains(&sent), "{message}");
        }
        assert!(!message.contains(key_piece), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_cause_one_token_request() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    assert_thousand_gets_succeed(&client, &emulator).await;
    assert_eq!(emulator.auth_requests(), 1);
    assert_eq!(emulator.resource_requests(), 1000);
    assert_eq!(client.cache().acquisitions(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_rejections_cause_one_reauthentication() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    assert_eq!(get_status(&client, &emulator).await, 200);
    emulator.revoke_tokens();
    assert_thousand_gets_succeed(&client, &emulator).await;
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
        assert_eq!(get_status(&client, &emulator).await, 200);
    }
    assert_eq!(emulator.auth_requests(), 1);
}

#[tokio::test]
async fn a_401_causes_one_reauthentication_and_the_retry_succeeds() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    assert_eq!(get_status(&client, &emulator).await, 200);
    emulator.revoke_tokens();
    assert_eq!(get_status(&client, &emulator).await, 200);
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
    emulator.inject(Endpoint::Auth, Failure::Status(503));
    let client = client(&emulator);
    let error = client.get(emulator.resource_url()).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    // The cache backs off (1 s by default) before it asks again.
    tokio::time::pause();
    tokio::time::advance(std::time::Duration::from_secs(2)).await;
    tokio::time::resume();
    assert_eq!(get_status(&client, &emulator).await, 200);
    assert_eq!(emulator.auth_requests(), 2);
}

#[tokio::test]
async fn an_api_failure_is_answered_once_with_the_error_envelope() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    emulator.inject(Endpoint::Api, Failure::Status(500));
    let response = client.get(emulator.resource_url()).await.unwrap();
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "ERROR");
    assert!(body["body"].is_null());

    emulator.inject(Endpoint::Api, refuse("ERROR", "Application not found"));
    let response = client.get(emulator.resource_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Application not found")
    );

    assert_eq!(get_status(&client, &emulator).await, 200);
    assert_eq!(
        emulator.auth_requests(),
        1,
        "the token endpoint was not hit"
    );
    assert_eq!(emulator.resource_requests(), 3);
}

#[tokio::test]
async fn a_stored_token_is_reused_by_another_cache() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(auth_core::store::FileStore::new(folder.path()));
    let first = RustoreSource::new(emulator.config())
        .into_cache_builder()
        .store(store.clone())
        .build();
    let token = first.get().await.unwrap();

    let client = AuthClient::new(
        RustoreSource::new(emulator.config())
            .into_cache_builder()
            .store(store)
            .build(),
    )
    .unwrap();
    assert_eq!(get_status(&client, &emulator).await, 200);
    assert_eq!(client.cache().store_hits(), 1);
    assert_eq!(client.cache().acquisitions(), 0);
    assert_eq!(emulator.auth_requests(), 1);
    let sent = emulator.requests().pop().unwrap();
    assert_eq!(
        sent.public_token.as_deref(),
        Some(token.token().expose_secret())
    );
}

#[tokio::test]
async fn the_control_api_revokes_expires_fails_auth_and_counts() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let control = reqwest::Client::new();
    let url = |path: &str| format!("{}/_emulator/{path}", emulator.base_url());
    let counters = || async {
        let answer = control.get(url("counters")).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        serde_json::from_str::<serde_json::Value>(&answer.text().await.unwrap()).unwrap()
    };
    assert_eq!(
        counters().await,
        serde_json::json!({"authentications": 0, "tokens_issued": 0, "api_calls": 0, "api_rejections": 0})
    );
    assert_eq!(get_status(&client, &emulator).await, 200);

    // Each action makes the token the client holds fail at the API; the client then
    // re-authenticates once.
    for action in ["revoke", "expire"] {
        let token = client.cache().get().await.unwrap();
        let answer = control.post(url(action)).send().await.unwrap();
        assert_eq!(answer.status(), 204, "{action}");
        let with_old = control
            .get(emulator.resource_url())
            .header("Public-Token", token.token().expose_secret())
            .send()
            .await
            .unwrap();
        assert_eq!(with_old.status(), 401, "{action}");
        if action == "revoke" {
            assert_eq!(get_status(&client, &emulator).await, 200);
        }
    }
    let answer = control
        .post(url("fail-auth?count=2&status=502"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    for _ in 0..2 {
        let error = source(&emulator).request_token().await.unwrap_err();
        assert!(
            matches!(error, AuthError::Server { status: 502, .. }),
            "{error:?}"
        );
    }
    source(&emulator).request_token().await.unwrap();
    assert_eq!(
        counters().await,
        serde_json::json!({"authentications": 5, "tokens_issued": 3, "api_calls": 5, "api_rejections": 3})
    );
}

/// `into_client` builds the API client with the configuration's HTTP settings (timeouts, extra
/// roots), as the token request does: a slow API call meets the configured timeout.
#[tokio::test]
async fn the_client_from_into_client_keeps_the_configured_http_settings() {
    let emulator = Emulator::start().await;
    let config = emulator
        .config_builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = RustoreSource::new(config).into_client().unwrap();
    emulator.inject(Endpoint::Api, Failure::Slow(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let error = client.get(emulator.resource_url()).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the API call ignored the configured 300 ms timeout: {:?}",
        started.elapsed()
    );
}
