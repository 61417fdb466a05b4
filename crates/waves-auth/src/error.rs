//! The node's error codes, and how the authorization service's answers become [`AuthError`]s.

use auth_core::AuthError;
use http::StatusCode;

use crate::PROVIDER;
use crate::protocol::ErrorAnswer;

/// The node's authorization error codes (`{"error":<code>,"message":"…"}`), and what a client
/// does about each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeErrorCode {
    /// 2, HTTP 403: "Provided API key is not correct" (api-key mode). Fix the key or the node's
    /// `api-key-hash`; retrying will not help.
    ApiKeyNotCorrect,
    /// 618, HTTP 401: "Missing authorization metadata". The header was not sent.
    MissingAuthorization,
    /// 619, HTTP 401: "Token expired". Refresh, then retry once.
    TokenExpired,
    /// 620, HTTP 400: "Can't parse JWT token claims".
    UnparsableClaims,
    /// 621, HTTP 403: `"No expected role '<role>'"`. A permission problem; do not retry.
    MissingRole,
    /// 622, HTTP 401: "Invalid token". Log in again.
    InvalidToken,
}

impl NodeErrorCode {
    /// The code for a numeric `error`, if it is one of the authorization codes.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            2 => Self::ApiKeyNotCorrect,
            618 => Self::MissingAuthorization,
            619 => Self::TokenExpired,
            620 => Self::UnparsableClaims,
            621 => Self::MissingRole,
            622 => Self::InvalidToken,
            _ => return None,
        })
    }

    /// The code found in an error answer's body, if any.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        ErrorAnswer::parse(body)?.code.and_then(Self::from_code)
    }

    /// The numeric code.
    pub fn code(self) -> i64 {
        match self {
            Self::ApiKeyNotCorrect => 2,
            Self::MissingAuthorization => 618,
            Self::TokenExpired => 619,
            Self::UnparsableClaims => 620,
            Self::MissingRole => 621,
            Self::InvalidToken => 622,
        }
    }

    /// Whether a new credential may cure it (618, 619, 622: the ones the node sends with 401).
    pub fn is_rejection(self) -> bool {
        matches!(
            self,
            Self::MissingAuthorization | Self::TokenExpired | Self::InvalidToken
        )
    }
}

/// Replaces every occurrence of a secret in `text` (servers sometimes echo what they were sent).
pub(crate) fn scrub(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if secret.len() >= 4 && text.contains(secret) {
            text = text.replace(secret, "[REDACTED]");
        }
    }
    text
}

/// What the service said, for an error message: its `message` field if the answer is the JSON
/// error shape, else a short excerpt; secrets it echoed are removed — from the whole text,
/// before it is cut to an excerpt, so a secret that straddles the cut leaves no prefix behind.
pub(crate) fn what_the_service_said(body: &[u8], secrets: &[&str]) -> String {
    let said = match ErrorAnswer::parse(body) {
        Some(ErrorAnswer {
            code: Some(code),
            message: Some(message),
        }) => format!("error {code}: {message}"),
        Some(ErrorAnswer {
            message: Some(message),
            ..
        }) => message,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    auth_core::provider::excerpt(scrub(said, secrets).as_bytes())
}

/// Maps a non-success answer of `endpoint` (login, token, refresh, register) to an error.
///
/// 400, 401 and 403 are refusals ([`AuthError::Rejected`]); a redirect is a protocol error (token
/// endpoints are not followed across redirects); anything else is [`AuthError::Server`].
pub(crate) fn answer_error(
    endpoint: &str,
    status: StatusCode,
    body: &[u8],
    hint: &str,
    secrets: &[&str],
) -> AuthError {
    let said = what_the_service_said(body, secrets);
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            AuthError::rejected(
                PROVIDER,
                Some(status.as_u16()),
                format!("{endpoint} was refused ({said}); {hint}"),
            )
        }
        status if status.is_redirection() => AuthError::protocol(
            PROVIDER,
            format!(
                "{endpoint} answered with a redirect (HTTP {}); token endpoints are not followed across redirects — check the auth service URL",
                status.as_u16()
            ),
        ),
        status => AuthError::Server {
            provider: PROVIDER,
            status: status.as_u16(),
            message: format!("{endpoint}: {said}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_classify() {
        for code in [2, 618, 619, 620, 621, 622] {
            assert_eq!(NodeErrorCode::from_code(code).unwrap().code(), code);
        }
        assert_eq!(NodeErrorCode::from_code(500), None);
        assert!(NodeErrorCode::TokenExpired.is_rejection());
        assert!(NodeErrorCode::MissingAuthorization.is_rejection());
        assert!(NodeErrorCode::InvalidToken.is_rejection());
        assert!(!NodeErrorCode::MissingRole.is_rejection());
        assert!(!NodeErrorCode::ApiKeyNotCorrect.is_rejection());
        assert_eq!(
            NodeErrorCode::from_body(
                br#"{"error":621,"message":"Authorization error. No expected role 'admin'"}"#
            ),
            Some(NodeErrorCode::MissingRole)
        );
    }

    #[test]
    fn refusals_are_rejections_and_echoed_secrets_are_removed() {
        let error = answer_error(
            "refresh",
            StatusCode::UNAUTHORIZED,
            br#"{"message":"refresh token rt-secret-123 is not valid"}"#,
            "logging in again",
            &["rt-secret-123"],
        );
        assert!(error.is_rejection());
        let text = error.to_string();
        assert!(!text.contains("rt-secret-123"), "{text}");
        assert!(
            text.contains("[REDACTED]") && text.contains("HTTP 401"),
            "{text}"
        );
    }

    #[test]
    fn server_errors_are_transient_and_redirects_are_protocol_errors() {
        let error = answer_error(
            "login",
            StatusCode::SERVICE_UNAVAILABLE,
            b"<html>down</html>",
            "",
            &[],
        );
        assert!(error.is_transient());
        let error = answer_error("login", StatusCode::FOUND, b"", "", &[]);
        assert!(matches!(error, AuthError::Protocol { .. }));
        assert!(error.to_string().contains("redirect"));
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn a_password_straddling_the_excerpt_cut_leaves_no_prefix() {
        let password = "Canary-Straddling-Password-0123456789";
        for at in [150, 185, 195, 199] {
            let message = format!("{}{password} was wrong", "x".repeat(at));
            let json = serde_json::json!({ "code": 400, "message": message }).to_string();
            for body in [json.as_bytes(), message.as_bytes()] {
                let said = what_the_service_said(body, &[password]);
                assert!(!said.contains(&password[..6]), "at {at}: {said}");
            }
        }
    }
}
