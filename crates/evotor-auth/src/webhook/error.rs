//! Errors in Evotor's format, `{"errors":[{"code":N,...}]}`, with the status that goes with each.

use std::fmt;

use http::StatusCode;
use serde::Serialize;

/// One entry of an Evotor error body. Only `code` is mandatory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorItem {
    /// The Evotor error code (1001, 2002, ...).
    pub code: u16,
    /// Why (`missing`, `unexpected`, `incorrect`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The offending value, when it is safe to echo (this crate only ever echoes `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: &'a [ErrorItem],
}

/// An answer to the Cloud that is not `200 OK`: an HTTP status and Evotor's error body.
///
/// | status | code | constructor |
/// |---|---|---|
/// | 400 | 2001 | [`syntax`](Self::syntax) |
/// | 400 | 2002 | [`missing`](Self::missing), [`unexpected`](Self::unexpected) |
/// | 400 | 2003 | [`invalid`](Self::invalid) |
/// | 401 | 1001 | [`bad_service_credential`](Self::bad_service_credential) |
/// | 401 | 1002 | [`bad_user_token`](Self::bad_user_token) |
/// | 401 | 1003 | [`user_token_expired`](Self::user_token_expired) |
/// | 401 | 1006 | [`wrong_user_credentials`](Self::wrong_user_credentials) |
/// | 402 | 1004 | [`payment_required`](Self::payment_required) |
/// | 404 | – | [`not_found`](Self::not_found) (body `{}`) |
/// | 405 | 1005 / 1007 | [`not_licensed`](Self::not_licensed), [`not_enough_licences`](Self::not_enough_licences) |
/// | 409 | 2004 | [`linked_to_another_account`](Self::linked_to_another_account) |
/// | 409 | 2005 | [`already_registered`](Self::already_registered) |
/// | 408 | – | [`request_timeout`](Self::request_timeout) (body `{}`; the Cloud re-sends) |
/// | 413 | 2003 | [`too_large`](Self::too_large) |
/// | 500 | – | [`internal`](Self::internal) (body `{}`; the Cloud retries) |
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookError {
    status: StatusCode,
    errors: Vec<ErrorItem>,
}

impl WebhookError {
    /// An error with `status` and one entry with `code`.
    pub fn new(status: StatusCode, code: u16) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                code,
                reason: None,
                subject: None,
                value: None,
            }],
        }
    }

    fn bodiless(status: StatusCode) -> Self {
        Self {
            status,
            errors: Vec::new(),
        }
    }

    /// 401, code 1001: the service credential is missing or wrong.
    pub fn bad_service_credential() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 1001)
    }

    /// 401, code 1002: the user token is missing, unknown or revoked.
    pub fn bad_user_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 1002)
    }

    /// 401, code 1003: the user token has expired.
    pub fn user_token_expired() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 1003)
    }

    /// 401, code 1006: the login and password the user typed in `/user/verify` are wrong.
    pub fn wrong_user_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 1006)
    }

    /// 402, code 1004: payment required.
    pub fn payment_required() -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, 1004)
    }

    /// 404 with the body `{}`.
    pub fn not_found() -> Self {
        Self::bodiless(StatusCode::NOT_FOUND)
    }

    /// 405, code 1005: the terminal is not licensed.
    pub fn not_licensed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 1005)
    }

    /// 405, code 1007: not enough licences.
    pub fn not_enough_licences() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 1007)
    }

    /// 409, code 2004: the user id is linked to another Evotor account.
    pub fn linked_to_another_account() -> Self {
        Self::new(StatusCode::CONFLICT, 2004)
    }

    /// 409, code 2005: the account is already registered.
    pub fn already_registered() -> Self {
        Self::new(StatusCode::CONFLICT, 2005)
    }

    /// 400, code 2001: the body is not valid JSON (or not the JSON shape expected at all).
    pub fn syntax() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2001)
    }

    /// 400, code 2002, reason `missing`: a required field is absent.
    pub fn missing(subject: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2002)
            .with_reason("missing")
            .with_subject(subject)
    }

    /// 400, code 2002, reason `unexpected`: a field that must not be there.
    pub fn unexpected(subject: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2002)
            .with_reason("unexpected")
            .with_subject(subject)
    }

    /// 400, code 2003, reason `incorrect`: a field has a wrong type or value.
    pub fn invalid(subject: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2003)
            .with_reason("incorrect")
            .with_subject(subject)
    }

    /// 413, code 2003, reason `too-large`: the body is larger than the receiver reads.
    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, 2003)
            .with_reason("too-large")
            .with_subject("body")
    }

    /// 408 with the body `{}`: the request body did not arrive within the request timeout.
    pub fn request_timeout() -> Self {
        Self::bodiless(StatusCode::REQUEST_TIMEOUT)
    }

    /// 500 with the body `{}`: the receiver failed (a store error, say); the Cloud re-sends.
    pub fn internal() -> Self {
        Self::bodiless(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Sets the `reason` of the first entry.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        if let Some(item) = self.errors.first_mut() {
            item.reason = Some(reason.into());
        }
        self
    }

    /// Sets the `subject` of the first entry.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        if let Some(item) = self.errors.first_mut() {
            item.subject = Some(subject.into());
        }
        self
    }

    /// Sets the `value` of the first entry. Never pass a secret or a user's data here.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        if let Some(item) = self.errors.first_mut() {
            item.value = Some(value.into());
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The entries of the body.
    pub fn errors(&self) -> &[ErrorItem] {
        &self.errors
    }

    /// The first entry's code, if there is an entry.
    pub fn code(&self) -> Option<u16> {
        self.errors.first().map(|item| item.code)
    }

    /// The body as sent: `{"errors":[...]}`, or `{}` when there is no entry.
    pub fn body(&self) -> Vec<u8> {
        if self.errors.is_empty() {
            return b"{}".to_vec();
        }
        serde_json::to_vec(&ErrorBody {
            errors: &self.errors,
        })
        .unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl fmt::Debug for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookError")
            .field("status", &self.status.as_u16())
            .field("errors", &self.errors)
            .finish()
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status.as_u16())?;
        for item in &self.errors {
            write!(f, ", code {}", item.code)?;
            if let Some(reason) = &item.reason {
                write!(f, " ({reason}")?;
                if let Some(subject) = &item.subject {
                    write!(f, " {subject}")?;
                }
                f.write_str(")")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for WebhookError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(error: &WebhookError) -> String {
        String::from_utf8(error.body()).unwrap()
    }

    // Literal bodies from the protocol sheet, sections 4 and 5 (receiver).
    #[test]
    fn auth_errors_match_the_sheet() {
        assert_eq!(
            text(&WebhookError::bad_service_credential()),
            r#"{"errors":[{"code":1001}]}"#
        );
        assert_eq!(
            WebhookError::bad_service_credential().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            text(&WebhookError::bad_user_token()),
            r#"{"errors":[{"code":1002}]}"#
        );
        assert_eq!(
            text(&WebhookError::user_token_expired()),
            r#"{"errors":[{"code":1003}]}"#
        );
    }

    #[test]
    fn the_sheet_example_with_every_field() {
        let error = WebhookError::invalid("deviceUuid").with_value("null");
        assert_eq!(
            text(&error),
            r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"deviceUuid","value":"null"}]}"#
        );
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn statuses_and_codes_follow_the_table() {
        for (error, status, code) in [
            (WebhookError::syntax(), 400, Some(2001)),
            (WebhookError::missing("userId"), 400, Some(2002)),
            (WebhookError::unexpected("x"), 400, Some(2002)),
            (WebhookError::invalid("x"), 400, Some(2003)),
            (WebhookError::wrong_user_credentials(), 401, Some(1006)),
            (WebhookError::payment_required(), 402, Some(1004)),
            (WebhookError::not_found(), 404, None),
            (WebhookError::not_licensed(), 405, Some(1005)),
            (WebhookError::not_enough_licences(), 405, Some(1007)),
            (WebhookError::linked_to_another_account(), 409, Some(2004)),
            (WebhookError::already_registered(), 409, Some(2005)),
        ] {
            assert_eq!(error.status().as_u16(), status, "{error}");
            assert_eq!(error.code(), code, "{error}");
        }
        assert_eq!(text(&WebhookError::not_found()), "{}");
        assert_eq!(
            text(&WebhookError::already_registered()),
            r#"{"errors":[{"code":2005}]}"#
        );
        assert_eq!(
            text(&WebhookError::missing("userId")),
            r#"{"errors":[{"code":2002,"reason":"missing","subject":"userId"}]}"#
        );
    }
}
