//! One proxied exchange: the client's request checked, sent to the provider's origin with the
//! credential through [`AuthClient`], and the answer streamed back unchanged.

use std::sync::Arc;
use std::time::Instant;

use auth_core::{AuthClient, AuthError, Credential};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use url::Url;

use super::encrypt::{self, ENCRYPT_HEADER};
use super::{HEALTH_PATH, Limits};

/// Headers meant for one hop only (RFC 9110 §7.6.1), never forwarded either way.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Every header a provider's credential puts on a request: a client's own value of one of these
/// is dropped, never passed through (the credential's is set instead).
const CREDENTIAL_HEADERS: [&str; 8] = [
    "authorization",
    "x-authorization",
    "public-token",
    "x-api-key",
    "x-api_version",
    "x-device_id",
    "x-refresh_token",
    "x-request_id",
];

/// What every request is handled with.
pub struct Proxy {
    /// The authenticated client (cache, store, rejection handling, redirects).
    pub client: AuthClient,
    /// The provider's API origin: every request goes there and nowhere else.
    pub origin: Url,
    /// The token clients must present on TCP; `None` on a Unix socket.
    pub token: Option<SecretString>,
    /// Size limits.
    pub limits: Limits,
    /// Bank Alliance only (the client is over an `AllianceSource`): encrypts bodies to the
    /// session key and decrypts answers.
    pub alliance: bool,
}

/// The request body as it will be sent.
enum Outgoing {
    /// Held whole: can be sent again after a rejection.
    Buffered(Bytes),
    /// Larger than the buffer limit: sent once, as it arrives.
    Streaming(Option<reqwest::Body>),
}

/// The axum handler: answers, and writes one access-log event (no headers, no query, no body).
pub async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = proxy.respond(request).await;
    tracing::info!(
        target: "propusk::proxy::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "proxied"
    );
    response
}

impl Proxy {
    async fn respond(&self, request: Request) -> Response {
        if !self.authorized(request.headers()) {
            return (
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                [(header::PROXY_AUTHENTICATE, "Bearer realm=\"propusk\"")],
                "propusk proxy: send Proxy-Authorization: Bearer $PROPUSK_PROXY_TOKEN\n",
            )
                .into_response();
        }
        if request.uri().path() == HEALTH_PATH && request.method() == Method::GET {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"status\":\"ok\"}\n",
            )
                .into_response();
        }
        match self.forward(request).await {
            Ok(response) => response,
            Err(refusal) => refusal.into_response(),
        }
    }

    /// Whether the request carries the proxy token (always, on a Unix socket).
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let Some(presented) = headers
            .get(header::PROXY_AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes()))
    }

    async fn forward(&self, request: Request) -> Result<Response, Refusal> {
        let (parts, body) = request.into_parts();
        let url = self.target(&parts.uri)?;
        let encrypted = encrypt::requested(&parts.headers, self.alliance)?;
        let headers = forwarded_headers(&parts.headers);
        let outgoing = tokio::time::timeout(
            self.limits.body_timeout,
            self.read_body(&parts.headers, body, encrypted),
        )
        .await
        .map_err(|_| {
            Refusal::plain(
                StatusCode::REQUEST_TIMEOUT,
                "propusk proxy: the request body did not arrive in time (--request-timeout)",
            )
        })??;
        let method = parts.method;
        let repeatable = matches!(outgoing, Outgoing::Buffered(_));
        let mut outgoing = outgoing;
        let build = move |credential: &Credential| -> Result<reqwest::Request, AuthError> {
            let mut request = reqwest::Request::new(method.clone(), url.clone());
            *request.headers_mut() = headers.clone();
            let body = match &mut outgoing {
                Outgoing::Buffered(bytes) if encrypted => {
                    let jwe = encrypt::encrypt_body(credential, bytes)?;
                    request
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                    reqwest::Body::from(jwe)
                }
                // A GET without a body goes without one, not with an empty one.
                Outgoing::Buffered(bytes)
                    if bytes.is_empty()
                        && matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) =>
                {
                    return Ok(request);
                }
                Outgoing::Buffered(bytes) => reqwest::Body::from(bytes.clone()),
                Outgoing::Streaming(body) => body.take().ok_or_else(|| {
                    AuthError::protocol("proxy", "a streamed request body cannot be sent twice")
                })?,
            };
            *request.body_mut() = Some(body);
            Ok(request)
        };
        let answer = self
            .client
            .send_passing_rejection(build, repeatable)
            .await
            .map_err(Refusal::NoAnswer)?;
        if encrypted {
            return encrypt::decrypt_answer(&self.client, answer).await;
        }
        Ok(stream_back(answer))
    }

    /// The provider URL for the client's path and query: always on the provider's origin,
    /// whatever authority the client named.
    fn target(&self, uri: &http::Uri) -> Result<Url, Refusal> {
        let mut url = self.origin.clone();
        url.set_path(uri.path());
        url.set_query(uri.query());
        if url.origin() != self.origin.origin() {
            return Err(Refusal::plain(
                StatusCode::BAD_REQUEST,
                "the request path is not valid",
            ));
        }
        Ok(url)
    }

    /// Holds a body up to the buffer limit (repeatable), streams a larger one, refuses one over
    /// the size limit.
    async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
        must_buffer: bool,
    ) -> Result<Outgoing, Refusal> {
        let too_large = || {
            Refusal::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "propusk proxy: the request body is over the {}-byte limit (--max-request-body)",
                    self.limits.max_request_body
                ),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.limits.max_request_body) {
            return Err(too_large());
        }
        let buffer_limit = if must_buffer {
            usize::try_from(self.limits.max_request_body).unwrap_or(usize::MAX)
        } else {
            self.limits.buffer_limit
        };
        let mut stream = body.into_data_stream();
        let mut held = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                Refusal::plain(
                    StatusCode::BAD_REQUEST,
                    "propusk proxy: the request body broke off",
                )
            })?;
            held.extend_from_slice(&chunk);
            if held.len() as u64 > self.limits.max_request_body {
                return Err(too_large());
            }
            if held.len() > buffer_limit {
                if must_buffer {
                    return Err(too_large());
                }
                let limit = self.limits.max_request_body;
                let mut sent = 0u64;
                let rest = futures_util::stream::once(async move { Ok(held.freeze()) })
                    .chain(stream)
                    .map(move |chunk: Result<Bytes, axum::Error>| {
                        let chunk = chunk.map_err(std::io::Error::other)?;
                        sent += chunk.len() as u64;
                        if sent > limit {
                            return Err(std::io::Error::other(
                                "the request body is over the limit",
                            ));
                        }
                        Ok(chunk)
                    });
                return Ok(Outgoing::Streaming(Some(reqwest::Body::wrap_stream(rest))));
            }
        }
        Ok(Outgoing::Buffered(held.freeze()))
    }
}

/// The client's headers minus hop-by-hop ones, `Host`, `Content-Length` (set again from the
/// body), the proxy's own and every credential header.
fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let mut headers = incoming.clone();
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::UPGRADE);
    headers.remove(ENCRYPT_HEADER);
    for name in CREDENTIAL_HEADERS {
        headers.remove(name);
    }
    headers
}

/// The provider's answer, status and headers as they are, body streamed.
pub fn stream_back(answer: reqwest::Response) -> Response {
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    let mut response = Response::new(Body::from_stream(answer.bytes_stream()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Why the proxy answers itself instead of passing on the provider's answer.
pub enum Refusal {
    /// This status and line.
    Plain(StatusCode, String),
    /// No answer came from the provider.
    NoAnswer(AuthError),
}

impl Refusal {
    /// A refusal with `status` and the line `text`.
    pub fn plain(status: StatusCode, text: impl Into<String>) -> Self {
        Self::Plain(status, text.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Plain(status, text) => plain(status, &text),
            Self::NoAnswer(error) => failure(&error),
        }
    }
}

/// A short text answer from the proxy itself.
pub fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

/// The proxy's answer when no answer came from the provider: 504 on a timeout, 502 otherwise,
/// with the error (which never holds a secret) as the body and in `X-Propusk-Error`.
fn failure(error: &AuthError) -> Response {
    let message = error.to_string();
    tracing::warn!(target: "propusk::proxy", error = %message, "no answer from the provider");
    let status = match error {
        AuthError::Transport { .. } if message.contains("timed out") => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut response = plain(status, &format!("propusk proxy: {message}"));
    let one_line: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(300)
        .collect();
    if let Ok(value) = HeaderValue::from_str(&one_line) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-propusk-error"), value);
    }
    response
}
