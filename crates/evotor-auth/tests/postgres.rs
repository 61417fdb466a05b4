//! The PostgreSQL store against a real server on loopback (`TestPostgres`: initdb + pg_ctl as an
//! unprivileged user): several receivers share one state.

mod common;

use std::sync::Arc;

use common::{Counting, call, create, service, token_config, user};
use evotor_auth::CloudTokenStore;
use evotor_auth::testkit::postgres::TestPostgres;
use evotor_auth::webhook::{PostgresWebhookStore, Receiver, WebhookStore};
use secrecy::{ExposeSecret, SecretString};

fn server() -> TestPostgres {
    TestPostgres::start().unwrap_or_else(|problem| panic!("{problem}"))
}

/// A receiver (router) with its own pool on `url`.
async fn receiver(url: &SecretString) -> (axum::Router, Arc<PostgresWebhookStore>) {
    let store = Arc::new(PostgresWebhookStore::connect(url).await.unwrap());
    let dyn_store: Arc<dyn WebhookStore> = store.clone();
    let app = evotor_auth::axum::router(Receiver::new(
        token_config(),
        dyn_store.clone(),
        Counting::new(dyn_store),
    ));
    (app, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_on_one_database_share_users_tokens_and_events_across_restarts() {
    let pg = server();
    let url = pg.url();
    let (a, _) = receiver(&url).await;
    let (b, _) = receiver(&url).await;
    let alice = user(1);

    // Created through A, authorized by B.
    let token = create(&a, &alice).await;
    let stores = call(&b, "PUT", "/api/v1/inventories/stores", Some(&token), "[]").await;
    assert_eq!(stores.status, 200, "{stores:?}");
    let again = call(
        &b,
        "POST",
        "/api/v1/user/create",
        Some(&service()),
        format!(r#"{{"userId":"{alice}"}}"#),
    )
    .await;
    assert_eq!((again.status, again.code()), (409, Some(2005)));

    // A Cloud token through B, read at A's store; an event applied at A is a repeat at B.
    let handed = call(
        &b,
        "POST",
        "/api/v1/user/token",
        Some(&service()),
        format!(r#"{{"userId":"{alice}","token":"f46b89a5-8e80-4591-b0aa-94551790444b"}}"#),
    )
    .await;
    assert_eq!(handed.status, 200);
    let event = format!(
        r#"{{"id":"E-1","timestamp":"1504168645290","version":2,"type":"ApplicationInstalled","data":{{"productId":"p","userId":"{alice}"}}}}"#
    );
    for app in [&a, &b] {
        let reply = call(
            app,
            "POST",
            "/api/v2/installation/event",
            Some(&service()),
            event.clone(),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }

    // Every receiver restarted: nothing lost.
    drop((a, b));
    let (c, store) = receiver(&url).await;
    let stores = call(&c, "PUT", "/api/v1/inventories/stores", Some(&token), "[]").await;
    assert_eq!(stores.status, 200, "the user token survived");
    assert!(store.is_registered(&alice).await.unwrap());
    assert_eq!(
        store
            .cloud_token(&alice)
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "f46b89a5-8e80-4591-b0aa-94551790444b"
    );
    assert!(
        store
            .event_applied(&format!("installation:{alice}:E-1"))
            .await
            .unwrap()
    );
    // The schema is created once: a fourth receiver finds it in place.
    let _fourth = receiver(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_receivers_creating_one_user_at_once_give_one_200_and_seven_409() {
    let pg = server();
    let url = pg.url();
    // Eight receivers starting together (the migration runs under an advisory lock).
    let starts = (0..8).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { receiver(&url).await.0 })
    });
    let mut apps = Vec::new();
    for start in starts {
        apps.push(start.await.unwrap());
    }
    let bob = user(2);
    let creates = apps.iter().cloned().map(|app| {
        let body = format!(r#"{{"userId":"{bob}"}}"#);
        tokio::spawn(async move {
            call(&app, "POST", "/api/v1/user/create", Some(&service()), body).await
        })
    });
    let mut statuses = Vec::new();
    for create in creates {
        let reply = create.await.unwrap();
        if reply.status == 409 {
            assert_eq!(reply.code(), Some(2005));
        }
        statuses.push(reply.status);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);

    // 48 verifies spread over the eight receivers: exactly one token stays valid.
    let verifies = (0..48).map(|i| {
        let app = apps[i % apps.len()].clone();
        let body = format!(r#"{{"userId":"{bob}","username":"b","password":"p"}}"#);
        tokio::spawn(async move {
            let reply = call(&app, "POST", "/api/v1/user/verify", Some(&service()), body).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            let tree: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            tree["token"].as_str().unwrap().to_owned()
        })
    });
    let mut tokens = Vec::new();
    for verify in verifies {
        tokens.push(verify.await.unwrap());
    }
    let mut valid = 0;
    for (i, token) in tokens.iter().enumerate() {
        let reply = call(
            &apps[i % apps.len()],
            "PUT",
            "/api/v1/inventories/stores",
            Some(&format!("Bearer {token}")),
            "[]",
        )
        .await;
        if reply.status == 200 {
            valid += 1;
        }
    }
    assert_eq!(valid, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_shows_and_a_bad_url_is_named_without_it() {
    let pg = server();
    let store = PostgresWebhookStore::connect(&pg.url()).await.unwrap();
    let shown = format!("{store:?} {}", store.target());
    assert!(!shown.contains(pg.password()), "{shown}");
    assert!(
        shown.contains(&format!("127.0.0.1:{}", pg.port())),
        "{shown}"
    );

    let wrong = SecretString::from(format!(
        "postgres://propusk:wrong-{}@127.0.0.1:{}/postgres",
        pg.password(),
        pg.port()
    ));
    let error = PostgresWebhookStore::connect(&wrong)
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains(pg.password()), "{error}");
    assert!(error.contains("127.0.0.1"), "{error}");
    let garbage = SecretString::from("postgres://propusk:s3cret@[bad");
    let error = PostgresWebhookStore::connect(&garbage)
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains("s3cret"), "{error}");
    assert!(
        error.contains("postgres://USER:PASSWORD@HOST:PORT/DB"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_replacements_on_eight_pools_leave_exactly_one() {
    use evotor_auth::webhook::{TokenDigest, UserTokenRecord};
    let pg = server();
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(Arc::new(
            PostgresWebhookStore::connect(&pg.url()).await.unwrap(),
        ));
    }
    let carol = user(3);
    for round in 0..5 {
        let digests: Vec<TokenDigest> = (0..64)
            .map(|i| TokenDigest::of(&format!("token-{round}-{i}")))
            .collect();
        let tasks: Vec<_> = digests
            .iter()
            .enumerate()
            .map(|(i, digest)| {
                let store = stores[i % stores.len()].clone();
                let (digest, carol) = (*digest, carol.clone());
                tokio::spawn(async move {
                    store
                        .replace_user_tokens(
                            &digest,
                            UserTokenRecord {
                                user_id: carol,
                                issued_at_ms: i as u64,
                            },
                        )
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let mut valid = 0;
        for digest in &digests {
            if stores[0].find_user_token(digest).await.unwrap().is_some() {
                valid += 1;
            }
        }
        assert_eq!(valid, 1, "round {round}");
    }
}
