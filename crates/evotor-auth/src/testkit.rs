//! (feature `testkit`) An emulated Evotor Cloud on loopback: [`Emulator`].
//!
//! Both directions of the protocol:
//!
//! - as the Cloud's **webhook sender** it drives your receiver through the life of an account:
//!   create or verify, token hand-over, notifications, subscription and installation events,
//!   repeated deliveries, with the service credential or the user token your receiver issued;
//! - as the Cloud's **API** it serves `GET /api/v1/inventories/stores/search` (checking
//!   `X-Authorization` against the Cloud tokens it handed over) and `GET /stores` (checking
//!   `Authorization: Bearer` and `Accept: application/vnd.evotor.v2+json`), counts calls and
//!   answers injected failures ([`Emulator::inject`], [`Endpoint::Api`]).
//!
//! # Control API
//!
//! For tests in any language (`propusk emulate evotor`), through
//! [`auth_core::testkit::emulator::control_routes`]: `POST /_emulator/revoke` and
//! `POST /_emulator/expire` make the API forget every Cloud token (its calls then get 401; the
//! Cloud token is the credential, so there is nothing to authenticate again with);
//! `POST /_emulator/fail-auth?count=N&status=S` makes the next N API calls answer S (defaults 1
//! and 503: Evotor has no authentication call of its own); `GET /_emulator/counters` answers
//! `{"authentications","api_calls","api_rejections"}` (`authentications` is always 0).
//!
//! # Example
//!
//! ```
//! use auth_core::testkit::emulator::Failure;
//! use evotor_auth::EvotorSource;
//! use evotor_auth::testkit::{Emulator, Endpoint};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! let emulator = Emulator::start().await;
//! // A config for the demo user, with a Cloud token the emulator accepts.
//! let client = EvotorSource::new(emulator.config()).into_client()?;
//! let url = format!("{}api/v1/inventories/stores/search", emulator.base_url());
//! assert_eq!(client.get(&url).await?.status(), 200);
//! emulator.inject(Endpoint::Api, Failure::Status(503));
//! assert_eq!(client.get(&url).await?.status(), 503);
//! assert_eq!(emulator.api_calls(), 2);
//! # Ok(()) }
//! ```

#[cfg(feature = "postgres")]
pub mod postgres;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::testkit::emulator::{
    EmulatorControl, EmulatorServer, Failure, FailureQueue, Injected, control_routes,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::protocol::V2_MEDIA_TYPE;
use crate::webhook::SubscriptionEventType;
use crate::{EvotorConfig, EvotorConfigBuilder, UserId};

/// The user of [`Emulator::config`]: `01-000000000000001`.
pub const DEMO_USER_ID: &str = "01-000000000000001";

/// The service token the emulator presents when [`EmulatorBuilder::service_auth`] is not set:
/// `Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11`.
pub const DEMO_SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

/// Where an injected failure is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The next API call: `GET /api/v1/inventories/stores/search` or `GET /stores` (Evotor has
    /// no authentication call: the Cloud pushes its tokens through webhooks).
    Api,
}

/// How the emulated Cloud presents the service credential.
#[derive(Clone)]
pub enum ServiceAuth {
    /// `Authorization: Bearer <token>`.
    Token(SecretString),
    /// `Authorization: Basic base64(login:password)`.
    Basic(String, SecretString),
}

impl ServiceAuth {
    fn header(&self) -> String {
        match self {
            Self::Token(token) => format!("Bearer {}", token.expose_secret()),
            Self::Basic(login, password) => format!(
                "Basic {}",
                STANDARD.encode(format!("{login}:{}", password.expose_secret()))
            ),
        }
    }
}

impl fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token([REDACTED])"),
            Self::Basic(login, _) => write!(f, "Basic({login:?}, [REDACTED])"),
        }
    }
}

/// Which credential an event is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCredential {
    /// The service credential (what the authorization page documents).
    Service,
    /// The user token the receiver issued (what Swagger documents).
    UserToken,
}

/// How an account's life starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStart {
    /// `/user/create`.
    Create,
    /// `/user/verify` with this login and password.
    Verify {
        /// The login typed by the user.
        username: String,
        /// The password typed by the user.
        password: String,
    },
}

/// The answer the receiver gave to one delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// What was delivered (`user/create`, `subscription/event SubscriptionRenewed #3`, ...).
    pub label: String,
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl Delivery {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Answers to create/verify carry a user token: show the status and size only.
        f.debug_struct("Delivery")
            .field("label", &self.label)
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Something the emulator could not do (no receiver given, the receiver unreachable, or it
/// answered wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorError(pub String);

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmulatorError {}

/// What one run of [`Emulator::run_account_life`] did.
#[derive(Debug, Clone)]
pub struct AccountLife {
    /// Every delivery, in order, with the receiver's answer.
    pub deliveries: Vec<Delivery>,
}

/// A request the emulated API received (no header values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// Whether `X-Authorization` was present.
    pub x_authorization: bool,
    /// Whether `Authorization` was present.
    pub authorization: bool,
    /// The `Accept` header, if any.
    pub accept: Option<String>,
}

#[derive(Default)]
struct CloudState {
    /// Cloud token → user.
    cloud_tokens: Mutex<HashMap<String, UserId>>,
    /// User → the user token the receiver issued.
    user_tokens: Mutex<HashMap<UserId, String>>,
    failures: FailureQueue<Endpoint>,
    requests: Mutex<Vec<ApiRequest>>,
    api_calls: AtomicU64,
    api_rejections: AtomicU64,
    sequence: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl EmulatorControl for CloudState {
    /// Forgets every Cloud token: the API answers 401 to all of them.
    fn revoke(&self) {
        lock(&self.cloud_tokens).clear();
    }

    /// Evotor has no authentication call: the next API call answers `status`.
    fn fail_auth(&self, status: u16) {
        self.failures.push(Endpoint::Api, Failure::Status(status));
    }

    fn counters(&self) -> Value {
        json!({
            "authentications": 0,
            "api_calls": self.api_calls.load(Ordering::Relaxed),
            "api_rejections": self.api_rejections.load(Ordering::Relaxed),
        })
    }
}

/// Starts an [`Emulator`]: where it sends webhooks and how it presents the service credential.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    receiver_url: Option<String>,
    service_auth: ServiceAuth,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            receiver_url: None,
            service_auth: ServiceAuth::Token(SecretString::from(DEMO_SERVICE_TOKEN)),
        }
    }
}

impl EmulatorBuilder {
    /// The base URL your receiver's conventional paths hang off (`http://127.0.0.1:8080`), for
    /// the webhooks. Default: none (the emulator serves its API only, and every delivery fails
    /// with an [`EmulatorError`] saying so).
    pub fn receiver_url(mut self, receiver_url: impl Into<String>) -> Self {
        self.receiver_url = Some(trimmed(receiver_url.into()));
        self
    }

    /// How webhooks present the service credential. Default
    /// `ServiceAuth::Token(DEMO_SERVICE_TOKEN)`.
    pub fn service_auth(mut self, service_auth: ServiceAuth) -> Self {
        self.service_auth = service_auth;
        self
    }

    /// Starts on `127.0.0.1` at a free port. Panics if none can be bound (a test helper).
    pub async fn start(self) -> Emulator {
        self.start_on(EmulatorServer::loopback_listener().await)
    }

    /// Starts on `listener` (for `propusk emulate evotor --listen ADDR`), serving the API and
    /// the control API under `/_emulator/` (see the module docs).
    pub fn start_on(self, listener: tokio::net::TcpListener) -> Emulator {
        let state = Arc::new(CloudState::default());
        let app = Router::new()
            .route("/api/v1/inventories/stores/search", get(stores_search))
            .route("/stores", get(stores_v2))
            .with_state(Arc::clone(&state))
            .merge(control_routes(Arc::clone(&state)));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client for the emulator's webhooks");
        Emulator {
            server: EmulatorServer::serve(listener, app),
            receiver_url: self.receiver_url,
            service_auth: self.service_auth,
            http,
            state,
        }
    }
}

fn trimmed(url: String) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The emulated Evotor Cloud. Stops serving when dropped.
pub struct Emulator {
    server: EmulatorServer,
    receiver_url: Option<String>,
    service_auth: ServiceAuth,
    http: reqwest::Client,
    state: Arc<CloudState>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("address", &self.server.address())
            .field("receiver_url", &self.receiver_url)
            .field("service_auth", &self.service_auth)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder: the receiver to send webhooks to, the service credential.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `Emulator::builder().start()`: the API only, no receiver.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// The emulated API's base URL, `http://127.0.0.1:<port>/` (with the trailing slash).
    pub fn base_url(&self) -> String {
        format!("{}/", self.server.base_url())
    }

    /// A config builder for the emulator's API and the demo user ([`DEMO_USER_ID`]), with a
    /// newly issued Cloud token the API accepts ([`issue_cloud_token`](Self::issue_cloud_token)).
    pub fn config_builder(&self) -> EvotorConfigBuilder {
        let user = UserId::parse(DEMO_USER_ID).expect("the demo user id is valid");
        EvotorConfig::builder()
            .base_url(self.base_url())
            .user_id(DEMO_USER_ID)
            .cloud_token(self.issue_cloud_token(&user))
    }

    /// [`config_builder`](Self::config_builder), built.
    pub fn config(&self) -> EvotorConfig {
        self.config_builder()
            .build()
            .expect("the emulator's config is valid")
    }

    /// Makes the next call to `endpoint` answer `failure` (first in, first out).
    pub fn inject(&self, endpoint: Endpoint, failure: Failure) {
        self.state.failures.push(endpoint, failure);
    }

    /// Points later deliveries at another receiver (after a restart on a new port).
    pub fn set_receiver_url(&mut self, receiver_url: impl Into<String>) {
        self.receiver_url = Some(trimmed(receiver_url.into()));
    }

    /// The service credential's `Authorization` value.
    pub fn service_authorization(&self) -> String {
        self.service_auth.header()
    }

    /// The user token the receiver issued to `user_id`, if create/verify succeeded.
    pub fn user_token(&self, user_id: &UserId) -> Option<String> {
        lock(&self.state.user_tokens).get(user_id).cloned()
    }

    /// Issues a new Cloud token for `user_id` that the API accepts from now on, without a
    /// webhook delivery (for `propusk emulate evotor`, which has no receiver to hand it to).
    pub fn issue_cloud_token(&self, user_id: &UserId) -> SecretString {
        let token = uuid::Uuid::new_v4().to_string();
        lock(&self.state.cloud_tokens).insert(token.clone(), user_id.clone());
        SecretString::from(token)
    }

    /// Makes the API forget every Cloud token of `user_id` (its calls then get 401).
    pub fn revoke_cloud_token(&self, user_id: &UserId) {
        lock(&self.state.cloud_tokens).retain(|_, user| user != user_id);
    }

    /// How many API calls arrived (stores search and v2 stores).
    pub fn api_calls(&self) -> u64 {
        self.state.api_calls.load(Ordering::Relaxed)
    }

    /// How many API calls were answered 401.
    pub fn api_rejections(&self) -> u64 {
        self.state.api_rejections.load(Ordering::Relaxed)
    }

    /// The API calls received, in order.
    pub fn api_requests(&self) -> Vec<ApiRequest> {
        lock(&self.state.requests).clone()
    }

    /// Sends one raw webhook: `method` `path` on the receiver with `authorization` (none when
    /// `None`) and `body`.
    pub async fn send(
        &self,
        label: impl Into<String>,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
        body: impl Into<String>,
    ) -> Result<Delivery, EmulatorError> {
        let label = label.into();
        let receiver_url = self.receiver_url.as_deref().ok_or_else(|| {
            EmulatorError(format!(
                "{label}: no receiver to send to; give its URL to EmulatorBuilder::receiver_url"
            ))
        })?;
        let mut request = self
            .http
            .request(method, format!("{receiver_url}{path}"))
            .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
            .body(body.into());
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.map_err(|error| {
            EmulatorError(format!(
                "{label}: the receiver could not be reached: {}",
                error.without_url()
            ))
        })?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|error| EmulatorError(format!("{label}: the answer broke off: {error}")))?;
        Ok(Delivery {
            label,
            status,
            body,
        })
    }

    fn user_authorization(&self, user_id: &UserId) -> Result<String, EmulatorError> {
        self.user_token(user_id)
            .map(|token| format!("Bearer {token}"))
            .ok_or_else(|| {
                EmulatorError(format!(
                    "no user token for {user_id}: create or verify the account first"
                ))
            })
    }

    fn event_authorization(
        &self,
        user_id: &UserId,
        credential: EventCredential,
    ) -> Result<String, EmulatorError> {
        match credential {
            EventCredential::Service => Ok(self.service_authorization()),
            EventCredential::UserToken => self.user_authorization(user_id),
        }
    }

    fn remember_user_token(&self, user_id: &UserId, delivery: &Delivery) {
        if delivery.status == 200
            && let Some(token) = delivery.json().get("token").and_then(Value::as_str)
        {
            lock(&self.state.user_tokens).insert(user_id.clone(), token.to_owned());
        }
    }

    /// `POST /api/v1/user/create` for `user_id`; on 200 remembers the issued user token.
    pub async fn create_account(&self, user_id: &UserId) -> Result<Delivery, EmulatorError> {
        let body = json!({"userId": user_id, "customField": "propusk testkit"}).to_string();
        let auth = self.service_authorization();
        let delivery = self
            .send(
                "user/create",
                reqwest::Method::POST,
                "/api/v1/user/create",
                Some(&auth),
                body,
            )
            .await?;
        self.remember_user_token(user_id, &delivery);
        Ok(delivery)
    }

    /// `POST /api/v1/user/verify` for `user_id`; on 200 remembers the issued user token.
    pub async fn verify_account(
        &self,
        user_id: &UserId,
        username: &str,
        password: &str,
    ) -> Result<Delivery, EmulatorError> {
        let body =
            json!({"userId": user_id, "username": username, "password": password}).to_string();
        let auth = self.service_authorization();
        let delivery = self
            .send(
                "user/verify",
                reqwest::Method::POST,
                "/api/v1/user/verify",
                Some(&auth),
                body,
            )
            .await?;
        self.remember_user_token(user_id, &delivery);
        Ok(delivery)
    }

    /// Issues a new Cloud token for `user_id` (a uuid4, accepted by the API from now on) and
    /// hands it over through `POST /api/v1/user/token`. Returns the token and the delivery.
    pub async fn hand_over_token(
        &self,
        user_id: &UserId,
    ) -> Result<(SecretString, Delivery), EmulatorError> {
        let token = uuid::Uuid::new_v4().to_string();
        lock(&self.state.cloud_tokens).insert(token.clone(), user_id.clone());
        let body = json!({"userId": user_id, "token": token}).to_string();
        let auth = self.service_authorization();
        let delivery = self
            .send(
                "user/token",
                reqwest::Method::POST,
                "/api/v1/user/token",
                Some(&auth),
                body,
            )
            .await?;
        Ok((SecretString::from(token), delivery))
    }

    /// A subscription event of `kind` with `sequence` for `user_id`.
    pub async fn subscription_event(
        &self,
        user_id: &UserId,
        subscription_id: &str,
        kind: &SubscriptionEventType,
        sequence: u64,
        credential: EventCredential,
    ) -> Result<Delivery, EmulatorError> {
        let body = json!({
            "subscriptionId": subscription_id,
            "productId": "6e1d3fd9-4c4a-4c3f-a3b4-2f9c1d0f0001",
            "userId": user_id,
            "timestamp": "2017-04-20T18:26:37.753+0000",
            "sequenceNumber": sequence,
            "type": kind.as_str(),
            "planId": "example",
            "trialPeriodDuration": "P14DT",
            "deviceNumber": 35
        })
        .to_string();
        let auth = self.event_authorization(user_id, credential)?;
        self.send(
            format!("subscription/event {} #{sequence}", kind.as_str()),
            reqwest::Method::POST,
            "/api/v1/subscription/event",
            Some(&auth),
            body,
        )
        .await
    }

    /// An installation event (`ApplicationInstalled` / `ApplicationUninstalled`) with `id`.
    pub async fn installation_event(
        &self,
        user_id: &UserId,
        id: &str,
        installed: bool,
        credential: EventCredential,
    ) -> Result<Delivery, EmulatorError> {
        let kind = if installed {
            "ApplicationInstalled"
        } else {
            "ApplicationUninstalled"
        };
        let body = json!({
            "id": id,
            "timestamp": 1504168645290u64,
            "version": 2,
            "type": kind,
            "data": {"productId": "6e1d3fd9-4c4a-4c3f-a3b4-2f9c1d0f0001", "userId": user_id}
        })
        .to_string();
        let auth = self.event_authorization(user_id, credential)?;
        self.send(
            format!("installation/event {kind} {id}"),
            reqwest::Method::POST,
            "/api/v2/installation/event",
            Some(&auth),
            body,
        )
        .await
    }

    /// Every notification kind once, with the user's token: stores, devices, employees,
    /// documents, products and a v2 receipt (sent twice: the receipt id makes it idempotent).
    pub async fn notifications(&self, user_id: &UserId) -> Result<Vec<Delivery>, EmulatorError> {
        let auth = self.user_authorization(user_id)?;
        let store = "20170222-d58c-40e0-8051-b53adff38860";
        let receipt = json!({
            "id": format!("receipt-{}", self.state.sequence.fetch_add(1, Ordering::Relaxed)),
            "timestamp": 1504168645290u64, "version": 2, "type": "ReceiptCreated", "userId": user_id,
            "data": {"id": "r1", "storeId": store, "deviceId": "d1", "type": "SELL", "items": [], "totalAmount": 100}
        })
        .to_string();
        let cases: Vec<(&str, reqwest::Method, String, String)> = vec![
            ("stores", reqwest::Method::PUT, "/api/v1/inventories/stores".into(),
             json!([{"uuid": store, "name": "Мой магазин1", "address": "Москва"}]).to_string()),
            ("devices", reqwest::Method::PUT, "/api/v1/inventories/devices".into(),
             json!([{"uuid": "d1", "name": "Эвотор 7.2", "storeUuid": store}]).to_string()),
            ("employees", reqwest::Method::PUT, "/api/v1/inventories/employees".into(),
             json!([{"uuid": "e1", "name": "Иван", "role": "CASHIER", "phone": 79876543210u64, "stores": [{"storeUuid": store}]}]).to_string()),
            ("documents", reqwest::Method::PUT, format!("/api/v1/inventories/stores/{store}/documents"),
             json!([{"uuid": "doc1", "type": "SELL", "transactions": [{"type": "DOCUMENT_OPEN"}]}]).to_string()),
            ("products", reqwest::Method::POST, format!("/api/v1/inventories/stores/{store}/products"),
             json!([{"uuid": "p1", "name": "Чай", "price": 12.5, "barCodes": ["4600000000000"], "tax": "NO_VAT", "group": false}]).to_string()),
            ("receipt", reqwest::Method::POST, "/api/v2/receipts".into(), receipt.clone()),
            ("receipt (re-sent)", reqwest::Method::POST, "/api/v2/receipts".into(), receipt),
        ];
        let mut deliveries = Vec::new();
        for (label, method, path, body) in cases {
            deliveries.push(self.send(label, method, &path, Some(&auth), body).await?);
        }
        Ok(deliveries)
    }

    /// Drives the receiver through the life of `user_id`'s account and fails on the first
    /// answer that is not `200 OK`:
    ///
    /// 1. create or verify (per `start`), which must answer a user token;
    /// 2. the Cloud token hand-over;
    /// 3. every notification kind, with the user token;
    /// 4. `ApplicationInstalled`, every subscription event type of the sheet in order, each
    ///    delivered twice (a re-send), alternating the service credential and the user token;
    /// 5. `ApplicationUninstalled`, delivered twice.
    pub async fn run_account_life(
        &self,
        user_id: &UserId,
        start: AccountStart,
    ) -> Result<AccountLife, EmulatorError> {
        let mut deliveries = Vec::new();
        let first = match &start {
            AccountStart::Create => self.create_account(user_id).await?,
            AccountStart::Verify { username, password } => {
                self.verify_account(user_id, username, password).await?
            }
        };
        expect_ok(&first)?;
        if self.user_token(user_id).is_none() {
            return Err(EmulatorError(format!(
                "{}: the answer carries no token",
                first.label
            )));
        }
        deliveries.push(first);
        let (_, handed) = self.hand_over_token(user_id).await?;
        expect_ok(&handed)?;
        deliveries.push(handed);
        for delivery in self.notifications(user_id).await? {
            expect_ok(&delivery)?;
            deliveries.push(delivery);
        }
        let n = self.state.sequence.fetch_add(1, Ordering::Relaxed);
        let install_id = format!("install-{user_id}-{n}");
        let subscription = format!("subscription-{user_id}-{n}");
        for credential in [EventCredential::Service, EventCredential::UserToken] {
            let delivery = self
                .installation_event(user_id, &install_id, true, credential)
                .await?;
            expect_ok(&delivery)?;
            deliveries.push(delivery);
        }
        for (index, kind) in SubscriptionEventType::ALL.iter().enumerate() {
            let sequence = index as u64 + 1;
            for credential in [EventCredential::Service, EventCredential::UserToken] {
                let delivery = self
                    .subscription_event(user_id, &subscription, kind, sequence, credential)
                    .await?;
                expect_ok(&delivery)?;
                deliveries.push(delivery);
            }
        }
        let uninstall_id = format!("uninstall-{user_id}-{n}");
        for _ in 0..2 {
            let delivery = self
                .installation_event(user_id, &uninstall_id, false, EventCredential::Service)
                .await?;
            expect_ok(&delivery)?;
            deliveries.push(delivery);
        }
        Ok(AccountLife { deliveries })
    }
}

fn expect_ok(delivery: &Delivery) -> Result<(), EmulatorError> {
    if delivery.status == 200 {
        Ok(())
    } else {
        Err(EmulatorError(format!(
            "{}: the receiver answered HTTP {} {}",
            delivery.label,
            delivery.status,
            auth_core::provider::excerpt(delivery.body.as_bytes())
        )))
    }
}

fn record(state: &CloudState, path: &str, headers: &HeaderMap) {
    state.api_calls.fetch_add(1, Ordering::Relaxed);
    lock(&state.requests).push(ApiRequest {
        method: "GET".into(),
        path: path.into(),
        x_authorization: headers.contains_key("x-authorization"),
        authorization: headers.contains_key(header::AUTHORIZATION),
        accept: headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
}

/// The failure injected for the next API call, carried out: `Some(answer)` instead of the
/// normal one, `None` to answer normally.
async fn injected(state: &CloudState) -> Option<Response> {
    let failure = state.failures.take(&Endpoint::Api)?;
    let answer = failure
        .answer(|status| (status, "injected failure").into_response())
        .await;
    match answer {
        Injected::Normal => None,
        Injected::Answer(response) => Some(response),
        Injected::Provider(never) => match never {},
    }
}

fn unauthorized(state: &CloudState) -> Response {
    state.api_rejections.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":"unauthorized","message":"invalid token"}"#,
    )
        .into_response()
}

fn known_token(state: &CloudState, token: Option<&str>) -> bool {
    token.is_some_and(|token| lock(&state.cloud_tokens).contains_key(token))
}

async fn stores_search(State(state): State<Arc<CloudState>>, headers: HeaderMap) -> Response {
    record(&state, "/api/v1/inventories/stores/search", &headers);
    if let Some(response) = injected(&state).await {
        return response;
    }
    let token = headers.get("x-authorization").and_then(|v| v.to_str().ok());
    if !known_token(&state, token) {
        return unauthorized(&state);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"[{"uuid":"20170222-D58C-40E0-8051-B53ADFF38860","name":"Мой магазин1","address":null,"code":null}]"#,
    )
        .into_response()
}

async fn stores_v2(State(state): State<Arc<CloudState>>, headers: HeaderMap) -> Response {
    record(&state, "/stores", &headers);
    if let Some(response) = injected(&state).await {
        return response;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !known_token(&state, token) {
        return unauthorized(&state);
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if accept != Some(V2_MEDIA_TYPE) {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "send Accept: application/vnd.evotor.v2+json",
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, V2_MEDIA_TYPE)],
        r#"{"items":[{"id":"20170222-D58C-40E0-8051-B53ADFF38860","name":"msk","created_at":"2018-07-09T11:46:52.024+0000","updated_at":"2018-07-09T11:46:52.024+0000"}],"paging":{}}"#,
    )
        .into_response()
}
