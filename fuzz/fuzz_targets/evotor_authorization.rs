//! Evotor's incoming `Authorization` header (`webhook::authorization`): parsing, strict Basic
//! decoding and the constant-time check, on any bytes. No panic; a decoded Basic pair has
//! exactly one `:`.
#![no_main]

use std::sync::LazyLock;

use evotor_auth::ReceiverConfig;
use evotor_auth::webhook::ServiceVerifier;
use evotor_auth::webhook::authorization::{Presented, decode_basic, parse_authorization};
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

static VERIFIER: LazyLock<ServiceVerifier> = LazyLock::new(|| {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from("3f0c1e2d-5b6a-4c7d-8e9f-0a1b2c3d4e5f"))
        .basic("login", SecretString::from("password"))
        .build()
        .expect("a valid receiver configuration");
    ServiceVerifier::new(&config)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(presented) = parse_authorization(data) {
        let _ = format!("{presented:?}");
        if let Presented::Basic(encoded) = presented
            && let Some(text) = decode_basic(encoded)
        {
            assert_eq!(text.matches(':').count(), 1);
        }
        let _ = VERIFIER.verify(&presented);
    }
    // The same bytes the way a server hands them over: as a header value.
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        let _ = VERIFIER.verify_headers(&headers);
    }
});
