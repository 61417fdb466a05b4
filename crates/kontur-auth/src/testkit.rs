//! A loopback emulator of Kontur EDI (feature `testkit`): `POST /V1/Authenticate`,
//! `GET /V1/Boxes/GetBoxesInfo`, `GET /V1/Parties/GetAccessiblePartiesInfo`, and the identity
//! provider's `POST /connect/token`. It records requests (without secrets), counts
//! authentications, revokes tokens and injects failures, for tests, the demo and your own tests.
//!
//! # Control API
//!
//! For tests in any language (`propusk emulate kontur`): `POST /_emulator/revoke` and
//! `POST /_emulator/expire` make every token issued so far invalid (the API answers 401);
//! `POST /_emulator/fail-auth?count=N&status=S` makes the next N authentications answer S
//! (defaults 1 and 503); `GET /_emulator/counters` answers
//! `{"authentications","token_requests","api_calls","api_rejections"}`.
//!
//! # Example
//!
//! ```
//! use auth_core::testkit::emulator::Failure;
//! use kontur_auth::KonturSource;
//! use kontur_auth::testkit::{Emulator, Endpoint};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! let emulator = Emulator::start().await;
//! let client = KonturSource::new(emulator.config()).into_client()?; // an account it knows
//! emulator.inject(Endpoint::Api, Failure::Status(503));
//! let boxes = format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url());
//! assert_eq!(client.get(&boxes).await?.status(), 503);
//! assert_eq!(client.get(&boxes).await?.status(), 200);
//! assert_eq!(emulator.authentications(), 1);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth_core::testkit::emulator::{
    EmulatorControl, EmulatorServer, Failure, FailureQueue, Injected, control_routes,
};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::config::{KonturConfig, KonturConfigBuilder};
use crate::protocol::{self, API_CLIENT_ID, LOGIN, PASSWORD, TOKEN};

/// The account every emulator knows from the start.
pub const DEMO_CLIENT_ID: &str = "testClient-8ee1638deae84c86b8e2069955c2825a";
/// Its login.
pub const DEMO_LOGIN: &str = "demo@example.com";
/// Its password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The OpenID Connect client the emulator knows.
pub const DEMO_OIDC_CLIENT: &str = "demo-service";
/// Its secret.
pub const DEMO_OIDC_SECRET: &str = "demo-api-key";

/// Which endpoint a failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /V1/Authenticate`, and the identity provider's `POST /connect/token`.
    Authenticate,
    /// The API methods.
    Api,
}

/// One request the emulator saw; no secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// Whether it carried a token the emulator had issued and not revoked.
    pub valid_token: bool,
}

#[derive(Default)]
struct EmulatorState {
    accounts: Mutex<Vec<(String, String, String)>>,
    tokens: Mutex<HashMap<String, String>>,
    authentications: AtomicUsize,
    token_requests: AtomicUsize,
    api_calls: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    failures: FailureQueue<Endpoint>,
}

/// Starts an [`Emulator`]: [`Emulator::builder`], then [`start`](Self::start) or
/// [`start_on`](Self::start_on).
#[derive(Debug, Default)]
pub struct EmulatorBuilder {
    _private: (),
}

impl EmulatorBuilder {
    /// Starts on `127.0.0.1` at a free port, knowing the demo account.
    pub async fn start(self) -> Emulator {
        self.start_on(EmulatorServer::loopback_listener().await)
    }

    /// Starts on `listener` (for `propusk emulate kontur --listen ADDR`), knowing the demo
    /// account. It also serves the control API under `/_emulator/` (see the module docs).
    pub fn start_on(self, listener: tokio::net::TcpListener) -> Emulator {
        let state = Arc::new(EmulatorState::default());
        state.accounts.lock().unwrap().push((
            DEMO_CLIENT_ID.to_owned(),
            DEMO_LOGIN.to_owned(),
            DEMO_PASSWORD.to_owned(),
        ));
        let app = Router::new()
            .route("/V1/Authenticate", post(authenticate))
            .route("/V1/Boxes/GetBoxesInfo", get(boxes))
            .route("/V1/Parties/GetAccessiblePartiesInfo", get(parties))
            .route("/connect/token", post(connect_token))
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
    /// A builder.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts on `127.0.0.1` at a free port, knowing the demo account: `builder().start()`.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> String {
        format!("{}/", self.server.base_url())
    }

    /// A config builder for the demo account at this emulator.
    pub fn config_builder(&self) -> KonturConfigBuilder {
        KonturConfig::builder()
            .base_url(self.base_url())
            .api_client_id(DEMO_CLIENT_ID)
            .login(DEMO_LOGIN)
            .password(SecretString::from(DEMO_PASSWORD))
    }

    /// The demo account's config at this emulator.
    pub fn config(&self) -> KonturConfig {
        self.config_builder()
            .build()
            .expect("the demo account is valid")
    }

    /// Adds an account.
    pub fn add_account(&self, api_client_id: &str, login: &str, password: &str) {
        self.state.accounts.lock().unwrap().push((
            api_client_id.to_owned(),
            login.to_owned(),
            password.to_owned(),
        ));
    }

    /// How many successful and failed `POST /V1/Authenticate` requests arrived.
    pub fn authentications(&self) -> usize {
        self.state.authentications.load(Ordering::SeqCst)
    }

    /// How many `POST /connect/token` requests arrived.
    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// How many API-method requests arrived.
    pub fn api_calls(&self) -> usize {
        self.state.api_calls.load(Ordering::SeqCst)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Makes every token issued so far invalid (the API answers 401 to them).
    pub fn revoke_all_tokens(&self) {
        self.state.revoke();
    }

    /// The next answer of `endpoint` fails with `failure` (failures queue up in order).
    /// Kontur has no failures of its own: `failure` is one of the shared kinds.
    pub fn inject(&self, endpoint: Endpoint, failure: Failure) {
        self.state.failures.push(endpoint, failure);
    }
}

impl EmulatorControl for EmulatorState {
    fn revoke(&self) {
        self.tokens.lock().unwrap().clear();
    }

    fn fail_auth(&self, status: u16) {
        self.failures
            .push(Endpoint::Authenticate, Failure::Status(status));
    }

    fn counters(&self) -> serde_json::Value {
        let rejections = self
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == "GET" && !r.valid_token)
            .count();
        serde_json::json!({
            "authentications": self.authentications.load(Ordering::SeqCst),
            "token_requests": self.token_requests.load(Ordering::SeqCst),
            "api_calls": self.api_calls.load(Ordering::SeqCst),
            "api_rejections": rejections,
        })
    }
}

impl EmulatorState {
    /// The answer to give instead of the normal one, when a failure waits for `endpoint`
    /// (after waiting, for [`Failure::Slow`]).
    async fn injected(&self, endpoint: Endpoint) -> Option<Response> {
        let failure = self.failures.take(&endpoint)?;
        match failure
            .answer(|status| (status, "injected failure").into_response())
            .await
        {
            Injected::Normal => None,
            Injected::Answer(response) => Some(response),
            Injected::Provider(never) => match never {},
        }
    }

    fn record(&self, method: &str, path: &str, valid_token: bool) {
        self.requests.lock().unwrap().push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            valid_token,
        });
    }

    fn token_is_valid(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        if let Some(bearer) = value.strip_prefix("Bearer ") {
            return self.tokens.lock().unwrap().contains_key(bearer);
        }
        let Ok(pairs) = protocol::parse_header(value) else {
            return false;
        };
        match (
            protocol::parameter(&pairs, API_CLIENT_ID),
            protocol::parameter(&pairs, TOKEN),
        ) {
            (Some(client), Some(token)) => self
                .tokens
                .lock()
                .unwrap()
                .get(token)
                .is_some_and(|owner| owner == client),
            _ => false,
        }
    }

    fn issue_token(&self, owner: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut token: String = (0..86)
            .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
            .collect();
        token.push_str("==");
        self.tokens
            .lock()
            .unwrap()
            .insert(token.clone(), owner.to_owned());
        token
    }
}

async fn authenticate(State(state): State<Arc<EmulatorState>>, headers: HeaderMap) -> Response {
    state.authentications.fetch_add(1, Ordering::SeqCst);
    state.record("POST", "/V1/Authenticate", false);
    if let Some(response) = state.injected(Endpoint::Authenticate).await {
        return response;
    }
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Ok(pairs) = protocol::parse_header(value) else {
        return (StatusCode::UNAUTHORIZED, "KonturEdiAuth header expected").into_response();
    };
    let client = protocol::parameter(&pairs, API_CLIENT_ID);
    let login = protocol::parameter(&pairs, LOGIN);
    let password = protocol::parameter(&pairs, PASSWORD);
    let known = state.accounts.lock().unwrap().iter().any(|(c, l, p)| {
        Some(c.as_str()) == client && Some(l.as_str()) == login && Some(p.as_str()) == password
    });
    if !known {
        return (StatusCode::UNAUTHORIZED, "Invalid credentials").into_response();
    }
    let token = state.issue_token(client.unwrap_or_default());
    (StatusCode::OK, format!("{token}\n")).into_response()
}

async fn api(
    state: Arc<EmulatorState>,
    headers: HeaderMap,
    path: &str,
    body: &'static str,
) -> Response {
    state.api_calls.fetch_add(1, Ordering::SeqCst);
    let valid = state.token_is_valid(&headers);
    state.record("GET", path, valid);
    if let Some(response) = state.injected(Endpoint::Api).await {
        return response;
    }
    if !valid {
        return (StatusCode::UNAUTHORIZED, "Token is invalid or expired").into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn boxes(State(state): State<Arc<EmulatorState>>, headers: HeaderMap) -> Response {
    api(
        state,
        headers,
        "/V1/Boxes/GetBoxesInfo",
        r#"{"Boxes":[{"Id":"8a7c2f1e-0000-4000-8000-000000000001","PartyId":"5b9f6a3c-0000-4000-8000-000000000002","Gln":"4607000000001","IsTest":true,"BoxSettings":{}}]}"#,
    )
    .await
}

async fn parties(State(state): State<Arc<EmulatorState>>, headers: HeaderMap) -> Response {
    api(
        state,
        headers,
        "/V1/Parties/GetAccessiblePartiesInfo",
        r#"{"Parties":[{"Id":"5b9f6a3c-0000-4000-8000-000000000002","Name":"ООО Ромашка","Gln":"4607000000001"}]}"#,
    )
    .await
}

async fn connect_token(
    State(state): State<Arc<EmulatorState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    state.record("POST", "/connect/token", false);
    if let Some(response) = state.injected(Endpoint::Authenticate).await {
        return response;
    }
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if field("client_id") != Some(DEMO_OIDC_CLIENT)
        || field("client_secret") != Some(DEMO_OIDC_SECRET)
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = state.issue_token("oidc");
    axum::Json(serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 3600,
    }))
    .into_response()
}
