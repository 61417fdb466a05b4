//! The skeleton every provider's `testkit::Emulator` stands on: the server on a loopback port
//! that stops when dropped, the failures an endpoint can be told to answer with, and the control
//! API (`/_emulator/...`) that `propusk emulate` serves to tests in any language.
//!
//! A provider's emulator keeps its own state and routes and implements [`EmulatorControl`] for
//! that state; see "Adding a provider" in `docs/architecture.md`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The size of a [`Failure::Huge`] body: 2 MiB, twice what a client reads of a token answer.
pub const HUGE_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A failure to answer with instead of an endpoint's normal answer, once.
///
/// `Q` is the provider's own kind of failure (RuStore's refusal envelope, Alliance's wrongly
/// encrypted session); [`Infallible`] where a provider has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<Q = Infallible> {
    /// Answer this HTTP status, with the provider's error body for it.
    Status(u16),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Answer 200 with a body that is not what the endpoint returns.
    Garbage,
    /// Answer 502 with an HTML error page, as a proxy would.
    Html,
    /// Answer 200 with a 2 MiB body ([`HUGE_BODY_BYTES`]).
    Huge,
    /// Answer 302 to this location.
    RedirectTo(String),
    /// The provider's own failure.
    Provider(Q),
}

/// What an endpoint does about the failure it was given (see [`Failure::answer`]).
#[derive(Debug)]
pub enum Injected<Q> {
    /// Answer normally (no failure, or a [`Failure::Slow`] that has waited).
    Normal,
    /// Answer this instead.
    Answer(Response),
    /// The provider's own failure, for the endpoint to carry out.
    Provider(Q),
}

impl<Q> Failure<Q> {
    /// Carries out a shared failure: waits for [`Slow`](Self::Slow), builds the answer of the
    /// others. `status_answer` makes the provider's error answer for a status.
    pub async fn answer(self, status_answer: impl FnOnce(StatusCode) -> Response) -> Injected<Q> {
        match self {
            Self::Status(code) => Injected::Answer(status_answer(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            )),
            Self::Slow(delay) => {
                tokio::time::sleep(delay).await;
                Injected::Normal
            }
            Self::Garbage => Injected::Answer((StatusCode::OK, "this is not JSON").into_response()),
            Self::Html => Injected::Answer(
                (
                    StatusCode::BAD_GATEWAY,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                )
                    .into_response(),
            ),
            Self::Huge => {
                Injected::Answer((StatusCode::OK, "A".repeat(HUGE_BODY_BYTES)).into_response())
            }
            Self::RedirectTo(location) => Injected::Answer(
                (StatusCode::FOUND, [(header::LOCATION, location)], "").into_response(),
            ),
            Self::Provider(quirk) => Injected::Provider(quirk),
        }
    }
}

/// Failures waiting for their endpoints, first in first out per endpoint. `E` is the
/// provider's `Endpoint` enum.
#[derive(Debug)]
pub struct FailureQueue<E, Q = Infallible> {
    queue: Mutex<VecDeque<(E, Failure<Q>)>>,
}

impl<E, Q> Default for FailureQueue<E, Q> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
        }
    }
}

impl<E: PartialEq, Q> FailureQueue<E, Q> {
    /// Makes the next request to `endpoint` answer `failure`.
    pub fn push(&self, endpoint: E, failure: Failure<Q>) {
        self.lock().push_back((endpoint, failure));
    }

    /// The failure waiting for `endpoint`, if any (taken out of the queue).
    pub fn take(&self, endpoint: &E) -> Option<Failure<Q>> {
        let mut queue = self.lock();
        let index = queue.iter().position(|(waiting, _)| waiting == endpoint)?;
        queue.remove(index).map(|(_, failure)| failure)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(E, Failure<Q>)>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running emulator's server: axum on a loopback port, stopped when dropped.
pub struct EmulatorServer {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for EmulatorServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EmulatorServer {
    /// A listener on `127.0.0.1` at a free port. Panics if none can be bound (a test helper).
    pub async fn loopback_listener() -> tokio::net::TcpListener {
        tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port for an emulator")
    }

    /// Serves `app` on `listener` in a task of the current Tokio runtime.
    pub fn serve(listener: tokio::net::TcpListener, app: Router) -> Self {
        let address = listener
            .local_addr()
            .expect("an emulator's listener has an address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { address, task }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// What the control API under `/_emulator/` does to an emulator (implemented by each
/// emulator's state):
///
/// - `POST /_emulator/revoke`: [`revoke`](Self::revoke), answers 204;
/// - `POST /_emulator/expire`: [`expire`](Self::expire), answers 204;
/// - `POST /_emulator/fail-auth?count=N&status=S`: [`fail_auth`](Self::fail_auth) N times
///   (defaults 1 and 503), answers 204;
/// - `GET /_emulator/counters`: [`counters`](Self::counters) as JSON.
pub trait EmulatorControl: Send + Sync + 'static {
    /// Makes every credential issued so far invalid: the API answers with the provider's
    /// rejection.
    fn revoke(&self);

    /// Makes every credential issued so far expired. Defaults to [`revoke`](Self::revoke).
    fn expire(&self) {
        self.revoke();
    }

    /// Makes the next authentication answer `status` (the API call, for a provider without an
    /// authentication call of its own).
    fn fail_auth(&self, status: u16);

    /// The emulator's counters, a JSON object of numbers.
    fn counters(&self) -> serde_json::Value;
}

/// `?count=N&status=S` of `POST /_emulator/fail-auth`.
#[derive(serde::Deserialize)]
struct FailAuth {
    count: Option<usize>,
    status: Option<u16>,
}

/// The control API's routes over `control` (see [`EmulatorControl`]), to merge into the
/// emulator's router.
pub fn control_routes<C: EmulatorControl>(control: Arc<C>) -> Router {
    Router::new()
        .route("/_emulator/revoke", post(revoke::<C>))
        .route("/_emulator/expire", post(expire::<C>))
        .route("/_emulator/fail-auth", post(fail_auth::<C>))
        .route("/_emulator/counters", get(counters::<C>))
        .with_state(control)
}

async fn revoke<C: EmulatorControl>(State(control): State<Arc<C>>) -> StatusCode {
    control.revoke();
    StatusCode::NO_CONTENT
}

async fn expire<C: EmulatorControl>(State(control): State<Arc<C>>) -> StatusCode {
    control.expire();
    StatusCode::NO_CONTENT
}

async fn fail_auth<C: EmulatorControl>(
    State(control): State<Arc<C>>,
    Query(query): Query<FailAuth>,
) -> StatusCode {
    let status = query.status.unwrap_or(503);
    for _ in 0..query.count.unwrap_or(1) {
        control.fail_auth(status);
    }
    StatusCode::NO_CONTENT
}

async fn counters<C: EmulatorControl>(State(control): State<Arc<C>>) -> Response {
    axum::Json(control.counters()).into_response()
}
