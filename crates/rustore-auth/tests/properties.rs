//! Properties of reading a RuStore private key (proptest): arbitrary text, arbitrary base64 and
//! damaged copies of a real key never panic and get a typed error; the real key survives any
//! whitespace a copy picks up.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use rustore_auth::RustorePrivateKey;

const CONSOLE: &str = include_str!("fixtures/test-key.console.txt");

fn der() -> Vec<u8> {
    STANDARD.decode(CONSOLE.trim()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        if let Err(error) = RustorePrivateKey::parse(&text) {
            let _ = error.to_string();
        }
    }

    #[test]
    fn any_base64_is_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = STANDARD.encode(&bytes);
        prop_assert!(RustorePrivateKey::parse(&text).is_err());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----\n");
        prop_assert!(RustorePrivateKey::parse(&pem).is_err());
        let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{text}\n-----END RSA PRIVATE KEY-----\n");
        prop_assert!(RustorePrivateKey::parse(&pem).is_err());
    }

    #[test]
    fn a_key_with_any_whitespace_still_parses(
        breaks in proptest::collection::vec((0usize..1600, prop_oneof![Just("\n"), Just("\r\n"), Just(" "), Just("\t"), Just("\\n")]), 0..20),
    ) {
        let mut text = CONSOLE.trim().to_owned();
        for (at, space) in breaks {
            let at = at % (text.len() + 1);
            if text.is_char_boundary(at) && !text[..at].ends_with('\\') {
                text.insert_str(at, space);
            }
        }
        prop_assert!(RustorePrivateKey::parse(&text).is_ok(), "{}", text);
    }
}

proptest! {
    // Each case may run RSA key validation: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_damaged_key_never_panics(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut der = der();
        for (at, byte) in edits {
            let at = at.index(der.len());
            der[at] = byte;
        }
        if let Ok(key) = RustorePrivateKey::parse(&STANDARD.encode(&der)) {
            let _ = key.sign_base64(b"message");
        }
    }
}
