//! The emulator's control API under `/_emulator/` (see the module docs of `testkit`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{EmulatorState, lock};

/// How an access token was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Withdrawal {
    /// Answered as an invalid token (401 622).
    Revoked,
    /// Answered as an expired token (401 619).
    Expired,
}

/// `?count=N&status=S` of `POST /_emulator/fail-auth`.
#[derive(serde::Deserialize)]
struct FailAuth {
    count: Option<usize>,
    status: Option<u16>,
}

type AppState = State<Arc<EmulatorState>>;

pub(super) fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/_emulator/revoke", post(revoke))
        .route("/_emulator/expire", post(expire))
        .route("/_emulator/fail-auth", post(fail_auth))
        .route("/_emulator/counters", get(counters))
}

/// The node's answer to a withdrawn token, if `claims` belong to one.
pub(super) fn refusal(
    state: &EmulatorState,
    claims: &serde_json::Map<String, Value>,
) -> Option<Response> {
    let jti = claims.get("jti").and_then(Value::as_str)?;
    let withdrawal = *lock(&state.withdrawn).get(jti)?;
    let (code, text) = match withdrawal {
        Withdrawal::Revoked => (622, "Authorization error. Invalid token"),
        Withdrawal::Expired => (619, "Authorization error. Token expired"),
    };
    Some(
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": code, "message": text })),
        )
            .into_response(),
    )
}

fn withdraw(state: &EmulatorState, how: Withdrawal) {
    let issued = std::mem::take(&mut *lock(&state.issued_jtis));
    let mut withdrawn = lock(&state.withdrawn);
    for jti in issued {
        withdrawn.insert(jti, how);
    }
}

async fn revoke(State(state): AppState) -> StatusCode {
    withdraw(&state, Withdrawal::Revoked);
    StatusCode::NO_CONTENT
}

async fn expire(State(state): AppState) -> StatusCode {
    withdraw(&state, Withdrawal::Expired);
    StatusCode::NO_CONTENT
}

async fn fail_auth(State(state): AppState, Query(query): Query<FailAuth>) -> StatusCode {
    let status = query.status.unwrap_or(503);
    let mut failures = lock(&state.auth_failures);
    for _ in 0..query.count.unwrap_or(1) {
        failures.push_back(status);
    }
    StatusCode::NO_CONTENT
}

async fn counters(State(state): AppState) -> Response {
    let load = |counter: &std::sync::atomic::AtomicUsize| counter.load(Ordering::SeqCst);
    let logins = load(&state.logins);
    let grants = load(&state.service_grants);
    let refreshes = load(&state.refreshes);
    axum::Json(json!({
        "authentications": logins + grants + refreshes,
        "logins": logins,
        "service_grants": grants,
        "refreshes": refreshes,
        "refresh_reuses": load(&state.refresh_reuses),
        "api_calls": load(&state.node_requests),
        "api_rejections": load(&state.node_rejections),
    }))
    .into_response()
}
