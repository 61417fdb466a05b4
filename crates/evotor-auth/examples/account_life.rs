//! Runs a webhook receiver and the emulated Evotor Cloud on loopback, drives one account through its
//! life, then calls the Cloud with the token the receiver stored.
//!
//! `cargo run -p evotor-auth --features testkit --example account_life`

use std::sync::Arc;

use evotor_auth::testkit::{AccountStart, Emulator, ServiceAuth};
use evotor_auth::webhook::{MemoryWebhookStore, Receiver, ReferenceAccounts, WebhookStore};
use evotor_auth::{EvotorConfig, EvotorSource, ReceiverConfig, UserId};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service_token = SecretString::from("9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11");
    let config = ReceiverConfig::builder()
        .service_token(service_token.clone())
        .build()?;
    let store = Arc::new(MemoryWebhookStore::new());
    let dyn_store: Arc<dyn WebhookStore> = store.clone();
    let receiver = Receiver::new(
        config,
        dyn_store.clone(),
        Arc::new(ReferenceAccounts::new(dyn_store)),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, evotor_auth::axum::router(receiver)).await;
    });

    let cloud = Emulator::builder()
        .receiver_url(&receiver_url)
        .service_auth(ServiceAuth::Token(service_token))
        .start()
        .await;
    let user = UserId::parse("01-000000000000001")?;
    let life = cloud.run_account_life(&user, AccountStart::Create).await?;
    for delivery in &life.deliveries {
        println!("{:<55} HTTP {}", delivery.label, delivery.status);
    }

    let client_config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(user.as_str())
        .cloud_tokens(store)
        .build()?;
    let client = EvotorSource::new(client_config).into_client()?;
    let stores = client
        .get(format!(
            "{}api/v1/inventories/stores/search",
            cloud.base_url()
        ))
        .await?
        .text()
        .await?;
    println!("stores: {stores}");
    Ok(())
}
