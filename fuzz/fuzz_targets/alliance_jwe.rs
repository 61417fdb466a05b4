//! Alliance JWE answers decrypted with a fixed valid merchant key: no panic, whatever arrives.
//!
//! The first byte picks the form: 0 the rest as a compact JWE; 1 the rest as the answer body
//! (`{"jwe": …}`); 2 the rest split at 0xFF into the five parts, each base64url-encoded (so the
//! header JSON, `epk` included, is the fuzzer's); 3 a valid JWE with bytes of it replaced.
#![no_main]

use std::sync::LazyLock;

use alliance_auth::MerchantKey;
use alliance_auth::jwe::{decrypt, decrypt_answer, encrypt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

const KEY: &str = include_str!("../../crates/alliance-auth/tests/fixtures/jwcrypto_key.json");

static MERCHANT: LazyLock<MerchantKey> =
    LazyLock::new(|| MerchantKey::from_jwk(KEY).expect("the fixture key is valid"));

static VALID: LazyLock<String> =
    LazyLock::new(|| encrypt(MERCHANT.public_key(), br#"{"refreshToken":"r"}"#).expect("encrypts"));

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    let key = &*MERCHANT;
    let outcome = match form % 4 {
        0 => decrypt(key, &String::from_utf8_lossy(rest)),
        1 => decrypt_answer(key, rest),
        2 => {
            let compact = rest
                .splitn(5, |b| *b == 0xFF)
                .map(|part| URL_SAFE_NO_PAD.encode(part))
                .collect::<Vec<_>>()
                .join(".");
            decrypt(key, &compact)
        }
        _ => {
            // Pairs of (position, byte) overwrite the valid JWE.
            let mut bytes = VALID.clone().into_bytes();
            for pair in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
                bytes[at] = pair[2];
            }
            decrypt(key, &String::from_utf8_lossy(&bytes))
        }
    };
    if let Err(error) = outcome {
        let _ = error.to_string();
    }
});
