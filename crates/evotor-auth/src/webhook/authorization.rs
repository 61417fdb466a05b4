//! Reading the `Authorization` header the Cloud sends, and checking the service credential.
//!
//! Independent of any web framework: it takes `http` header values.
//!
//! - The scheme is matched case-insensitively (`Bearer`, `bearer`, `BASIC`).
//! - A bare token (no scheme) is accepted when configured (default on): one vendor example sends
//!   `Authorization: <user token>`.
//! - Comparisons run in constant time over SHA-256 digests (`subtle`), so neither the content
//!   nor the length of the secret leaks through timing.
//! - Basic decoding is strict: canonical padded base64, UTF-8, exactly one `:`.
//! - Incoming headers are not matched against the Swagger pattern `[a-zA-Z0-9_=-]+`, which
//!   would refuse standard base64 (`+`, `/`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ReceiverConfig;

/// The credential an `Authorization` header presents, before it is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// `Bearer <token>`.
    Bearer(&'a str),
    /// `Basic <base64>`, still encoded.
    Basic(&'a str),
    /// `<token>` with no scheme.
    Bare(&'a str),
}

impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bearer(_) => "Bearer([REDACTED])",
            Self::Basic(_) => "Basic([REDACTED])",
            Self::Bare(_) => "Bare([REDACTED])",
        })
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationProblem {
    /// No `Authorization` header.
    Missing,
    /// More than one `Authorization` header.
    Repeated,
    /// Bytes other than visible ASCII, space and tab.
    NotText,
    /// Empty, or a scheme with nothing after it.
    Empty,
    /// A scheme other than `Bearer` and `Basic`.
    UnknownScheme,
    /// More than two words.
    Malformed,
}

/// Reads the one `Authorization` header in `headers`.
pub(crate) fn presented(headers: &HeaderMap) -> Result<Presented<'_>, AuthorizationProblem> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthorizationProblem::Missing)?;
    if values.next().is_some() {
        return Err(AuthorizationProblem::Repeated);
    }
    parse_authorization(value.as_bytes())
}

/// Reads one `Authorization` value: `Bearer <t>`, `Basic <b64>` or a bare `<t>`.
pub fn parse_authorization(value: &[u8]) -> Result<Presented<'_>, AuthorizationProblem> {
    if !value
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\t')
    {
        return Err(AuthorizationProblem::NotText);
    }
    let text = std::str::from_utf8(value)
        .map_err(|_| AuthorizationProblem::NotText)?
        .trim_matches([' ', '\t']);
    if text.is_empty() {
        return Err(AuthorizationProblem::Empty);
    }
    let Some((scheme, rest)) = text.split_once([' ', '\t']) else {
        if text.eq_ignore_ascii_case("bearer") || text.eq_ignore_ascii_case("basic") {
            return Err(AuthorizationProblem::Empty);
        }
        return Ok(Presented::Bare(text));
    };
    let credential = rest.trim_start_matches([' ', '\t']);
    if credential.contains([' ', '\t']) {
        return Err(AuthorizationProblem::Malformed);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Presented::Bearer(credential))
    } else if scheme.eq_ignore_ascii_case("basic") {
        Ok(Presented::Basic(credential))
    } else {
        Err(AuthorizationProblem::UnknownScheme)
    }
}

/// Decodes a Basic credential strictly: canonical padded base64, UTF-8, exactly one `:`.
/// Returns the decoded `login:password` text.
pub fn decode_basic(encoded: &str) -> Option<String> {
    let bytes = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.matches(':').count() != 1 || text.chars().any(char::is_control) {
        return None;
    }
    Some(text)
}

/// The SHA-256 digest of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks the service credential ("токен стороннего сервиса" or the Basic pair) in constant
/// time. Holds only SHA-256 digests of the configured secrets.
#[derive(Clone)]
pub struct ServiceVerifier {
    token: Option<[u8; 32]>,
    basic: Option<[u8; 32]>,
    accept_bare: bool,
}

impl ServiceVerifier {
    /// A verifier for the service credentials in `config`.
    pub fn new(config: &ReceiverConfig) -> Self {
        Self {
            token: config
                .service_token
                .as_ref()
                .map(|token| digest(token.expose_secret().as_bytes())),
            basic: config.basic.as_ref().map(|(login, password)| {
                digest(format!("{login}:{}", password.expose_secret()).as_bytes())
            }),
            accept_bare: config.accept_bare_token,
        }
    }

    /// Whether `presented` is the service credential.
    ///
    /// - `Bearer <t>`, and a bare `<t>` when allowed: compared with the service token.
    /// - `Basic <b64>`: decoded strictly and compared with `login:password` when Basic mode is
    ///   configured; also compared, undecoded, with the service token (one vendor page labels
    ///   the service token `Basic <token>`).
    pub fn verify(&self, presented: &Presented<'_>) -> bool {
        match *presented {
            Presented::Bearer(token) => self.token_matches(token),
            Presented::Bare(token) => self.accept_bare && self.token_matches(token),
            Presented::Basic(encoded) => {
                let as_pair = match (&self.basic, decode_basic(encoded)) {
                    (Some(expected), Some(decoded)) => {
                        bool::from(digest(decoded.as_bytes()).ct_eq(expected))
                    }
                    _ => false,
                };
                let as_token = self.token_matches(encoded);
                as_pair | as_token
            }
        }
    }

    /// Whether `headers` carry the service credential.
    pub fn verify_headers(&self, headers: &HeaderMap) -> bool {
        presented(headers).is_ok_and(|presented| self.verify(&presented))
    }

    fn token_matches(&self, token: &str) -> bool {
        match &self.token {
            Some(expected) => bool::from(digest(token.as_bytes()).ct_eq(expected)),
            None => false,
        }
    }
}

impl std::fmt::Debug for ServiceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceVerifier")
            .field("token", &self.token.is_some())
            .field("basic", &self.basic.is_some())
            .field("accept_bare", &self.accept_bare)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    const SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

    fn token_only() -> ServiceVerifier {
        ServiceVerifier::new(
            &ReceiverConfig::builder()
                .service_token(SecretString::from(SERVICE_TOKEN))
                .build()
                .unwrap(),
        )
    }

    fn basic_only() -> ServiceVerifier {
        ServiceVerifier::new(
            &ReceiverConfig::builder()
                .basic("partner", SecretString::from("s3cret"))
                .build()
                .unwrap(),
        )
    }

    fn check(verifier: &ServiceVerifier, header: &str) -> bool {
        parse_authorization(header.as_bytes()).is_ok_and(|p| verifier.verify(&p))
    }

    #[test]
    fn schemes_are_case_insensitive_and_bare_tokens_tolerated() {
        let v = token_only();
        for header in [
            "Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
            "bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
            "BEARER   9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
            " Bearer\t9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11 ",
            "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
            "Basic 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
        ] {
            assert!(check(&v, header), "{header}");
        }
    }

    #[test]
    fn wrong_and_odd_forms_are_refused() {
        let v = token_only();
        for header in [
            "Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d12",
            "Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d1",
            "Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d111",
            "Bearer",
            "Bearer ",
            "",
            "Token 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
            "Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11 extra",
            "Bearer9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11",
        ] {
            assert!(!check(&v, header), "{header:?}");
        }
        assert_eq!(
            parse_authorization(b"Bearer \xd0\xa4"),
            Err(AuthorizationProblem::NotText)
        );
        assert_eq!(
            parse_authorization(b"Digest x"),
            Err(AuthorizationProblem::UnknownScheme)
        );
    }

    #[test]
    fn bare_tokens_can_be_turned_off() {
        let v = ServiceVerifier::new(
            &ReceiverConfig::builder()
                .service_token(SecretString::from(SERVICE_TOKEN))
                .accept_bare_token(false)
                .build()
                .unwrap(),
        );
        assert!(!check(&v, SERVICE_TOKEN));
        assert!(check(&v, &format!("Bearer {SERVICE_TOKEN}")));
    }

    #[test]
    fn basic_is_decoded_strictly() {
        let v = basic_only();
        // base64("partner:s3cret")
        assert!(check(&v, "Basic cGFydG5lcjpzM2NyZXQ="));
        assert!(check(&v, "basic cGFydG5lcjpzM2NyZXQ="));
        assert!(!check(&v, "Basic cGFydG5lcjpzM2NyZXQ"), "unpadded");
        assert!(!check(&v, "Basic cGFydG5lcjpzM2NyZXR="), "wrong password");
        assert!(
            !check(&v, "Bearer cGFydG5lcjpzM2NyZXQ="),
            "Bearer is not Basic"
        );
        assert!(!check(&v, "cGFydG5lcjpzM2NyZXQ="), "no token configured");
        assert_eq!(
            decode_basic("cGFydG5lcjpzM2NyZXQ=").as_deref(),
            Some("partner:s3cret")
        );
        assert_eq!(decode_basic("YTpiOmM="), None, "two colons: a:b:c");
        assert_eq!(decode_basic("YWJj"), None, "no colon: abc");
        assert_eq!(decode_basic("/w=="), None, "not UTF-8");
        assert_eq!(decode_basic("!!!!"), None, "not base64");
    }

    #[test]
    fn repeated_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append(
            AUTHORIZATION,
            format!("Bearer {SERVICE_TOKEN}").parse().unwrap(),
        );
        headers.append(
            AUTHORIZATION,
            format!("Bearer {SERVICE_TOKEN}").parse().unwrap(),
        );
        assert_eq!(presented(&headers), Err(AuthorizationProblem::Repeated));
        assert!(!token_only().verify_headers(&headers));
        assert_eq!(
            presented(&HeaderMap::new()),
            Err(AuthorizationProblem::Missing)
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!(
            "{:?} {:?}",
            token_only(),
            parse_authorization(format!("Bearer {SERVICE_TOKEN}").as_bytes()).unwrap()
        );
        assert!(!text.contains("9f0c6f0e"), "{text}");
    }
}
