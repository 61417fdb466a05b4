//! The framework-independent receiver: routes, verification, token issuance, idempotent events
//! and Evotor-format errors. A web framework only has to hand it the method, path, headers and
//! (after [`Receiver::authorize`]) the body.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::AuthError;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::WebhookError;
use super::authorization::{self, Presented, ServiceVerifier};
use super::bodies::{
    self, CloudTokenDelivery, InstallationEvent, Notification, ReceiptEvent, SubscriptionEvent,
    UserCreate, UserVerify, VerifiedUser, parse_body, parse_items,
};
use super::store::{UserTokenRecord, WebhookStore};
use super::user_token::{MAX_USER_TOKEN_LEN, TokenDigest, generate_user_token};
use crate::UserId;
use crate::config::{EventAuth, ReceiverConfig};

/// One of the URLs the Cloud calls, with the path's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api/v1/user/create` (service credential).
    UserCreate,
    /// `POST /api/v1/user/verify` (service credential).
    UserVerify,
    /// `POST /api/v1/user/token` (service credential).
    UserToken,
    /// `POST /api/v1/subscription/event` (service credential or user token).
    SubscriptionEvent,
    /// `POST /api/v2/installation/event` (service credential or user token).
    InstallationEvent,
    /// `PUT /api/v1/inventories/stores` (user token).
    Stores,
    /// `PUT /api/v1/inventories/devices` (user token).
    Devices,
    /// `PUT /api/v1/inventories/employees` (user token).
    Employees,
    /// `PUT /api/v1/inventories/stores/{storeUuid}/documents` (user token).
    Documents {
        /// The store in the path.
        store_uuid: String,
    },
    /// `POST /api/v1/inventories/stores/{storeUuid}/products` (user token).
    Products {
        /// The store in the path.
        store_uuid: String,
    },
    /// `POST /api/v2/receipts` (user token).
    Receipts,
    /// `GET /api/v1/commodities?scanCode=…&alcCode=…` (user token): a barcode lookup.
    Commodities {
        /// `scanCode`, the barcode (required: 400 / 2002 without it).
        scan_code: Option<String>,
        /// `alcCode`, the EGAIS alcohol code, when given.
        alc_code: Option<String>,
    },
}

/// Which credential an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The service credential.
    Service,
    /// A known user token.
    User,
    /// Either, as [`EventAuth`] says.
    Event,
}

impl Endpoint {
    /// Every endpoint with its method and path, in the order of the spec (`{storeUuid}` and the
    /// query left as placeholders): the routing table.
    pub fn all() -> Vec<Self> {
        let store_uuid = "{storeUuid}".to_owned();
        vec![
            Self::UserVerify,
            Self::UserCreate,
            Self::UserToken,
            Self::Commodities {
                scan_code: None,
                alc_code: None,
            },
            Self::SubscriptionEvent,
            Self::InstallationEvent,
            Self::Stores,
            Self::Devices,
            Self::Employees,
            Self::Documents {
                store_uuid: store_uuid.clone(),
            },
            Self::Products { store_uuid },
            Self::Receipts,
        ]
    }

    /// The endpoint for `method` and `path` (the conventional paths of the sheet; a query after
    /// `?` is read for `/commodities`), if any.
    pub fn route(method: &Method, path: &str) -> Option<Self> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let path = path.trim_end_matches('/');
        let endpoint = match path {
            "/api/v1/user/create" => Self::UserCreate,
            "/api/v1/user/verify" => Self::UserVerify,
            "/api/v1/user/token" => Self::UserToken,
            "/api/v1/subscription/event" => Self::SubscriptionEvent,
            "/api/v2/installation/event" => Self::InstallationEvent,
            "/api/v1/inventories/stores" => Self::Stores,
            "/api/v1/inventories/devices" => Self::Devices,
            "/api/v1/inventories/employees" => Self::Employees,
            "/api/v2/receipts" => Self::Receipts,
            "/api/v1/commodities" => Self::commodities(query),
            other => {
                let rest = other.strip_prefix("/api/v1/inventories/stores/")?;
                let (store, tail) = rest.split_once('/')?;
                if store.is_empty() || store.contains('/') {
                    return None;
                }
                let store_uuid = store.to_owned();
                match tail {
                    "documents" => Self::Documents { store_uuid },
                    "products" => Self::Products { store_uuid },
                    _ => return None,
                }
            }
        };
        (endpoint.method() == *method).then_some(endpoint)
    }

    /// `/commodities` with the parameters of `query` (URL-encoded, as after `?`).
    pub fn commodities(query: &str) -> Self {
        let mut scan_code = None;
        let mut alc_code = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "scanCode" => scan_code = Some(value.into_owned()),
                "alcCode" => alc_code = Some(value.into_owned()),
                _ => {}
            }
        }
        Self::Commodities {
            scan_code,
            alc_code,
        }
    }

    /// The method the Cloud uses.
    pub fn method(&self) -> Method {
        match self {
            Self::Commodities { .. } => Method::GET,
            Self::Stores | Self::Devices | Self::Employees | Self::Documents { .. } => Method::PUT,
            _ => Method::POST,
        }
    }

    /// The conventional path (with `{storeUuid}` filled in).
    pub fn path(&self) -> String {
        match self {
            Self::UserCreate => "/api/v1/user/create".to_owned(),
            Self::UserVerify => "/api/v1/user/verify".to_owned(),
            Self::UserToken => "/api/v1/user/token".to_owned(),
            Self::SubscriptionEvent => "/api/v1/subscription/event".to_owned(),
            Self::InstallationEvent => "/api/v2/installation/event".to_owned(),
            Self::Stores => "/api/v1/inventories/stores".to_owned(),
            Self::Devices => "/api/v1/inventories/devices".to_owned(),
            Self::Employees => "/api/v1/inventories/employees".to_owned(),
            Self::Documents { store_uuid } => {
                format!("/api/v1/inventories/stores/{store_uuid}/documents")
            }
            Self::Products { store_uuid } => {
                format!("/api/v1/inventories/stores/{store_uuid}/products")
            }
            Self::Receipts => "/api/v2/receipts".to_owned(),
            Self::Commodities { .. } => "/api/v1/commodities".to_owned(),
        }
    }

    /// Which credential guards it.
    pub fn guard(&self) -> Guard {
        match self {
            Self::UserCreate | Self::UserVerify | Self::UserToken => Guard::Service,
            Self::SubscriptionEvent | Self::InstallationEvent => Guard::Event,
            _ => Guard::User,
        }
    }
}

/// Who a request came from, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The Cloud, with the service credential.
    Service,
    /// The Cloud, on behalf of a user, with that user's token.
    User(UserId),
}

/// The answer to one webhook request.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body: JSON, or empty for a plain `200 OK`.
    pub body: Bytes,
}

impl WebhookResponse {
    /// `200 OK` with an empty body.
    pub fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            body: Bytes::new(),
        }
    }

    fn json(body: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            body: Bytes::from(body),
        }
    }

    /// The `Content-Type` to send: `application/json;charset=UTF-8` when there is a body.
    pub fn content_type(&self) -> Option<&'static str> {
        (!self.body.is_empty()).then_some("application/json;charset=UTF-8")
    }
}

impl From<WebhookError> for WebhookResponse {
    fn from(error: WebhookError) -> Self {
        Self {
            status: error.status(),
            body: Bytes::from(error.body()),
        }
    }
}

impl fmt::Debug for WebhookResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A 200 answer to create/verify carries a user token.
        f.debug_struct("WebhookResponse")
            .field("status", &self.status.as_u16())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Your service's side of the webhooks. The receiver has already checked the credential,
/// parsed the body and recognised repeated events when a method is called; what a method
/// returns becomes the answer (`Ok` → `200 OK`, `Err` → the error's status and body).
///
/// Events and notifications default to accepting and ignoring; create and verify are yours.
#[async_trait]
pub trait AccountHandler: Send + Sync + 'static {
    /// Registers a new account for `request.user_id`. Return
    /// [`WebhookError::already_registered`] (409/2005) if it exists. On `Ok` the receiver
    /// issues the user token and answers `{"userId","token"}`.
    async fn create_user(&self, request: &UserCreate) -> Result<(), WebhookError>;

    /// Checks the login and password the user typed for an account of YOUR service. Return
    /// [`WebhookError::wrong_user_credentials`] (401/1006) when they are wrong. On `Ok` the
    /// receiver issues the user token and answers `{"userId","hasBilling","token"}`.
    async fn verify_user(&self, request: &UserVerify) -> Result<VerifiedUser, WebhookError>;

    /// A Cloud token for `user_id` arrived; the receiver has already stored it (last write wins).
    async fn cloud_token_received(&self, user_id: &UserId) -> Result<(), WebhookError> {
        let _ = user_id;
        Ok(())
    }

    /// A subscription event, called once per `subscriptionId` + `sequenceNumber` (an `Err`
    /// leaves it unapplied, so the Cloud's next delivery tries again).
    async fn subscription_event(&self, event: &SubscriptionEvent) -> Result<(), WebhookError> {
        let _ = event;
        Ok(())
    }

    /// An installation event, called once per `id`.
    async fn installation_event(&self, event: &InstallationEvent) -> Result<(), WebhookError> {
        let _ = event;
        Ok(())
    }

    /// A barcode lookup (`GET /api/v1/commodities`) for `user_id`: the item as JSON (the spec's
    /// `commodity`: `name`, `scanCodes`, `alcCodes`, `measure`, ...), or `None` for 404 `{}`.
    /// The default finds nothing.
    async fn commodity(
        &self,
        user_id: &UserId,
        scan_code: &str,
        alc_code: Option<&str>,
    ) -> Result<Option<serde_json::Value>, WebhookError> {
        let _ = (user_id, scan_code, alc_code);
        Ok(None)
    }

    /// A notification for `user_id` (receipts: once per user and `id`).
    async fn notification(
        &self,
        user_id: &UserId,
        notification: &Notification,
    ) -> Result<(), WebhookError> {
        let _ = (user_id, notification);
        Ok(())
    }
}

/// Receives the Cloud's webhooks.
///
/// - [`authorize`](Self::authorize) checks the `Authorization` header for an endpoint before any
///   body is read: 401 with code 1001 (service credential) or 1002/1003 (user token).
/// - [`process`](Self::process) parses the body (400 with 2001/2002/2003), calls the
///   [`AccountHandler`], issues user tokens for create/verify, stores Cloud tokens, and
///   acknowledges repeated events without applying them again.
///
/// Cloning is cheap; clones share everything.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReceiverConfig,
    verifier: ServiceVerifier,
    store: Arc<dyn WebhookStore>,
    handler: Arc<dyn AccountHandler>,
    in_flight: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn internal(what: &str, error: &AuthError) -> WebhookError {
    tracing::error!(%error, "{what}");
    WebhookError::internal()
}

impl Receiver {
    /// A receiver with `config`, keeping its state in `store` and calling `handler`.
    pub fn new(
        config: ReceiverConfig,
        store: Arc<dyn WebhookStore>,
        handler: Arc<dyn AccountHandler>,
    ) -> Self {
        let verifier = ServiceVerifier::new(&config);
        Self {
            inner: Arc::new(Inner {
                config,
                verifier,
                store,
                handler,
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ReceiverConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn WebhookStore> {
        &self.inner.store
    }

    /// The service-credential verifier.
    pub fn verifier(&self) -> &ServiceVerifier {
        &self.inner.verifier
    }

    /// Checks the credential `endpoint` needs in `headers`. Reads no body.
    pub async fn authorize(
        &self,
        endpoint: &Endpoint,
        headers: &HeaderMap,
    ) -> Result<Caller, WebhookError> {
        let presented = authorization::presented(headers);
        match endpoint.guard() {
            Guard::Service => match presented {
                Ok(p) if self.inner.verifier.verify(&p) => Ok(Caller::Service),
                _ => Err(WebhookError::bad_service_credential()),
            },
            Guard::User => match presented {
                Ok(p) => self.user_of(&p).await.map(Caller::User),
                Err(_) => Err(WebhookError::bad_user_token()),
            },
            Guard::Event => {
                let Ok(p) = presented else {
                    return Err(WebhookError::bad_service_credential());
                };
                let policy = self.inner.config.event_auth;
                if policy != EventAuth::UserOnly && self.inner.verifier.verify(&p) {
                    return Ok(Caller::Service);
                }
                if policy == EventAuth::ServiceOnly {
                    return Err(WebhookError::bad_service_credential());
                }
                match self.user_of(&p).await {
                    Ok(user) => Ok(Caller::User(user)),
                    Err(error) if policy == EventAuth::UserOnly => Err(error),
                    Err(error) if error.code() == Some(1003) => Err(error),
                    Err(error) if error.status() == StatusCode::UNAUTHORIZED => {
                        Err(WebhookError::bad_service_credential())
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    /// The user a presented user token belongs to.
    async fn user_of(&self, presented: &Presented<'_>) -> Result<UserId, WebhookError> {
        let token = match *presented {
            Presented::Bearer(token) => token,
            Presented::Bare(token) if self.inner.config.accept_bare_token => token,
            _ => return Err(WebhookError::bad_user_token()),
        };
        if token.is_empty() || token.len() > MAX_USER_TOKEN_LEN {
            return Err(WebhookError::bad_user_token());
        }
        let record = self
            .inner
            .store
            .find_user_token(&TokenDigest::of(token))
            .await
            .map_err(|error| internal("user-token lookup failed", &error))?
            .ok_or_else(WebhookError::bad_user_token)?;
        if let Some(lifetime) = self.inner.config.user_token_lifetime
            && now_ms().saturating_sub(record.issued_at_ms) > lifetime.as_millis() as u64
        {
            return Err(WebhookError::user_token_expired());
        }
        Ok(record.user_id)
    }

    /// Checks the credential, then processes `body`: what a framework calls when it has the
    /// whole request. Prefer [`authorize`](Self::authorize) before reading a body.
    pub async fn handle(
        &self,
        endpoint: &Endpoint,
        headers: &HeaderMap,
        body: &[u8],
    ) -> WebhookResponse {
        match self.authorize(endpoint, headers).await {
            Ok(caller) => self.process(endpoint, &caller, body).await,
            Err(error) => error.into(),
        }
    }

    /// Processes the body of an authorised request.
    pub async fn process(
        &self,
        endpoint: &Endpoint,
        caller: &Caller,
        body: &[u8],
    ) -> WebhookResponse {
        if body.len() > self.inner.config.body_limit {
            return WebhookError::too_large().into();
        }
        match self.dispatch(endpoint, caller, body).await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(endpoint = %endpoint.path(), %error, "webhook refused");
                error.into()
            }
        }
    }

    async fn dispatch(
        &self,
        endpoint: &Endpoint,
        caller: &Caller,
        body: &[u8],
    ) -> Result<WebhookResponse, WebhookError> {
        let handler = &self.inner.handler;
        match endpoint {
            Endpoint::UserCreate => {
                let request: UserCreate = parse_body(body)?;
                handler.create_user(&request).await?;
                let token = self.issue(&request.user_id).await?;
                Ok(WebhookResponse::json(bodies::create_reply(
                    &request.user_id,
                    &token,
                )))
            }
            Endpoint::UserVerify => {
                let request: UserVerify = parse_body(body)?;
                let verified = handler.verify_user(&request).await?;
                let token = self.issue(&request.user_id).await?;
                Ok(WebhookResponse::json(bodies::verify_reply(
                    &request.user_id,
                    verified,
                    &token,
                )))
            }
            Endpoint::UserToken => {
                let request: CloudTokenDelivery = parse_body(body)?;
                if !crate::protocol::is_header_safe_token(request.token.expose_secret()) {
                    // The spec allows any string; keep it (the Cloud would re-send a refusal
                    // for ever) and say why calls with it will fail.
                    tracing::warn!(user = %request.user_id, "the Cloud token is not a valid header value; calls with it will be refused until the Cloud sends another");
                }
                self.inner
                    .store
                    .save_cloud_token(&request.user_id, request.token.clone())
                    .await
                    .map_err(|error| internal("could not store the Cloud token", &error))?;
                tracing::info!(user = %request.user_id, "Cloud token received");
                handler.cloud_token_received(&request.user_id).await?;
                Ok(WebhookResponse::ok())
            }
            Endpoint::SubscriptionEvent => {
                let event: SubscriptionEvent = parse_body(body)?;
                check_user_matches(caller, &event.user_id)?;
                self.once(&event.delivery_key(), handler.subscription_event(&event))
                    .await
            }
            Endpoint::InstallationEvent => {
                let event: InstallationEvent = parse_body(body)?;
                check_user_matches(caller, &event.data.user_id)?;
                self.once(&event.delivery_key(), handler.installation_event(&event))
                    .await
            }
            Endpoint::Stores => {
                self.notify(caller, Notification::Stores(parse_items(body)?))
                    .await
            }
            Endpoint::Devices => {
                self.notify(caller, Notification::Devices(parse_items(body)?))
                    .await
            }
            Endpoint::Employees => {
                self.notify(caller, Notification::Employees(parse_items(body)?))
                    .await
            }
            Endpoint::Documents { store_uuid } => {
                let documents = parse_items(body)?;
                self.notify(
                    caller,
                    Notification::Documents {
                        store_uuid: store_uuid.clone(),
                        documents,
                    },
                )
                .await
            }
            Endpoint::Products { store_uuid } => {
                let products = parse_items(body)?;
                self.notify(
                    caller,
                    Notification::Products {
                        store_uuid: store_uuid.clone(),
                        products,
                    },
                )
                .await
            }
            Endpoint::Receipts => {
                let receipts: Vec<ReceiptEvent> = parse_items(body)?;
                let Caller::User(user) = caller else {
                    return Err(WebhookError::bad_user_token());
                };
                for receipt in &receipts {
                    if let Some(stated) = &receipt.user_id {
                        check_user_matches(caller, stated)?;
                    }
                }
                // One at a time, each once: a failure leaves the rest for the Cloud's next
                // delivery, and the ones already applied are acknowledged then.
                for receipt in receipts {
                    let key = receipt.delivery_key(user);
                    let notification = Notification::Receipt(Box::new(receipt));
                    self.once(&key, handler.notification(user, &notification))
                        .await?;
                }
                Ok(WebhookResponse::ok())
            }
            Endpoint::Commodities {
                scan_code,
                alc_code,
            } => {
                let Caller::User(user) = caller else {
                    return Err(WebhookError::bad_user_token());
                };
                let scan_code = scan_code
                    .as_deref()
                    .ok_or_else(|| WebhookError::missing("scanCode"))?;
                match handler
                    .commodity(user, scan_code, alc_code.as_deref())
                    .await?
                {
                    Some(item) => Ok(WebhookResponse::json(
                        serde_json::to_vec(&item).unwrap_or_else(|_| b"{}".to_vec()),
                    )),
                    None => Err(WebhookError::not_found()),
                }
            }
        }
    }

    async fn notify(
        &self,
        caller: &Caller,
        notification: Notification,
    ) -> Result<WebhookResponse, WebhookError> {
        let Caller::User(user) = caller else {
            return Err(WebhookError::bad_user_token());
        };
        self.inner.handler.notification(user, &notification).await?;
        Ok(WebhookResponse::ok())
    }

    /// Applies `apply` unless the event with `key` was applied before; either way `200 OK`.
    /// Deliveries of one key are serialised, so two concurrent copies apply it once.
    async fn once(
        &self,
        key: &str,
        apply: impl Future<Output = Result<(), WebhookError>>,
    ) -> Result<WebhookResponse, WebhookError> {
        let lock = self.key_lock(key);
        let _guard = lock.lock().await;
        let store = &self.inner.store;
        if store
            .event_applied(key)
            .await
            .map_err(|error| internal("event lookup failed", &error))?
        {
            tracing::debug!(key, "repeated delivery acknowledged, not applied again");
            return Ok(WebhookResponse::ok());
        }
        apply.await?;
        store
            .mark_event_applied(key, now_ms(), self.inner.config.event_retention)
            .await
            .map_err(|error| internal("could not record the applied event", &error))?;
        Ok(WebhookResponse::ok())
    }

    fn key_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = map.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.to_owned(), Arc::downgrade(&lock));
        lock
    }

    async fn issue(&self, user_id: &UserId) -> Result<SecretString, WebhookError> {
        self.issue_user_token(user_id)
            .await
            .map_err(|error| internal("could not issue a user token", &error))
    }

    /// Issues a new user token for `user_id` and revokes the user's earlier ones (the Cloud keeps
    /// one token per user and app; it gets the new one in the answer to create/verify).
    pub async fn issue_user_token(&self, user_id: &UserId) -> Result<SecretString, AuthError> {
        let token = generate_user_token()?;
        // One store operation: concurrent verifies of one user (and several replicas on one
        // store) leave exactly one valid token, the last one issued.
        self.inner
            .store
            .replace_user_tokens(
                &TokenDigest::of(token.expose_secret()),
                UserTokenRecord {
                    user_id: user_id.clone(),
                    issued_at_ms: now_ms(),
                },
            )
            .await?;
        Ok(token)
    }

    /// Revokes every user token of `user_id` (after an uninstall, say): the Cloud's next
    /// notification for that user gets 401/1002. Returns how many were revoked.
    pub async fn revoke_user(&self, user_id: &UserId) -> Result<usize, AuthError> {
        self.inner.store.revoke_user_tokens(user_id).await
    }
}

/// A user token may only speak for its own user.
fn check_user_matches(caller: &Caller, stated: &UserId) -> Result<(), WebhookError> {
    match caller {
        Caller::User(user) if user != stated => {
            tracing::warn!(token_user = %user, body_user = %stated, "a user token was used for another user's event");
            Err(WebhookError::bad_user_token())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_sheet() {
        let cases = [
            (
                Method::POST,
                "/api/v1/user/create",
                Some(Endpoint::UserCreate),
            ),
            (
                Method::POST,
                "/api/v1/user/verify",
                Some(Endpoint::UserVerify),
            ),
            (
                Method::POST,
                "/api/v1/user/token",
                Some(Endpoint::UserToken),
            ),
            (
                Method::POST,
                "/api/v1/subscription/event",
                Some(Endpoint::SubscriptionEvent),
            ),
            (
                Method::POST,
                "/api/v2/installation/event",
                Some(Endpoint::InstallationEvent),
            ),
            (
                Method::PUT,
                "/api/v1/inventories/stores",
                Some(Endpoint::Stores),
            ),
            (
                Method::PUT,
                "/api/v1/inventories/devices",
                Some(Endpoint::Devices),
            ),
            (
                Method::PUT,
                "/api/v1/inventories/employees",
                Some(Endpoint::Employees),
            ),
            (
                Method::PUT,
                "/api/v1/inventories/stores/s1/documents",
                Some(Endpoint::Documents {
                    store_uuid: "s1".into(),
                }),
            ),
            (
                Method::POST,
                "/api/v1/inventories/stores/s1/products",
                Some(Endpoint::Products {
                    store_uuid: "s1".into(),
                }),
            ),
            (Method::POST, "/api/v2/receipts", Some(Endpoint::Receipts)),
            (Method::GET, "/api/v1/user/create", None),
            (Method::POST, "/api/v1/inventories/stores", None),
            (Method::POST, "/api/v1/inventories/stores//products", None),
            (
                Method::POST,
                "/api/v1/inventories/stores/a/b/products",
                None,
            ),
            (Method::POST, "/api/v1/installation/event", None),
            (
                Method::GET,
                "/api/v1/commodities",
                Some(Endpoint::Commodities {
                    scan_code: None,
                    alc_code: None,
                }),
            ),
            (Method::POST, "/api/v1/commodities", None),
        ];
        for (method, path, expected) in cases {
            let endpoint = Endpoint::route(&method, path);
            assert_eq!(endpoint, expected, "{method} {path}");
            if let Some(endpoint) = endpoint {
                assert_eq!(endpoint.path(), path);
            }
        }
        assert_eq!(Endpoint::UserToken.guard(), Guard::Service);
        assert_eq!(Endpoint::InstallationEvent.guard(), Guard::Event);
        assert_eq!(Endpoint::Receipts.guard(), Guard::User);
        assert_eq!(
            Endpoint::route(
                &Method::GET,
                "/api/v1/commodities?scanCode=46%2000&alcCode=0000000000000000001"
            ),
            Some(Endpoint::Commodities {
                scan_code: Some("46 00".into()),
                alc_code: Some("0000000000000000001".into()),
            })
        );
        assert_eq!(
            Endpoint::commodities("alcCode=1").guard(),
            Guard::User,
            "the barcode lookup needs the user token"
        );
    }
}
