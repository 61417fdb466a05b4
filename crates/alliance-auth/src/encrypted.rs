//! Requests whose body is encrypted to the session's `serverPublic` (the legacy H2H payment and
//! refund endpoints), made again for the new session when the old one is rejected, and their
//! `{"jwe": …}` answers decrypted. Both hang off the [`AuthClient`]: the source is found in its
//! cache, so nobody keeps it by hand.

use auth_core::{AuthClient, AuthError};
use http::Method;
use http::header::{CONTENT_TYPE, HeaderValue};
use reqwest::Response;
use url::Url;

use crate::{AllianceSession, AllianceSource, PROVIDER, jwe};

/// Sends `plaintext` to `url` as a legacy H2H body: a JWE encrypted to the current session's
/// `serverPublic`, with `Content-Type: text/plain`, and the session headers.
///
/// A new session comes with a new `serverPublic`, so a body encrypted for a rejected session
/// cannot simply be sent again (the bank answers `b_encryptor_failed_decrypt_message`): when
/// the session is rejected, `plaintext` is encrypted again to the new session's key for the one
/// retry. The answer comes back as it is; decrypt its `{"jwe": …}` with [`decrypt_answer`].
///
/// # Errors
/// A `client` that is not over an [`AllianceSource`], or a `url` that is not a URL, is
/// [`AuthError::Config`]; everything else is as for [`AuthClient::send`].
///
/// # Example
///
/// ```
/// use alliance_auth::{AllianceSource, decrypt_answer, send_encrypted};
/// use http::Method;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = alliance_auth::testkit::Emulator::start().await;
/// # let config = emulator.config();
/// # let refund_url = emulator.url("ecom/execute_request/payments/v3/refund");
/// let client = AllianceSource::new(config).into_client()?;
/// let body = br#"{"operationId":"3f1d","amount":100}"#;
/// let answer = send_encrypted(&client, Method::POST, &refund_url, body).await?;
/// let plaintext = decrypt_answer(&client, &answer.bytes().await?)?;
/// let answer: serde_json::Value = serde_json::from_slice(&plaintext)?;
/// assert_eq!(answer["status"], "OK");
/// # assert_eq!(answer["received"]["amount"], 100);
/// # Ok(()) }
/// ```
pub async fn send_encrypted(
    client: &AuthClient,
    method: Method,
    url: &str,
    plaintext: &[u8],
) -> Result<Response, AuthError> {
    source_of(client, "send_encrypted")?;
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

/// Decrypts a `{"jwe": …}` answer of the API (`body`, as read) with the authorization key of the
/// [`AllianceSource`] behind `client`. See [`send_encrypted`] for an example.
///
/// # Errors
/// A `client` that is not over an [`AllianceSource`] is [`AuthError::Config`]; a body that is
/// not `{"jwe": …}` or does not decrypt is [`AuthError::Protocol`] (an error envelope, say: read
/// it as it is).
pub fn decrypt_answer(client: &AuthClient, body: &[u8]) -> Result<Vec<u8>, AuthError> {
    let source = source_of(client, "decrypt_answer")?;
    jwe::decrypt_answer(source.config().authorization_key(), body).map_err(AuthError::from)
}

/// The [`AllianceSource`] behind `client`, or a config error naming `what` needed it.
fn source_of<'a>(client: &'a AuthClient, what: &str) -> Result<&'a AllianceSource, AuthError> {
    client
        .cache()
        .source_as::<AllianceSource>()
        .ok_or_else(|| {
            AuthError::config(
                PROVIDER,
                format!(
                    "{what} needs an AuthClient over an AllianceSource; the client's source is provider `{}`",
                    client.cache().source().identity().provider()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::{Credential, CredentialCache, CredentialSource, Identity};

    /// A source of another provider.
    #[derive(Debug)]
    struct Other(Identity);

    #[async_trait::async_trait]
    impl CredentialSource for Other {
        fn identity(&self) -> &Identity {
            &self.0
        }

        async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
            Err(AuthError::config("other", "never asked"))
        }
    }

    #[tokio::test]
    async fn the_extras_need_a_client_over_an_alliance_source() {
        let client =
            AuthClient::new(CredentialCache::new(Other(Identity::new("other", ["x"])))).unwrap();
        let error = decrypt_answer(&client, br#"{"jwe":"a.b.c.d.e"}"#).unwrap_err();
        assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("decrypt_answer needs an AuthClient over an AllianceSource; the client's source is provider `other`"),
            "{error}"
        );
        let error = send_encrypted(&client, Method::POST, "https://h.example/", b"{}")
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("send_encrypted needs an AuthClient over an AllianceSource"),
            "{error}"
        );
    }
}
