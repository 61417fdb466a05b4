//! The reqwest glue over wiremock: retry once, streaming bodies, redirects, the middleware.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthClient, AuthError, AuthMiddleware, CredentialCache};
use common::ScriptedSource;
use secrecy::ExposeSecret;
use wiremock::matchers::{body_string, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(source: &Arc<ScriptedSource>) -> AuthClient {
    AuthClient::new(CredentialCache::builder(source.clone()).build()).unwrap()
}

#[tokio::test]
async fn a_rejected_request_is_repeated_once_with_a_new_credential() {
    let server = MockServer::start().await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let response = client(&source)
        .get(format!("{}/data", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn send_with_builds_the_retry_for_the_new_credential() {
    let server = MockServer::start().await;
    // The body names the credential it was made for; only token-2's is accepted.
    Mock::given(path("/signed"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/signed"))
        .and(header("authorization", "Bearer token-2"))
        .and(body_string("made for token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = client(&source);
    let url = format!("{}/signed", server.uri());
    let built = std::sync::atomic::AtomicUsize::new(0);
    let response = client
        .send_with(|credential| {
            built.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = format!("made for {}", credential.token().expose_secret());
            Ok(client
                .request(http::Method::POST, &url)
                .body(body)
                .build()
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(built.into_inner(), 2);
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn send_with_passes_on_a_build_error_and_a_second_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/signed"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = client(&source);
    let error = client
        .send_with(|_| Err(AuthError::config("test", "cannot build")))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot build"), "{error}");
    let url = format!("{}/signed", server.uri());
    let error = client
        .send_with(|_| Ok(client.request(http::Method::POST, &url).build().unwrap()))
        .await
        .unwrap_err();
    assert!(error.is_rejection(), "{error:?}");
}

#[tokio::test]
async fn a_streaming_body_gets_the_rejection_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = client(&source);
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(b"chunk"),
    )]);
    let request = client
        .request(http::Method::POST, format!("{}/upload", server.uri()))
        .body(reqwest::Body::wrap_stream(stream))
        .build()
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        source.calls(),
        1,
        "no re-authentication without a way to repeat the body"
    );
    assert!(
        client.cache().fresh().is_none(),
        "but the rejected credential is dropped"
    );
}

#[tokio::test]
async fn credentials_follow_same_origin_redirects_but_never_cross_origin_ones() {
    let home = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/here"))
        .mount(&home)
        .await;
    Mock::given(path("/here"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/there", other.uri())),
        )
        .mount(&home)
        .await;
    Mock::given(path("/there"))
        .respond_with(ResponseTemplate::new(200).set_body_string("arrived"))
        .mount(&other)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let response = client(&source)
        .get(format!("{}/moved", home.uri()))
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "arrived");
    let received = other.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn too_many_redirects_are_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let error = client(&source)
        .get(format!("{}/loop", server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Protocol { .. }), "{error}");
}

#[tokio::test]
async fn the_middleware_retries_once_and_reports_a_second_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/ok"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = CredentialCache::builder(source.clone()).build();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(AuthMiddleware::new(cache))
        .build();
    let response = client
        .get(format!("{}/ok", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(source.calls(), 2);
    // token-2 is seconds old and this cache re-authenticated on a rejection a moment ago: the
    // rejection window holds it, and the 401 comes back as it is, with no new login.
    let response = client
        .get(format!("{}/never", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(source.calls(), 2);

    // Without the window, the rejection re-authenticates once and the repeat is final.
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = CredentialCache::builder(source.clone())
        .policy(auth_core::RefreshPolicy {
            rejection_window: Duration::ZERO,
            ..Default::default()
        })
        .build();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(AuthMiddleware::new(cache))
        .build();
    let error = client
        .get(format!("{}/never", server.uri()))
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("rejected again"), "{error}");
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn a_thousand_requests_to_an_endpoint_that_always_refuses_cost_at_most_two_logins() {
    let server = MockServer::start().await;
    Mock::given(path("/forbidden-to-this-account"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = client(&source);
    let url = format!("{}/forbidden-to-this-account", server.uri());
    let mut answered_as_is = 0;
    for _ in 0..1000 {
        match client.get(&url).await {
            Ok(response) => {
                assert_eq!(response.status(), 401, "the rejection is returned as it is");
                answered_as_is += 1;
            }
            Err(error) => assert!(matches!(error, AuthError::Rejected { .. }), "{error}"),
        }
    }
    assert!(source.calls() <= 2, "{} logins", source.calls());
    assert!(answered_as_is >= 999, "{answered_as_is}");
    assert_eq!(
        client.cache().policy().rejection_window,
        Duration::from_secs(30)
    );
}

#[tokio::test]
async fn a_revoked_token_is_still_replaced_on_its_first_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = client(&source);
    // token-1 is in service, then revoked: the next request is refused once, a new login
    // follows, and the repeat succeeds.
    let first = client.cache().get().await.unwrap();
    assert_eq!(first.token().expose_secret(), "token-1");
    let response = client.get(format!("{}/data", server.uri())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(source.calls(), 2);
}

fn source_of(origin: &str) -> Arc<ScriptedSource> {
    Arc::new(ScriptedSource {
        origins: vec![url::Url::parse(origin).unwrap()],
        ..ScriptedSource::new(Duration::from_secs(600))
    })
}

#[tokio::test]
async fn the_credential_goes_only_to_the_sources_origin_unless_allowed() {
    let home = MockServer::start().await;
    let other = MockServer::start().await;
    for server in [&home, &other] {
        Mock::given(path("/data"))
            .respond_with(ResponseTemplate::new(200))
            .mount(server)
            .await;
    }
    let source = source_of(&home.uri());
    let client = client(&source);
    assert_eq!(
        client
            .get(format!("{}/data", home.uri()))
            .await
            .unwrap()
            .status(),
        200
    );

    let error = client
        .get(format!("{}/data?secret=canary", other.uri()))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&other.uri())
            && message.contains("AuthClient::allow_origin")
            && !message.contains("--allow-origin"),
        "{message}"
    );
    assert!(
        !message.contains("canary"),
        "only the origin is shown: {message}"
    );
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );

    let client = client.allow_origin(&url::Url::parse(&other.uri()).unwrap());
    assert_eq!(
        client
            .get(format!("{}/data", other.uri()))
            .await
            .unwrap()
            .status(),
        200
    );
    let received = other.received_requests().await.unwrap();
    assert_eq!(received[0].headers["authorization"], "Bearer token-1");
}

#[tokio::test]
async fn plain_http_carries_a_credential_only_to_loopback() {
    let source = source_of("http://api.example.invalid/");
    let client = client(&source);
    let error = client
        .get("http://api.example.invalid/data")
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error}");
    assert!(error.to_string().contains("only https"), "{error}");
    assert_eq!(source.calls(), 0, "refused before even authenticating");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_rejections_of_a_revoked_token_cost_one_login_and_all_retry() {
    let server = MockServer::start().await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = Arc::new(client(&source));
    client.cache().get().await.unwrap();
    let url = format!("{}/data", server.uri());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (client, url) = (Arc::clone(&client), url.clone());
        tasks.push(tokio::spawn(async move {
            client.get(&url).await.unwrap().status()
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            200,
            "every request retried with token-2"
        );
    }
    assert_eq!(source.calls(), 2);
}
