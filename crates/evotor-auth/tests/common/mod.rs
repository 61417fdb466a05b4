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
            Notification::Receipt(receipt) => receipt.delivery_key(user_id),
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

/// A receiver served on 127.0.0.1:0 by the crate's router and server. Dropping it shuts the
/// server down gracefully (idle connections close at once, so the store is released).
pub struct Served {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub async fn serve(receiver: Receiver) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = evotor_auth::axum::router(receiver);
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let settings = evotor_auth::axum::ServeSettings {
        shutdown_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let task = tokio::spawn(async move {
        let _ = evotor_auth::axum::serve_with(listener, app, &settings, async {
            let _ = signal.await;
        })
        .await;
    });
    Served {
        url,
        shutdown: Some(shutdown),
        _task: task,
    }
}

/// Opens the folder store, waiting (up to 5 s) for a previous receiver in this process to let
/// go of it.
pub async fn reopen(folder: &std::path::Path) -> evotor_auth::webhook::FileWebhookStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match evotor_auth::webhook::FileWebhookStore::open(folder) {
            Ok(store) => return store,
            Err(error) if std::time::Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(error) => panic!("{error}"),
        }
    }
}

/// An answer of the router, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    /// The `code` of the first error entry.
    pub fn code(&self) -> Option<u64> {
        let tree: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        tree["errors"][0]["code"].as_u64()
    }

    /// The `subject` of the first error entry.
    pub fn subject(&self) -> Option<String> {
        let tree: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        tree["errors"][0]["subject"].as_str().map(str::to_owned)
    }

    /// JSON Content-Type exactly when there is a body.
    pub fn assert_content_type_matches_body(&self) {
        if self.body.is_empty() {
            assert_eq!(self.content_type, None, "{self:?}");
        } else {
            assert_eq!(
                self.content_type.as_deref(),
                Some("application/json;charset=UTF-8"),
                "{self:?}"
            );
        }
    }
}

/// Sends one request through `app` (the crate's real router, no network).
pub async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json;charset=UTF-8");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let request = request.body(axum::body::Body::from(body.into())).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// `Bearer <service token>`.
pub fn service() -> String {
    format!("Bearer {SERVICE_TOKEN}")
}

/// Creates `user` through `app` and returns `Bearer <user token>`.
pub async fn create(app: &axum::Router, user: &UserId) -> String {
    let reply = call(
        app,
        "POST",
        "/api/v1/user/create",
        Some(&service()),
        format!(r#"{{"userId":"{user}"}}"#),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let tree: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    format!("Bearer {}", tree["token"].as_str().unwrap())
}
