//! A device session: what the decrypted authorize answer gives, and its form as an
//! [`auth_core::Credential`] (so the cache and its store keep and share it).

use std::fmt;
use std::time::{Duration, SystemTime};

use auth_core::{AuthError, Credential};
use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::JweError;
use crate::PROVIDER;
use crate::config::SESSION_LIFETIME;
use crate::jwe;
use crate::key::{KeyRole, PublicKey};
use crate::protocol::{API_VERSION_HEADER, DEVICE_ID_HEADER, REFRESH_TOKEN_HEADER, parse_expiry};

/// Credential extra holding the session's `authToken` (stored, never sent).
pub const EXTRA_AUTH_TOKEN: &str = "authToken";
/// Credential extra holding the session's `serverPublic` JWK.
pub const EXTRA_SERVER_PUBLIC: &str = "serverPublic";
/// Credential extra holding the session's `deviceId`.
pub const EXTRA_DEVICE_ID: &str = "deviceId";

/// One device session from `authorize_virtual_device`.
///
/// A new authorize ends the previous session at the bank, so all of it is replaced together.
/// `Debug` leaves out `refreshToken` and `authToken`.
#[derive(Clone)]
pub struct AllianceSession {
    device_id: String,
    refresh_token: SecretString,
    auth_token: Option<SecretString>,
    server_public: PublicKey,
    expires_at: SystemTime,
}

impl AllianceSession {
    /// Reads the decrypted authorize payload. `issued_at` is when the answer arrived: the
    /// session expires at `tokenExpirationDateTime`, else `tokenExpiration`, else 24 h after
    /// `issued_at`, never later than
    /// `issued_at` + 24 h (the documented lifetime): a past one yields to the next field, one
    /// more than 24 h ahead is capped.
    pub fn from_payload(plaintext: &[u8], issued_at: SystemTime) -> Result<Self, AuthError> {
        let problem = |what: String| {
            AuthError::protocol(PROVIDER, format!("the decrypted authorize answer {what}"))
        };
        let value: Value =
            serde_json::from_slice(plaintext).map_err(|_| problem("is not JSON".to_owned()))?;
        let Value::Object(object) = value else {
            return Err(problem("is not a JSON object".to_owned()));
        };
        let device_id = required_string(&object, "deviceId").map_err(problem)?;
        let refresh_token = required_string(&object, "refreshToken").map_err(problem)?;
        let auth_token = match object.get("authToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(SecretString::from(token.as_str())),
            Some(_) => {
                return Err(problem(
                    "has an `authToken` that is not a string".to_owned(),
                ));
            }
        };
        let server_public = match (object.get("serverPublic"), object.get("serverPublicKey")) {
            (Some(key), _) | (None, Some(key)) => key,
            (None, None) => {
                return Err(problem(
                    "has no `serverPublic` (nor the older `serverPublicKey`)".to_owned(),
                ));
            }
        };
        let server_public = parse_server_public(server_public)?;
        let expires_at = expiry(&object, issued_at);
        for (name, value) in [
            ("deviceId", device_id.as_str()),
            ("refreshToken", refresh_token.as_str()),
        ] {
            if value.is_empty() || http::HeaderValue::from_str(value).is_err() {
                return Err(problem(format!(
                    "has a `{name}` that is empty or cannot be sent as a header"
                )));
            }
        }
        Ok(Self {
            device_id,
            refresh_token: SecretString::from(refresh_token),
            auth_token,
            server_public,
            expires_at,
        })
    }

    /// Reads a session back from a credential made by [`to_credential`](Self::to_credential)
    /// (e.g. one the cache or its store hands out).
    pub fn from_credential(credential: &Credential) -> Result<Self, AuthError> {
        let missing = |what: &str| {
            AuthError::protocol(
                PROVIDER,
                format!("the credential is not an Alliance session (no {what})"),
            )
        };
        let device_id = credential
            .extra(EXTRA_DEVICE_ID)
            .ok_or_else(|| missing("deviceId"))?
            .expose_secret()
            .to_owned();
        let server_public = credential
            .extra(EXTRA_SERVER_PUBLIC)
            .ok_or_else(|| missing("serverPublic"))?;
        let server_public = serde_json::from_str::<Value>(server_public.expose_secret())
            .map_err(|_| missing("readable serverPublic"))?;
        Ok(Self {
            device_id,
            refresh_token: credential.token().clone(),
            auth_token: credential.extra(EXTRA_AUTH_TOKEN).cloned(),
            server_public: parse_server_public(&server_public)?,
            expires_at: credential.expires_at(),
        })
    }

    /// The credential: token `refreshToken`; headers `x-api_version: <api_version>`,
    /// `x-device_id`, `x-refresh_token` (all marked sensitive); extras `deviceId`,
    /// `serverPublic` and `authToken`.
    pub fn to_credential(&self, api_version: &str) -> Result<Credential, AuthError> {
        let mut credential = Credential::new(self.refresh_token.clone(), self.expires_at)
            .with_header(
                PROVIDER,
                HeaderName::from_static(API_VERSION_HEADER),
                api_version,
            )?
            .with_header(
                PROVIDER,
                HeaderName::from_static(DEVICE_ID_HEADER),
                &self.device_id,
            )?
            .with_header(
                PROVIDER,
                HeaderName::from_static(REFRESH_TOKEN_HEADER),
                self.refresh_token.expose_secret(),
            )?
            .with_extra(EXTRA_DEVICE_ID, SecretString::from(self.device_id.as_str()))
            .with_extra(
                EXTRA_SERVER_PUBLIC,
                SecretString::from(self.server_public.to_jwk_json()),
            );
        if let Some(auth_token) = &self.auth_token {
            credential = credential.with_extra(EXTRA_AUTH_TOKEN, auth_token.clone());
        }
        Ok(credential)
    }

    /// `deviceId`, sent as `x-device_id`.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// `refreshToken`, sent as `x-refresh_token`.
    pub fn refresh_token(&self) -> &SecretString {
        &self.refresh_token
    }

    /// `authToken`: returned by the bank, carried by no documented header; kept, never sent.
    pub fn auth_token(&self) -> Option<&SecretString> {
        self.auth_token.as_ref()
    }

    /// `serverPublic` (older name `serverPublicKey`): the bank's key for this session.
    pub fn server_public(&self) -> &PublicKey {
        &self.server_public
    }

    /// When the session ends.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Encrypts a request body to `serverPublic` (legacy H2H payment and refund endpoints):
    /// send the result as the body with `Content-Type: text/plain`.
    pub fn encrypt_body(&self, body: &[u8]) -> Result<String, JweError> {
        jwe::encrypt(&self.server_public, body)
    }
}

impl fmt::Debug for AllianceSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllianceSession")
            .field("device_id", &self.device_id)
            .field("refresh_token", &"[REDACTED]")
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("server_public", &self.server_public)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, String> {
    match object.get(field) {
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(format!("has a `{field}` that is not a string")),
        None => Err(format!("has no `{field}`")),
    }
}

/// `serverPublic` as a JSON object, or as a string holding one.
fn parse_server_public(value: &Value) -> Result<PublicKey, AuthError> {
    let parsed;
    let value = match value {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|_| {
                AuthError::protocol(
                    PROVIDER,
                    "`serverPublic` is a string that holds no JSON JWK",
                )
            })?;
            &parsed
        }
        other => other,
    };
    PublicKey::from_jwk_value(KeyRole::ServerPublic, value)
        .map_err(|error| AuthError::protocol(PROVIDER, format!("the authorize answer's {error}")))
}

fn expiry(object: &Map<String, Value>, issued_at: SystemTime) -> SystemTime {
    let fallback = issued_at + SESSION_LIFETIME;
    for (field, assume_utc) in [
        ("tokenExpirationDateTime", true),
        ("tokenExpiration", false),
    ] {
        let Some(text) = object.get(field).and_then(Value::as_str) else {
            continue;
        };
        let Some(at) = parse_expiry(text, assume_utc) else {
            tracing::debug!(field, "unreadable session expiry; trying the next field");
            continue;
        };
        let at = to_system_time(at);
        if at <= issued_at {
            tracing::warn!(
                field,
                "the session expiry is already past (clock difference or an unexpected format); trying the next field"
            );
            continue;
        }
        if at > fallback {
            tracing::debug!(
                field,
                "the session expiry is more than 24 h ahead; capping at 24 h"
            );
        }
        return at.min(fallback);
    }
    tracing::debug!("no usable session expiry; assuming 24 h");
    fallback
}

fn to_system_time(at: OffsetDateTime) -> SystemTime {
    let seconds = at.unix_timestamp();
    let nanos = at.nanosecond();
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::new(seconds as u64, nanos)
    } else {
        SystemTime::UNIX_EPOCH
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SERVER_PUBLIC: &str = r#"{"kty":"EC","crv":"P-384","x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC","y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

    /// The sheet's decrypted payload, with a real key in place of the elided `serverPublic`.
    fn sheet_payload(server_public_field: &str) -> String {
        format!(
            r#"{{"refreshToken":"5aba78ac-8850-4619-8232-f62089cbcbb3",
 "authToken":"14a74387-9f20-4e73-a314-0d2ca80222b6",
 "deviceId":"1d9742cf-d392-4c2b-9982-4dc6ec2224b2",
 "{server_public_field}":{SERVER_PUBLIC},
 "tokenExpirationDateTime":"2023-03-18 12:34:52.0998 +0000",
 "tokenExpiration":"2025-02-15 00:45:24.463+02:00"}}"#
        )
    }

    fn system(at: OffsetDateTime) -> SystemTime {
        to_system_time(at)
    }

    #[test]
    fn sheet_payload_becomes_a_session_and_a_credential() {
        let issued = system(datetime!(2023-03-17 12:40:00 UTC));
        let session =
            AllianceSession::from_payload(sheet_payload("serverPublic").as_bytes(), issued)
                .unwrap();
        assert_eq!(session.device_id(), "1d9742cf-d392-4c2b-9982-4dc6ec2224b2");
        assert_eq!(
            session.refresh_token().expose_secret(),
            "5aba78ac-8850-4619-8232-f62089cbcbb3"
        );
        assert_eq!(
            session.auth_token().unwrap().expose_secret(),
            "14a74387-9f20-4e73-a314-0d2ca80222b6"
        );
        assert_eq!(
            session.expires_at(),
            system(datetime!(2023-03-18 12:34:52.0998 UTC))
        );

        let credential = session.to_credential("V1").unwrap();
        assert_eq!(
            credential.token().expose_secret(),
            "5aba78ac-8850-4619-8232-f62089cbcbb3"
        );
        let headers = credential.headers();
        assert_eq!(headers["x-api_version"], "V1");
        assert_eq!(
            headers["x-device_id"],
            "1d9742cf-d392-4c2b-9982-4dc6ec2224b2"
        );
        assert_eq!(
            headers["x-refresh_token"],
            "5aba78ac-8850-4619-8232-f62089cbcbb3"
        );
        assert!(headers.values().all(|v| v.is_sensitive()));
        assert_eq!(headers.len(), 3, "authToken is never sent");

        let back = AllianceSession::from_credential(&credential).unwrap();
        assert_eq!(back.device_id(), session.device_id());
        assert_eq!(back.server_public(), session.server_public());
        assert_eq!(
            back.auth_token().unwrap().expose_secret(),
            "14a74387-9f20-4e73-a314-0d2ca80222b6"
        );
    }

    #[test]
    fn older_name_server_public_key_is_accepted() {
        let issued = system(datetime!(2023-03-17 12:40:00 UTC));
        let session =
            AllianceSession::from_payload(sheet_payload("serverPublicKey").as_bytes(), issued)
                .unwrap();
        assert_eq!(
            session.server_public().x(),
            "lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC"
        );
    }

    #[test]
    fn server_public_as_a_string_is_accepted() {
        let payload = format!(
            r#"{{"refreshToken":"r","deviceId":"d","serverPublic":{}}}"#,
            Value::String(SERVER_PUBLIC.to_owned())
        );
        AllianceSession::from_payload(payload.as_bytes(), SystemTime::now()).unwrap();
    }

    #[test]
    fn a_damaged_server_public_rejects_the_session() {
        let damaged = sheet_payload("serverPublic")
            .replace("lxF9kVkpdTRqd256CO0Q3fOEg", "lxF9kVkpdTRqd256CO0Q3fOE");
        let error =
            AllianceSession::from_payload(damaged.as_bytes(), SystemTime::now()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("session key `serverPublic`: field `x` is 63 base64url chars"),
            "{error}"
        );
    }

    #[test]
    fn expiry_falls_back_from_date_time_to_kyiv_time_to_24_hours() {
        let issued = system(datetime!(2025-02-14 01:00:00 UTC));
        let without_utc =
            sheet_payload("serverPublic").replace("2023-03-18 12:34:52.0998 +0000", "soon");
        let session = AllianceSession::from_payload(without_utc.as_bytes(), issued).unwrap();
        assert_eq!(
            session.expires_at(),
            system(datetime!(2025-02-14 22:45:24.463 UTC))
        );

        let neither = without_utc.replace("2025-02-15 00:45:24.463+02:00", "later");
        let session = AllianceSession::from_payload(neither.as_bytes(), issued).unwrap();
        assert_eq!(session.expires_at(), issued + SESSION_LIFETIME);

        // An expiry already past (the sheet's 2023 example read in 2025) is not trusted.
        let session =
            AllianceSession::from_payload(sheet_payload("serverPublic").as_bytes(), issued)
                .unwrap();
        assert_eq!(
            session.expires_at(),
            system(datetime!(2025-02-14 22:45:24.463 UTC))
        );
    }

    #[test]
    fn a_past_or_far_expiry_is_replaced_by_24_hours() {
        let issued = system(datetime!(2030-01-01 00:00:00 UTC));
        let session =
            AllianceSession::from_payload(sheet_payload("serverPublic").as_bytes(), issued)
                .unwrap();
        assert_eq!(session.expires_at(), issued + SESSION_LIFETIME);
        let issued = system(datetime!(2023-03-10 00:00:00 UTC));
        let session =
            AllianceSession::from_payload(sheet_payload("serverPublic").as_bytes(), issued)
                .unwrap();
        assert_eq!(session.expires_at(), issued + SESSION_LIFETIME);
    }

    #[test]
    fn missing_fields_are_named_without_values() {
        let payload = r#"{"refreshToken":"5aba78ac-secret","serverPublic":{}}"#;
        let error =
            AllianceSession::from_payload(payload.as_bytes(), SystemTime::now()).unwrap_err();
        assert!(error.to_string().contains("has no `deviceId`"), "{error}");
        let payload = r#"{"refreshToken":12345678,"deviceId":"d"}"#;
        let error =
            AllianceSession::from_payload(payload.as_bytes(), SystemTime::now()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`refreshToken` that is not a string"),
            "{error}"
        );
        assert!(!error.to_string().contains("12345678"));
        let payload = r#"{"refreshToken":"r","deviceId":"d"}"#;
        let error =
            AllianceSession::from_payload(payload.as_bytes(), SystemTime::now()).unwrap_err();
        assert!(error.to_string().contains("no `serverPublic`"), "{error}");
        let payload = r#"{"refreshToken":"a\nb","deviceId":"d","serverPublic":{}}"#;
        assert!(AllianceSession::from_payload(payload.as_bytes(), SystemTime::now()).is_err());
    }

    #[test]
    fn debug_hides_tokens() {
        let session = AllianceSession::from_payload(
            sheet_payload("serverPublic").as_bytes(),
            system(datetime!(2023-03-17 12:40:00 UTC)),
        )
        .unwrap();
        let debug = format!("{session:?}");
        assert!(!debug.contains("5aba78ac"), "{debug}");
        assert!(!debug.contains("14a74387"), "{debug}");
    }
}
