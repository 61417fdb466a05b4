//! Alliance JWK validation (`MerchantKey::from_jwk`, `PublicKey::from_jwk`) on any text and on
//! EC JWKs whose `x`, `y`, `d` the fuzzer chooses. No panic, and no error message shows `d`.
//!
//! The first byte picks the form: 0 raw text; 1 `x`, `y`, `d` from the rest split at 0xFF and
//! base64url-encoded; 2 the same parts as they are (lossy UTF-8).
#![no_main]

use alliance_auth::{KeyError, KeyRole, MerchantKey, PublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

fn check(result: Result<String, KeyError>, secret: Option<&str>) {
    match result {
        Ok(shown) => {
            if let Some(secret) = secret {
                assert!(!shown.contains(secret), "a key's Debug shows d");
            }
        }
        Err(error) => {
            let message = error.to_string();
            let _ = format!("{error:?}");
            if let Some(secret) = secret {
                assert!(!message.contains(secret), "an error shows d: {message}");
            }
            if let Some(public) = error.derived_public() {
                let _ = public.to_jwk_json();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    let (text, secret) = match form % 3 {
        0 => (String::from_utf8_lossy(rest).into_owned(), None),
        _ => {
            let mut parts = rest.splitn(3, |b| *b == 0xFF);
            let mut next = || {
                let part = parts.next().unwrap_or_default();
                if form % 3 == 1 {
                    URL_SAFE_NO_PAD.encode(part)
                } else {
                    String::from_utf8_lossy(part).into_owned()
                }
            };
            let (x, y, d) = (next(), next(), next());
            let jwk = serde_json::json!({
                "kty": "EC", "crv": "P-384", "use": "enc", "alg": "ECDH-ES+A256KW",
                "x": x, "y": y, "d": d,
            })
            .to_string();
            // `d` must never be shown; only checkable when it is not also part of x or y.
            let secret = (d.len() >= 8 && !x.contains(&d) && !y.contains(&d)).then_some(d);
            (jwk, secret)
        }
    };
    let secret = secret.as_deref();
    check(
        MerchantKey::from_jwk(&text).map(|key| format!("{key:?}")),
        secret,
    );
    for role in [KeyRole::Payment, KeyRole::ServerPublic, KeyRole::Public] {
        check(
            PublicKey::from_jwk(role, &text).map(|key| format!("{key:?} {}", key.to_jwk_json())),
            secret,
        );
    }
});
