//! A loopback emulator of the Bank Alliance API (feature `testkit`).
//!
//! - `POST /api-gateway/authorize_virtual_device`: checks `x-api_version`, `x-request_id` and
//!   the service code, starts a new session (ending the previous one, as the bank does) with a
//!   fresh `serverPublic` key of its own, and answers `{"jwe": …}` encrypted to the merchant's
//!   public key (ECDH-ES+A256KW / A256GCM).
//! - Every other path is a protected API method: it answers `{"status":"OK",…}` to the current
//!   session's `x-device_id` + `x-refresh_token`, and rejects anything else either with HTTP
//!   401 or with HTTP 200 + an auth `msgCode` (see [`Rejection`]).
//! - `POST /ecom/execute_request/payments/…` expects a body JWE-encrypted to the current
//!   session's `serverPublic` (a body encrypted to an earlier session's key gets
//!   `b_encryptor_failed_decrypt_message`) and answers `{"jwe": …}` encrypted to the merchant key, like the legacy H2H
//!   endpoints.
//!
//! It counts authorizations, records requests (no secrets), and injects failures:
//! `emulator.inject(Endpoint::…, Failure::…)` with the shared
//! [`Failure`], the bank's own in
//! `Failure::Provider(`[`ProviderFailure`]`::…)`.
//!
//! # Control API
//!
//! For tests in any language (`propusk emulate alliance`): `POST /_emulator/revoke` and
//! `POST /_emulator/expire` end the current session (the next API request is rejected);
//! `POST /_emulator/rejection?under=200` makes stale sessions get HTTP 200 + `b_used_token`
//! (`under=401`, the default: HTTP 401 + `b_expired_token`);
//! `POST /_emulator/fail-auth?count=N&status=S` makes the next N authorizations answer S
//! (defaults 1 and 503); `GET /_emulator/counters` answers
//! `{"authentications","api_calls","api_rejections"}`.
//!
//! # Example
//!
//! ```
//! use alliance_auth::AllianceSource;
//! use alliance_auth::testkit::{Emulator, Endpoint, ProviderFailure};
//! use auth_core::testkit::emulator::Failure;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = Emulator::start().await;
//! let source = AllianceSource::new(emulator.config()); // the demo merchant at this emulator
//! emulator.inject(Endpoint::Authorize, Failure::Provider(ProviderFailure::ServiceCodeClosed));
//! assert!(source.authorize().await.unwrap_err().is_rejection());
//! emulator.inject(Endpoint::Authorize, Failure::Status(503));
//! assert!(source.authorize().await.unwrap_err().is_transient());
//! source.authorize().await?;
//! assert_eq!(emulator.authorizations(), 3);
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use auth_core::testkit::emulator::{
    EmulatorControl, EmulatorServer, Failure, FailureQueue, Injected, control_routes,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use josekit::jwe::{ECDH_ES, JweHeader};
use josekit::jwk::alg::ec::EcCurve;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::{AllianceConfig, AllianceConfigBuilder};
use crate::jwe;
use crate::key::{MerchantKey, PublicKey};
use crate::protocol::{
    API_VERSION_HEADER, DEVICE_ID_HEADER, REFRESH_TOKEN_HEADER, REQUEST_ID_HEADER,
};

/// The demo merchant's service code (the test `serviceCode` from the bank's docs).
pub const DEMO_SERVICE_CODE: &str = "a51e68aa-c6fa-11ed-afa1-0242ac120005";

/// The demo merchant's authorization key: the bank's published test key pair, repaired
/// (protocol sheet §2.1). It is public; use it only with emulators and the bank's test host.
pub const DEMO_AUTH_KEY: &str = r#"{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW","d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd","x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC","y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

/// The demo merchant's [`DEMO_AUTH_KEY`], parsed.
pub fn demo_auth_key() -> MerchantKey {
    MerchantKey::from_jwk(DEMO_AUTH_KEY).expect("the repaired demo key is valid")
}

/// Which endpoint a failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api-gateway/authorize_virtual_device`.
    Authorize,
    /// Any other path.
    Api,
}

/// How the emulator refuses a request whose session is not the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// HTTP 401 with an error envelope carrying this `msgCode`.
    Http401(String),
    /// HTTP 200 with an error envelope (`msgType: ERROR`) carrying this `msgCode`.
    Http200(String),
}

impl Rejection {
    /// HTTP 401 + `b_expired_token` (the default).
    pub fn unauthorized() -> Self {
        Self::Http401("b_expired_token".into())
    }

    /// HTTP 200 + `b_used_token`: the rejection that hides in a success status.
    pub fn used_token_under_200() -> Self {
        Self::Http200("b_used_token".into())
    }

    fn respond(&self) -> Response {
        let (status, code) = match self {
            Self::Http401(code) => (StatusCode::UNAUTHORIZED, code),
            Self::Http200(code) => (StatusCode::OK, code),
        };
        error_envelope(status, code, "session rejected by the emulator")
    }
}

/// The bank's own failures, injected as `Failure::Provider(ProviderFailure::…)` (the shared
/// [`Failure`]'s `Status(code)` answers `code` with the bank's error envelope,
/// `b_unknown_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderFailure {
    /// Answer with this rejection (API: also for a valid session; authorize: as is).
    Reject(Rejection),
    /// Authorize: HTTP 401 + `b_auth_token_expired` (the service code is closed).
    ServiceCodeClosed,
    /// Authorize: encrypt the answer to another key.
    WrongKey,
    /// Authorize: encrypt the answer with `ECDH-ES` (direct key agreement) instead of
    /// `ECDH-ES+A256KW`.
    WrongAlgorithm,
    /// Authorize: encrypt this text, properly, instead of the session (to send a session with
    /// missing or wrong-typed fields).
    Payload(String),
}

/// One request the emulator saw. No secret is kept: the refresh token only as "present".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// `x-api_version`, if sent.
    pub api_version: Option<String>,
    /// `x-request_id`, if sent.
    pub request_id: Option<String>,
    /// `x-device_id`, if sent (empty on a correct authorize).
    pub device_id: Option<String>,
    /// Whether `x-refresh_token` was sent with a non-empty value (`None`: not sent).
    pub refresh_token_nonempty: Option<bool>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// Whether the request carried the current session.
    pub valid_session: bool,
}

/// How the authorize answer states the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryStyle {
    /// `tokenExpirationDateTime` (`2023-03-18 12:34:52.0998 +0000`) and `tokenExpiration`
    /// (`2023-03-18 14:34:52.099+02:00`), as the bank does. Default.
    Both,
    /// Only `tokenExpiration`.
    KyivOnly,
    /// Neither (the client must assume 24 h).
    None,
}

struct Session {
    device_id: String,
    refresh_token: String,
    /// The private half of this session's `serverPublic`.
    key: MerchantKey,
}

struct EmulatorState {
    service_code: String,
    api_version: String,
    merchant_public: PublicKey,
    server_key: MerchantKey,
    lifetime: Duration,
    expiry_style: ExpiryStyle,
    legacy_key_name: bool,
    rejection: Mutex<Rejection>,
    session: Mutex<Option<Session>>,
    authorizations: AtomicUsize,
    api_calls: AtomicUsize,
    api_rejections: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    failures: FailureQueue<Endpoint, ProviderFailure>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds an [`Emulator`].
#[derive(Debug)]
pub struct EmulatorBuilder {
    service_code: String,
    api_version: String,
    merchant_public: PublicKey,
    lifetime: Duration,
    expiry_style: ExpiryStyle,
    legacy_key_name: bool,
    rejection: Rejection,
}

impl EmulatorBuilder {
    /// The service code it accepts. Default [`DEMO_SERVICE_CODE`].
    pub fn service_code(mut self, code: impl Into<String>) -> Self {
        self.service_code = code.into();
        self
    }

    /// The `x-api_version` it requires. Default `V1`.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// The merchant public key it encrypts to. Default the public half of [`DEMO_AUTH_KEY`].
    pub fn merchant_public(mut self, key: PublicKey) -> Self {
        self.merchant_public = key;
        self
    }

    /// How long its sessions live. Default 24 h.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How its authorize answer states the expiry. Default [`ExpiryStyle::Both`].
    pub fn expiry_style(mut self, style: ExpiryStyle) -> Self {
        self.expiry_style = style;
        self
    }

    /// Names the session key `serverPublicKey` (an older doc example) instead of
    /// `serverPublic`. Default `false`.
    pub fn legacy_key_name(mut self, legacy: bool) -> Self {
        self.legacy_key_name = legacy;
        self
    }

    /// How it rejects a stale session. Default [`Rejection::unauthorized`].
    pub fn rejection(mut self, rejection: Rejection) -> Self {
        self.rejection = rejection;
        self
    }

    /// Starts on `127.0.0.1` at a free port.
    pub async fn start(self) -> Emulator {
        self.start_on(EmulatorServer::loopback_listener().await)
    }

    /// Starts on `listener` (for `propusk emulate alliance --listen ADDR`). It also serves the
    /// control API under `/_emulator/` (see the module docs).
    pub fn start_on(self, listener: tokio::net::TcpListener) -> Emulator {
        let server_key = generate_key();
        let state = Arc::new(EmulatorState {
            service_code: self.service_code,
            api_version: self.api_version,
            merchant_public: self.merchant_public,
            server_key,
            lifetime: self.lifetime,
            expiry_style: self.expiry_style,
            legacy_key_name: self.legacy_key_name,
            rejection: Mutex::new(self.rejection),
            session: Mutex::new(None),
            authorizations: AtomicUsize::new(0),
            api_calls: AtomicUsize::new(0),
            api_rejections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            failures: FailureQueue::default(),
        });
        let app = Router::new()
            .route("/api-gateway/authorize_virtual_device", post(authorize))
            .route("/_emulator/rejection", post(control_rejection))
            .fallback(api)
            .with_state(Arc::clone(&state))
            .merge(control_routes(Arc::clone(&state)));
        Emulator {
            server: EmulatorServer::serve(listener, app),
            state,
        }
    }
}

/// The running emulator; stops when dropped.
pub struct Emulator {
    server: EmulatorServer,
    state: Arc<EmulatorState>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("address", &self.server.address())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with the demo merchant.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            service_code: DEMO_SERVICE_CODE.to_owned(),
            api_version: crate::protocol::DEFAULT_API_VERSION.to_owned(),
            merchant_public: demo_auth_key().public_key().clone(),
            lifetime: crate::SESSION_LIFETIME,
            expiry_style: ExpiryStyle::Both,
            legacy_key_name: false,
            rejection: Rejection::unauthorized(),
        }
    }

    /// Starts with the demo merchant and the defaults of [`EmulatorBuilder`].
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> String {
        format!("{}/", self.server.base_url())
    }

    /// `http://127.0.0.1:<port>/<path>` (`path` without a leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path.trim_start_matches('/'))
    }

    /// A config builder for the demo merchant at this emulator.
    pub fn config_builder(&self) -> AllianceConfigBuilder {
        AllianceConfig::builder()
            .base_url(self.base_url())
            .service_code(self.state.service_code.clone())
            .authorization_key(demo_auth_key())
    }

    /// The demo merchant's config at this emulator.
    pub fn config(&self) -> AllianceConfig {
        self.config_builder()
            .build()
            .expect("the demo merchant is valid")
    }

    /// How many authorize requests arrived (successful or not).
    pub fn authorizations(&self) -> usize {
        self.state.authorizations.load(Ordering::SeqCst)
    }

    /// How many API requests (any other path) arrived.
    pub fn api_calls(&self) -> usize {
        self.state.api_calls.load(Ordering::SeqCst)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The current session's `deviceId`, if any.
    pub fn current_device_id(&self) -> Option<String> {
        lock(&self.state.session)
            .as_ref()
            .map(|s| s.device_id.clone())
    }

    /// Ends the current session, as the bank does when another authorize happens elsewhere:
    /// the next API request is rejected.
    pub fn end_session(&self) {
        *lock(&self.state.session) = None;
    }

    /// Changes how a stale session is rejected.
    pub fn set_rejection(&self, rejection: Rejection) {
        *lock(&self.state.rejection) = rejection;
    }

    /// The next answer of `endpoint` fails with `failure` (failures queue up in order).
    pub fn inject(&self, endpoint: Endpoint, failure: Failure<ProviderFailure>) {
        self.state.failures.push(endpoint, failure);
    }

    /// A key of the emulator's own, for the life of the emulator: it stands in for the bank's
    /// payment key (to check card fields encrypted to it), and a [`ProviderFailure::WrongKey`] answer is
    /// encrypted to it. Not a session's key: see [`session_key`](Self::session_key).
    pub fn server_key(&self) -> &MerchantKey {
        &self.state.server_key
    }

    /// The private half of the current session's `serverPublic` (new with every authorize), to
    /// check what clients encrypted to it; `None` before the first authorize or after
    /// [`end_session`](Self::end_session).
    pub fn session_key(&self) -> Option<MerchantKey> {
        lock(&self.state.session).as_ref().map(|s| s.key.clone())
    }
}

impl EmulatorState {
    /// What `endpoint` does about its next injected failure, if any: a shared failure's answer
    /// (`Status` with the bank's error envelope), or the bank's own failure to carry out.
    async fn take_failure(&self, endpoint: Endpoint) -> Injected<ProviderFailure> {
        match self.failures.take(&endpoint) {
            Some(failure) => {
                failure
                    .answer(|status| error_envelope(status, "b_unknown_error", "injected failure"))
                    .await
            }
            None => Injected::Normal,
        }
    }

    fn session_is_current(&self, headers: &HeaderMap) -> bool {
        let device = header_text(headers, DEVICE_ID_HEADER);
        let refresh = header_text(headers, REFRESH_TOKEN_HEADER);
        lock(&self.session).as_ref().is_some_and(|session| {
            device.as_deref() == Some(session.device_id.as_str())
                && refresh.as_deref() == Some(session.refresh_token.as_str())
        })
    }

    fn record(&self, method: &Method, path: &str, headers: &HeaderMap, valid_session: bool) {
        lock(&self.requests).push(RecordedRequest {
            method: method.to_string(),
            path: path.to_owned(),
            api_version: header_text(headers, API_VERSION_HEADER),
            request_id: header_text(headers, REQUEST_ID_HEADER),
            device_id: header_text(headers, DEVICE_ID_HEADER),
            refresh_token_nonempty: header_text(headers, REFRESH_TOKEN_HEADER)
                .map(|v| !v.is_empty()),
            content_type: header_text(headers, header::CONTENT_TYPE.as_str()),
            valid_session,
        });
    }

    /// `Some(answer)` when the common headers are wrong.
    fn check_common_headers(&self, headers: &HeaderMap) -> Option<Response> {
        if header_text(headers, API_VERSION_HEADER).as_deref() != Some(self.api_version.as_str()) {
            return Some(error_envelope(
                StatusCode::BAD_REQUEST,
                "b_request_is_not_correct",
                "x-api_version is missing or unsupported",
            ));
        }
        let request_id = header_text(headers, REQUEST_ID_HEADER).unwrap_or_default();
        if uuid::Uuid::parse_str(&request_id).is_err() {
            return Some(error_envelope(
                StatusCode::BAD_REQUEST,
                "b_request_is_not_correct",
                "x-request_id must be a UUID",
            ));
        }
        None
    }

    fn session_payload(&self, session: &Session) -> Value {
        let now = OffsetDateTime::now_utc();
        let expires = now + self.lifetime;
        let utc = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:4] +0000"
        );
        let kyiv = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]+02:00"
        );
        let kyiv_time =
            expires.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap_or(time::UtcOffset::UTC));
        let server_public: Value =
            serde_json::from_str(&session.key.public_key().to_jwk_json()).unwrap_or(Value::Null);
        let mut payload = json!({
            "refreshToken": session.refresh_token,
            "authToken": uuid::Uuid::new_v4().to_string(),
            "deviceId": session.device_id,
        });
        let key_name = if self.legacy_key_name {
            "serverPublicKey"
        } else {
            "serverPublic"
        };
        payload[key_name] = server_public;
        if self.expiry_style == ExpiryStyle::Both {
            payload["tokenExpirationDateTime"] = expires.format(utc).unwrap_or_default().into();
        }
        if self.expiry_style != ExpiryStyle::None {
            payload["tokenExpiration"] = kyiv_time.format(kyiv).unwrap_or_default().into();
        }
        payload
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn error_envelope(status: StatusCode, code: &str, text: &str) -> Response {
    let body = json!({
        "requestId": uuid::Uuid::new_v4().to_string(),
        "serviceId": "api-gateway",
        "msgCode": code,
        "msgType": "ERROR",
        "msgText": text,
        "isLocalized": false,
        "msgAttrs": {},
        "errorCauses": [],
    });
    (status, axum::Json(body)).into_response()
}

impl ProviderFailure {
    /// The answer that replaces the endpoint's, for the failures that replace it.
    fn answer(&self) -> Option<Response> {
        match self {
            Self::Reject(rejection) => Some(rejection.respond()),
            Self::ServiceCodeClosed => Some(error_envelope(
                StatusCode::UNAUTHORIZED,
                "b_auth_token_expired",
                "Auth token expired",
            )),
            Self::WrongKey | Self::WrongAlgorithm | Self::Payload(_) => None,
        }
    }
}

async fn authorize(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.authorizations.fetch_add(1, Ordering::SeqCst);
    state.record(
        &Method::POST,
        "/api-gateway/authorize_virtual_device",
        &headers,
        false,
    );
    let failure = match state.take_failure(Endpoint::Authorize).await {
        Injected::Answer(response) => return response,
        Injected::Provider(failure) => match failure.answer() {
            Some(response) => return response,
            None => Some(failure),
        },
        Injected::Normal => None,
    };
    if let Some(response) = state.check_common_headers(&headers) {
        return response;
    }
    let service_code = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("serviceCode")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    if service_code.as_deref() != Some(state.service_code.as_str()) {
        return error_envelope(
            StatusCode::BAD_REQUEST,
            "b_request_is_not_correct",
            "unknown or missing serviceCode",
        );
    }
    // A new authorize ends the previous session.
    let session = Session {
        device_id: uuid::Uuid::new_v4().to_string(),
        refresh_token: uuid::Uuid::new_v4().to_string(),
        key: generate_key(),
    };
    let payload = state.session_payload(&session).to_string();
    *lock(&state.session) = Some(session);
    let jwe = match failure {
        Some(ProviderFailure::WrongKey) => {
            jwe::encrypt(state.server_key.public_key(), payload.as_bytes())
        }
        Some(ProviderFailure::WrongAlgorithm) => {
            encrypt_direct(&state.merchant_public, payload.as_bytes())
        }
        Some(ProviderFailure::Payload(text)) => {
            jwe::encrypt(&state.merchant_public, text.as_bytes())
        }
        _ => jwe::encrypt(&state.merchant_public, payload.as_bytes()),
    };
    match jwe {
        Ok(jwe) => axum::Json(json!({ "jwe": jwe })).into_response(),
        Err(_) => error_envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            "b_unknown_error",
            "encryption failed",
        ),
    }
}

/// A fresh P-384 key pair, as the bank makes for every session.
fn generate_key() -> MerchantKey {
    let pair = josekit::jwe::ECDH_ES_A256KW
        .generate_ec_key_pair(EcCurve::P384)
        .expect("OpenSSL generates a P-384 key");
    MerchantKey::from_jwk(&pair.to_jwk_key_pair().to_string()).expect("a generated key is valid")
}

/// ECDH-ES with direct key agreement: a JWE this API never uses.
fn encrypt_direct(key: &PublicKey, plaintext: &[u8]) -> Result<String, crate::JweError> {
    let jwk = josekit::jwk::Jwk::from_bytes(key.to_jwk_json().replace("ECDH-ES+A256KW", "ECDH-ES"))
        .map_err(|_| crate::JweError::new("bad key"))?;
    let encrypter = ECDH_ES
        .encrypter_from_jwk(&jwk)
        .map_err(|_| crate::JweError::new("bad key"))?;
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    josekit::jwe::serialize_compact(plaintext, &header, &encrypter)
        .map_err(|_| crate::JweError::new("encryption failed"))
}

async fn api(
    State(state): State<Arc<EmulatorState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.api_calls.fetch_add(1, Ordering::SeqCst);
    let path = uri.path().to_owned();
    let valid = state.session_is_current(&headers);
    state.record(&method, &path, &headers, valid);
    match state.take_failure(Endpoint::Api).await {
        Injected::Answer(response) => return response,
        Injected::Provider(failure) => {
            if let Some(response) = failure.answer() {
                return response;
            }
        }
        Injected::Normal => {}
    }
    if let Some(response) = state.check_common_headers(&headers) {
        return response;
    }
    if !valid {
        state.api_rejections.fetch_add(1, Ordering::SeqCst);
        return lock(&state.rejection).respond();
    }
    if method == Method::POST && path.starts_with("/ecom/execute_request/payments/") {
        let text = String::from_utf8_lossy(&body);
        let key = lock(&state.session).as_ref().map(|s| s.key.clone());
        let Some(Ok(plaintext)) = key.map(|key| jwe::decrypt(&key, &text)) else {
            return error_envelope(
                StatusCode::OK,
                "b_encryptor_failed_decrypt_message",
                "could not decrypt the request",
            );
        };
        let received: Value = serde_json::from_slice(&plaintext)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&plaintext).into_owned()));
        let answer = json!({ "status": "OK", "path": path, "received": received }).to_string();
        return match jwe::encrypt(&state.merchant_public, answer.as_bytes()) {
            Ok(jwe) => axum::Json(json!({ "jwe": jwe })).into_response(),
            Err(_) => error_envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                "b_unknown_error",
                "encryption failed",
            ),
        };
    }
    axum::Json(json!({ "status": "OK", "path": path, "operations": [] })).into_response()
}

/// `?under=200|401` of `POST /_emulator/rejection`.
#[derive(serde::Deserialize)]
struct RejectionQuery {
    under: Option<u16>,
}

async fn control_rejection(
    State(state): State<Arc<EmulatorState>>,
    axum::extract::Query(query): axum::extract::Query<RejectionQuery>,
) -> Response {
    let rejection = match query.under {
        Some(200) => Rejection::used_token_under_200(),
        None | Some(401) => Rejection::unauthorized(),
        Some(_) => return (StatusCode::BAD_REQUEST, "under=200 or under=401").into_response(),
    };
    *lock(&state.rejection) = rejection;
    StatusCode::NO_CONTENT.into_response()
}

/// The shared control API: revoke and expire end the current session; fail-auth makes the next
/// authorizations answer the status with the bank's error envelope.
impl EmulatorControl for EmulatorState {
    fn revoke(&self) {
        *lock(&self.session) = None;
    }

    fn fail_auth(&self, status: u16) {
        self.failures
            .push(Endpoint::Authorize, Failure::Status(status));
    }

    fn counters(&self) -> Value {
        json!({
            "authentications": self.authorizations.load(Ordering::SeqCst),
            "api_calls": self.api_calls.load(Ordering::SeqCst),
            "api_rejections": self.api_rejections.load(Ordering::SeqCst),
        })
    }
}
