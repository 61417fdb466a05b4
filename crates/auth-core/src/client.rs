//! The reqwest glue: an HTTP client that authenticates every request, re-authenticates once on
//! rejection, and never carries credentials to another origin.

use http::header::LOCATION;
use http::{HeaderMap, Method, StatusCode};
use reqwest::{Request, Response};
use url::Url;

use crate::provider::{MAX_BODY, read_body_limited};
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
///
/// **Where the credential may go.** Only to the source's own API origins
/// ([`CredentialSource::api_origins`](crate::CredentialSource::api_origins): the base URL's
/// origin) and those allowed with [`allow_origin`](Self::allow_origin), and only over https,
/// except to a loopback host. A request to any other URL is an [`AuthError::Config`] before
/// anything is sent. A source that names no origin restricts nothing but the scheme.
///
/// **Rejection storms.** A rejection of a credential younger than
/// [`RefreshPolicy::rejection_window`](crate::RefreshPolicy::rejection_window) re-authenticates
/// at most once per window (see [`CredentialCache::reject`]); meanwhile the rejection is
/// returned as it is.
#[derive(Clone, Debug)]
pub struct AuthClient {
    http: reqwest::Client,
    cache: CredentialCache,
    origins: AllowedOrigins,
}

/// What became of one authenticated exchange.
pub(crate) enum Outcome {
    Accepted(Response),
    Rejected(Response),
}

impl AuthClient {
    /// A client with the source's HTTP settings
    /// ([`CredentialSource::http_settings`](crate::CredentialSource::http_settings): the
    /// provider config's timeouts and extra root certificates).
    pub fn new(cache: CredentialCache) -> Result<Self, AuthError> {
        let provider = cache.source().identity().provider();
        let origins = AllowedOrigins::of(&cache);
        Ok(Self {
            http: cache.source().http_settings().build_client(provider)?,
            cache,
            origins,
        })
    }

    /// A client over your own reqwest client. Build it with
    /// `.redirect(reqwest::redirect::Policy::none())`: redirects must reach this client's own
    /// handling, or credentials could follow them to another origin.
    pub fn with_http_client(cache: CredentialCache, http: reqwest::Client) -> Self {
        let origins = AllowedOrigins::of(&cache);
        Self {
            http,
            cache,
            origins,
        }
    }

    /// Also sends the credential to `origin` (a URL; only its scheme, host and port count).
    /// Plain http is still refused unless the host is loopback.
    pub fn allow_origin(mut self, origin: &Url) -> Self {
        self.origins.allow(origin);
        self
    }

    /// The origins the credential may be sent to (empty: any, the source named none).
    pub fn allowed_origins(&self) -> Vec<String> {
        self.origins
            .list
            .iter()
            .map(url::Origin::ascii_serialization)
            .collect()
    }

    /// Whether the credential may be sent to `url`; the error says why not and how to allow it.
    pub fn check_destination(&self, url: &Url) -> Result<(), AuthError> {
        self.origins.check(self.provider(), url)
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
        let request = self
            .http
            .get(url)
            .build()
            .map_err(|error| bad_request(provider, error))?;
        self.send(request).await
    }

    /// An authenticated POST of `body` as JSON (`Content-Type: application/json`) to `url`.
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        url: impl reqwest::IntoUrl,
        body: &T,
    ) -> Result<Response, AuthError> {
        self.send_json(Method::POST, url, body).await
    }

    /// An authenticated PUT of `body` as JSON (`Content-Type: application/json`) to `url`.
    pub async fn put_json<T: serde::Serialize + ?Sized>(
        &self,
        url: impl reqwest::IntoUrl,
        body: &T,
    ) -> Result<Response, AuthError> {
        self.send_json(Method::PUT, url, body).await
    }

    /// An authenticated DELETE of `url`.
    pub async fn delete(&self, url: impl reqwest::IntoUrl) -> Result<Response, AuthError> {
        let provider = self.provider();
        let request = self
            .http
            .delete(url)
            .build()
            .map_err(|error| bad_request(provider, error))?;
        self.send(request).await
    }

    async fn send_json<T: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        url: impl reqwest::IntoUrl,
        body: &T,
    ) -> Result<Response, AuthError> {
        let provider = self.provider();
        let body = serde_json::to_vec(body).map_err(|error| {
            AuthError::config(
                provider,
                format!("the request body cannot be written as JSON: {error}"),
            )
        })?;
        let request = self
            .http
            .request(method, url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .build()
            .map_err(|error| bad_request(provider, error))?;
        self.send(request).await
    }

    /// Sends `request` with the credential, handling rejection and redirects as described on
    /// the type.
    pub async fn send(&self, request: Request) -> Result<Response, AuthError> {
        self.check_destination(request.url())?;
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
        if !self.cache.reject(credential.generation()) {
            tracing::debug!("rejected within the rejection window: returning the rejection");
            return Ok(response);
        }
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
    ///
    /// # Example
    ///
    /// A body that carries a value of the session (Bank Alliance's `send_encrypted` is built
    /// this way, encrypting to the session's key):
    ///
    /// ```no_run
    /// # async fn run(client: auth_core::AuthClient) -> Result<(), auth_core::AuthError> {
    /// use auth_core::{AuthError, ExposeSecret};
    ///
    /// let answer = client
    ///     .send_with(|credential| {
    ///         let body = format!(r#"{{"session":"{}"}}"#, credential.token().expose_secret());
    ///         client
    ///             .http()
    ///             .post("https://api.example.com/v1/pay")
    ///             .body(body)
    ///             .build()
    ///             .map_err(|_| AuthError::config("example", "a bad request"))
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_with<F>(&self, build: F) -> Result<Response, AuthError>
    where
        F: Fn(&Credential) -> Result<Request, AuthError>,
    {
        let credential = self.cache.get().await?;
        let request = build(&credential)?;
        self.check_destination(request.url())?;
        let response = match self.exchange(request, &credential).await? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        if !self.cache.reject(credential.generation()) {
            return Ok(response);
        }
        drop(response);
        let credential = self.cache.get().await?;
        let request = build(&credential)?;
        self.check_destination(request.url())?;
        self.last_exchange(request, &credential).await
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
        let request = build(&credential)?;
        self.check_destination(request.url())?;
        let response = match self.exchange(request, &credential).await? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        // The same rejection-storm rule as `send`: inside the window the rejection goes back.
        if !self.cache.reject(credential.generation()) || !repeatable {
            return Ok(response);
        }
        drop(response);
        let credential = self.cache.get().await?;
        let request = build(&credential)?;
        self.check_destination(request.url())?;
        match self.exchange(request, &credential).await? {
            Outcome::Accepted(response) => Ok(response),
            Outcome::Rejected(response) => {
                self.cache.reject(credential.generation());
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
                self.cache.reject(credential.generation());
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

/// The origins a client's credential may go to, and the https-except-loopback rule.
#[derive(Clone, Debug, Default)]
struct AllowedOrigins {
    list: Vec<url::Origin>,
}

impl AllowedOrigins {
    fn of(cache: &CredentialCache) -> Self {
        let mut origins = Self::default();
        for url in cache.source().api_origins() {
            origins.allow(&url);
        }
        origins
    }

    fn allow(&mut self, url: &Url) {
        let origin = url.origin();
        if origin.is_tuple() && !self.list.contains(&origin) {
            self.list.push(origin);
        }
    }

    fn check(&self, provider: &'static str, url: &Url) -> Result<(), AuthError> {
        let origin = url.origin();
        // Only the origin is ever shown: a URL's user information or query may hold secrets.
        let shown = origin.ascii_serialization();
        if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(url)) {
            return Err(AuthError::config(
                provider,
                format!(
                    "the credential is not sent to {shown}: only https, or plain http to a loopback host, carries it"
                ),
            ));
        }
        if self.list.is_empty() || self.list.contains(&origin) {
            return Ok(());
        }
        let allowed: Vec<String> = self
            .list
            .iter()
            .map(url::Origin::ascii_serialization)
            .collect();
        Err(AuthError::config(
            provider,
            format!(
                "the credential is not sent to {shown}: it is not the provider's API origin ({}); to send it there anyway, allow that origin (AuthClient::allow_origin)",
                allowed.join(", ")
            ),
        ))
    }
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// A request reqwest could not build (a bad URL, say); the URL stays out of the message.
fn bad_request(provider: &'static str, error: reqwest::Error) -> AuthError {
    AuthError::config(provider, format!("bad request: {}", error.without_url()))
}
