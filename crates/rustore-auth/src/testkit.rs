//! A loopback emulator of RuStore's token endpoint and of one API resource (feature `testkit`).
//!
//! - `POST /public/auth/` ([`Endpoint::Auth`]) checks the JSON body, the key ID, the timestamp
//!   (RFC 3339, within 60 s of the emulator's clock, which can be skewed) and the SHA512withRSA
//!   signature with the registered public key, then issues an opaque JWE-looking token with a
//!   `ttl`.
//! - Every other path is an API resource ([`Endpoint::Api`]) that requires a valid
//!   `Public-Token` (401 otherwise), answers 403 on paths marked forbidden, and 200 with a small
//!   JSON envelope otherwise.
//! - It counts and records requests, revokes tokens, and answers the next request to an
//!   endpoint with an injected [`Failure`] (a status such as 503 with RuStore's error envelope,
//!   a slow answer, garbage, or RuStore's refusal, [`ProviderFailure::Refuse`]).
//!
//! # Control API
//!
//! For tests in any language (the CLI's `emulate rustore`): `POST /_emulator/revoke` revokes
//! every token issued so far, `POST /_emulator/expire` makes them expired (both: resources
//! answer 401); `POST /_emulator/fail-auth?count=N&status=S` makes the next N token requests
//! answer S (defaults 1 and 503); `GET /_emulator/counters` answers
//! `{"authentications","tokens_issued","api_calls","api_rejections"}`.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! use auth_core::testkit::emulator::Failure;
//! use rustore_auth::RustoreSource;
//! use rustore_auth::testkit::{Emulator, Endpoint};
//!
//! let emulator = Emulator::start().await;
//! let client = RustoreSource::new(emulator.config()).into_client()?;
//! let answer = client.get(emulator.resource_url()).await?;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(emulator.auth_requests(), 1);
//!
//! emulator.inject(Endpoint::Auth, Failure::Status(503));
//! emulator.revoke_tokens();
//! assert!(client.get(emulator.resource_url()).await.unwrap_err().is_transient());
//! # Ok(()) }
//! ```
//!
//! **The test key is published in this crate: never use it for anything real.**

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use auth_core::SecretString;
use auth_core::testkit::emulator::{
    EmulatorControl, EmulatorServer, Failure, FailureQueue, Injected, control_routes,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use rand_core::RngCore as _;
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use sha2::Sha512;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{RustoreConfig, RustoreConfigBuilder};
use crate::protocol::{AUTH_PATH, RANGE_TIMESTAMP_NOT_VALID, TIMESTAMP_WINDOW, format_timestamp};

/// The key ID of the published test key.
pub const TEST_KEY_ID: &str = "2351024845";

/// The published 2048-bit test key as the RuStore console gives it (base64 PKCS#8 DER). Made
/// with OpenSSL; see `tests/fixtures/README.md`. **Never use it for anything real.**
pub const TEST_PRIVATE_KEY: &str = include_str!("../tests/fixtures/test-key.console.txt");

/// The public half of [`TEST_PRIVATE_KEY`], PEM SubjectPublicKeyInfo.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../tests/fixtures/test-key.public.pem");

/// A resource path the emulator serves (any path but `/public/auth/` is served alike).
pub const RESOURCE_PATH: &str = "/public/v1/application";

/// The emulator's endpoints, where a [`Failure`] can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /public/auth/`, the token endpoint.
    Auth,
    /// Every other path: the API resources.
    Api,
}

/// RuStore's own failure, injected as `Failure::Provider(ProviderFailure::...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderFailure {
    /// Answer HTTP 200 with this `code` and `message` and `body: null`: RuStore's refusal
    /// envelope.
    Refuse {
        /// The `code`, e.g. `ERROR`.
        code: String,
        /// The `message`.
        message: String,
    },
}

/// One request the emulator received.
#[derive(Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path (without query).
    pub path: String,
    /// The `Public-Token` header, if any.
    pub public_token: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field(
                "public_token",
                &self.public_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

enum KeyState {
    Active(Box<VerifyingKey<Sha512>>),
    Deleted,
}

struct TokenInfo {
    key_id: String,
    expires_at: OffsetDateTime,
    revoked: bool,
}

struct Shared {
    keys: Mutex<HashMap<String, KeyState>>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    failures: FailureQueue<Endpoint, ProviderFailure>,
    ttl: Mutex<Option<u64>>,
    skew_ms: AtomicI64,
    reject_resources: AtomicBool,
    forbidden: Mutex<HashSet<String>>,
    auth_requests: AtomicU64,
    tokens_issued: AtomicU64,
    resource_requests: AtomicU64,
    resource_rejections: AtomicU64,
    log: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::milliseconds(self.skew_ms.load(Ordering::Relaxed))
    }

    fn revoke_tokens(&self) {
        for token in lock(&self.tokens).values_mut() {
            token.revoked = true;
        }
    }

    /// Counts and records a request to `endpoint`, and answers what was injected for it, if
    /// anything.
    async fn arrive(
        &self,
        endpoint: Endpoint,
        (method, uri, headers, body): (&Method, &Uri, &HeaderMap, &[u8]),
    ) -> Option<Response> {
        let counter = match endpoint {
            Endpoint::Auth => &self.auth_requests,
            Endpoint::Api => &self.resource_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        record(self, method, uri, headers, body);
        self.injected(endpoint).await
    }

    /// What the next request to `endpoint` answers instead of its normal answer, if anything:
    /// a status comes with RuStore's error envelope, a refusal is `code` and `message` with
    /// HTTP 200.
    async fn injected(&self, endpoint: Endpoint) -> Option<Response> {
        let failure = self.failures.take(&endpoint)?;
        let answer = failure
            .answer(|status| envelope(self, status, "ERROR", "Injected failure"))
            .await;
        match answer {
            Injected::Normal => None,
            Injected::Answer(response) => Some(response),
            Injected::Provider(ProviderFailure::Refuse { code, message }) => {
                Some(envelope(self, StatusCode::OK, &code, &message))
            }
        }
    }
}

/// The control API (`/_emulator/...`): revoke and expire act on every token issued so far,
/// `fail-auth` queues a status for the token endpoint.
impl EmulatorControl for Shared {
    fn revoke(&self) {
        self.revoke_tokens();
    }

    fn expire(&self) {
        let now = self.now();
        for token in lock(&self.tokens).values_mut() {
            token.expires_at = now;
        }
    }

    fn fail_auth(&self, status: u16) {
        self.failures.push(Endpoint::Auth, Failure::Status(status));
    }

    fn counters(&self) -> serde_json::Value {
        serde_json::json!({
            "authentications": self.auth_requests.load(Ordering::Relaxed),
            "tokens_issued": self.tokens_issued.load(Ordering::Relaxed),
            "api_calls": self.resource_requests.load(Ordering::Relaxed),
            "api_rejections": self.resource_rejections.load(Ordering::Relaxed),
        })
    }
}

/// How an [`Emulator`] starts: [`Emulator::builder`], then [`start`](Self::start) or
/// [`start_on`](Self::start_on).
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    test_key: bool,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self { test_key: true }
    }
}

impl EmulatorBuilder {
    /// Starts with no key registered, not even the test key ([`TEST_KEY_ID`]); register keys
    /// with [`Emulator::add_key`] or [`Emulator::add_key_pem`].
    pub fn without_test_key(mut self) -> Self {
        self.test_key = false;
        self
    }

    /// Starts on `127.0.0.1` on a free port. Needs a Tokio runtime with I/O enabled.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub async fn start(self) -> Emulator {
        self.start_on(EmulatorServer::loopback_listener().await)
    }

    /// Starts on `listener` (for the CLI's `emulate rustore --listen ADDR`), in a task of the
    /// current Tokio runtime.
    pub fn start_on(self, listener: tokio::net::TcpListener) -> Emulator {
        let shared = Arc::new(Shared {
            keys: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            failures: FailureQueue::default(),
            ttl: Mutex::new(Some(900)),
            skew_ms: AtomicI64::new(0),
            reject_resources: AtomicBool::new(false),
            forbidden: Mutex::new(HashSet::new()),
            auth_requests: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            resource_requests: AtomicU64::new(0),
            resource_rejections: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route(AUTH_PATH, post(issue_token))
            .fallback(serve_resource)
            .with_state(Arc::clone(&shared))
            .merge(control_routes(Arc::clone(&shared)));
        let emulator = Emulator {
            server: EmulatorServer::serve(listener, router),
            shared,
        };
        if self.test_key {
            emulator.add_key_pem(TEST_KEY_ID, TEST_PUBLIC_KEY_PEM);
        }
        emulator
    }
}

/// The running emulator; stops when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    server: EmulatorServer,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("address", &self.server.address())
            .field("auth_requests", &self.auth_requests())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder: the test key ([`TEST_KEY_ID`]) registered unless
    /// [`without_test_key`](EmulatorBuilder::without_test_key).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts on `127.0.0.1` on a free port, with the test key ([`TEST_KEY_ID`]) registered and
    /// a `ttl` of 900 s: `Emulator::builder().start()`. Needs a Tokio runtime with I/O enabled.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the base URL to configure.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The URL of [`RESOURCE_PATH`].
    pub fn resource_url(&self) -> String {
        format!("{}{RESOURCE_PATH}", self.base_url())
    }

    /// A config builder for this emulator with the test key: [`base_url`](Self::base_url),
    /// [`TEST_KEY_ID`] and [`TEST_PRIVATE_KEY`].
    pub fn config_builder(&self) -> RustoreConfigBuilder {
        RustoreConfig::builder()
            .base_url(self.base_url())
            .key_id(TEST_KEY_ID)
            .private_key(SecretString::from(TEST_PRIVATE_KEY))
    }

    /// [`config_builder`](Self::config_builder), built.
    ///
    /// # Panics
    /// Never with the published test key.
    pub fn config(&self) -> RustoreConfig {
        self.config_builder()
            .build()
            .expect("the emulator's test configuration is valid")
    }

    /// Registers `key_id` with its public key.
    pub fn add_key(&self, key_id: &str, public_key: RsaPublicKey) {
        lock(&self.shared.keys).insert(
            key_id.to_owned(),
            KeyState::Active(Box::new(VerifyingKey::new(public_key))),
        );
    }

    /// Registers `key_id` with a PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    ///
    /// # Panics
    /// If `pem` is not an RSA public key (a mistake in the test).
    pub fn add_key_pem(&self, key_id: &str, pem: &str) {
        let key = RsaPublicKey::from_public_key_pem(pem)
            .expect("the emulator needs an RSA public key in PEM (BEGIN PUBLIC KEY)");
        self.add_key(key_id, key);
    }

    /// Deletes `key_id` as the console does: token requests then get `code: "ERROR"` and
    /// `body: null`.
    pub fn delete_key(&self, key_id: &str) {
        lock(&self.shared.keys).insert(key_id.to_owned(), KeyState::Deleted);
    }

    /// The `ttl` issued tokens carry, in seconds; `None` leaves it out of the answer (tokens
    /// then live 900 s). Default `Some(900)`.
    pub fn set_ttl(&self, ttl: Option<u64>) {
        *lock(&self.shared.ttl) = ttl;
    }

    /// Moves the emulator's clock by `seconds` (positive: ahead of this machine), to provoke
    /// `Range timestamp not valid`. Default 0.
    pub fn set_clock_skew(&self, seconds: i64) {
        self.shared
            .skew_ms
            .store(seconds.saturating_mul(1000), Ordering::Relaxed);
    }

    /// Makes the next request to `endpoint` answer `failure` (failures are used up in order).
    /// A [`Failure::Status`] comes with RuStore's error envelope (`code: "ERROR"`);
    /// [`ProviderFailure::Refuse`] is RuStore's refusal with HTTP 200.
    pub fn inject(&self, endpoint: Endpoint, failure: Failure<ProviderFailure>) {
        self.shared.failures.push(endpoint, failure);
    }

    /// Revokes every token issued so far: resources answer 401 to them.
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// While `true`, every resource request is answered 401 whatever its token. Default `false`.
    pub fn reject_all_resources(&self, reject: bool) {
        self.shared
            .reject_resources
            .store(reject, Ordering::Relaxed);
    }

    /// Makes `path` answer 403 (the key lacks rights for that method).
    pub fn forbid(&self, path: &str) {
        lock(&self.shared.forbidden).insert(path.to_owned());
    }

    /// How many token requests arrived (valid or not).
    pub fn auth_requests(&self) -> u64 {
        self.shared.auth_requests.load(Ordering::Relaxed)
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.tokens_issued.load(Ordering::Relaxed)
    }

    /// How many resource requests arrived.
    pub fn resource_requests(&self) -> u64 {
        self.shared.resource_requests.load(Ordering::Relaxed)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// The token requests so far, in arrival order.
    pub fn auth_request_log(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == AUTH_PATH)
            .collect()
    }
}

fn record(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    lock(&shared.log).push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        public_token: header("public-token"),
        content_type: header("content-type"),
        body: body.to_vec(),
    });
}

/// RuStore's answer envelope (`DefaultResponseDto`): `code`, `message`, `body`, `timestamp`.
fn dto(
    shared: &Shared,
    status: StatusCode,
    code: &str,
    message: serde_json::Value,
    body: serde_json::Value,
) -> Response {
    let answer = serde_json::json!({
        "code": code,
        "message": message,
        "body": body,
        "timestamp": format_timestamp(shared.now()),
    });
    (
        status,
        [("content-type", "application/json")],
        answer.to_string(),
    )
        .into_response()
}

/// An error envelope: `message` and `body: null`.
fn envelope(shared: &Shared, status: StatusCode, code: &str, message: &str) -> Response {
    dto(
        shared,
        status,
        code,
        message.into(),
        serde_json::Value::Null,
    )
}

/// A success envelope: HTTP 200, `code: "OK"`, `message: null`.
fn ok(shared: &Shared, body: serde_json::Value) -> Response {
    dto(shared, StatusCode::OK, "OK", serde_json::Value::Null, body)
}

async fn issue_token(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = (&method, &uri, &headers, &body[..]);
    if let Some(answer) = shared.arrive(Endpoint::Auth, arrived).await {
        return answer;
    }

    let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return envelope(
            &shared,
            StatusCode::BAD_REQUEST,
            "ERROR",
            "Request body is not JSON",
        );
    };
    let field = |name: &str| {
        request
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let (Some(key_id), Some(timestamp), Some(signature)) =
        (field("keyId"), field("timestamp"), field("signature"))
    else {
        return envelope(
            &shared,
            StatusCode::BAD_REQUEST,
            "ERROR",
            "keyId, timestamp and signature are required strings",
        );
    };

    let verifying_key = match lock(&shared.keys).get(&key_id) {
        None => return envelope(&shared, StatusCode::UNAUTHORIZED, "ERROR", "Unknown keyId"),
        Some(KeyState::Deleted) => {
            return envelope(&shared, StatusCode::OK, "ERROR", "Key not found");
        }
        Some(KeyState::Active(key)) => key.clone(),
    };

    let Ok(sent_at) = OffsetDateTime::parse(&timestamp, &Rfc3339) else {
        return envelope(
            &shared,
            StatusCode::BAD_REQUEST,
            "ERROR",
            "Invalid timestamp format",
        );
    };
    if !within_window(shared.now(), sent_at) {
        return envelope(
            &shared,
            StatusCode::BAD_REQUEST,
            "ERROR",
            RANGE_TIMESTAMP_NOT_VALID,
        );
    }

    // The message is built here from the sheet, not with the crate's own `signing_message`, so
    // the emulator checks the client rather than agreeing with it.
    let valid = base64::engine::general_purpose::STANDARD
        .decode(signature.as_bytes())
        .ok()
        .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
        .is_some_and(|signature| {
            verifying_key
                .verify(format!("{key_id}{timestamp}").as_bytes(), &signature)
                .is_ok()
        });
    if !valid {
        return envelope(
            &shared,
            StatusCode::UNAUTHORIZED,
            "ERROR",
            "Signature is not valid",
        );
    }

    let ttl = *lock(&shared.ttl);
    let jwe = new_token();
    lock(&shared.tokens).insert(
        jwe.clone(),
        TokenInfo {
            key_id,
            expires_at: shared.now()
                + time::Duration::seconds(ttl.unwrap_or(900).min(i64::MAX as u64) as i64),
            revoked: false,
        },
    );
    shared.tokens_issued.fetch_add(1, Ordering::Relaxed);
    let mut token_body = serde_json::json!({ "jwe": jwe });
    if let Some(ttl) = ttl {
        token_body["ttl"] = ttl.into();
    }
    ok(&shared, token_body)
}

/// Whether `sent` is within [`TIMESTAMP_WINDOW`] of `now`, either way.
pub fn within_window(now: OffsetDateTime, sent: OffsetDateTime) -> bool {
    (now - sent).unsigned_abs() <= TIMESTAMP_WINDOW
}

/// An opaque token shaped like a compact JWE (five base64url parts).
fn new_token() -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let part = |length: usize| {
        let mut bytes = vec![0u8; length];
        rand_core::OsRng.fill_bytes(&mut bytes);
        engine.encode(bytes)
    };
    let header = engine.encode(br#"{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP-256"}"#);
    format!(
        "{header}.{}.{}.{}.{}",
        part(256),
        part(12),
        part(96),
        part(16)
    )
}

async fn serve_resource(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = (&method, &uri, &headers, &body[..]);
    if let Some(answer) = shared.arrive(Endpoint::Api, arrived).await {
        return answer;
    }
    let token = headers.get("public-token").and_then(|v| v.to_str().ok());
    let key_id = token.and_then(|token| {
        let tokens = lock(&shared.tokens);
        let info = tokens.get(token)?;
        (!info.revoked && info.expires_at > shared.now()).then(|| info.key_id.clone())
    });
    let Some(key_id) = key_id.filter(|_| !shared.reject_resources.load(Ordering::Relaxed)) else {
        shared.resource_rejections.fetch_add(1, Ordering::Relaxed);
        return envelope(
            &shared,
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Token is missing, invalid or expired",
        );
    };
    if lock(&shared.forbidden).contains(uri.path()) {
        return envelope(
            &shared,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "This user does not have rights to this method",
        );
    }
    ok(
        &shared,
        serde_json::json!({ "path": uri.path(), "keyId": key_id }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn window_is_sixty_seconds_either_way() {
        let now = datetime!(2025-01-01 12:00:00 UTC);
        assert!(within_window(now, datetime!(2025-01-01 12:01:00 UTC)));
        assert!(within_window(now, datetime!(2025-01-01 11:59:00 UTC)));
        assert!(within_window(now, datetime!(2025-01-01 15:00:30 +03:00)));
        assert!(!within_window(now, datetime!(2025-01-01 12:01:00.001 UTC)));
        assert!(!within_window(now, datetime!(2025-01-01 11:58:59.999 UTC)));
    }

    #[test]
    fn tokens_look_like_compact_jwe_and_differ() {
        let a = new_token();
        assert_eq!(a.split('.').count(), 5);
        assert!(a.starts_with("eyJ"));
        assert_ne!(a, new_token());
    }
}
