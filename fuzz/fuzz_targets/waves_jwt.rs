//! Waves access-token claims: `jwt::expiry_of` on any text and on JWTs whose payload the fuzzer
//! writes. No panic; an expiry it returns is before the year 10000.
//!
//! The first byte picks the form: 0 the rest as the token; 1 the rest as the payload bytes,
//! base64url-encoded between a fixed header and signature.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use waves_auth::jwt::expiry_of;

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    let token = if form % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(rest)
        )
    };
    match expiry_of(&token) {
        Ok(at) => assert!(at <= UNIX_EPOCH + Duration::from_secs(253_402_300_799)),
        Err(problem) => {
            let _ = problem.to_string();
        }
    }
});
