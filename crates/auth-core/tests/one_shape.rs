//! The one shape every provider shares: the cache takes the source's own refresh policy, finds
//! the source by its type, hands its headers to any HTTP client, and the client's JSON
//! shortcuts repeat their body after a rejection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::{
    AuthClient, AuthError, Credential, CredentialCache, CredentialSource, Identity, RefreshPolicy,
    async_trait,
};
use common::ScriptedSource;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A source whose provider refreshes 30 s ahead, as Waves does.
struct ShortLived(ScriptedSource);

fn short_policy() -> RefreshPolicy {
    RefreshPolicy {
        margin: Duration::from_secs(30),
        jitter: Duration::from_secs(5),
        ..RefreshPolicy::default()
    }
}

#[async_trait]
impl CredentialSource for ShortLived {
    fn identity(&self) -> &Identity {
        self.0.identity()
    }

    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        self.0.acquire(previous).await
    }

    fn refresh_policy(&self) -> RefreshPolicy {
        short_policy()
    }
}

#[test]
fn every_way_to_build_a_cache_takes_the_sources_policy() {
    let source = || ShortLived(ScriptedSource::new(Duration::from_secs(600)));
    assert_eq!(*CredentialCache::new(source()).policy(), short_policy());
    assert_eq!(
        *CredentialCache::builder(source()).build().policy(),
        short_policy()
    );
    assert_eq!(
        *CredentialCache::builder(Arc::new(source()))
            .build()
            .policy(),
        short_policy(),
        "a shared source keeps its policy"
    );
    let chosen = RefreshPolicy {
        margin: Duration::from_secs(120),
        ..RefreshPolicy::default()
    };
    assert_eq!(
        *CredentialCache::builder(source())
            .policy(chosen)
            .build()
            .policy(),
        chosen,
        "the builder's policy wins"
    );
    // A source that states none gets the default.
    assert_eq!(
        *CredentialCache::new(ScriptedSource::new(Duration::from_secs(600))).policy(),
        RefreshPolicy::default()
    );
}

#[test]
fn the_cache_finds_its_source_by_type_given_by_value_or_shared() {
    let by_value = CredentialCache::new(ScriptedSource::new(Duration::from_secs(600)));
    assert!(by_value.source_as::<ScriptedSource>().is_some());
    assert!(by_value.source_as::<ShortLived>().is_none());

    let shared = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = CredentialCache::builder(shared.clone()).build();
    let found = cache
        .source_as::<ScriptedSource>()
        .expect("found inside the Arc");
    assert!(std::ptr::eq(found, shared.as_ref()));
}

#[tokio::test]
async fn headers_for_gives_another_client_the_headers_and_the_generation_to_reject() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = CredentialCache::builder(source.clone()).build();
    let first = cache.headers_for("/v1/things").await.unwrap();
    assert_eq!(first.headers["authorization"], "Bearer token-1");
    // A second call is a cache hit.
    let again = cache.headers_for("/v1/things").await.unwrap();
    assert_eq!(again.generation, first.generation);
    assert_eq!(source.calls(), 1);
    // The provider rejected it: the next headers carry a new credential.
    assert!(cache.reject(first.generation));
    let next = cache.headers_for("/v1/things").await.unwrap();
    assert_eq!(next.headers["authorization"], "Bearer token-2");
    assert_ne!(next.generation, first.generation);
    // Debug names the headers, never their values.
    let shown = format!("{next:?}");
    assert!(
        shown.contains("authorization") && !shown.contains("token-2"),
        "{shown}"
    );
}

#[tokio::test]
async fn post_json_and_put_json_send_json_and_repeat_it_after_a_rejection() {
    let body = serde_json::json!({"name": "Ромашка", "count": 2});
    for verb in ["POST", "PUT"] {
        let server = MockServer::start().await;
        Mock::given(method(verb))
            .and(path("/items"))
            .and(header("authorization", "Bearer token-1"))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method(verb))
            .and(path("/items"))
            .and(header("content-type", "application/json"))
            .and(header("authorization", "Bearer token-2"))
            .and(body_json(&body))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
        let client = AuthClient::new(CredentialCache::builder(source.clone()).build()).unwrap();
        let url = format!("{}/items", server.uri());
        let answer = match verb {
            "POST" => client.post_json(&url, &body).await,
            _ => client.put_json(&url, &body).await,
        };
        assert_eq!(answer.unwrap().status(), 201, "{verb}");
        assert_eq!(
            source.calls(),
            2,
            "{verb}: one re-authentication after the 401"
        );
    }
}

#[tokio::test]
async fn delete_is_authenticated() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/items/7"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = AuthClient::new(CredentialCache::builder(source).build()).unwrap();
    let url = format!("{}/items/7", server.uri());
    assert_eq!(client.delete(&url).await.unwrap().status(), 204);
}

#[tokio::test]
async fn a_body_that_cannot_be_json_is_a_configuration_error_before_anything_is_sent() {
    struct NotJson;
    impl serde::Serialize for NotJson {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no JSON form"))
        }
    }
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let client = AuthClient::new(CredentialCache::builder(source.clone()).build()).unwrap();
    let error = client
        .post_json("http://127.0.0.1:9/items", &NotJson)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Config { .. }) && error.to_string().contains("JSON"),
        "{error:?}"
    );
    assert_eq!(source.calls(), 0);
}
