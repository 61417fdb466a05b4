//! HTTP settings shared by the token-endpoint clients, and careful body reading.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::AuthError;

/// The most a token endpoint's or a rejection-checked answer's body may hold: 1 MiB.
pub const MAX_BODY: usize = 1024 * 1024;

/// Connection settings for talking to a provider.
///
/// Defaults: 10 s to connect, 30 s for a whole exchange, no redirects followed (a token endpoint
/// that redirects is refused rather than handed credentials), the platform's trusted roots plus
/// any added with [`add_root_certificate_pem`](Self::add_root_certificate_pem).
#[derive(Clone)]
pub struct HttpSettings {
    /// Time allowed to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request and answer. Default 30 s.
    pub timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            extra_roots: Vec::new(),
        }
    }
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

impl HttpSettings {
    /// Trusts the certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks) as additional
    /// roots, e.g. the Russian Trusted Root CA for `public-api-m.rustore.ru`.
    pub fn add_root_certificate_pem(
        &mut self,
        provider: &'static str,
        pem: &[u8],
    ) -> Result<&mut Self, AuthError> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| {
            AuthError::config(
                provider,
                "the extra root certificate is not PEM (expected -----BEGIN CERTIFICATE----- blocks)",
            )
        })?;
        if certificates.is_empty() {
            return Err(AuthError::config(
                provider,
                "the extra root certificate file holds no certificate",
            ));
        }
        self.extra_roots.extend(certificates);
        Ok(self)
    }

    /// A reqwest client with these settings that follows no redirects.
    pub fn build_client(&self, provider: &'static str) -> Result<reqwest::Client, AuthError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(concat!("propusk/", env!("CARGO_PKG_VERSION")));
        for root in &self.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        builder.build().map_err(|error| {
            AuthError::config(
                provider,
                format!("could not set up the HTTP client: {}", error.without_url()),
            )
        })
    }
}

/// A reqwest client built on first use, so a process that finds its credential in the cache
/// never pays for TLS set-up.
#[derive(Debug)]
pub struct LazyClient {
    provider: &'static str,
    settings: HttpSettings,
    client: OnceLock<reqwest::Client>,
}

impl LazyClient {
    /// A client for `provider` with `settings`, built when first needed.
    pub fn new(provider: &'static str, settings: HttpSettings) -> Self {
        Self {
            provider,
            settings,
            client: OnceLock::new(),
        }
    }

    /// The client.
    pub fn get(&self) -> Result<&reqwest::Client, AuthError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = self.settings.build_client(self.provider)?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// Reads a response body of at most `limit` bytes. A larger body is refused as soon as its
/// declared length or the bytes read so far exceed the limit, so a hostile server cannot make
/// the client buffer an unbounded answer.
pub async fn read_body_limited(
    provider: &'static str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, AuthError> {
    if let Some(length) = response.content_length()
        && length > limit as u64
    {
        return Err(AuthError::protocol(
            provider,
            format!("the answer is {length} bytes, more than the {limit}-byte limit"),
        ));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| AuthError::transport(provider, error))?
    {
        if body.len() + chunk.len() > limit {
            return Err(AuthError::protocol(
                provider,
                format!("the answer is longer than the {limit}-byte limit"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Whether a provider's base URL may use plain `http://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    /// Only to a loopback address (an emulator, a local tunnel); everything else needs https.
    LoopbackOnly,
    /// To any host (self-hosted services on private networks, such as Waves nodes).
    Allowed,
}

/// Parses a provider's base URL: https with a host (plain http as `plain_http` allows), no user
/// information, query or fragment; a trailing slash is implied, so paths join under it. Errors
/// name the URL (base URLs carry no secrets once user information is refused) and the rule.
pub fn parse_base_url(
    provider: &'static str,
    text: &str,
    plain_http: PlainHttp,
) -> Result<url::Url, AuthError> {
    let mut url = url::Url::parse(text.trim()).map_err(|error| {
        AuthError::config(
            provider,
            format!(
                "the base URL is not a valid URL ({error}); expected e.g. https://host.example"
            ),
        )
    })?;
    // Checked first: these parts may hold secrets, and are never shown.
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(AuthError::config(
            provider,
            "the base URL must not carry a query, a fragment or user information",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => loopback || plain_http == PlainHttp::Allowed,
        _ => false,
    };
    if url.host().is_none() || !scheme_ok {
        let rule = match plain_http {
            PlainHttp::LoopbackOnly => {
                "an https URL with a host (plain http only to a loopback address)"
            }
            PlainHttp::Allowed => "an http(s) URL with a host",
        };
        // Only the scheme and host are shown: a URL typed without a scheme (`user:pw@host`)
        // parses as scheme `user` with everything else in the path.
        return Err(AuthError::config(
            provider,
            format!(
                "the base URL (scheme `{}`, host `{}`) must be {rule}",
                url.scheme(),
                url.host_str().unwrap_or("none")
            ),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_end_in_a_slash() {
        let parse = |u: &str, p| parse_base_url("test", u, p).map(|u| u.to_string());
        use PlainHttp::*;
        assert_eq!(
            parse("https://h.example/prefix", LoopbackOnly).unwrap(),
            "https://h.example/prefix/"
        );
        assert_eq!(
            parse("http://127.0.0.1:8080", LoopbackOnly).unwrap(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            parse("http://localhost", LoopbackOnly).unwrap(),
            "http://localhost/"
        );
        assert!(parse("http://api.example", LoopbackOnly).is_err());
        assert_eq!(
            parse("http://node.internal:6862", Allowed).unwrap(),
            "http://node.internal:6862/"
        );
        for bad in [
            "ftp://h.example",
            "not a url",
            "https://h.example/?a=b",
            "https://h.example/#x",
            "https://user:pw@h.example",
        ] {
            let error = parse(bad, Allowed).unwrap_err().to_string();
            assert!(!error.contains("pw@"), "{error}");
        }
        // A URL refused for its scheme is named in the error: never with what it carries.
        for bad in [
            "ftp://user:pw-secret@h.example",
            "http://user:pw-secret@api.example",
            "http://api.example/?token=pw-secret",
            "http://api.example/#pw-secret",
            "user:pw-secret@h.example",
            "h.example/pw-secret",
        ] {
            for plain_http in [LoopbackOnly, Allowed] {
                let error = parse(bad, plain_http).unwrap_err().to_string();
                assert!(!error.contains("pw-secret"), "{error}");
            }
        }
    }
}
