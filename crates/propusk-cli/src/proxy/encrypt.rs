//! Bank Alliance bodies without JOSE on the client side: a request with
//! `X-Propusk-Encrypt: jwe` has its (JSON) body encrypted to the current session's
//! `serverPublic` (again to the new session's key when the session is rejected and the request
//! repeated) and sent as `text/plain`; an answer `{"jwe": …}` comes back decrypted, as
//! `application/json`, marked `X-Propusk-Decrypted: jwe`. Other answers come back as they are.

use alliance_auth::AllianceSession;
use auth_core::{AuthClient, AuthError, Credential};
use axum::response::Response;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::forward::{Refusal, stream_back};

/// The request header that asks for encryption; its one accepted value is `jwe`.
pub const ENCRYPT_HEADER: HeaderName = HeaderName::from_static("x-propusk-encrypt");

/// The answer header that says the body was decrypted.
const DECRYPTED_HEADER: HeaderName = HeaderName::from_static("x-propusk-decrypted");

/// The most an encrypted answer may hold to be decrypted: 8 MiB.
const MAX_ENCRYPTED_ANSWER: usize = 8 * 1024 * 1024;

/// Whether the request asks for encryption; a wrong value, or the header sent to a provider
/// other than Alliance, is a 400.
pub fn requested(headers: &HeaderMap, alliance: bool) -> Result<bool, Refusal> {
    let Some(value) = headers.get(ENCRYPT_HEADER) else {
        return Ok(false);
    };
    if !alliance {
        return Err(Refusal::plain(
            StatusCode::BAD_REQUEST,
            "propusk proxy: X-Propusk-Encrypt is for the alliance proxy only",
        ));
    }
    if value.as_bytes().eq_ignore_ascii_case(b"jwe") {
        Ok(true)
    } else {
        Err(Refusal::plain(
            StatusCode::BAD_REQUEST,
            "propusk proxy: X-Propusk-Encrypt takes one value, `jwe`",
        ))
    }
}

/// `plaintext` as a compact JWE to the session's `serverPublic`.
pub fn encrypt_body(credential: &Credential, plaintext: &[u8]) -> Result<String, AuthError> {
    let session = AllianceSession::from_credential(credential)?;
    session.encrypt_body(plaintext).map_err(|error| {
        AuthError::protocol(
            alliance_auth::PROVIDER,
            format!("could not encrypt the request body to the session's serverPublic: {error}"),
        )
    })
}

/// The answer with a `{"jwe": …}` body decrypted with the key of `client`'s Alliance source;
/// any other answer as it is.
pub async fn decrypt_answer(
    client: &AuthClient,
    answer: reqwest::Response,
) -> Result<Response, Refusal> {
    let status = answer.status();
    let mut headers = answer.headers().clone();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Ok(stream_back(answer));
    }
    let body = auth_core::provider::read_body_limited(
        alliance_auth::PROVIDER,
        answer,
        MAX_ENCRYPTED_ANSWER,
    )
    .await
    .map_err(Refusal::NoAnswer)?;
    let plaintext = match alliance_auth::decrypt_answer(client, &body) {
        Ok(plaintext) => {
            headers.insert(DECRYPTED_HEADER, HeaderValue::from_static("jwe"));
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            plaintext.into()
        }
        // Not an encrypted answer (an error envelope): as it came.
        Err(_) => body,
    };
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    let mut response = Response::new(axum::body::Body::from(plaintext));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}
