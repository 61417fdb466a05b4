//! (feature `axum`) The receiver as an axum router.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::webhook::{Endpoint, Receiver, WebhookError, WebhookResponse};

/// A router serving every webhook path of the sheet under its conventional path
/// (`/api/v1/user/create`, ..., `/api/v2/receipts`), for
/// [`Router::merge`] or [`Router::nest`] into your application.
///
/// For each request it checks the credential before reading the body, reads at most
/// [`ReceiverConfig::body_limit`](crate::ReceiverConfig::body_limit) bytes (413 beyond), and
/// answers in Evotor's error format. Your [`AccountHandler`](crate::webhook::AccountHandler)
/// does the rest. Answer within 10 s: the Cloud gives up (and re-sends) after that, so do slow
/// work in the background.
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
        .with_state(receiver)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes the requests in
/// progress (what `propusk evotor serve` runs).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    receiver: Receiver,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(receiver))
        .with_graceful_shutdown(shutdown)
        .await
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
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return respond(WebhookError::too_large().into());
        }
        Err(_) => return respond(WebhookError::syntax().into()),
    };
    respond(receiver.process(&endpoint, &caller, &bytes).await)
}

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
