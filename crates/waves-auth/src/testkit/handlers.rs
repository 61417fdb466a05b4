//! The emulator's endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::signer::{Invalid, signer};
use super::{EmulatorState, Endpoint, NodeAuth, Withdrawal, lock};
use crate::hash::{api_key_hash, api_key_matches};
use crate::protocol::LoginField;
use crate::testkit::DEMO_SERVICE_TOKEN;
use auth_core::testkit::emulator::{Failure, Injected};

type AppState = State<Arc<EmulatorState>>;

/// The injected failure's answer, if there is one to give instead of the endpoint's.
async fn apply_failure(failure: Option<Failure>) -> Option<Response> {
    let status_answer = |status: StatusCode| (status, "injected failure").into_response();
    match failure?.answer(status_answer).await {
        Injected::Normal => None,
        Injected::Answer(response) => Some(response),
        Injected::Provider(never) => match never {},
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

fn node_error(status: StatusCode, code: i64, text: &str) -> Response {
    (status, Json(json!({ "error": code, "message": text }))).into_response()
}

/// The JSON object of a request, or the 4xx status and message to answer instead.
fn json_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, (StatusCode, &'static str)> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err((StatusCode::BAD_REQUEST, "the body must be a JSON object")),
    }
}

/// A request's arrival at `endpoint`: counted in `counter`, recorded, and answered with the
/// failure injected for it, if any.
async fn arrive(
    state: &EmulatorState,
    counter: &AtomicUsize,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Option<Response> {
    counter.fetch_add(1, Ordering::SeqCst);
    let (method, path) = endpoint.route();
    state.record(method, path, headers);
    apply_failure(state.take_failure(endpoint)).await
}

fn text<'a>(body: &'a serde_json::Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

pub(super) async fn status() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub(super) async fn login(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = arrive(&state, &state.logins, Endpoint::Login, &headers).await {
        return response;
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, text)) => return message(status, text),
    };
    let (Some(username), Some(password)) = (text(&body, "username"), text(&body, "password"))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "username and password are required",
        );
    };
    let known = lock(&state.users)
        .get(username)
        .is_some_and(|p| p == password);
    if !known {
        return message(StatusCode::UNAUTHORIZED, "Invalid login or password");
    }
    Json(state.issue_pair(username)).into_response()
}

pub(super) async fn service_token(
    State(state): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = arrive(&state, &state.service_grants, Endpoint::Token, &headers).await {
        return response;
    }
    if !body.is_empty()
        && let Err((status, text)) = json_body(&headers, &body)
    {
        return message(status, text);
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented != Some(DEMO_SERVICE_TOKEN) {
        return message(StatusCode::UNAUTHORIZED, "Invalid service token");
    }
    Json(state.issue_pair("service")).into_response()
}

pub(super) async fn refresh(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = arrive(&state, &state.refreshes, Endpoint::Refresh, &headers).await {
        return response;
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, text)) => return message(status, text),
    };
    let Some(token) = text(&body, "token") else {
        return message(StatusCode::BAD_REQUEST, "token is required");
    };
    let subject = {
        let mut book = lock(&state.refresh_tokens);
        if book.spent.contains(token) {
            drop(book);
            state.refresh_reuses.fetch_add(1, Ordering::SeqCst);
            return message(
                StatusCode::UNAUTHORIZED,
                "Refresh token has already been used",
            );
        }
        let Some(subject) = book.live.remove(token) else {
            return message(
                StatusCode::UNAUTHORIZED,
                "Refresh token is invalid or expired",
            );
        };
        book.spent.insert(token.to_owned());
        subject
    };
    Json(state.issue_pair(&subject)).into_response()
}

pub(super) async fn register(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = arrive(&state, &state.registrations, Endpoint::Register, &headers).await
    {
        return response;
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, text)) => return message(status, text),
    };
    let field = state.register_field;
    let other = match field {
        LoginField::Login => LoginField::Username,
        LoginField::Username => LoginField::Login,
    };
    if body.contains_key(other.as_str()) {
        return message(
            StatusCode::BAD_REQUEST,
            &format!("unknown field `{}`", other.as_str()),
        );
    }
    let (Some(login), Some(password), Some(locale), Some(source)) = (
        text(&body, field.as_str()),
        text(&body, "password"),
        text(&body, "locale"),
        text(&body, "source"),
    ) else {
        return message(
            StatusCode::BAD_REQUEST,
            &format!(
                "{}, password, locale and source are required",
                field.as_str()
            ),
        );
    };
    if !matches!(locale, "en" | "ru") {
        return message(StatusCode::BAD_REQUEST, "locale must be en or ru");
    }
    if source.is_empty() || password.is_empty() || !login.contains('@') {
        return message(StatusCode::BAD_REQUEST, "invalid registration");
    }
    let mut users = lock(&state.users);
    if users.contains_key(login) {
        return message(StatusCode::CONFLICT, "User already exists");
    }
    users.insert(login.to_owned(), password.to_owned());
    (StatusCode::CREATED, Json(json!({}))).into_response()
}

pub(super) async fn node_status(State(state): AppState, headers: HeaderMap) -> Response {
    if let Some(response) = arrive(&state, &state.node_requests, Endpoint::Node, &headers).await {
        return response;
    }
    let auth = lock(&state.node_auth).clone();
    let refusal = match auth {
        NodeAuth::ApiKey(hash) => check_api_key(&headers, &hash),
        NodeAuth::OAuth2 => check_bearer(&state, &headers),
    };
    if let Some(response) = refusal {
        state.node_rejections.fetch_add(1, Ordering::SeqCst);
        return response;
    }
    Json(json!({
        "blockchainHeight": 1234,
        "stateHeight": 1234,
        "updatedTimestamp": 1_700_000_000_000_i64,
        "updatedDate": "2023-11-14T22:13:20Z",
    }))
    .into_response()
}

fn expired() -> Response {
    node_error(
        StatusCode::UNAUTHORIZED,
        619,
        "Authorization error. Token expired",
    )
}

fn check_api_key(headers: &HeaderMap, hash: &str) -> Option<Response> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    match key {
        Some(key) if api_key_matches(key, hash) => None,
        _ => Some(node_error(
            StatusCode::FORBIDDEN,
            2,
            "Provided API key is not correct",
        )),
    }
}

fn check_bearer(state: &EmulatorState, headers: &HeaderMap) -> Option<Response> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(node_error(
            StatusCode::UNAUTHORIZED,
            618,
            "Authorization error. Missing authorization metadata",
        ));
    };
    // The node matches the scheme case-insensitively and also accepts the bare token.
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value.trim(),
    };
    let invalid = || {
        Some(node_error(
            StatusCode::UNAUTHORIZED,
            622,
            "Authorization error. Invalid token",
        ))
    };
    let claims = match signer().verify(token) {
        Ok(claims) => claims,
        Err(Invalid::Token) => return invalid(),
        Err(Invalid::Claims) => {
            return Some(node_error(
                StatusCode::BAD_REQUEST,
                620,
                "Can't parse JWT token claims",
            ));
        }
    };
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return invalid();
    };
    match state.refusal(&claims) {
        Some(Withdrawal::Revoked) => return invalid(),
        Some(Withdrawal::Expired) => return Some(expired()),
        None => {}
    }
    // Valid while now_ms <= exp * 1000.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    if now_ms > exp.saturating_mul(1000) {
        return Some(expired());
    }
    if let Some(role) = lock(&state.required_role).clone() {
        let has_role = claims
            .get("roles")
            .and_then(Value::as_array)
            .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(role.as_str())));
        if !has_role {
            return Some(node_error(
                StatusCode::FORBIDDEN,
                621,
                &format!("Authorization error. No expected role '{role}'"),
            ));
        }
    }
    None
}

pub(super) async fn secure_hash(body: Bytes) -> Response {
    let input = String::from_utf8_lossy(&body).into_owned();
    let hash = api_key_hash(&input);
    Json(json!({ "message": input, "hash": hash })).into_response()
}
