//! The source, the cache and the client against the loopback emulator (real HTTP, real JWE).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alliance_auth::testkit::{
    DEMO_SERVICE_CODE, Emulator, Endpoint, ExpiryStyle, ProviderFailure, Rejection, demo_auth_key,
};
use alliance_auth::{AllianceSession, AllianceSource, MerchantKey, jwe};
use auth_core::store::{FileStore, MemoryStore};
use auth_core::testkit::emulator::Failure;
use auth_core::{AuthClient, AuthError, CredentialCache, CredentialSource, ExposeSecret};

const OPERATIONS: &str = "ecom/execute_request/hpp/v1/operations";

fn client(emulator: &Emulator) -> AuthClient {
    AuthClient::new(CredentialCache::new(AllianceSource::new(emulator.config()))).unwrap()
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn shared_client(
    emulator: &Emulator,
    store: Arc<dyn auth_core::store::CredentialStore>,
) -> AuthClient {
    let cache = CredentialCache::builder(Arc::new(AllianceSource::new(emulator.config())))
        .store(store)
        .build();
    AuthClient::new(cache).unwrap()
}

#[tokio::test]
async fn authorize_sends_what_the_sdks_send_and_decrypts_the_session() {
    let emulator = Emulator::start().await;
    let source = AllianceSource::new(emulator.config());
    let before = SystemTime::now();
    let session = source.authorize().await.unwrap();

    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    let authorize = &requests[0];
    assert_eq!(authorize.method, "POST");
    assert_eq!(authorize.path, "/api-gateway/authorize_virtual_device");
    assert_eq!(authorize.api_version.as_deref(), Some("V1"));
    let request_id = authorize.request_id.as_deref().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(request_id).unwrap().get_version_num(),
        4
    );
    assert_eq!(
        authorize.device_id.as_deref(),
        Some(""),
        "empty x-device_id, as the SDKs send"
    );
    assert_eq!(
        authorize.refresh_token_nonempty,
        Some(false),
        "empty x-refresh_token"
    );
    assert_eq!(authorize.content_type.as_deref(), Some("application/json"));

    assert_eq!(
        Some(session.device_id().to_owned()),
        emulator.current_device_id()
    );
    assert_eq!(
        session.server_public(),
        emulator.session_key().unwrap().public_key()
    );
    assert!(session.auth_token().is_some());
    // The emulator says 24 h, to the tenth of a millisecond.
    let lifetime = session.expires_at().duration_since(before).unwrap();
    let day = Duration::from_secs(24 * 3600);
    assert!(
        lifetime > day - Duration::from_secs(5) && lifetime < day + Duration::from_secs(5),
        "{lifetime:?}"
    );
}

#[tokio::test]
async fn expiry_comes_from_the_answer_or_defaults_to_24_hours() {
    for (style, lifetime, expected) in [
        (
            ExpiryStyle::Both,
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        ),
        (
            ExpiryStyle::KyivOnly,
            Duration::from_secs(7200),
            Duration::from_secs(7200),
        ),
        (
            ExpiryStyle::None,
            Duration::from_secs(600),
            Duration::from_secs(24 * 3600),
        ),
    ] {
        let emulator = Emulator::builder()
            .expiry_style(style)
            .lifetime(lifetime)
            .start()
            .await;
        let before = SystemTime::now();
        let session = AllianceSource::new(emulator.config())
            .authorize()
            .await
            .unwrap();
        let got = session.expires_at().duration_since(before).unwrap();
        let slack = Duration::from_secs(5);
        assert!(
            got < expected + slack && got > expected - slack,
            "{style:?}: {got:?}"
        );
    }
}

#[tokio::test]
async fn the_older_key_name_server_public_key_is_accepted() {
    let emulator = Emulator::builder().legacy_key_name(true).start().await;
    let session = AllianceSource::new(emulator.config())
        .authorize()
        .await
        .unwrap();
    assert_the_current_session_key(&emulator, &session);
}

/// `session`'s `serverPublic` is the public half of the emulator's current session key.
fn assert_the_current_session_key(emulator: &Emulator, session: &AllianceSession) {
    let key = emulator.session_key().expect("a current session");
    assert_eq!(session.server_public(), key.public_key());
}

#[tokio::test]
async fn requests_carry_the_session_headers_and_a_fresh_request_id() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    for _ in 0..2 {
        let response = client.get(emulator.url(OPERATIONS)).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert_eq!(body["status"], "OK");
    }
    assert_eq!(emulator.authorizations(), 1);
    let api: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path != "/api-gateway/authorize_virtual_device")
        .collect();
    assert_eq!(api.len(), 2);
    for request in &api {
        assert!(request.valid_session);
        assert_eq!(request.api_version.as_deref(), Some("V1"));
        assert_eq!(request.device_id, emulator.current_device_id());
        assert_eq!(request.refresh_token_nonempty, Some(true));
    }
    assert_ne!(
        api[0].request_id, api[1].request_id,
        "x-request_id is fresh per request"
    );
    assert_ne!(api[0].request_id, emulator.requests()[0].request_id);
}

#[tokio::test]
async fn http_200_used_token_reauthorizes_exactly_once_and_retries_once() {
    let emulator = Emulator::builder()
        .rejection(Rejection::used_token_under_200())
        .start()
        .await;
    let client = client(&emulator);
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!((emulator.authorizations(), emulator.api_calls()), (1, 1));
    let first_device = emulator.current_device_id();

    // The bank now considers the token used: it answers HTTP 200 + b_used_token.
    emulator.end_session();
    let response = client.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(
        body["status"], "OK",
        "the retry's answer, not the rejection, reaches the caller"
    );
    assert_eq!(emulator.authorizations(), 2, "exactly one re-authorization");
    assert_eq!(
        emulator.api_calls(),
        3,
        "the rejected request and exactly one retry"
    );
    assert_ne!(emulator.current_device_id(), first_device);
    let requests = emulator.requests();
    let last = &requests[requests.len() - 1];
    assert!(last.valid_session);
    assert!(!requests[requests.len() - 3].valid_session);
}

#[tokio::test]
async fn http_401_reauthorizes_once_too() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    emulator.end_session();
    let response = client.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!((emulator.authorizations(), emulator.api_calls()), (2, 3));
}

#[tokio::test]
async fn a_second_rejection_is_final() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    emulator.inject(
        Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(Rejection::used_token_under_200())),
    );
    emulator.inject(
        Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(Rejection::Http200(
            "b_session_doesnt_exists".into(),
        ))),
    );
    let error = client.get(emulator.url(OPERATIONS)).await.unwrap_err();
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
    assert_eq!((emulator.authorizations(), emulator.api_calls()), (2, 3));
}

#[tokio::test]
async fn other_errors_under_200_are_not_rejections() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    emulator.inject(
        Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(Rejection::Http200(
            "b_request_is_not_correct".into(),
        ))),
    );
    let response = client.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(
        body["msgCode"], "b_request_is_not_correct",
        "returned to the caller as is"
    );
    assert_eq!(emulator.authorizations(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_rejections_cost_one_reauthorization() {
    let emulator = Emulator::builder()
        .rejection(Rejection::used_token_under_200())
        .start()
        .await;
    let client = client(&emulator);
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    emulator.end_session();
    let calls = (0..16).map(|_| {
        let client = client.clone();
        let url = emulator.url(OPERATIONS);
        tokio::spawn(async move { client.get(url).await.map(|r| r.status()) })
    });
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 200);
    }
    assert_eq!(emulator.authorizations(), 2);
}

#[tokio::test]
async fn processes_sharing_a_store_do_not_authorize_over_each_other() {
    let emulator = Emulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    // Two "processes": separate sources and caches, one store folder.
    let a = shared_client(&emulator, Arc::new(FileStore::new(folder.path())));
    let b = shared_client(&emulator, Arc::new(FileStore::new(folder.path())));
    a.get(emulator.url(OPERATIONS)).await.unwrap();
    let response = b.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        emulator.authorizations(),
        1,
        "b reused a's session from the store"
    );
    assert_eq!(b.cache().store_hits(), 1);

    // The session ends; a authorizes again; b, still holding the old session, is rejected once
    // and then picks a's new session from the store instead of authorizing over it.
    emulator.end_session();
    a.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(emulator.authorizations(), 2);
    let response = b.get(emulator.url(OPERATIONS)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(emulator.authorizations(), 2, "b did not end a's session");
    let a_session = AllianceSession::from_credential(&a.cache().get().await.unwrap()).unwrap();
    let b_session = AllianceSession::from_credential(&b.cache().get().await.unwrap()).unwrap();
    assert_eq!(a_session.device_id(), b_session.device_id());
}

#[tokio::test]
async fn the_stored_session_keeps_auth_token_and_server_public() {
    let emulator = Emulator::start().await;
    let store = Arc::new(MemoryStore::new());
    let client = shared_client(&emulator, store.clone());
    client.get(emulator.url(OPERATIONS)).await.unwrap();
    let stored = auth_core::store::CredentialStore::load(
        store.as_ref(),
        AllianceSource::new(emulator.config()).identity(),
    )
    .await
    .unwrap()
    .unwrap();
    let session = AllianceSession::from_credential(&stored).unwrap();
    assert!(session.auth_token().is_some());
    assert_eq!(
        session.server_public(),
        emulator.session_key().unwrap().public_key()
    );
    assert!(
        stored.headers().is_empty(),
        "a store keeps data (authToken, serverPublic, deviceId), never headers"
    );
    // Rebuilt by the source: the three session headers, authToken never among them.
    let restored = shared_client(&emulator, store.clone())
        .cache()
        .get()
        .await
        .unwrap();
    assert_eq!(restored.headers().len(), 3);
    assert!(!restored.headers().contains_key("x-auth_token"));
}

#[tokio::test]
async fn closed_service_code_is_permanent_and_tells_the_user_to_contact_the_bank() {
    let emulator = Emulator::start().await;
    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::ServiceCodeClosed),
    );
    let client = client(&emulator);
    let error = client.get(emulator.url(OPERATIONS)).await.unwrap_err();
    assert!(error.is_rejection() && !error.is_transient(), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("more than 200 days") && message.contains("contact Bank Alliance support"),
        "{message}"
    );
    assert_eq!(emulator.authorizations(), 1, "no loop");
    assert_eq!(emulator.api_calls(), 0);
}

#[tokio::test]
async fn authorize_failures_are_classified() {
    let emulator = Emulator::start().await;
    let source = AllianceSource::new(emulator.config());

    emulator.inject(Endpoint::Authorize, Failure::Status(503));
    let error = source.authorize().await.unwrap_err();
    assert!(error.is_transient(), "{error}");

    emulator.inject(Endpoint::Authorize, Failure::Html);
    let error = source.authorize().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Server { status: 502, .. }),
        "{error}"
    );
    // Described, never quoted: an authorize answer may hold a session in clear.
    assert!(error.to_string().contains("no JSON"), "{error}");

    emulator.inject(Endpoint::Authorize, Failure::Garbage);
    let error = source.authorize().await.unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("expected a JSON object {\"jwe\""),
        "{error}"
    );

    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::WrongKey),
    );
    let error = source.authorize().await.unwrap_err();
    assert!(
        error.to_string().contains("made for another key"),
        "{error}"
    );

    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::WrongAlgorithm),
    );
    let error = source.authorize().await.unwrap_err();
    assert!(error.to_string().contains("alg `ECDH-ES`"), "{error}");
    assert!(
        error.to_string().contains("refused without decrypting"),
        "{error}"
    );

    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::Reject(Rejection::Http401(
            "b_unknown_device".into(),
        ))),
    );
    let error = source.authorize().await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Rejected {
                status: Some(401),
                ..
            }
        ),
        "{error}"
    );

    // After all that, a normal authorize works.
    source.authorize().await.unwrap();
}

#[tokio::test]
async fn slow_and_huge_answers_are_cut_off() {
    let emulator = Emulator::start().await;
    let mut http = auth_core::HttpSettings::default();
    http.timeout = Duration::from_millis(300);
    let source = AllianceSource::new(
        emulator
            .config_builder()
            .http_settings(http)
            .build()
            .unwrap(),
    );
    emulator.inject(Endpoint::Authorize, Failure::Slow(Duration::from_secs(5)));
    let error = source.authorize().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Transport { .. }) && error.is_transient(),
        "{error:?}"
    );

    emulator.inject(Endpoint::Authorize, Failure::Huge);
    let error = source.authorize().await.unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("limit"), "{error}");
}

#[tokio::test]
async fn wrong_service_code_or_api_version_are_refused_by_the_emulator() {
    let emulator = Emulator::start().await;
    let source = AllianceSource::new(
        emulator
            .config_builder()
            .service_code("00000000-0000-4000-8000-000000000000")
            .build()
            .unwrap(),
    );
    let error = source.authorize().await.unwrap_err();
    assert!(
        error.to_string().contains("b_request_is_not_correct"),
        "{error}"
    );
    let source = AllianceSource::new(emulator.config_builder().api_version("v2").build().unwrap());
    assert!(source.authorize().await.is_err());

    let emulator = Emulator::builder().api_version("1").start().await;
    let source = AllianceSource::new(emulator.config_builder().api_version("1").build().unwrap());
    source.authorize().await.unwrap();
}

#[tokio::test]
async fn a_session_for_another_merchant_key_does_not_decrypt() {
    let emulator = Emulator::start().await;
    let other = josekit::jwe::ECDH_ES_A256KW
        .generate_ec_key_pair(josekit::jwk::alg::ec::EcCurve::P384)
        .unwrap();
    let other = MerchantKey::from_jwk(&other.to_jwk_key_pair().to_string()).unwrap();
    let source = AllianceSource::new(
        emulator
            .config_builder()
            .authorization_key(other)
            .build()
            .unwrap(),
    );
    let error = source.authorize().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("check that the bank holds this key's public half"),
        "{error}"
    );
}

#[tokio::test]
async fn encrypted_bodies_reach_the_bank_and_the_answer_decrypts() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let credential = client.cache().get().await.unwrap();
    let session = AllianceSession::from_credential(&credential).unwrap();
    let body = r#"{"merchantRequestId":"r-1","coinAmount":100}"#;
    let encrypted = session.encrypt_body(body.as_bytes()).unwrap();
    let request = client
        .request(
            http::Method::POST,
            emulator.url("ecom/execute_request/payments/v3/create/purchase"),
        )
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(encrypted)
        .build()
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.bytes().await.unwrap();
    let plaintext = alliance_auth::decrypt_answer(&client, &answer).unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(answer["received"]["merchantRequestId"], "r-1");
    assert_eq!(answer["received"]["coinAmount"], 100);
}

const PURCHASE: &str = "ecom/execute_request/payments/v3/create/purchase";

/// The `received` part of the emulator's decrypted answer to an encrypted request.
async fn received(client: &AuthClient, response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    let answer = response.bytes().await.unwrap();
    let plaintext = alliance_auth::decrypt_answer(client, &answer).unwrap();
    serde_json::from_slice::<serde_json::Value>(&plaintext).unwrap()["received"].clone()
}

#[tokio::test]
async fn every_session_has_its_own_server_key() {
    let emulator = Emulator::start().await;
    let source = AllianceSource::new(emulator.config());
    let first = source.authorize().await.unwrap();
    let second = source.authorize().await.unwrap();
    assert_ne!(first.server_public(), second.server_public());
    assert_the_current_session_key(&emulator, &second);
}

#[tokio::test]
async fn a_body_encrypted_for_an_ended_session_fails_after_reauthorizing() {
    // Why `send_encrypted` exists: `send` repeats the body as it was, encrypted to the old key.
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let session = AllianceSession::from_credential(&client.cache().get().await.unwrap()).unwrap();
    let request = client
        .request(http::Method::POST, emulator.url(PURCHASE))
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(
            session
                .encrypt_body(br#"{"merchantRequestId":"r-1"}"#)
                .unwrap(),
        )
        .build()
        .unwrap();
    emulator.end_session();
    let answer = json(client.send(request).await.unwrap()).await;
    assert_eq!(answer["msgCode"], "b_encryptor_failed_decrypt_message");
    assert_eq!(emulator.authorizations(), 2);
}

#[tokio::test]
async fn send_encrypted_encrypts_again_for_the_new_session() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let body = br#"{"merchantRequestId":"r-1","coinAmount":100}"#;
    let answer = received(
        &client,
        alliance_auth::send_encrypted(&client, http::Method::POST, &emulator.url(PURCHASE), body)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer["merchantRequestId"], "r-1");
    assert_eq!(emulator.authorizations(), 1);

    // The bank ends the session: the request is rejected, the client authorizes again and
    // encrypts the body to the new session's key.
    emulator.end_session();
    let answer = received(
        &client,
        alliance_auth::send_encrypted(&client, http::Method::POST, &emulator.url(PURCHASE), body)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer["coinAmount"], 100);
    assert_eq!(emulator.authorizations(), 2);
    let purchases: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(PURCHASE))
        .collect();
    assert_eq!(purchases.len(), 3, "one rejected, one retried, one before");
    assert!(!purchases[1].valid_session && purchases[2].valid_session);
    assert_eq!(purchases[2].content_type.as_deref(), Some("text/plain"));
}

#[tokio::test]
async fn send_encrypted_refuses_a_bad_url_and_a_second_rejection_is_final() {
    let emulator = Emulator::start().await;
    let client = client(&emulator);
    let error = alliance_auth::send_encrypted(&client, http::Method::POST, "not a url", b"{}")
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
    assert!(error.to_string().contains("not a URL"), "{error}");

    emulator.inject(
        alliance_auth::testkit::Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(
            alliance_auth::testkit::Rejection::unauthorized(),
        )),
    );
    emulator.inject(
        alliance_auth::testkit::Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(
            alliance_auth::testkit::Rejection::unauthorized(),
        )),
    );
    let error =
        alliance_auth::send_encrypted(&client, http::Method::POST, &emulator.url(PURCHASE), b"{}")
            .await
            .unwrap_err();
    assert!(error.is_rejection(), "{error:?}");
    assert_eq!(emulator.authorizations(), 2);
}

#[tokio::test]
async fn card_fields_encrypt_to_the_payment_key() {
    // The emulator's server key stands in for the bank's payment key.
    let emulator = Emulator::start().await;
    let payment_key = emulator.server_key().public_key();
    let number = alliance_auth::CardNumber::new("5573 6700 0000 0304")
        .unwrap()
        .encrypt(payment_key)
        .unwrap();
    let data = alliance_auth::CardData::with_cvv(3, 25, "111")
        .unwrap()
        .encrypt(payment_key)
        .unwrap();
    assert_eq!(
        jwe::decrypt(emulator.server_key(), &number).unwrap(),
        b"5573670000000304"
    );
    assert_eq!(
        jwe::decrypt(emulator.server_key(), &data).unwrap(),
        b"2503111"
    );
}

#[tokio::test]
async fn the_refresh_token_is_the_token_and_secrets_stay_out_of_debug_and_errors() {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(AllianceSource::new(emulator.config()));
    let credential = cache.get().await.unwrap();
    let session = AllianceSession::from_credential(&credential).unwrap();
    assert_eq!(
        credential.token().expose_secret(),
        session.refresh_token().expose_secret()
    );
    let refresh = session.refresh_token().expose_secret().to_owned();
    let auth = session.auth_token().unwrap().expose_secret().to_owned();
    for debug in [
        format!("{credential:?}"),
        format!("{session:?}"),
        format!("{cache:?}"),
    ] {
        assert!(
            !debug.contains(&refresh) && !debug.contains(&auth),
            "{debug}"
        );
    }
    let key_debug = format!("{:?}", demo_auth_key());
    assert!(!key_debug.contains("QVwaujXB"), "{key_debug}");
    assert_eq!(emulator.config().service_code(), DEMO_SERVICE_CODE);
}
