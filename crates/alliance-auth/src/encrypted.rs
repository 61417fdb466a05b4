//! Requests whose body is encrypted to the session's `serverPublic` (the legacy H2H payment and
//! refund endpoints), made again for the new session when the old one is rejected.

use auth_core::{AuthClient, AuthError};
use http::Method;
use http::header::{CONTENT_TYPE, HeaderValue};
use reqwest::Response;
use url::Url;

use crate::{AllianceSession, PROVIDER};

/// Sends `plaintext` to `url` as a legacy H2H body: a JWE encrypted to the current session's
/// `serverPublic`, with `Content-Type: text/plain`, and the session headers.
///
/// A new session comes with a new `serverPublic`, so a body encrypted for a rejected session
/// cannot simply be sent again (the bank answers `b_encryptor_failed_decrypt_message`): when
/// the session is rejected, `plaintext` is encrypted again to the new session's key for the one
/// retry. The answer comes back as it is; decrypt its `{"jwe": …}` with
/// [`AllianceSource::decrypt_answer`](crate::AllianceSource::decrypt_answer).
///
/// # Errors
/// A `url` that is not a URL is [`AuthError::Config`]; everything else is as for
/// [`AuthClient::send`].
pub async fn send_encrypted(
    client: &AuthClient,
    method: Method,
    url: &str,
    plaintext: &[u8],
) -> Result<Response, AuthError> {
    let url = Url::parse(url).map_err(|error| {
        AuthError::config(PROVIDER, format!("the request URL is not a URL ({error})"))
    })?;
    client
        .send_with(|credential| {
            let session = AllianceSession::from_credential(credential)?;
            let body = session.encrypt_body(plaintext).map_err(|error| {
                AuthError::protocol(
                    PROVIDER,
                    format!(
                        "could not encrypt the request body to the session's serverPublic: {error}"
                    ),
                )
            })?;
            let mut request = reqwest::Request::new(method.clone(), url.clone());
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            *request.body_mut() = Some(body.into());
            Ok(request)
        })
        .await
}
