//! (feature `axum`) The receiver as an axum router, and a server for it that hostile clients
//! cannot hold ([`serve_with`]).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::webhook::{Endpoint, Receiver, WebhookError, WebhookResponse};

mod server;

pub use server::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_TIMEOUT, ServeSettings,
    serve_with,
};

/// A router serving every webhook path of Evotor's spec under its conventional path
/// (`/api/v1/user/create`, ..., `/api/v2/receipts`, `GET /api/v1/commodities`), for
/// [`Router::merge`] or [`Router::nest`] into your application.
///
/// For each request it checks the credential before reading the body, reads at most
/// [`ReceiverConfig::body_limit`](crate::ReceiverConfig::body_limit) bytes (413 beyond) within
/// [`ReceiverConfig::request_timeout`](crate::ReceiverConfig::request_timeout) (408 after), and
/// answers in Evotor's error format; any other path or method gets 404 `{}`. Your
/// [`AccountHandler`](crate::webhook::AccountHandler) does the rest. Answer within 10 s: the
/// Cloud gives up (and re-sends) after that, so do slow work in the background.
///
/// Serve it with [`serve_with`] (header-read timeout, connection limit, graceful shutdown);
/// plain `axum::serve` has none of those.
pub fn router(receiver: Receiver) -> Router {
    fn fixed(
        endpoint: Endpoint,
    ) -> impl Fn(State<Receiver>, HeaderMap, Body) -> FixedFuture + Clone + Send + Sync + 'static
    {
        move |State(receiver), headers, body| {
            Box::pin(serve(receiver, endpoint.clone(), headers, body))
        }
    }
    type FixedFuture = std::pin::Pin<Box<dyn Future<Output = Response> + Send>>;

    Router::new()
        .route("/api/v1/user/create", post(fixed(Endpoint::UserCreate)))
        .route("/api/v1/user/verify", post(fixed(Endpoint::UserVerify)))
        .route("/api/v1/user/token", post(fixed(Endpoint::UserToken)))
        .route(
            "/api/v1/subscription/event",
            post(fixed(Endpoint::SubscriptionEvent)),
        )
        .route(
            "/api/v2/installation/event",
            post(fixed(Endpoint::InstallationEvent)),
        )
        .route("/api/v1/inventories/stores", put(fixed(Endpoint::Stores)))
        .route("/api/v1/inventories/devices", put(fixed(Endpoint::Devices)))
        .route(
            "/api/v1/inventories/employees",
            put(fixed(Endpoint::Employees)),
        )
        .route("/api/v2/receipts", post(fixed(Endpoint::Receipts)))
        .route(
            "/api/v1/commodities",
            get(
                |State(receiver): State<Receiver>,
                 RawQuery(query): RawQuery,
                 headers: HeaderMap| {
                    let endpoint = Endpoint::commodities(query.as_deref().unwrap_or(""));
                    serve(receiver, endpoint, headers, Body::empty())
                },
            ),
        )
        .route(
            "/api/v1/inventories/stores/{store_uuid}/documents",
            put(
                |State(receiver): State<Receiver>,
                 Path(store_uuid): Path<String>,
                 headers: HeaderMap,
                 body: Body| {
                    serve(receiver, Endpoint::Documents { store_uuid }, headers, body)
                },
            ),
        )
        .route(
            "/api/v1/inventories/stores/{store_uuid}/products",
            post(
                |State(receiver): State<Receiver>,
                 Path(store_uuid): Path<String>,
                 headers: HeaderMap,
                 body: Body| {
                    serve(receiver, Endpoint::Products { store_uuid }, headers, body)
                },
            ),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(receiver)
}

/// Serves [`router`] on `listener` with the default [`ServeSettings`] until `shutdown`
/// completes, then lets the requests in progress finish (for up to the shutdown timeout).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    receiver: Receiver,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        router(receiver),
        &ServeSettings::default(),
        shutdown,
    )
    .await
}

async fn not_found() -> Response {
    respond(WebhookError::not_found().into())
}

async fn serve(receiver: Receiver, endpoint: Endpoint, headers: HeaderMap, body: Body) -> Response {
    let caller = match receiver.authorize(&endpoint, &headers).await {
        Ok(caller) => caller,
        Err(error) => return respond(error.into()),
    };
    let limit = receiver.config().body_limit();
    let declared_too_large = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64);
    if declared_too_large {
        return respond(WebhookError::too_large().into());
    }
    let timeout: Duration = receiver.config().request_timeout();
    let bytes = match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => return respond(WebhookError::request_timeout().into()),
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return respond(WebhookError::too_large().into());
        }
        Ok(Err(_)) => return respond(WebhookError::syntax().with_subject("body").into()),
    };
    respond(receiver.process(&endpoint, &caller, &bytes).await)
}

/// The answer as axum sends it: `Content-Type: application/json;charset=UTF-8` exactly when
/// there is a body.
fn respond(response: WebhookResponse) -> Response {
    let content_type = response.content_type();
    let mut answer = (response.status, response.body).into_response();
    match content_type {
        Some(value) => {
            answer
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        }
        None => {
            answer.headers_mut().remove(header::CONTENT_TYPE);
        }
    }
    answer
}
