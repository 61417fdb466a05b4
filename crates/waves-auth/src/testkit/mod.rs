//! A loopback emulator of the Waves Enterprise authorization service and of a node's protected
//! API (feature `testkit`), for tests, the demo and your own tests.
//!
//! - `POST /v1/auth/login`, `POST /v1/auth/token`, `POST /v1/auth/refresh`: issue RS256 JWT
//!   access tokens with `exp` (lifetime adjustable, even negative, to hand out expired tokens)
//!   and opaque refresh tokens that rotate: each refresh spends the one presented, and a spent
//!   one presented again is refused with 401 and **counted** ([`Emulator::refresh_reuses`]).
//! - `POST /v1/user`: registration, 201.
//! - `GET /node/status`: a node's protected route. In OAuth mode it verifies the Bearer JWT's
//!   signature and `exp` as a node does (401 618/619/622, 403 621 for a missing role); in
//!   API-key mode it compares `api_key_hash(X-API-Key)` with its hash (403 error 2).
//! - `POST /utils/hash/secure`: `{"message","hash"}` like the node's utility.
//! - Counters for each endpoint, a request log without secrets, and injected failures
//!   ([`Emulator::inject`] with an [`auth_core::testkit::emulator::Failure`]).
//!
//! # Control API
//!
//! For tests in any language (`propusk emulate waves`): `POST /_emulator/revoke` makes every
//! access token issued so far invalid (the node answers 401 622), `POST /_emulator/expire` makes
//! them expired (401 619); refresh tokens still work after both (see
//! [`Emulator::revoke_refresh_tokens`] for the Rust API that forgets them);
//! `POST /_emulator/fail-auth?count=N&status=S` makes the next N login, token or refresh
//! requests answer S (defaults 1 and 503); `GET /_emulator/counters` answers
//! `{"authentications","logins","service_grants","refreshes","refresh_reuses","api_calls",
//! "api_rejections"}`.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! use auth_core::testkit::emulator::Failure;
//! use waves_auth::WavesSource;
//! use waves_auth::testkit::{Emulator, Endpoint};
//!
//! let emulator = Emulator::start().await; // the demo user, the node in OAuth mode
//! let client = WavesSource::new(emulator.config()).into_client()?;
//! assert_eq!(client.get(emulator.node_url()).await?.status(), 200);
//!
//! emulator.inject(Endpoint::Login, Failure::Status(503));
//! let error = WavesSource::new(emulator.config()).into_client()?.get(emulator.node_url()).await;
//! assert!(error.unwrap_err().is_transient());
//! assert_eq!(emulator.logins(), 2);
//! # Ok(()) }
//! ```

mod handlers;
mod signer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::testkit::emulator::{
    EmulatorControl, EmulatorServer, Failure, FailureQueue, control_routes,
};
use axum::Router;
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::config::{WavesConfig, WavesConfigBuilder};
use crate::protocol::{self, LoginField};

/// The demo user's login.
pub const DEMO_LOGIN: &str = "user@example.com";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The service token the emulator accepts at `/v1/auth/token`.
pub const DEMO_SERVICE_TOKEN: &str = "demo-service-token";
/// The API key the emulated node accepts in API-key mode (the node's default `api-key-hash`).
pub const DEMO_API_KEY: &str = "ridethewaves!";
/// The access-token lifetime the emulator starts with: 300 s.
pub const DEFAULT_ACCESS_LIFETIME_SECS: i64 = 300;

/// Which endpoint a failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/auth/login`.
    Login,
    /// `POST /v1/auth/token`.
    Token,
    /// `POST /v1/auth/refresh`.
    Refresh,
    /// `POST /v1/user`.
    Register,
    /// The node's `GET /node/status`.
    Node,
}

impl Endpoint {
    /// The method and path it answers.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Self::Login => ("POST", protocol::LOGIN_PATH),
            Self::Token => ("POST", protocol::TOKEN_PATH),
            Self::Refresh => ("POST", protocol::REFRESH_PATH),
            Self::Register => ("POST", protocol::REGISTER_PATH),
            Self::Node => ("GET", "/node/status"),
        }
    }
}

/// How the emulated node guards `GET /node/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAuth {
    /// `oauth2`: a Bearer RS256 JWT from this emulator, not expired. The default.
    OAuth2,
    /// `api-key`: `X-API-Key` whose hash equals this `api-key-hash`.
    ApiKey(String),
}

/// One request the emulator saw; no secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// Whether it carried an `Authorization` header.
    pub authorization: bool,
    /// Whether it carried an `X-API-Key` header.
    pub api_key: bool,
}

#[derive(Default)]
struct RefreshBook {
    /// Refresh tokens that may be spent, and whose they are.
    live: HashMap<String, String>,
    /// Refresh tokens already spent.
    spent: HashSet<String>,
}

struct EmulatorState {
    users: Mutex<HashMap<String, String>>,
    roles: Mutex<Vec<String>>,
    required_role: Mutex<Option<String>>,
    node_auth: Mutex<NodeAuth>,
    register_field: LoginField,
    access_lifetime: AtomicI64,
    include_exp: bool,
    refresh_tokens: Mutex<RefreshBook>,
    logins: AtomicUsize,
    service_grants: AtomicUsize,
    refreshes: AtomicUsize,
    refresh_reuses: AtomicUsize,
    registrations: AtomicUsize,
    node_requests: AtomicUsize,
    node_rejections: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    failures: FailureQueue<Endpoint>,
    /// Statuses for the next authentication calls, whichever endpoint (control API).
    auth_failures: Mutex<VecDeque<u16>>,
    /// The `jti` of every access token issued and not yet withdrawn.
    issued_jtis: Mutex<Vec<String>>,
    /// Access tokens withdrawn by the control API, by `jti`.
    withdrawn: Mutex<HashMap<String, Withdrawal>>,
}

/// How an access token was withdrawn by the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Withdrawal {
    /// Answered as an invalid token (401 622).
    Revoked,
    /// Answered as an expired token (401 619).
    Expired,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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

/// How the emulated deployment is set up before it starts: [`Emulator::builder`], then
/// [`start`](Self::start) or [`start_on`](Self::start_on). What may change while it runs
/// (token lifetime, roles, a required role, the node's mode, users) has setters on [`Emulator`].
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use waves_auth::WavesSource;
/// use waves_auth::testkit::Emulator;
///
/// // Tokens without `exp`: the source assumes a short lifetime.
/// let emulator = Emulator::builder().include_exp(false).start().await;
/// let client = WavesSource::new(emulator.config()).into_client().unwrap();
/// let credential = client.cache().get().await.unwrap();
/// assert!(credential.remaining() <= waves_auth::DEFAULT_TOKEN_LIFETIME);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    include_exp: bool,
    register_field: LoginField,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            include_exp: true,
            register_field: LoginField::Login,
        }
    }
}

impl EmulatorBuilder {
    /// Whether issued access tokens carry `exp`. Default true; a node refuses tokens without it.
    pub fn include_exp(mut self, include: bool) -> Self {
        self.include_exp = include;
        self
    }

    /// Which field registration expects the login in. Default [`LoginField::Login`]; the
    /// other is refused.
    pub fn register_field(mut self, field: LoginField) -> Self {
        self.register_field = field;
        self
    }

    /// Starts on `127.0.0.1` at a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound (this is test tooling).
    pub async fn start(self) -> Emulator {
        self.start_on(EmulatorServer::loopback_listener().await)
    }

    /// Starts on `listener` (for `propusk emulate waves --listen ADDR`). It also serves the
    /// control API under `/_emulator/` (see the module docs).
    pub fn start_on(self, listener: tokio::net::TcpListener) -> Emulator {
        let _ = signer::signer();
        let state = Arc::new(EmulatorState {
            users: Mutex::new(HashMap::from([(
                DEMO_LOGIN.to_owned(),
                DEMO_PASSWORD.to_owned(),
            )])),
            roles: Mutex::new(vec!["user".to_owned()]),
            required_role: Mutex::new(None),
            node_auth: Mutex::new(NodeAuth::OAuth2),
            register_field: self.register_field,
            access_lifetime: AtomicI64::new(DEFAULT_ACCESS_LIFETIME_SECS),
            include_exp: self.include_exp,
            refresh_tokens: Mutex::new(RefreshBook::default()),
            logins: AtomicUsize::new(0),
            service_grants: AtomicUsize::new(0),
            refreshes: AtomicUsize::new(0),
            refresh_reuses: AtomicUsize::new(0),
            registrations: AtomicUsize::new(0),
            node_requests: AtomicUsize::new(0),
            node_rejections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            failures: FailureQueue::default(),
            auth_failures: Mutex::new(VecDeque::new()),
            issued_jtis: Mutex::new(Vec::new()),
            withdrawn: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/status", get(handlers::status))
            .route("/v1/auth/login", post(handlers::login))
            .route("/v1/auth/token", post(handlers::service_token))
            .route("/v1/auth/refresh", post(handlers::refresh))
            .route("/v1/user", post(handlers::register))
            .route("/node/status", get(handlers::node_status))
            .route("/utils/hash/secure", post(handlers::secure_hash))
            .with_state(Arc::clone(&state))
            .merge(control_routes(Arc::clone(&state)));
        Emulator {
            server: EmulatorServer::serve(listener, app),
            state,
        }
    }
}

impl Emulator {
    /// A builder for an emulator set up otherwise than [`start`](Self::start)'s.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts on `127.0.0.1` at a free port, knowing the demo user and the demo service token,
    /// issuing tokens that live [`DEFAULT_ACCESS_LIFETIME_SECS`] with role `user`, the node in
    /// OAuth mode: `Emulator::builder().start()`. The first start in a process makes an
    /// RSA-2048 key (a moment's work).
    ///
    /// # Panics
    /// If no loopback port can be bound (this is test tooling).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the authorization service's base URL (and the node's).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The emulated node's protected route, `http://127.0.0.1:<port>/node/status`.
    pub fn node_url(&self) -> String {
        format!("{}/node/status", self.base_url())
    }

    /// A config builder for the demo user (password mode) at this emulator.
    pub fn config_builder(&self) -> WavesConfigBuilder {
        WavesConfig::builder()
            .auth_url(self.base_url())
            .login(DEMO_LOGIN)
            .password(SecretString::from(DEMO_PASSWORD))
    }

    /// The demo user's config (password mode).
    pub fn config(&self) -> WavesConfig {
        self.config_builder()
            .build()
            .expect("the demo user's config is valid")
    }

    /// A service-mode config with the demo service token.
    pub fn service_config(&self) -> WavesConfig {
        WavesConfig::builder()
            .auth_url(self.base_url())
            .service_token(SecretString::from(DEMO_SERVICE_TOKEN))
            .build()
            .expect("the demo service config is valid")
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, login: &str, password: &str) {
        lock(&self.state.users).insert(login.to_owned(), password.to_owned());
    }

    /// Whether a user is known (registered or added).
    pub fn has_user(&self, login: &str) -> bool {
        lock(&self.state.users).contains_key(login)
    }

    /// Tokens issued from now on live `seconds` (negative: already expired when issued).
    pub fn set_access_lifetime(&self, seconds: i64) {
        self.state.access_lifetime.store(seconds, Ordering::SeqCst);
    }

    /// The roles put into tokens issued from now on (default `["user"]`).
    pub fn set_roles(&self, roles: &[&str]) {
        *lock(&self.state.roles) = roles.iter().map(|r| (*r).to_owned()).collect();
    }

    /// How the node route is guarded. Default [`NodeAuth::OAuth2`].
    pub fn set_node_auth(&self, auth: NodeAuth) {
        *lock(&self.state.node_auth) = auth;
    }

    /// A role the node route requires from now on (403 error 621 without it). Default none.
    pub fn require_role(&self, role: Option<&str>) {
        *lock(&self.state.required_role) = role.map(str::to_owned);
    }

    /// Makes every live refresh token unknown (a refresh with one is refused with 401, not
    /// counted as reuse), as if the service had expired or revoked them.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.state.refresh_tokens).live.clear();
    }

    /// The next answer of `endpoint` fails with `failure` (failures queue up in order).
    /// [`Failure::Status`] answers that status with the text `injected failure`.
    pub fn inject(&self, endpoint: Endpoint, failure: Failure) {
        self.state.failures.push(endpoint, failure);
    }

    /// How many `POST /v1/auth/login` requests arrived.
    pub fn logins(&self) -> usize {
        self.state.logins.load(Ordering::SeqCst)
    }

    /// How many `POST /v1/auth/token` requests arrived.
    pub fn service_grants(&self) -> usize {
        self.state.service_grants.load(Ordering::SeqCst)
    }

    /// How many `POST /v1/auth/refresh` requests arrived.
    pub fn refreshes(&self) -> usize {
        self.state.refreshes.load(Ordering::SeqCst)
    }

    /// How many refreshes presented a refresh token that had already been spent. A correct
    /// client keeps this at zero.
    pub fn refresh_reuses(&self) -> usize {
        self.state.refresh_reuses.load(Ordering::SeqCst)
    }

    /// How many `POST /v1/user` requests arrived.
    pub fn registrations(&self) -> usize {
        self.state.registrations.load(Ordering::SeqCst)
    }

    /// How many node requests arrived.
    pub fn node_requests(&self) -> usize {
        self.state.node_requests.load(Ordering::SeqCst)
    }

    /// How many node requests were refused for their credential (401 or 403).
    pub fn node_rejections(&self) -> usize {
        self.state.node_rejections.load(Ordering::SeqCst)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The public key, as a node's `node.api.auth.public-key` wants it (Base64 X.509
    /// SubjectPublicKeyInfo).
    pub fn public_key_base64(&self) -> String {
        signer::signer().public_key_base64().to_owned()
    }

    /// A token signed by this emulator for `subject`, living `lifetime_secs` (negative:
    /// expired), with the current roles. For tests of the node route.
    pub fn issue_access_token(&self, subject: &str, lifetime_secs: i64) -> String {
        self.state.access_token(subject, lifetime_secs)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_token(length: usize) -> String {
    (0..length).map(|_| fastrand::alphanumeric()).collect()
}

impl EmulatorState {
    fn take_failure(&self, endpoint: Endpoint) -> Option<Failure> {
        if matches!(
            endpoint,
            Endpoint::Login | Endpoint::Token | Endpoint::Refresh
        ) && let Some(status) = lock(&self.auth_failures).pop_front()
        {
            return Some(Failure::Status(status));
        }
        self.failures.take(&endpoint)
    }

    /// The node's answer to a withdrawn token, if `claims` belong to one.
    fn refusal(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Option<Withdrawal> {
        let jti = claims.get("jti").and_then(serde_json::Value::as_str)?;
        lock(&self.withdrawn).get(jti).copied()
    }

    fn withdraw(&self, how: Withdrawal) {
        let issued = std::mem::take(&mut *lock(&self.issued_jtis));
        let mut withdrawn = lock(&self.withdrawn);
        for jti in issued {
            withdrawn.insert(jti, how);
        }
    }

    fn record(&self, method: &str, path: &str, headers: &axum::http::HeaderMap) {
        lock(&self.requests).push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            authorization: headers.contains_key(axum::http::header::AUTHORIZATION),
            api_key: headers.contains_key("x-api-key"),
        });
    }

    fn access_token(&self, subject: &str, lifetime_secs: i64) -> String {
        let now = unix_now();
        let jti = random_token(16);
        lock(&self.issued_jtis).push(jti.clone());
        let mut claims = serde_json::json!({
            "sub": subject,
            "iat": now,
            "jti": jti,
            "roles": *lock(&self.roles),
            "addresses": [],
        });
        if self.include_exp {
            claims["exp"] = serde_json::json!(now.saturating_add(lifetime_secs).max(0));
        }
        signer::signer().sign(&claims)
    }

    /// A fresh pair for `subject`, its refresh token made live.
    fn issue_pair(&self, subject: &str) -> serde_json::Value {
        let access = self.access_token(subject, self.access_lifetime.load(Ordering::SeqCst));
        let refresh = random_token(43);
        lock(&self.refresh_tokens)
            .live
            .insert(refresh.clone(), subject.to_owned());
        serde_json::json!({
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
        })
    }
}

/// The control API (`/_emulator/...`); the counters' names are the CLI's contract.
impl EmulatorControl for EmulatorState {
    fn revoke(&self) {
        self.withdraw(Withdrawal::Revoked);
    }

    fn expire(&self) {
        self.withdraw(Withdrawal::Expired);
    }

    fn fail_auth(&self, status: u16) {
        lock(&self.auth_failures).push_back(status);
    }

    fn counters(&self) -> serde_json::Value {
        let load = |counter: &AtomicUsize| counter.load(Ordering::SeqCst);
        let logins = load(&self.logins);
        let grants = load(&self.service_grants);
        let refreshes = load(&self.refreshes);
        serde_json::json!({
            "authentications": logins + grants + refreshes,
            "logins": logins,
            "service_grants": grants,
            "refreshes": refreshes,
            "refresh_reuses": load(&self.refresh_reuses),
            "api_calls": load(&self.node_requests),
            "api_rejections": load(&self.node_rejections),
        })
    }
}
