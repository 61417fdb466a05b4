//! RuStore's wire format: the token request, its answer, the timestamp and the `Public-Token`
//! header. Pure functions and types; the HTTP exchange is in [`crate::RustoreSource`].

use std::fmt;
use std::time::Duration;

use auth_core::provider::excerpt;
use auth_core::{AuthError, SecretString};
use secrecy::ExposeSecret as _;
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::PROVIDER;

/// The token endpoint, relative to the base URL, with its documented trailing slash.
pub const AUTH_PATH: &str = "/public/auth/";

/// The header every API call carries, as written on the wire: `Public-Token: <jwe>`.
pub const PUBLIC_TOKEN_HEADER: &str = "Public-Token";

/// The token lifetime used when an answer carries no usable `ttl`: 900 s, as documented.
pub const DEFAULT_TTL: Duration = Duration::from_secs(900);

/// How far the request timestamp may be from RuStore's clock: 60 s.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(60);

/// The message RuStore sends (HTTP 400) when the timestamp is outside its window.
pub const RANGE_TIMESTAMP_NOT_VALID: &str = "Range timestamp not valid";

/// `Public-Token` as an `http` header name (lower case, as `http` stores every name; header
/// names are case-insensitive).
pub fn public_token_header_name() -> http::HeaderName {
    http::HeaderName::from_static("public-token")
}

/// The request timestamp: RFC 3339 with milliseconds and an explicit numeric offset, e.g.
/// `2025-01-01T12:00:00.123+00:00` (never `Z`, never more digits, never Unix seconds).
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    );
    at.format(&format).unwrap_or_else(|_| {
        // Only years outside 0000..=9999 fail to format; fall back to a fixed layout.
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        )
    })
}

/// The exact bytes that are signed: `keyId` immediately followed by `timestamp`, no separator.
pub fn signing_message(key_id: &str, timestamp: &str) -> String {
    let mut message = String::with_capacity(key_id.len() + timestamp.len());
    message.push_str(key_id);
    message.push_str(timestamp);
    message
}

/// The body of `POST /public/auth/`: `{"keyId","timestamp","signature"}`.
///
/// The signature can be replayed for a minute to obtain a token, so it is kept as a secret and
/// left out of `Debug`.
pub struct AuthRequest {
    /// The key ID from the console, sent as a JSON string.
    pub key_id: String,
    /// The timestamp exactly as signed.
    pub timestamp: String,
    /// Standard base64 of the SHA512withRSA signature of `key_id + timestamp`.
    pub signature: SecretString,
}

impl Serialize for AuthRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_struct("AuthRequest", 3)?;
        body.serialize_field("keyId", &self.key_id)?;
        body.serialize_field("timestamp", &self.timestamp)?;
        body.serialize_field("signature", self.signature.expose_secret())?;
        body.end()
    }
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("key_id", &self.key_id)
            .field("timestamp", &self.timestamp)
            .field("signature", &"[REDACTED]")
            .finish()
    }
}

/// RuStore's answer envelope (`DefaultResponseDto`), as far as authentication needs it.
#[derive(Deserialize)]
pub struct AuthResponse {
    /// `"OK"` on success; errors seen in the wild use `"ERROR"`.
    pub code: Option<String>,
    /// Error text, or null.
    pub message: Option<String>,
    /// The token, or null on failure.
    pub body: Option<AuthBody>,
}

/// `body` of a successful token answer.
#[derive(Deserialize)]
pub struct AuthBody {
    /// The access token; opaque, never decrypted here.
    pub jwe: Option<SecretString>,
    /// Lifetime in seconds (900 documented); anything but a positive integer is ignored.
    pub ttl: Option<serde_json::Value>,
}

impl fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthResponse")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("body", &self.body.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

/// A token RuStore issued.
pub struct IssuedToken {
    /// The JWE.
    pub jwe: SecretString,
    /// How long it lives: the answer's `ttl`, or [`DEFAULT_TTL`] when it had none.
    pub ttl: Duration,
    /// Whether `ttl` came from the answer.
    pub ttl_from_answer: bool,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("jwe", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .field("ttl_from_answer", &self.ttl_from_answer)
            .finish()
    }
}

/// Judges the answer of `POST /public/auth/` (HTTP `status`, `body`); `sent_timestamp` is the
/// timestamp the request carried, quoted when RuStore refuses it.
///
/// - 2xx with `code` `"OK"` and a non-empty `body.jwe`: the token.
/// - 2xx with another `code` or no `body` (a deleted key): [`AuthError::Rejected`] showing
///   `message`.
/// - 400 `Range timestamp not valid`: [`AuthError::Rejected`] explaining clock skew, with the
///   timestamp sent.
/// - Other 4xx but 408 and 429: [`AuthError::Rejected`] showing `message`.
/// - 5xx, 408, 429: [`AuthError::Server`] (transient). 3xx: [`AuthError::Protocol`] (the token
///   endpoint follows no redirects; check the base URL).
pub fn interpret_auth_answer(
    status: http::StatusCode,
    body: &[u8],
    sent_timestamp: &str,
) -> Result<IssuedToken, AuthError> {
    let code = status.as_u16();
    if status.is_redirection() {
        return Err(AuthError::protocol(
            PROVIDER,
            format!(
                "the token endpoint answered HTTP {code} (a redirect), which is not followed; check base_url"
            ),
        ));
    }
    if status.is_server_error()
        || status == http::StatusCode::REQUEST_TIMEOUT
        || status == http::StatusCode::TOO_MANY_REQUESTS
    {
        return Err(AuthError::server(PROVIDER, code, body));
    }
    let parsed: Option<AuthResponse> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|answer| answer.message.as_deref())
        .filter(|message| !message.trim().is_empty())
        .map(|message| excerpt(message.as_bytes()));

    if status.is_client_error() {
        let range_not_valid = match &message {
            Some(message) => message.contains(RANGE_TIMESTAMP_NOT_VALID),
            None => String::from_utf8_lossy(body).contains(RANGE_TIMESTAMP_NOT_VALID),
        };
        if range_not_valid {
            return Err(AuthError::rejected(
                PROVIDER,
                Some(code),
                format!(
                    "RuStore refused the request timestamp {sent_timestamp} (\"{RANGE_TIMESTAMP_NOT_VALID}\"): it must be within {} s of RuStore's clock, so this machine's clock is off; synchronise it (NTP) and try again",
                    TIMESTAMP_WINDOW.as_secs()
                ),
            ));
        }
        let what = message.unwrap_or_else(|| excerpt(body));
        return Err(AuthError::rejected(
            PROVIDER,
            Some(code),
            format!(
                "{what}; check key_id and the private key (deleted or updated in the console?)"
            ),
        ));
    }
    if !status.is_success() {
        return Err(AuthError::server(PROVIDER, code, body));
    }

    let Some(answer) = parsed else {
        // JSON of the wrong shape may still carry the token: quote only what is not JSON.
        let shown = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            "a field is missing or has the wrong type".to_owned()
        } else {
            excerpt(body)
        };
        return Err(AuthError::protocol(
            PROVIDER,
            format!("the token answer (HTTP {code}) is not the expected JSON: {shown}"),
        ));
    };
    let answer_code = answer.code.as_deref().unwrap_or("");
    let refusal = |what: &str| {
        AuthError::rejected(
            PROVIDER,
            Some(code),
            format!(
                "{}{what}; check key_id and the private key (deleted or updated in the console?)",
                message.clone().map(|m| format!("{m} ")).unwrap_or_default()
            ),
        )
    };
    if answer_code != "OK" {
        let shown = if answer_code.is_empty() {
            "(no code)".to_owned()
        } else {
            excerpt(answer_code.as_bytes())
        };
        return Err(refusal(&format!("(code {shown})")));
    }
    let Some(body) = answer.body else {
        return Err(refusal("(code OK but no body)"));
    };
    let Some(jwe) = body
        .jwe
        .filter(|jwe| !jwe.expose_secret().trim().is_empty())
    else {
        return Err(refusal("(code OK but no jwe in the body)"));
    };
    let ttl_seconds = body
        .ttl
        .as_ref()
        .and_then(|ttl| {
            ttl.as_u64()
                .or_else(|| ttl.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .filter(|seconds| *seconds > 0);
    if ttl_seconds.is_none() {
        tracing::warn!(
            default_s = DEFAULT_TTL.as_secs(),
            "the token answer has no usable ttl; assuming the documented lifetime"
        );
    }
    Ok(IssuedToken {
        jwe,
        ttl: ttl_seconds.map_or(DEFAULT_TTL, Duration::from_secs),
        ttl_from_answer: ttl_seconds.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use time::macros::datetime;

    // Literals below are copied from ../shared/protocols/rustore.md.

    #[test]
    fn timestamp_has_milliseconds_and_a_numeric_offset() {
        assert_eq!(
            format_timestamp(datetime!(2024-06-18 11:49:08.290123 +03:00)),
            "2024-06-18T11:49:08.290+03:00"
        );
        assert_eq!(
            format_timestamp(datetime!(2025-01-01 12:00:00.123 UTC)),
            "2025-01-01T12:00:00.123+00:00"
        );
        assert_eq!(
            format_timestamp(datetime!(2025-01-01 12:00:00 -05:30)),
            "2025-01-01T12:00:00.000-05:30"
        );
    }

    #[test]
    fn signing_message_is_key_id_then_timestamp() {
        assert_eq!(
            signing_message("123", "2024-06-18T11:49:08.290+03:00"),
            "1232024-06-18T11:49:08.290+03:00"
        );
    }

    #[test]
    fn request_body_has_the_documented_fields() {
        let request = AuthRequest {
            key_id: "2351024845".to_owned(),
            timestamp: "2024-06-18T11:49:08.290+03:00".to_owned(),
            signature: SecretString::from("<base64>"),
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"keyId":"2351024845","timestamp":"2024-06-18T11:49:08.290+03:00","signature":"<base64>"}"#
        );
        let debug = format!("{request:?}");
        assert!(!debug.contains("<base64>"), "{debug}");
    }

    #[test]
    fn documented_success_answer_gives_the_token_and_ttl() {
        let body = r#"{"code":"OK","message":null,
 "body":{"jwe":"eyJjdHkiOiJK…","ttl":900},
 "timestamp":"2022-07-08T13:24:41.8328711+03:00"}"#;
        let token = interpret_auth_answer(StatusCode::OK, body.as_bytes(), "t").unwrap();
        assert_eq!(token.jwe.expose_secret(), "eyJjdHkiOiJK…");
        assert_eq!(token.ttl, Duration::from_secs(900));
        assert!(token.ttl_from_answer);
        assert!(!format!("{token:?}").contains("eyJ"));
    }

    #[test]
    fn ttl_comes_from_the_answer_and_falls_back_to_900() {
        let short = br#"{"code":"OK","body":{"jwe":"x","ttl":120}}"#;
        let token = interpret_auth_answer(StatusCode::OK, short, "t").unwrap();
        assert_eq!(token.ttl, Duration::from_secs(120));
        let missing = br#"{"code":"OK","body":{"jwe":"x"}}"#;
        let token = interpret_auth_answer(StatusCode::OK, missing, "t").unwrap();
        assert_eq!(token.ttl, DEFAULT_TTL);
        assert!(!token.ttl_from_answer);
        let zero = br#"{"code":"OK","body":{"jwe":"x","ttl":0}}"#;
        assert_eq!(
            interpret_auth_answer(StatusCode::OK, zero, "t")
                .unwrap()
                .ttl,
            DEFAULT_TTL
        );
    }

    #[test]
    fn deleted_key_answer_is_a_rejection_showing_the_message() {
        let body = br#"{"code":"ERROR","message":"Key not found","body":null}"#;
        let error = interpret_auth_answer(StatusCode::OK, body, "t").unwrap_err();
        assert!(error.is_rejection(), "{error}");
        assert!(error.to_string().contains("Key not found"), "{error}");
        assert!(error.to_string().contains("code ERROR"), "{error}");
    }

    #[test]
    fn ok_without_body_or_jwe_is_a_rejection() {
        for body in [
            &br#"{"code":"OK","message":null,"body":null}"#[..],
            br#"{"code":"OK","body":{"jwe":"","ttl":900}}"#,
            br#"{"code":"OK","body":{"ttl":900}}"#,
        ] {
            let error = interpret_auth_answer(StatusCode::OK, body, "t").unwrap_err();
            assert!(error.is_rejection(), "{error}");
        }
    }

    #[test]
    fn range_timestamp_not_valid_explains_clock_skew_and_shows_the_timestamp() {
        let body = br#"{"code":"ERROR","message":"Range timestamp not valid","body":null,"timestamp":"2024-06-18T11:50:08.290+03:00"}"#;
        let error = interpret_auth_answer(
            StatusCode::BAD_REQUEST,
            body,
            "2024-06-18T11:49:08.290+03:00",
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(error.is_rejection());
        assert!(text.contains("2024-06-18T11:49:08.290+03:00"), "{text}");
        assert!(text.contains("clock"), "{text}");
        assert!(text.contains("NTP"), "{text}");
    }

    #[test]
    fn server_errors_are_transient_and_garbage_is_a_protocol_error() {
        let error =
            interpret_auth_answer(StatusCode::SERVICE_UNAVAILABLE, b"down", "t").unwrap_err();
        assert!(error.is_transient(), "{error}");
        let error = interpret_auth_answer(StatusCode::OK, b"<html>oops</html>", "t").unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error}");
        let error = interpret_auth_answer(StatusCode::FOUND, b"", "t").unwrap_err();
        assert!(matches!(error, AuthError::Protocol { .. }), "{error}");
    }

    #[test]
    fn other_client_errors_are_rejections_with_the_server_message() {
        let body = br#"{"code":"ERROR","message":"Signature is not valid","body":null}"#;
        let error = interpret_auth_answer(StatusCode::UNAUTHORIZED, body, "t").unwrap_err();
        assert!(error.is_rejection());
        assert!(
            error.to_string().contains("Signature is not valid"),
            "{error}"
        );
    }
}
