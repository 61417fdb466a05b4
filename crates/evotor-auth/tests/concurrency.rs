//! Concurrent deliveries: token issuing replaces a user's tokens in one store operation, and
//! de-duplication keys include the user.

mod common;

use std::sync::Arc;

use common::{Counting, call, create, service, token_config, user};
use evotor_auth::webhook::{FileWebhookStore, MemoryWebhookStore, Receiver, WebhookStore};

/// 50 concurrent `/user/verify` of one user through the router; returns how many of the issued
/// tokens still open a notification.
async fn valid_after_concurrent_verifies(store: Arc<dyn WebhookStore>) -> usize {
    let receiver = Receiver::new(token_config(), store.clone(), Counting::new(store));
    let app = evotor_auth::axum::router(receiver);
    let alice = user(1);
    create(&app, &alice).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        let body = format!(r#"{{"userId":"{alice}","username":"a","password":"p"}}"#);
        tasks.push(tokio::spawn(async move {
            let reply = call(&app, "POST", "/api/v1/user/verify", Some(&service()), body).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            let tree: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            tree["token"].as_str().unwrap().to_owned()
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    let mut valid = 0;
    for token in &tokens {
        let reply = call(
            &app,
            "PUT",
            "/api/v1/inventories/stores",
            Some(&format!("Bearer {token}")),
            "[]",
        )
        .await;
        match reply.status {
            200 => valid += 1,
            401 => assert_eq!(reply.code(), Some(1002)),
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    valid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_verifies_leave_exactly_one_valid_token_in_memory() {
    assert_eq!(
        valid_after_concurrent_verifies(Arc::new(MemoryWebhookStore::new())).await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_verifies_leave_exactly_one_valid_token_in_a_folder() {
    let folder = tempfile::tempdir().unwrap();
    let store = Arc::new(FileWebhookStore::open(folder.path()).unwrap());
    assert_eq!(valid_after_concurrent_verifies(store).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_events_with_the_same_id_are_both_applied() {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let handler = Counting::new(store.clone());
    let app = evotor_auth::axum::router(Receiver::new(token_config(), store, handler.clone()));
    let (one, two) = (user(1), user(2));
    let one_auth = create(&app, &one).await;
    let two_auth = create(&app, &two).await;
    for auth in [&one_auth, &two_auth, &one_auth, &two_auth] {
        let reply = call(
            &app,
            "POST",
            "/api/v2/receipts",
            Some(auth),
            r#"{"id":"R-42","type":"ReceiptCreated","data":{"totalAmount":1}}"#,
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    assert_eq!(handler.times(&format!("receipt:{one}:R-42")), 1);
    assert_eq!(handler.times(&format!("receipt:{two}:R-42")), 1);

    // Installation and subscription events with one id for two users: both applied.
    for who in [&one, &two, &one] {
        let installation = format!(
            r#"{{"id":"E-1","timestamp":1,"version":2,"type":"ApplicationInstalled","data":{{"productId":"p","userId":"{who}"}}}}"#
        );
        let reply = call(
            &app,
            "POST",
            "/api/v2/installation/event",
            Some(&service()),
            installation,
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let subscription = format!(
            r#"{{"subscriptionId":"S-1","productId":"p","userId":"{who}","timestamp":"t","sequenceNumber":1,"type":"SubscriptionCreated"}}"#
        );
        let reply = call(
            &app,
            "POST",
            "/api/v1/subscription/event",
            Some(&service()),
            subscription,
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    for who in [&one, &two] {
        assert_eq!(handler.times(&format!("installation:{who}:E-1")), 1);
        assert_eq!(handler.times(&format!("subscription:{who}:S-1:1")), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_without_id_are_recognised_by_their_content_per_user() {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let handler = Counting::new(store.clone());
    let app = evotor_auth::axum::router(Receiver::new(token_config(), store, handler.clone()));
    let one = create(&app, &user(1)).await;
    let two = create(&app, &user(2)).await;
    // The same receipt twice (keys in another order the second time), another one, and an
    // array holding the first again plus a new one.
    let bodies = [
        (
            &one,
            r#"{"timestamp":1.5,"data":{"totalAmount":1,"items":null}}"#,
        ),
        (
            &one,
            r#"{"data":{"items":null,"totalAmount":1},"timestamp":1.5}"#,
        ),
        (&one, r#"{"timestamp":2,"data":{"totalAmount":1}}"#),
        (
            &one,
            r#"[{"timestamp":1.5,"data":{"totalAmount":1,"items":null}},{"timestamp":3}]"#,
        ),
        (
            &two,
            r#"{"timestamp":1.5,"data":{"totalAmount":1,"items":null}}"#,
        ),
    ];
    for (auth, body) in bodies {
        let reply = call(&app, "POST", "/api/v2/receipts", Some(auth), body).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    // Three distinct receipts of user 1, one of user 2.
    assert_eq!(handler.total(), 4);
}
