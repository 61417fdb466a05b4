//! The wire protocol: header names, the authorize request, the decrypted session payload, the
//! error envelope with its auth `msgCode`s, and the lenient expiry timestamps.
//!
//! Unit tests use literal strings copied from the protocol fact sheet.

use serde::Serialize;
use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The authorize ("technical session") endpoint, relative to the base URL.
pub const AUTHORIZE_PATH: &str = "api-gateway/authorize_virtual_device";

/// `x-api_version`: the API version header, on every request.
pub const API_VERSION_HEADER: &str = "x-api_version";
/// `x-device_id`: the session's `deviceId` (empty on the authorize call, as the SDKs send it).
pub const DEVICE_ID_HEADER: &str = "x-device_id";
/// `x-refresh_token`: the session's `refreshToken` (empty on the authorize call).
pub const REFRESH_TOKEN_HEADER: &str = "x-refresh_token";
/// `x-request_id`: a fresh UUID v4 per request.
pub const REQUEST_ID_HEADER: &str = "x-request_id";

/// The `x-api_version` value the official SDKs send: `V1`.
pub const DEFAULT_API_VERSION: &str = "V1";

/// The error codes that mean "this session is not (or no longer) good": the request is
/// rejected, so the client authorizes again and retries once. Both spellings of
/// `b_session_doesnt_exist(s)` are matched (English and Ukrainian docs differ).
///
/// `b_encryptor_failed_decrypt_message` is deliberately absent: a retry would resend the same
/// body, encrypted to the old `serverPublic`, and fail again.
pub const AUTH_MSG_CODES: &[&str] = &[
    "b_expired_token",
    "b_used_token",
    "b_auth_token_expired",
    "b_previous_auth_token_expired",
    "b_session_doesnt_exist",
    "b_session_doesnt_exists",
    "b_unknown_device",
    "b_virtual_device_not_found",
    "b_refresh_token_absent",
];

/// The `msgCode` with which `authorize_virtual_device` itself says the service code is closed
/// (unused for more than 200 days). Only the bank's support can reopen it.
pub const SERVICE_CODE_CLOSED: &str = "b_auth_token_expired";

/// The `msgCode` of an overloaded server (retry later).
pub const SERVER_OVERLOADED: &str = "b_server_is_overloaded";

/// The body of `POST …/authorize_virtual_device`: `{"serviceCode":"…"}`.
#[derive(Debug, Serialize)]
pub struct AuthorizeRequest<'a> {
    /// The merchant's service code (a UUID issued by the bank).
    #[serde(rename = "serviceCode")]
    pub service_code: &'a str,
}

/// The error envelope: `{"msgCode":…, "msgType":"ERROR", "msgText":…, …}`. Any answer, HTTP 200
/// included, can be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEnvelope {
    /// `msgCode`, e.g. `b_used_token`.
    pub msg_code: String,
    /// `msgType`: `ERROR` or `VALIDATION_ERROR`.
    pub msg_type: String,
    /// `msgText`, the server's words, if any.
    pub msg_text: Option<String>,
}

impl ErrorEnvelope {
    /// Reads an error envelope from a body; `None` when the body is not JSON, not an object, or
    /// has no string `msgType` of `ERROR`/`VALIDATION_ERROR` (case-insensitive).
    pub fn parse(body: &[u8]) -> Option<Self> {
        let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
        if body[start] != b'{' {
            return None;
        }
        let Value::Object(object) = serde_json::from_slice::<Value>(body).ok()? else {
            return None;
        };
        let msg_type = object.get("msgType")?.as_str()?;
        if !msg_type.eq_ignore_ascii_case("ERROR")
            && !msg_type.eq_ignore_ascii_case("VALIDATION_ERROR")
        {
            return None;
        }
        Some(Self {
            msg_code: object
                .get("msgCode")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            msg_type: msg_type.to_owned(),
            msg_text: object
                .get("msgText")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Whether it is a `msgType: ERROR` with one of the [`AUTH_MSG_CODES`].
    pub fn is_auth_error(&self) -> bool {
        self.msg_type.eq_ignore_ascii_case("ERROR") && is_auth_msg_code(&self.msg_code)
    }

    /// `msgCode` and `msgText` for an error message, shortened and printable.
    pub fn summary(&self) -> String {
        let code = auth_core::provider::excerpt(self.msg_code.as_bytes());
        match &self.msg_text {
            Some(text) if !text.trim().is_empty() => {
                format!("{code} ({})", auth_core::provider::excerpt(text.as_bytes()))
            }
            _ => code,
        }
    }
}

/// Whether `code` is one of the [`AUTH_MSG_CODES`] (exact, case-insensitive).
pub fn is_auth_msg_code(code: &str) -> bool {
    AUTH_MSG_CODES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(code))
}

/// Parses an expiry timestamp leniently, as the bank writes them:
/// `2023-03-18 12:34:52.0998 +0000` (`tokenExpirationDateTime`) and
/// `2025-02-15 00:45:24.463+02:00` (`tokenExpiration`).
///
/// - date separator `-` or `.` (`2023.03.18`, seen by the PHP SDK);
/// - a space or `T` between date and time;
/// - 0 to 9 fractional digits after `.` or `,`;
/// - optional space before the offset; offset `Z`, `+0000`, `+02:00` or `+02`;
/// - without an offset the time is taken as UTC when `assume_utc`, else refused.
pub fn parse_expiry(text: &str, assume_utc: bool) -> Option<OffsetDateTime> {
    let mut cursor = Cursor(text.trim().as_bytes());
    let year = cursor.number(4)?;
    let separator = cursor.one_of(b"-.")?;
    let month = cursor.number(2)?;
    cursor.expect(separator)?;
    let day = cursor.number(2)?;
    cursor.one_of(b" T")?;
    cursor.skip_spaces();
    let hour = cursor.number(2)?;
    cursor.expect(b':')?;
    let minute = cursor.number(2)?;
    cursor.expect(b':')?;
    let second = cursor.number(2)?;
    let mut nanos = 0u32;
    if cursor.one_of(b".,").is_some() {
        let mut digits = 0;
        while let Some(digit) = cursor.digit() {
            if digits == 9 {
                return None;
            }
            nanos = nanos * 10 + digit;
            digits += 1;
        }
        nanos *= 10u32.pow(9 - digits);
    }
    cursor.skip_spaces();
    let offset = match cursor.peek() {
        None if assume_utc => UtcOffset::UTC,
        None => return None,
        Some(b'Z' | b'z') => {
            cursor.advance();
            UtcOffset::UTC
        }
        Some(sign @ (b'+' | b'-')) => {
            cursor.advance();
            let hours = cursor.number(2)? as i8;
            let _ = cursor.one_of(b":");
            let minutes = if cursor.peek().is_some() {
                cursor.number(2)? as i8
            } else {
                0
            };
            let (hours, minutes) = if sign == b'-' {
                (-hours, -minutes)
            } else {
                (hours, minutes)
            };
            UtcOffset::from_hms(hours, minutes, 0).ok()?
        }
        Some(_) => return None,
    };
    if cursor.peek().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(year as i32, Month::try_from(month as u8).ok()?, day as u8)
        .ok()?;
    let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn advance(&mut self) {
        self.0 = &self.0[1..];
    }

    fn digit(&mut self) -> Option<u32> {
        let c = self.peek().filter(u8::is_ascii_digit)?;
        self.advance();
        Some(u32::from(c - b'0'))
    }

    fn number(&mut self, digits: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..digits {
            value = value * 10 + self.digit()?;
        }
        Some(value)
    }

    fn one_of(&mut self, set: &[u8]) -> Option<u8> {
        let c = self.peek().filter(|c| set.contains(c))?;
        self.advance();
        Some(c)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        self.one_of(&[wanted]).map(|_| ())
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.advance();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn authorize_body_is_the_sheets() {
        let body = serde_json::to_string(&AuthorizeRequest {
            service_code: "a51e68aa-c6fa-11ed-afa1-0242ac120005",
        })
        .unwrap();
        assert_eq!(
            body,
            r#"{"serviceCode":"a51e68aa-c6fa-11ed-afa1-0242ac120005"}"#
        );
    }

    #[test]
    fn header_names_are_the_sheets() {
        assert_eq!(
            [
                API_VERSION_HEADER,
                DEVICE_ID_HEADER,
                REFRESH_TOKEN_HEADER,
                REQUEST_ID_HEADER
            ],
            [
                "x-api_version",
                "x-device_id",
                "x-refresh_token",
                "x-request_id"
            ]
        );
        // http accepts the underscores as they are.
        for name in [
            API_VERSION_HEADER,
            DEVICE_ID_HEADER,
            REFRESH_TOKEN_HEADER,
            REQUEST_ID_HEADER,
        ] {
            http::HeaderName::from_static(name);
        }
    }

    #[test]
    fn sheet_error_envelope_is_an_auth_error() {
        let body = br#"{"requestId":"29a36a0a-...","serviceId":"api-gateway","msgCode":"b_used_token","msgType":"ERROR",
 "msgText":"@Used Token Alert!","isLocalized":false,"msgAttrs":{},"errorCauses":[]}"#;
        let envelope = ErrorEnvelope::parse(body).unwrap();
        assert_eq!(envelope.msg_code, "b_used_token");
        assert!(envelope.is_auth_error());
        assert_eq!(envelope.summary(), "b_used_token (@Used Token Alert!)");
    }

    #[test]
    fn both_spellings_of_session_doesnt_exist_and_the_device_codes_are_auth_errors() {
        for code in [
            "b_session_doesnt_exist",
            "b_session_doesnt_exists",
            "b_unknown_device",
            "b_virtual_device_not_found",
            "b_expired_token",
            "b_previous_auth_token_expired",
            "b_auth_token_expired",
        ] {
            let body = format!(r#"{{"msgCode":"{code}","msgType":"ERROR"}}"#);
            assert!(
                ErrorEnvelope::parse(body.as_bytes())
                    .unwrap()
                    .is_auth_error(),
                "{code}"
            );
        }
    }

    #[test]
    fn other_errors_and_successes_are_not_auth_errors() {
        let validation = br#"{"msgCode":"b_used_token","msgType":"VALIDATION_ERROR","validation":{"errors":[]}}"#;
        assert!(!ErrorEnvelope::parse(validation).unwrap().is_auth_error());
        let other = br#"{"msgCode":"b_request_is_not_correct","msgType":"ERROR"}"#;
        assert!(!ErrorEnvelope::parse(other).unwrap().is_auth_error());
        let decrypt = br#"{"msgCode":"b_encryptor_failed_decrypt_message","msgType":"ERROR"}"#;
        assert!(!ErrorEnvelope::parse(decrypt).unwrap().is_auth_error());
        assert!(ErrorEnvelope::parse(br#"{"jwe":"a.b.c.d.e"}"#).is_none());
        assert!(ErrorEnvelope::parse(br#"{"msgCode":"b_used_token","msgType":"INFO"}"#).is_none());
        assert!(ErrorEnvelope::parse(b"<html>401</html>").is_none());
        assert!(ErrorEnvelope::parse(b"").is_none());
        assert!(ErrorEnvelope::parse(br#"[{"msgType":"ERROR"}]"#).is_none());
    }

    #[test]
    fn sheet_expiry_formats_parse() {
        assert_eq!(
            parse_expiry("2023-03-18 12:34:52.0998 +0000", true),
            Some(datetime!(2023-03-18 12:34:52.0998 UTC))
        );
        assert_eq!(
            parse_expiry("2025-02-15 00:45:24.463+02:00", false),
            Some(datetime!(2025-02-15 00:45:24.463 +02:00))
        );
        assert_eq!(
            parse_expiry("2025-02-15 00:45:24.463+02:00", false).unwrap(),
            datetime!(2025-02-14 22:45:24.463 UTC)
        );
    }

    #[test]
    fn expiry_variants_parse() {
        let utc = datetime!(2023-03-18 12:34:52 UTC);
        for text in [
            "2023-03-18 12:34:52 +0000",
            "2023.03.18 12:34:52 +0000",
            "2023-03-18T12:34:52Z",
            "2023-03-18 12:34:52+00:00",
            "2023-03-18 12:34:52.000000000 +0000",
            "2023-03-18 12:34:52",
            "2023-03-18 14:34:52 +02",
            "2023-03-18 08:34:52 -0400",
            "  2023-03-18 12:34:52.0 +0000  ",
        ] {
            assert_eq!(parse_expiry(text, true), Some(utc), "{text}");
        }
        assert_eq!(
            parse_expiry("2023-03-18 12:34:52.1 +0000", true),
            Some(datetime!(2023-03-18 12:34:52.1 UTC))
        );
    }

    #[test]
    fn expiry_garbage_is_refused() {
        for text in [
            "",
            "tomorrow",
            "2023-03-18",
            "2023-03.18 12:34:52 +0000",
            "2023-13-18 12:34:52 +0000",
            "2023-03-18 25:34:52 +0000",
            "2023-03-18 12:34:52.1234567890 +0000",
            "2023-03-18 12:34:52 +0000 extra",
            "2023-03-18 12:34:52 +99:00",
        ] {
            assert_eq!(parse_expiry(text, true), None, "{text}");
        }
        // Kyiv time without an offset is ambiguous.
        assert_eq!(parse_expiry("2025-02-15 00:45:24.463", false), None);
    }
}
