//! The reqwest glue: an HTTP client that authenticates every request, re-authenticates once on
//! rejection, and never carries credentials to another origin.

use http::header::LOCATION;
use http::{HeaderMap, Method, StatusCode};
use reqwest::{Request, Response};
use url::Url;

use crate::http::{HttpSettings, MAX_BODY, read_body_limited};
use crate::source::ResponseView;
use crate::{AuthError, Credential, CredentialCache};

/// How many redirects [`AuthClient`] follows before giving up. Ten, like browsers and reqwest.
pub const MAX_REDIRECTS: usize = 10;

/// An HTTP client whose requests carry the cache's credential.
///
/// On the provider's rejection it invalidates that credential, acquires once and repeats the
/// request once, when the body can be cloned; a streaming body gets the rejection back. A second
/// rejection is an [`AuthError::Rejected`]. Redirects are followed here, not by reqwest: within
/// the first request's origin the credential goes along; once a redirect leaves it, no
/// credential header is sent again (`Public-Token`, `X-API-Key` and the like would otherwise
/// travel, since reqwest strips only `Authorization` and cookies).
#[derive(Clone, Debug)]
pub struct AuthClient {
    http: reqwest::Client,
    cache: CredentialCache,
}

/// What became of one authenticated exchange.
pub(crate) enum Outcome {
    Accepted(Response),
    Rejected(Response),
}

impl AuthClient {
    /// A client with [`HttpSettings::default`].
    pub fn new(cache: CredentialCache) -> Result<Self, AuthError> {
        let provider = cache.source().identity().provider();
        Ok(Self {
            http: HttpSettings::default().build_client(provider)?,
            cache,
        })
    }

    /// A client over your own reqwest client. Build it with
    /// `.redirect(reqwest::redirect::Policy::none())`: redirects must reach this client's own
    /// handling, or credentials could follow them to another origin.
    pub fn with_http_client(cache: CredentialCache, http: reqwest::Client) -> Self {
        Self { http, cache }
    }

    /// The credential cache.
    pub fn cache(&self) -> &CredentialCache {
        &self.cache
    }

    /// The underlying reqwest client (sends nothing authenticated by itself).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request builder for `method` `url`; send it with [`send`](Self::send).
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    /// An authenticated GET of `url`.
    pub async fn get(&self, url: impl reqwest::IntoUrl) -> Result<Response, AuthError> {
        let provider = self.provider();
        let request = self.http.get(url).build().map_err(|error| {
            AuthError::config(provider, format!("bad request: {}", error.without_url()))
        })?;
        self.send(request).await
    }

    /// Sends `request` with the credential, handling rejection and redirects as described on
    /// the type.
    pub async fn send(&self, request: Request) -> Result<Response, AuthError> {
        let retry = request.try_clone();
        // A cache hit needs no await (see docs/benchmarks.md: the future's moves cost more).
        let credential = match self.cache.fresh() {
            Some(credential) => credential,
            None => self.cache.get().await?,
        };
        let response = match self.exchange(request, &credential).await? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        self.cache.invalidate(credential.generation());
        let Some(retry) = retry else {
            tracing::debug!("rejected, and the body cannot be repeated: returning the rejection");
            return Ok(response);
        };
        drop(response);
        let credential = self.cache.get().await?;
        self.last_exchange(retry, &credential).await
    }

    /// Like [`send`](Self::send), for a request whose content depends on the credential (a body
    /// encrypted to a key the session carries, a signature over a session value): `build` makes
    /// the request for the credential it is given, and when that credential is rejected, it is
    /// called again with the new one, so the retry is made for the new credential rather than
    /// repeated as it was. The credential's headers are added as by `send`.
    pub async fn send_with<F>(&self, build: F) -> Result<Response, AuthError>
    where
        F: Fn(&Credential) -> Result<Request, AuthError>,
    {
        let credential = self.cache.get().await?;
        let response = match self.exchange(build(&credential)?, &credential).await? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        self.cache.invalidate(credential.generation());
        drop(response);
        let credential = self.cache.get().await?;
        self.last_exchange(build(&credential)?, &credential).await
    }

    /// For a proxy that hands every answer back unchanged: like [`send_with`](Self::send_with),
    /// except that a second rejection comes back as the response it is (status, headers, body)
    /// rather than as an error, and that when `repeatable` is false (a streamed body, which can
    /// be sent once) the first rejection comes back as it is, its credential invalidated.
    pub async fn send_passing_rejection<F>(
        &self,
        mut build: F,
        repeatable: bool,
    ) -> Result<Response, AuthError>
    where
        F: FnMut(&Credential) -> Result<Request, AuthError>,
    {
        let credential = match self.cache.fresh() {
            Some(credential) => credential,
            None => self.cache.get().await?,
        };
        let response = match self.exchange(build(&credential)?, &credential).await? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        self.cache.invalidate(credential.generation());
        if !repeatable {
            return Ok(response);
        }
        drop(response);
        let credential = self.cache.get().await?;
        match self.exchange(build(&credential)?, &credential).await? {
            Outcome::Accepted(response) => Ok(response),
            Outcome::Rejected(response) => {
                self.cache.invalidate(credential.generation());
                Ok(response)
            }
        }
    }

    /// The retry after a rejection: a second rejection is final.
    async fn last_exchange(
        &self,
        request: Request,
        credential: &Credential,
    ) -> Result<Response, AuthError> {
        match self.exchange(request, credential).await? {
            Outcome::Accepted(response) => Ok(response),
            Outcome::Rejected(response) => {
                self.cache.invalidate(credential.generation());
                Err(AuthError::rejected(
                    self.provider(),
                    Some(response.status().as_u16()),
                    "the request was rejected again right after re-authenticating; check the account's rights and settings",
                ))
            }
        }
    }

    fn provider(&self) -> &'static str {
        self.cache.source().identity().provider()
    }

    /// One request with redirects followed, then judged for rejection.
    async fn exchange(
        &self,
        request: Request,
        credential: &Credential,
    ) -> Result<Outcome, AuthError> {
        let (response, carried_credential) = self.follow_redirects(request, credential).await?;
        if !carried_credential {
            // An answer from another origin, which never saw the credential, cannot reject it.
            return Ok(Outcome::Accepted(response));
        }
        judge(self.cache.source().as_ref(), response).await
    }

    async fn follow_redirects(
        &self,
        mut request: Request,
        credential: &Credential,
    ) -> Result<(Response, bool), AuthError> {
        let provider = self.provider();
        let origin = request.url().origin();
        let mut authenticated = true;
        for _ in 0..=MAX_REDIRECTS {
            let next_copy = request.try_clone();
            let url = request.url().clone();
            if authenticated {
                self.cache
                    .source()
                    .apply(credential, url.path(), request.headers_mut());
            }
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|error| AuthError::transport(provider, error))?;
            let Some(next_url) = redirect_target(&url, response.status(), response.headers())
            else {
                return Ok((response, authenticated));
            };
            let Some(mut next) = next_copy else {
                return Ok((response, authenticated));
            };
            if matches!(
                response.status(),
                StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
            ) && next.method() != Method::HEAD
            {
                *next.method_mut() = Method::GET;
                *next.body_mut() = None;
                next.headers_mut().remove(http::header::CONTENT_TYPE);
                next.headers_mut().remove(http::header::CONTENT_LENGTH);
            }
            if next_url.origin() != origin {
                if authenticated {
                    tracing::debug!("redirect leaves the origin: credentials stay behind");
                }
                authenticated = false;
                strip_credential_headers(next.headers_mut(), credential);
            }
            *next.url_mut() = next_url;
            request = next;
        }
        Err(AuthError::protocol(
            provider,
            format!("more than {MAX_REDIRECTS} redirects"),
        ))
    }
}

/// Whether `response` is the provider's rejection, reading (and rebuilding) the body when the
/// source needs it.
pub(crate) async fn judge(
    source: &dyn crate::CredentialSource,
    response: Response,
) -> Result<Outcome, AuthError> {
    if !source.inspects_body() {
        let view = ResponseView {
            status: response.status(),
            headers: response.headers(),
            body: None,
        };
        return Ok(if source.is_rejection(&view) {
            Outcome::Rejected(response)
        } else {
            Outcome::Accepted(response)
        });
    }
    let provider = source.identity().provider();
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = read_body_limited(provider, response, MAX_BODY).await?;
    let view = ResponseView {
        status,
        headers: &headers,
        body: Some(&body),
    };
    let rejected = source.is_rejection(&view);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    let response = Response::from(rebuilt);
    Ok(if rejected {
        Outcome::Rejected(response)
    } else {
        Outcome::Accepted(response)
    })
}

/// Where a redirect answer points, if it is one.
pub(crate) fn redirect_target(url: &Url, status: StatusCode, headers: &HeaderMap) -> Option<Url> {
    if !matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    let location = headers.get(LOCATION)?.to_str().ok()?;
    url.join(location).ok()
}

/// Removes every header the credential would add, plus `Authorization` and `Cookie`.
pub(crate) fn strip_credential_headers(headers: &mut HeaderMap, credential: &Credential) {
    for name in credential.headers().keys() {
        headers.remove(name);
    }
    headers.remove(http::header::AUTHORIZATION);
    headers.remove(http::header::COOKIE);
}
