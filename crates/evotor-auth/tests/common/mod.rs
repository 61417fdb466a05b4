//! Shared test helpers: a receiver on loopback and a handler that counts what it applied.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use evotor_auth::ReceiverConfig;
use evotor_auth::UserId;
use evotor_auth::webhook::{
    AccountHandler, InstallationEvent, Notification, Receiver, ReferenceAccounts,
    SubscriptionEvent, UserCreate, UserVerify, VerifiedUser, WebhookError, WebhookStore,
};
use secrecy::SecretString;
use tokio::task::JoinHandle;

pub const SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

pub fn user(n: u32) -> UserId {
    UserId::parse(&format!("01-{n:015}")).unwrap()
}

pub fn token_config() -> ReceiverConfig {
    ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .build()
        .unwrap()
}

/// Counts every event and notification applied, on top of the reference accounts.
pub struct Counting {
    inner: ReferenceAccounts,
    pub applied: Mutex<HashMap<String, usize>>,
}

impl Counting {
    pub fn new(store: Arc<dyn WebhookStore>) -> Arc<Self> {
        Arc::new(Self {
            inner: ReferenceAccounts::new(store),
            applied: Mutex::new(HashMap::new()),
        })
    }

    fn count(&self, key: String) {
        *self.applied.lock().unwrap().entry(key).or_default() += 1;
    }

    pub fn times(&self, key: &str) -> usize {
        self.applied.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.applied.lock().unwrap().values().sum()
    }
}

#[async_trait]
impl AccountHandler for Counting {
    async fn create_user(&self, request: &UserCreate) -> Result<(), WebhookError> {
        self.inner.create_user(request).await
    }

    async fn verify_user(&self, request: &UserVerify) -> Result<VerifiedUser, WebhookError> {
        self.inner.verify_user(request).await
    }

    async fn subscription_event(&self, event: &SubscriptionEvent) -> Result<(), WebhookError> {
        self.count(event.delivery_key());
        Ok(())
    }

    async fn installation_event(&self, event: &InstallationEvent) -> Result<(), WebhookError> {
        self.count(event.delivery_key());
        Ok(())
    }

    async fn notification(
        &self,
        user_id: &UserId,
        notification: &Notification,
    ) -> Result<(), WebhookError> {
        let key = match notification {
            Notification::Receipt(receipt) => receipt.delivery_key(),
            Notification::Stores(_) => format!("stores:{user_id}"),
            Notification::Devices(_) => format!("devices:{user_id}"),
            Notification::Employees(_) => format!("employees:{user_id}"),
            Notification::Documents { store_uuid, .. } => format!("documents:{store_uuid}"),
            Notification::Products { store_uuid, .. } => format!("products:{store_uuid}"),
        };
        self.count(key);
        Ok(())
    }
}

/// A receiver served on 127.0.0.1:0 by the crate's axum router. Stops when dropped.
pub struct Served {
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve(receiver: Receiver) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = evotor_auth::axum::router(receiver);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served { url, task }
}
