//! A `reqwest_middleware::Middleware` that authenticates requests (feature `middleware`).

use async_trait::async_trait;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::client::{Outcome, judge};
use crate::{AuthError, CredentialCache};

/// Puts the cache's credential on every request of a `reqwest_middleware::ClientWithMiddleware`;
/// on the provider's rejection it invalidates that credential and repeats the request once with
/// a new one (when the body can be cloned). A second rejection is returned as an error.
///
/// Redirects are the inner client's business here: build it with
/// `.redirect(reqwest::redirect::Policy::none())`, or a redirect to another origin would carry
/// custom credential headers along. [`crate::AuthClient`] handles redirects itself.
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    cache: CredentialCache,
}

impl AuthMiddleware {
    /// Middleware over `cache`.
    pub fn new(cache: CredentialCache) -> Self {
        Self { cache }
    }
}

fn wrap(error: AuthError) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

#[async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let source = self.cache.source();
        let retry = request.try_clone();
        let credential = self.cache.get().await.map_err(wrap)?;
        let mut request = request;
        let path = request.url().path().to_owned();
        source.apply(&credential, &path, request.headers_mut());
        let response = next.clone().run(request, extensions).await?;
        let response = match judge(source.as_ref(), response).await.map_err(wrap)? {
            Outcome::Accepted(response) => return Ok(response),
            Outcome::Rejected(response) => response,
        };
        if !self.cache.reject(credential.generation()) {
            return Ok(response);
        }
        let Some(mut retry) = retry else {
            return Ok(response);
        };
        let credential = self.cache.get().await.map_err(wrap)?;
        source.apply(&credential, &path, retry.headers_mut());
        let response = next.run(retry, extensions).await?;
        match judge(source.as_ref(), response).await.map_err(wrap)? {
            Outcome::Accepted(response) => Ok(response),
            Outcome::Rejected(response) => {
                self.cache.reject(credential.generation());
                Err(wrap(AuthError::rejected(
                    source.identity().provider(),
                    Some(response.status().as_u16()),
                    "the request was rejected again right after re-authenticating",
                )))
            }
        }
    }
}
