//! The wire protocol: the authorization service's endpoints and JSON bodies, the node's error
//! answers, and the two authentication headers. Tested against literal strings from the
//! protocol sheet.

use std::fmt;

use http::HeaderName;
use http::header::AUTHORIZATION;
use serde::Serialize;
use serde::ser::SerializeStruct;

/// `POST {auth}/v1/auth/login`: a user's login and password buy a token pair.
pub const LOGIN_PATH: &str = "/v1/auth/login";
/// `POST {auth}/v1/auth/token`: a service token (as `Authorization: Bearer`) buys a token pair.
pub const TOKEN_PATH: &str = "/v1/auth/token";
/// `POST {auth}/v1/auth/refresh`: a refresh token buys a new pair (the refresh token rotates).
pub const REFRESH_PATH: &str = "/v1/auth/refresh";
/// `POST {auth}/v1/user`: registers a user; HTTP 201 on success.
pub const REGISTER_PATH: &str = "/v1/user";
/// `GET {auth}/status`: the service's status.
pub const STATUS_PATH: &str = "/status";

/// The node's API-key header, `X-API-Key` (HTTP treats names case-insensitively; `http` keeps
/// them in lower case).
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// The body `/v1/auth/token` is sent with.
pub const SERVICE_TOKEN_BODY: &str = "{}";

/// `Authorization: Bearer <access_token>`'s value.
pub fn bearer(access_token: &str) -> String {
    format!("Bearer {access_token}")
}

/// A header name as people write it (`Authorization`, `X-API-Key`), for printing; the wire
/// treats names case-insensitively.
pub fn display_name(name: &HeaderName) -> String {
    if *name == AUTHORIZATION {
        "Authorization".to_owned()
    } else if *name == API_KEY_HEADER {
        "X-API-Key".to_owned()
    } else {
        name.as_str().to_owned()
    }
}

/// The body of `POST /v1/auth/login`.
#[derive(Serialize)]
pub struct LoginRequest<'a> {
    /// The user's login (an e-mail address).
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
}

impl fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// The body of `POST /v1/auth/refresh`.
#[derive(Serialize)]
pub struct RefreshRequest<'a> {
    /// The refresh token from the last pair.
    pub token: &'a str,
}

impl fmt::Debug for RefreshRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshRequest { token: [REDACTED] }")
    }
}

/// The answer of login, token and refresh: `{"access_token","refresh_token","token_type"}`.
/// There is no `expires_in`; the expiry is the access token's JWT `exp`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token (a JWT), sent as `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token, good for one refresh; absent if the service sent none.
    pub refresh_token: Option<String>,
    /// The token type, `Bearer` in practice.
    pub token_type: Option<String>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl TokenPair {
    /// Parses an answer. The error names what is missing or malformed and never quotes the
    /// body (it carries tokens).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| "the answer is not JSON (expected a token pair)".to_owned())?;
        let object = value
            .as_object()
            .ok_or_else(|| "the answer is not a JSON object (expected a token pair)".to_owned())?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(format!("`{name}` in the token pair is not a string")),
            }
        };
        let access_token = text("access_token")?
            .ok_or_else(|| "the token pair has no `access_token`".to_owned())?;
        Ok(Self {
            access_token,
            refresh_token: text("refresh_token")?,
            token_type: text("token_type")?,
        })
    }
}

/// Which JSON field carries the login in `POST /v1/user`: the docs say `login`, WE's own web
/// client sends `username`. Exactly one is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginField {
    /// `"login"` (the documented name). The default.
    #[default]
    Login,
    /// `"username"` (what WE's web client sends).
    Username,
}

impl LoginField {
    /// The JSON field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Username => "username",
        }
    }
}

/// The body of `POST /v1/user`: `{"login","password","locale","source"}` (or `username` in
/// place of `login`, see [`LoginField`]).
pub struct RegisterRequest<'a> {
    /// Which field name carries the login.
    pub login_field: LoginField,
    /// The user's login (an e-mail address).
    pub login: &'a str,
    /// The password.
    pub password: &'a str,
    /// `en` or `ru`.
    pub locale: &'a str,
    /// `license`, `voting`, or what the deployment expects.
    pub source: &'a str,
}

impl Serialize for RegisterRequest<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_struct("RegisterRequest", 4)?;
        body.serialize_field(self.login_field.as_str(), self.login)?;
        body.serialize_field("password", self.password)?;
        body.serialize_field("locale", self.locale)?;
        body.serialize_field("source", self.source)?;
        body.end()
    }
}

impl fmt::Debug for RegisterRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("login_field", &self.login_field)
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("locale", &self.locale)
            .field("source", &self.source)
            .finish()
    }
}

/// An error answer of the node or the service: `{"error":<int>,"message":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAnswer {
    /// The numeric code (see [`crate::NodeErrorCode`]), when there was one.
    pub code: Option<i64>,
    /// The message, when there was one.
    pub message: Option<String>,
}

impl ErrorAnswer {
    /// Parses an error answer; `None` when the body is not such an object.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let code = object.get("error").and_then(serde_json::Value::as_i64);
        let message = object
            .get("message")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        (code.is_some() || message.is_some()).then_some(Self { code, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_body_is_the_sheets() {
        let body = serde_json::to_string(&LoginRequest {
            username: "user@example.com",
            password: "…",
        })
        .unwrap();
        assert_eq!(body, r#"{"username":"user@example.com","password":"…"}"#);
    }

    #[test]
    fn refresh_body_is_the_sheets() {
        let body = serde_json::to_string(&RefreshRequest {
            token: "<refresh_token>",
        })
        .unwrap();
        assert_eq!(body, r#"{"token":"<refresh_token>"}"#);
    }

    #[test]
    fn register_body_is_the_sheets_with_exactly_one_login_field() {
        let mut request = RegisterRequest {
            login_field: LoginField::default(),
            login: "user@example.com",
            password: "…",
            locale: "en",
            source: "license",
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"login":"user@example.com","password":"…","locale":"en","source":"license"}"#
        );
        request.login_field = LoginField::Username;
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"username":"user@example.com","password":"…","locale":"en","source":"license"}"#
        );
    }

    #[test]
    fn token_pair_parses_the_sheets_answer() {
        let pair = TokenPair::parse(
            r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9…","refresh_token":"…","token_type":"Bearer"}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(pair.access_token, "eyJhbGciOiJSUzI1NiJ9…");
        assert_eq!(pair.refresh_token.as_deref(), Some("…"));
        assert_eq!(pair.token_type.as_deref(), Some("Bearer"));
    }

    #[test]
    fn token_pair_errors_name_the_field_and_never_quote_the_body() {
        let cases: [(&str, &str); 4] = [
            ("<html>secret-abc</html>", "not JSON"),
            (r#"["secret-abc"]"#, "not a JSON object"),
            (r#"{"refresh_token":"secret-abc"}"#, "no `access_token`"),
            (
                r#"{"access_token":"secret-abc","refresh_token":7}"#,
                "`refresh_token` in the token pair is not a string",
            ),
        ];
        for (body, expected) in cases {
            let error = TokenPair::parse(body.as_bytes()).unwrap_err();
            assert!(error.contains(expected), "{body}: {error}");
            assert!(!error.contains("secret-abc"), "{error}");
        }
    }

    #[test]
    fn token_pair_debug_hides_tokens() {
        let pair = TokenPair::parse(
            br#"{"access_token":"secret-access","refresh_token":"secret-refresh"}"#,
        )
        .unwrap();
        let shown = format!("{pair:?}");
        assert!(!shown.contains("secret-access") && !shown.contains("secret-refresh"));
        let login = LoginRequest {
            username: "u",
            password: "secret-password",
        };
        assert!(!format!("{login:?}").contains("secret-password"));
        let refresh = RefreshRequest {
            token: "secret-refresh",
        };
        assert!(!format!("{refresh:?}").contains("secret-refresh"));
    }

    #[test]
    fn node_errors_parse() {
        let expired =
            ErrorAnswer::parse(br#"{"error":619,"message":"Authorization error. Token expired"}"#)
                .unwrap();
        assert_eq!(expired.code, Some(619));
        assert_eq!(
            expired.message.as_deref(),
            Some("Authorization error. Token expired")
        );
        let api_key =
            ErrorAnswer::parse(br#"{"error":2,"message":"Provided API key is not correct"}"#)
                .unwrap();
        assert_eq!(api_key.code, Some(2));
        assert_eq!(ErrorAnswer::parse(b"<html>"), None);
        assert_eq!(ErrorAnswer::parse(b"{}"), None);
    }

    #[test]
    fn headers_are_the_sheets() {
        // `X-API-Key: 1` and `Authorization: Bearer <access_token>`.
        assert_eq!(
            format!("{}: {}", display_name(&API_KEY_HEADER), "1"),
            "X-API-Key: 1"
        );
        assert_eq!(
            format!(
                "{}: {}",
                display_name(&AUTHORIZATION),
                bearer("<access_token>")
            ),
            "Authorization: Bearer <access_token>"
        );
        assert_eq!(API_KEY_HEADER, HeaderName::from_static("x-api-key"));
        assert_eq!(SERVICE_TOKEN_BODY, "{}");
    }
}
