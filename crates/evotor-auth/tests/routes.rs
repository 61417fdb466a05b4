//! Every endpoint of the spec is routed by the axum router with its authorization rule: without
//! a credential each answers 401 with its code (never 404), and with the other kind of
//! credential it is refused too.

mod common;

use std::sync::Arc;

use common::{Counting, call, create, service, token_config, user};
use evotor_auth::webhook::{Endpoint, Guard, MemoryWebhookStore, Receiver, WebhookStore};

#[tokio::test]
async fn every_endpoint_is_routed_with_its_authorization_rule() {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let app = evotor_auth::axum::router(Receiver::new(
        token_config(),
        store.clone(),
        Counting::new(store),
    ));
    let user_auth = create(&app, &user(1)).await;
    let endpoints = Endpoint::all();
    assert_eq!(endpoints.len(), 12, "the spec's webhook paths");
    for endpoint in endpoints {
        let path = endpoint
            .path()
            .replace("{storeUuid}", "20170222-5a12-403a-80f6-75c361356826");
        let method = endpoint.method().to_string();
        let label = format!("{method} {path}");
        let (expected, wrong) = match endpoint.guard() {
            Guard::Service => (1001, Some(user_auth.clone())),
            Guard::User => (1002, Some(service())),
            Guard::Event => (1001, None),
        };
        let none = call(&app, &method, &path, None, "{}").await;
        assert_eq!((none.status, none.code()), (401, Some(expected)), "{label}");
        none.assert_content_type_matches_body();
        let bad = call(&app, &method, &path, Some("Bearer unknown-token"), "{}").await;
        assert_eq!(bad.status, 401, "{label}");
        if let Some(wrong) = wrong {
            let reply = call(&app, &method, &path, Some(&wrong), "{}").await;
            assert_eq!(
                reply.status, 401,
                "{label} with the other kind of credential"
            );
        }
        // Routed: the same method and path with the right credential is not 401 or 404.
        let right = match endpoint.guard() {
            Guard::User => user_auth.clone(),
            _ => service(),
        };
        let reply = call(&app, &method, &path, Some(&right), "[]").await;
        assert!(
            !matches!(reply.status, 401 | 404) || path.ends_with("commodities"),
            "{label}: {reply:?}"
        );
    }
}
