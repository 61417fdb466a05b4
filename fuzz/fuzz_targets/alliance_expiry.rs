//! Alliance expiry dates: the lenient `protocol::parse_expiry`, alone and inside the decrypted
//! authorize answer (`AllianceSession::from_payload`). No panic; a date is read the
//! same with or without `assume_utc` when it carries an offset; a session ends after it starts
//! and never outlives 24 h.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use alliance_auth::protocol::parse_expiry;
use alliance_auth::{AllianceSession, SESSION_LIFETIME};
use libfuzzer_sys::fuzz_target;

const SERVER_PUBLIC: &str = r#"{"kty":"EC","crv":"P-384","x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC","y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = parse_expiry(text, false);
    let lenient = parse_expiry(text, true);
    if let Some(at) = strict {
        assert_eq!(
            lenient,
            Some(at),
            "assume_utc changed a date that has an offset"
        );
    }
    if let Some(at) = lenient {
        let _ = at.unix_timestamp();
        let _ = at.nanosecond();
    }

    let server_public: serde_json::Value = serde_json::from_str(SERVER_PUBLIC).expect("JSON");
    for issued_at in [UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(1_750_000_000)] {
        let payload = serde_json::json!({
            "refreshToken": "5aba78ac-8850-4619-8232-f62089cbcbb3",
            "deviceId": "1d9742cf-d392-4c2b-9982-4dc6ec2224b2",
            "serverPublic": server_public,
            "tokenExpirationDateTime": text,
            "tokenExpiration": text,
        });
        let session = AllianceSession::from_payload(payload.to_string().as_bytes(), issued_at)
            .expect("a payload with a valid key and any dates is a session");
        let _ = format!("{session:?}");
        assert!(session.expires_at() > issued_at);
        assert!(session.expires_at() <= issued_at + SESSION_LIFETIME);
        session
            .to_credential("V1")
            .expect("a session is a credential");
    }
});
