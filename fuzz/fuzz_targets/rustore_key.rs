//! `RustorePrivateKey::parse` on any text, any DER in base64 (the console form) and any DER in
//! PEM armour. No panic; a key that parses can sign.
//!
//! The first byte picks the form: 0 raw text, 1 base64 of the rest, 2 PKCS#8 PEM, 3 PKCS#1 PEM.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use rustore_auth::RustorePrivateKey;

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    let text = match form % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => STANDARD.encode(rest),
        2 => format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(rest)
        ),
        _ => format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            STANDARD.encode(rest)
        ),
    };
    match RustorePrivateKey::parse(&text) {
        Ok(key) => {
            let _ = format!("{key:?}");
            let _ = key.bits();
            let _ = key.sign_base64(b"fuzz");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
