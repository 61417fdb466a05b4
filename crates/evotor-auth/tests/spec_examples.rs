//! Every example body of Evotor's webhook spec and every `pos-docs` document, through the real
//! router: 200, except the four documents that are not valid JSON upstream (400 / 2001 naming
//! where they break). The fixtures and where they come from: `tests/fixtures/vendor/README.md`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Counting, call, create, service, token_config, user};
use evotor_auth::webhook::{MemoryWebhookStore, Receiver, WebhookStore};

fn vendor(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendor")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(vendor(path)).unwrap()
}

/// The annotated `pos-docs` as the Cloud sends them: `// comments` removed outside strings.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for next in chars.by_ref() {
                if next == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn app() -> (axum::Router, Arc<Counting>) {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let handler = Counting::new(store.clone());
    let receiver = Receiver::new(token_config(), store, handler.clone());
    (evotor_auth::axum::router(receiver), handler)
}

#[tokio::test]
async fn every_schema_example_of_every_path_gets_200() {
    let (app, handler) = app();
    let owner = user(1);
    let service = service();
    let create = call(
        &app,
        "POST",
        "/api/v1/user/create",
        Some(&service),
        read("schema-examples/user-create.json"),
    )
    .await;
    assert_eq!(create.status, 200, "{create:?}");
    create.assert_content_type_matches_body();
    let verify = call(
        &app,
        "POST",
        "/api/v1/user/verify",
        Some(&service),
        read("schema-examples/user-verify.json"),
    )
    .await;
    assert_eq!(verify.status, 200, "{verify:?}");
    verify.assert_content_type_matches_body();
    let token: serde_json::Value = serde_json::from_str(&verify.body).unwrap();
    let user_auth = format!("Bearer {}", token["token"].as_str().unwrap());
    assert_eq!(token["userId"], owner.as_str());

    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("POST", "/api/v1/user/token", "service", "user-token.json"),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionCreated.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "user",
            "subscription-AddonsUpdated.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionActivated.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionRenewed.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionTermsChanged.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionTerminationRequested.json",
        ),
        (
            "POST",
            "/api/v1/subscription/event",
            "service",
            "subscription-SubscriptionTerminated.json",
        ),
        (
            "POST",
            "/api/v2/installation/event",
            "service",
            "installation-ApplicationInstalled.json",
        ),
        (
            "POST",
            "/api/v2/installation/event",
            "user",
            "installation-ApplicationUninstalled.json",
        ),
        ("POST", "/api/v2/receipts", "user", "receipts.json"),
        ("PUT", "/api/v1/inventories/stores", "user", "stores.json"),
        ("PUT", "/api/v1/inventories/devices", "user", "devices.json"),
        (
            "PUT",
            "/api/v1/inventories/employees",
            "user",
            "employees.json",
        ),
        (
            "PUT",
            "/api/v1/inventories/stores/20170928-3176-40EB-80E2-A11F032E282A/documents",
            "user",
            "documents.json",
        ),
    ];
    for (method, path, auth, file) in cases {
        let auth = if auth == "service" {
            &service
        } else {
            &user_auth
        };
        let body = read(&format!("schema-examples/{file}"));
        let reply = call(&app, method, path, Some(auth), body).await;
        assert_eq!(reply.status, 200, "{file}: {reply:?}");
        assert_eq!(reply.body, "", "{file}");
        reply.assert_content_type_matches_body();
    }
    // The seven subscription examples share subscriptionId and sequenceNumber 4: one event by
    // its key (user + subscription + sequence number), applied once, acknowledged seven times.
    assert_eq!(
        handler.times("subscription:01-000000000000001:a99fbf70-6307-4acc-b61c-741ee9eef6c0:4"),
        1
    );
    assert_eq!(handler.times("stores:01-000000000000001"), 1);
    assert_eq!(handler.times("employees:01-000000000000001"), 1);
    assert_eq!(handler.times("devices:01-000000000000001"), 1);
}

#[tokio::test]
async fn the_example_calls_and_the_products_example_get_200() {
    let (app, handler) = app();
    let user_auth = create(&app, &user(1)).await;
    // The doc's verify uses `userUuid`, and its stores notification a bare token.
    let verify = call(
        &app,
        "POST",
        "/api/v1/user/verify",
        Some(&service()),
        read("example-calls/v1-user-verify.json"),
    )
    .await;
    assert_eq!(verify.status, 200, "{verify:?}");
    let token: serde_json::Value = serde_json::from_str(&verify.body).unwrap();
    let bare = token["token"].as_str().unwrap().to_owned();
    assert_ne!(
        format!("Bearer {bare}"),
        user_auth,
        "verify issued a new token"
    );
    let stores = call(
        &app,
        "PUT",
        "/api/v1/inventories/stores",
        Some(&bare),
        read("example-calls/v1-inventories-stores.json"),
    )
    .await;
    assert_eq!(stores.status, 200, "{stores:?}");
    let products = call(
        &app,
        "POST",
        "/api/v1/inventories/stores/20170222-5A12-403A-80F6-75C361356826/products",
        Some(&format!("Bearer {bare}")),
        read("paths/products-post-x-example.json"),
    )
    .await;
    assert_eq!(products.status, 200, "{products:?}");
    assert_eq!(
        handler.times("products:20170222-5A12-403A-80F6-75C361356826"),
        1
    );
}

#[tokio::test]
async fn every_pos_document_gets_200_and_the_broken_ones_a_clear_400() {
    let (app, handler) = app();
    let user_auth = create(&app, &user(1)).await;
    let broken = [
        "02-SELL.json",
        "08-INVENTORY.json",
        "13-FPRINT-Z-REPORT.json",
        "15-BUYBACK.json",
    ];
    let mut names: Vec<String> = std::fs::read_dir(vendor("pos-docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 16, "{names:?}");
    let mut accepted = 0;
    for name in &names {
        let document = without_comments(&read(&format!("pos-docs/{name}")));
        for body in [document.clone(), format!("[{document}]")] {
            let reply = call(
                &app,
                "PUT",
                "/api/v1/inventories/stores/20170222-5A12-403A-80F6-75C361356826/documents",
                Some(&user_auth),
                body,
            )
            .await;
            reply.assert_content_type_matches_body();
            if broken.contains(&name.as_str()) {
                assert_eq!(reply.status, 400, "{name}: {reply:?}");
                assert_eq!(reply.code(), Some(2001), "{name}: {reply:?}");
                assert!(reply.subject().is_some(), "{name}: {reply:?}");
            } else {
                assert_eq!(reply.status, 200, "{name}: {reply:?}");
                accepted += 1;
            }
        }
    }
    assert_eq!(accepted, 2 * 12);
    assert_eq!(
        handler.times("documents:20170222-5A12-403A-80F6-75C361356826"),
        24
    );
}

#[tokio::test]
async fn commodities_is_routed_with_the_user_token() {
    let (app, _) = app();
    let user_auth = create(&app, &user(1)).await;
    let path = "/api/v1/commodities?scanCode=2000000000060&alcCode=0000000000000000001";
    let none = call(&app, "GET", path, None, "").await;
    assert_eq!((none.status, none.code()), (401, Some(1002)), "{none:?}");
    let service = call(&app, "GET", path, Some(&service()), "").await;
    assert_eq!(service.status, 401, "the service token is not a user token");
    let found = call(&app, "GET", path, Some(&user_auth), "").await;
    assert_eq!(
        (found.status, found.body.as_str()),
        (404, "{}"),
        "{found:?}"
    );
    found.assert_content_type_matches_body();
    let missing = call(&app, "GET", "/api/v1/commodities", Some(&user_auth), "").await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.code(), Some(2002));
    assert_eq!(missing.subject().as_deref(), Some("scanCode"));
}

#[tokio::test]
async fn unknown_paths_and_methods_get_the_specs_404() {
    let (app, _) = app();
    for (method, path) in [
        ("GET", "/"),
        ("POST", "/api/v1/user/unknown"),
        ("GET", "/api/v1/user/create"),
        ("POST", "/api/v1/commodities"),
    ] {
        let reply = call(&app, method, path, Some(&service()), "{}").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (404, "{}"),
            "{method} {path}"
        );
        reply.assert_content_type_matches_body();
    }
}
