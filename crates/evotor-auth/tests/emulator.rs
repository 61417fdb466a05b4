//! End to end against the emulator: the whole life of an account, a restart of the receiver
//! included, and the client calling the Cloud with the token the receiver stored (first
//! credential, cache hit, rejection and retry, the stored token read again).

mod common;

use std::sync::Arc;

use auth_core::{AuthClient, CredentialCache};
use common::{Counting, SERVICE_TOKEN, serve, token_config, user};
use evotor_auth::testkit::{AccountStart, Emulator, EventCredential, ServiceAuth};
use evotor_auth::webhook::{
    FileCloudTokens, FileWebhookStore, Receiver, SubscriptionEventType, WebhookStore,
};
use evotor_auth::{EvotorConfig, EvotorSource, ReceiverConfig};
use secrecy::SecretString;

async fn file_receiver(
    folder: &std::path::Path,
    config: ReceiverConfig,
) -> (Receiver, Arc<Counting>, Arc<FileWebhookStore>) {
    let store = Arc::new(common::reopen(folder).await);
    let dyn_store: Arc<dyn WebhookStore> = store.clone();
    let handler = Counting::new(dyn_store.clone());
    (
        Receiver::new(config, dyn_store, handler.clone()),
        handler,
        store,
    )
}

#[tokio::test]
async fn an_account_lives_through_a_restart_of_the_receiver() {
    let folder = tempfile::tempdir().unwrap();
    let (receiver, handler, store) = file_receiver(folder.path(), token_config()).await;
    let served = serve(receiver).await;
    let mut cloud = Emulator::builder()
        .receiver_url(&served.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    let alice = user(1);

    // Create, hand over the token, notifications, events (each delivered twice).
    let life = cloud
        .run_account_life(&alice, AccountStart::Create)
        .await
        .unwrap();
    assert!(life.deliveries.iter().all(|d| d.status == 200));
    let reply = life.deliveries[0].json();
    assert_eq!(reply["userId"], "01-000000000000001");
    let user_token = reply["token"].as_str().unwrap().to_owned();
    assert!(
        user_token.len() >= 22 && user_token.len() <= 128,
        "{user_token}"
    );
    // Every event applied exactly once although each was delivered twice.
    let events: Vec<_> = handler
        .applied
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("subscription:") || k.starts_with("installation:"))
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    assert_eq!(
        events.len(),
        SubscriptionEventType::ALL.len() + 2,
        "{events:?}"
    );
    assert!(events.iter().all(|(_, n)| *n == 1), "{events:?}");
    let receipts = handler
        .applied
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("receipt:"))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>();
    assert_eq!(receipts, vec![1], "the re-sent receipt is applied once");

    // The client calls the Cloud with the token the receiver stored.
    let config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(alice.as_str());
    let client = EvotorSource::new(
        config
            .cloud_tokens(Arc::new(FileCloudTokens::open(folder.path())))
            .build()
            .unwrap(),
    )
    .into_client()
    .unwrap();
    let response = client
        .get(format!(
            "{}api/v1/inventories/stores/search",
            cloud.base_url()
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Мой магазин1"));
    let response = client
        .get(format!("{}stores", cloud.base_url()))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "v2 with Bearer and the v2 media type"
    );
    let requests = cloud.api_requests();
    assert!(requests[0].x_authorization && !requests[0].authorization);
    assert!(requests[1].authorization && !requests[1].x_authorization);
    assert_eq!(
        requests[1].accept.as_deref(),
        Some("application/vnd.evotor.v2+json")
    );

    // Restart: a new receiver over the same folder, on another port.
    drop(served);
    drop((handler, store, client));
    let (receiver, handler, store) = file_receiver(folder.path(), token_config()).await;
    let served = serve(receiver).await;
    cloud.set_receiver_url(&served.url);

    // The user token issued before the restart still works.
    for delivery in cloud.notifications(&alice).await.unwrap() {
        assert_eq!(delivery.status, 200, "{delivery:?}");
    }
    // A re-send of an event applied before the restart is acknowledged, not applied again.
    let again = cloud
        .subscription_event(
            &alice,
            &format!("subscription-{alice}-1"),
            &SubscriptionEventType::SubscriptionTerminated,
            7,
            EventCredential::Service,
        )
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(
        handler.times(&format!("subscription:{alice}:subscription-{alice}-1:7")),
        0
    );
    // Registering the same user again is refused with the documented body.
    let twice = cloud.create_account(&alice).await.unwrap();
    assert_eq!(
        (twice.status, twice.body.as_str()),
        (409, r#"{"errors":[{"code":2005}]}"#)
    );
    // The account can log in again (verify), which issues a new token and revokes the old.
    let life = cloud
        .run_account_life(
            &alice,
            AccountStart::Verify {
                username: "И.Иванов".into(),
                password: "superpassword".into(),
            },
        )
        .await
        .unwrap();
    let verified = life.deliveries[0].json();
    assert_eq!(verified["hasBilling"], false);
    assert_ne!(verified["token"].as_str().unwrap(), user_token);
    let old = cloud
        .send(
            "old token",
            reqwest::Method::PUT,
            "/api/v1/inventories/stores",
            Some(&format!("Bearer {user_token}")),
            "[]",
        )
        .await
        .unwrap();
    assert_eq!(
        (old.status, old.body.as_str()),
        (401, r#"{"errors":[{"code":1002}]}"#)
    );

    // The client still finds the (newest) Cloud token after the restart; the long form is the
    // same thing as `into_client`.
    let config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(alice.as_str())
        .cloud_tokens(store)
        .build()
        .unwrap();
    let client = AuthClient::new(CredentialCache::new(EvotorSource::new(config))).unwrap();
    let response = client
        .get(format!(
            "{}api/v1/inventories/stores/search",
            cloud.base_url()
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_account_lives_in_basic_mode_with_a_memory_store() {
    let config = ReceiverConfig::builder()
        .basic("partner", SecretString::from("s3cret-pass"))
        .build()
        .unwrap();
    let store: Arc<dyn WebhookStore> = Arc::new(evotor_auth::webhook::MemoryWebhookStore::new());
    let handler = Counting::new(store.clone());
    let served = serve(Receiver::new(config, store, handler.clone())).await;
    let cloud = Emulator::builder()
        .receiver_url(&served.url)
        .service_auth(ServiceAuth::Basic(
            "partner".into(),
            SecretString::from("s3cret-pass"),
        ))
        .start()
        .await;
    cloud
        .run_account_life(&user(2), AccountStart::Create)
        .await
        .unwrap();
    // Verify of an unknown account: wrong credentials.
    let unknown = cloud.verify_account(&user(3), "x", "y").await.unwrap();
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (401, r#"{"errors":[{"code":1006}]}"#)
    );
}

#[tokio::test]
async fn a_cloud_401_makes_the_client_read_the_store_again() {
    let folder = tempfile::tempdir().unwrap();
    let (receiver, _handler, store) = file_receiver(folder.path(), token_config()).await;
    let served = serve(receiver).await;
    let cloud = Emulator::builder()
        .receiver_url(&served.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    let bob = user(4);
    cloud.create_account(&bob).await.unwrap();

    let config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(bob.as_str())
        .cloud_tokens(store)
        .build()
        .unwrap();
    let new_client = || EvotorSource::new(config.clone()).into_client().unwrap();
    let url = format!("{}api/v1/inventories/stores/search", cloud.base_url());

    // No token delivered yet: a clear rejection, no request sent.
    let error = new_client().get(&url).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert!(
        error.to_string().contains("has not delivered a token"),
        "{error}"
    );
    assert_eq!(cloud.api_calls(), 0);

    // Token A, then the Cloud replaces it with B: the cached A gets 401, the store gives B.
    let (first, _) = cloud.hand_over_token(&bob).await.unwrap();
    let client = new_client();
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
    cloud.revoke_cloud_token(&bob);
    let (second, _) = cloud.hand_over_token(&bob).await.unwrap();
    assert_ne!(
        secrecy::ExposeSecret::expose_secret(&first),
        secrecy::ExposeSecret::expose_secret(&second)
    );
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
    assert_eq!(cloud.api_rejections(), 1);
    assert_eq!(cloud.api_calls(), 3);

    // Revoked again with nothing newer, seconds after B replaced a rejected token: within the
    // rejection window (RefreshPolicy::rejection_window) the 401 comes back as it is.
    cloud.revoke_cloud_token(&bob);
    assert_eq!(client.get(&url).await.unwrap().status(), 401);
    assert_eq!(cloud.api_calls(), 4);
}
