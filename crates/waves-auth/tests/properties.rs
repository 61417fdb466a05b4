//! Properties of the API-key hash and of reading a JWT's `exp` (proptest, 256 cases each).

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use waves_auth::jwt::{ExpiryProblem, expiry_of};
use waves_auth::{api_key_hash, api_key_matches};

/// 9999-12-31T23:59:59Z, the latest `exp` accepted.
const LATEST_EXP: u64 = 253_402_300_799;

fn jwt(payload: &[u8]) -> String {
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(payload)
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_api_key_hash_is_32_bytes_of_base58(key in any::<String>()) {
        let hash = api_key_hash(&key);
        let bytes = bs58::decode(&hash).into_vec().unwrap();
        prop_assert_eq!(bytes.len(), 32);
        prop_assert!(api_key_matches(&key, &hash));
        let padded = format!("  {hash}\n");
        prop_assert!(api_key_matches(&key, &padded));
        let other = format!("{key}x");
        prop_assert!(!api_key_matches(&other, &hash));
    }

    #[test]
    fn expiry_of_any_text_never_panics(token in any::<String>()) {
        let _ = expiry_of(&token);
    }

    #[test]
    fn expiry_of_any_payload_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(at) = expiry_of(&jwt(&payload)) {
            prop_assert!(at <= UNIX_EPOCH + Duration::from_secs(LATEST_EXP));
        }
    }

    #[test]
    fn expiry_of_any_json_exp_never_panics(exp in "-?[0-9]{0,25}(\\.[0-9]{0,10})?([eE][+-]?[0-9]{1,4})?|null|true|\"[0-9]{1,12}\"") {
        let payload = format!("{{\"exp\":{exp}}}");
        if let Ok(at) = expiry_of(&jwt(payload.as_bytes())) {
            prop_assert!(at <= UNIX_EPOCH + Duration::from_secs(LATEST_EXP));
        }
    }

    #[test]
    fn a_plausible_exp_is_read_exactly(exp in 0..=LATEST_EXP, extra in "[a-z]{0,8}") {
        let payload = format!(r#"{{"sub":"{extra}","exp":{exp}}}"#);
        prop_assert_eq!(
            expiry_of(&jwt(payload.as_bytes())),
            Ok(UNIX_EPOCH + Duration::from_secs(exp))
        );
    }

    #[test]
    fn an_exp_past_the_year_9999_is_refused(exp in LATEST_EXP + 1..) {
        let payload = format!(r#"{{"exp":{exp}}}"#);
        prop_assert_eq!(expiry_of(&jwt(payload.as_bytes())), Err(ExpiryProblem::BadExp));
    }
}
