//! Interoperability with an independent JOSE implementation, jwcrypto (Python, on
//! pyca/cryptography).
//!
//! How the fixtures were made (see `tests/fixtures/jwcrypto_fixtures.py`, run once and
//! committed with its output; this test needs no Python):
//! 1. `python3 jwcrypto_fixtures.py` generated `jwcrypto_key.json` (a P-384 private JWK made by
//!    jwcrypto 1.6.1) and `jwcrypto_answer.json`, a `{"jwe": …}` answer jwcrypto encrypted to
//!    it with ECDH-ES+A256KW / A256GCM; its plaintext is `jwcrypto_answer.plaintext.json`.
//! 2. `cargo test -p alliance-auth --test interop -- --ignored write_crate_made_fixture` made
//!    `propusk_made.jwe` with this crate, encrypted to the same key.
//! 3. `python3 jwcrypto_fixtures.py` again: jwcrypto decrypted `propusk_made.jwe` and wrote
//!    what it found to `propusk_made.jwcrypto.json`.

use std::time::SystemTime;

use alliance_auth::{AllianceSession, MerchantKey, jwe};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The plaintext the crate encrypted for step 2.
const CRATE_PLAINTEXT: &str =
    r#"{"amount":100,"encryptedCardData":"2503111","note":"made by alliance-auth for jwcrypto"}"#;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|error| panic!("fixture {name}: {error}"))
}

fn key() -> MerchantKey {
    MerchantKey::from_jwk(&fixture("jwcrypto_key.json")).expect("jwcrypto's JWK passes validation")
}

#[test]
fn jwcrypto_answer_decrypts() {
    let key = key();
    let plaintext = jwe::decrypt_answer(&key, fixture("jwcrypto_answer.json").as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(plaintext.clone()).unwrap(),
        fixture("jwcrypto_answer.plaintext.json").trim_end()
    );
    // And it is a session the crate accepts.
    let session = AllianceSession::from_payload(&plaintext, SystemTime::now()).unwrap();
    assert_eq!(session.device_id(), "1d9742cf-d392-4c2b-9982-4dc6ec2224b2");
    assert_eq!(session.server_public(), key.public_key());
}

#[test]
fn jwcrypto_answer_with_a_changed_byte_does_not_decrypt() {
    let answer: Value = serde_json::from_str(&fixture("jwcrypto_answer.json")).unwrap();
    let compact = answer["jwe"].as_str().unwrap();
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    // Flip one character of the authentication tag.
    let tag = &mut parts[4];
    let first = if tag.starts_with('A') { "B" } else { "A" };
    tag.replace_range(0..1, first);
    assert!(jwe::decrypt(&key(), &parts.join(".")).is_err());
}

#[test]
fn crate_made_jwe_was_decrypted_by_jwcrypto() {
    let verdict: Value = serde_json::from_str(&fixture("propusk_made.jwcrypto.json")).unwrap();
    assert_eq!(
        verdict["plaintext"], CRATE_PLAINTEXT,
        "jwcrypto's reading of the crate's JWE"
    );
    assert_eq!(verdict["protected_header"]["alg"], "ECDH-ES+A256KW");
    assert_eq!(verdict["protected_header"]["enc"], "A256GCM");
    assert_eq!(verdict["protected_header"]["epk"]["crv"], "P-384");
    // The committed JWE is the one jwcrypto read, and the crate reads it the same way.
    let compact = fixture("propusk_made.jwe");
    assert_eq!(
        jwe::decrypt(&key(), compact.trim()).unwrap(),
        CRATE_PLAINTEXT.as_bytes()
    );
}

/// Step 2 of the fixture recipe; run by hand (it rewrites a committed file).
#[test]
#[ignore = "rewrites tests/fixtures/propusk_made.jwe; run by hand when regenerating the fixtures"]
fn write_crate_made_fixture() {
    let compact = jwe::encrypt(key().public_key(), CRATE_PLAINTEXT.as_bytes()).unwrap();
    std::fs::write(
        format!("{FIXTURES}/propusk_made.jwe"),
        format!("{compact}\n"),
    )
    .unwrap();
}
