//! Compact JWE as this API uses it: ECDH-ES+A256KW key agreement on P-384, A256GCM content
//! encryption, UTF-8 plaintext. Nothing else is accepted: the protected header is read and
//! checked *before* any decryption is attempted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::JweHeader;
use serde::Deserialize;
use serde_json::Value;

use crate::error::JweError;
use crate::key::{CONTENT_ENC, KEY_ALG, MerchantKey, PublicKey};

/// The length of the encrypted key: a 32-byte A256GCM key wrapped with A256KW (RFC 3394).
const WRAPPED_KEY_BYTES: usize = 40;

/// Encrypts `plaintext` to `key`: a compact JWE with protected header
/// `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{…}}` and a fresh ephemeral key.
pub fn encrypt(key: &PublicKey, plaintext: &[u8]) -> Result<String, JweError> {
    let mut header = JweHeader::new();
    header.set_content_encryption(CONTENT_ENC);
    josekit::jwe::serialize_compact(plaintext, &header, key.encrypter())
        .map_err(|error| JweError::new(format!("could not encrypt: {}", first_line(&error))))
}

/// Checks the protected header of a compact JWE: five parts, `alg` ECDH-ES+A256KW, `enc`
/// A256GCM, no `zip`, no `crit`, an encrypted key of 40 bytes. Any other algorithm is refused here, before decryption.
pub fn check_header(compact: &str) -> Result<(), JweError> {
    let parts: Vec<&str> = compact.split('.').collect();
    if parts.len() != 5 {
        return Err(JweError::new(format!(
            "not a compact JWE: {} dot-separated parts, expected 5",
            parts.len()
        )));
    }
    let header = URL_SAFE_NO_PAD
        .decode(parts[0].trim_end_matches('='))
        .map_err(|_| JweError::new("the JWE protected header is not base64url"))?;
    let header: Value = serde_json::from_slice(&header)
        .map_err(|_| JweError::new("the JWE protected header is not JSON"))?;
    let Value::Object(header) = header else {
        return Err(JweError::new(
            "the JWE protected header is not a JSON object",
        ));
    };
    let alg = header.get("alg").and_then(Value::as_str);
    let enc = header.get("enc").and_then(Value::as_str);
    if alg != Some(KEY_ALG) || enc != Some(CONTENT_ENC) {
        return Err(JweError::new(format!(
            "the JWE header says alg {} and enc {}; this API uses only {KEY_ALG} with {CONTENT_ENC}, so it is refused without decrypting",
            shown(alg),
            shown(enc)
        )));
    }
    if header.contains_key("zip") {
        return Err(JweError::new(
            "the JWE header asks for compression (`zip`), which this API never uses; refused",
        ));
    }
    if header.contains_key("crit") {
        return Err(JweError::new(
            "the JWE header has critical extensions (`crit`) this client does not understand; refused",
        ));
    }
    if parts[1].is_empty() {
        return Err(JweError::new(
            "the JWE has no encrypted key, which ECDH-ES+A256KW requires",
        ));
    }
    // An A256GCM key wrapped with A256KW is always 40 bytes. Checked here because josekit
    // panics (subtract with overflow) on an encrypted key shorter than 8 bytes.
    let wrapped = URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|_| JweError::new("the JWE encrypted key is not base64url"))?;
    if wrapped.len() != WRAPPED_KEY_BYTES {
        return Err(JweError::new(format!(
            "the JWE encrypted key is {} bytes; an {CONTENT_ENC} key wrapped with A256KW is {WRAPPED_KEY_BYTES}",
            wrapped.len()
        )));
    }
    Ok(())
}

/// Decrypts a compact JWE made to `key` (ECDH-ES+A256KW / A256GCM only).
pub fn decrypt(key: &MerchantKey, compact: &str) -> Result<Vec<u8>, JweError> {
    let compact = compact.trim();
    check_header(compact)?;
    josekit::jwe::deserialize_compact(compact, key.decrypter())
        .map(|(plaintext, _header)| plaintext)
        .map_err(|_| {
            JweError::new(
                "could not decrypt the JWE with the authorization key: it was made for another key, or altered \
                 (check that the bank holds this key's public half)",
            )
        })
}

#[derive(Deserialize)]
struct JweAnswer {
    jwe: String,
}

/// Decrypts a `{"jwe": "<compact JWE>"}` answer body with `key` and returns the plaintext.
///
/// An answer of another shape is described, never quoted: it may be a session in clear
/// (`refreshToken`, `authToken`).
pub fn decrypt_answer(key: &MerchantKey, body: &[u8]) -> Result<Vec<u8>, JweError> {
    let answer: JweAnswer = serde_json::from_slice(body).map_err(|_| {
        JweError::new(format!(
            "expected a JSON object {{\"jwe\": \"…\"}}, got {}",
            describe_shape(body)
        ))
    })?;
    decrypt(key, &answer.jwe)
}

/// What a body looks like, without any of its values: "a JSON object with fields a, b", "a
/// JSON array", "no JSON (N bytes)". Field names are cut to 40 characters, at most 10 listed.
pub fn describe_shape(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(fields)) => {
            let names: Vec<String> = fields
                .keys()
                .take(10)
                .map(|name| name.chars().filter(|c| !c.is_control()).take(40).collect())
                .collect();
            format!("a JSON object with fields: {}", names.join(", "))
        }
        Ok(serde_json::Value::Array(_)) => "a JSON array".to_owned(),
        Ok(_) => "a bare JSON value".to_owned(),
        Err(_) => format!("no JSON ({} bytes)", body.len()),
    }
}

fn shown(value: Option<&str>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(value) => {
            let short: String = value
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .take(40)
                .collect();
            format!("`{short}`")
        }
    }
}

fn first_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyRole;

    const REPAIRED: &str = r#"{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW",
 "d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
 "x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
 "y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

    fn key() -> MerchantKey {
        MerchantKey::from_jwk(REPAIRED).unwrap()
    }

    fn header_of(compact: &str) -> Value {
        let first = compact.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
    }

    #[test]
    fn round_trip_and_header_shape() {
        let key = key();
        let jwe = encrypt(key.public_key(), b"2503111").unwrap();
        let header = header_of(&jwe);
        assert_eq!(header["alg"], "ECDH-ES+A256KW");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["epk"]["kty"], "EC");
        assert_eq!(header["epk"]["crv"], "P-384");
        assert!(header.get("kid").is_none() && header.get("zip").is_none());
        assert_eq!(decrypt(&key, &jwe).unwrap(), b"2503111");
        // Each encryption uses a fresh ephemeral key.
        assert_ne!(encrypt(key.public_key(), b"2503111").unwrap(), jwe);
    }

    #[test]
    fn other_algorithms_are_refused_before_decrypting() {
        let key = key();
        let jwe = encrypt(key.public_key(), b"x").unwrap();
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        for (alg, enc) in [
            ("ECDH-ES", "A256GCM"),
            ("ECDH-ES+A256KW", "A128CBC-HS256"),
            ("RSA-OAEP", "A256GCM"),
        ] {
            let mut header = header_of(&jwe);
            header["alg"] = alg.into();
            header["enc"] = enc.into();
            parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
            let error = decrypt(&key, &parts.join(".")).unwrap_err();
            assert!(
                error.message().contains("refused without decrypting"),
                "{error}"
            );
            assert!(
                error.message().contains(alg) && error.message().contains(enc),
                "{error}"
            );
        }
        let mut header = header_of(&jwe);
        header["zip"] = "DEF".into();
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        assert!(
            decrypt(&key, &parts.join("."))
                .unwrap_err()
                .message()
                .contains("zip")
        );
    }

    #[test]
    fn a_jwe_for_another_key_or_altered_does_not_decrypt() {
        let key = key();
        let other = josekit::jwe::ECDH_ES_A256KW
            .generate_ec_key_pair(josekit::jwk::alg::ec::EcCurve::P384)
            .unwrap();
        let other =
            PublicKey::from_jwk(KeyRole::Public, &other.to_jwk_public_key().to_string()).unwrap();
        let jwe = encrypt(&other, b"secret payload").unwrap();
        let error = decrypt(&key, &jwe).unwrap_err();
        assert!(error.message().contains("made for another key"), "{error}");
        assert!(!error.message().contains("secret payload"));

        let jwe = encrypt(key.public_key(), b"secret payload").unwrap();
        let mut parts: Vec<&str> = jwe.split('.').collect();
        let tampered = URL_SAFE_NO_PAD.encode(b"other text!!!!");
        parts[3] = &tampered;
        assert!(decrypt(&key, &parts.join(".")).is_err());
    }

    #[test]
    fn malformed_input_is_explained() {
        let key = key();
        assert!(
            decrypt(&key, "a.b.c")
                .unwrap_err()
                .message()
                .contains("3 dot-separated parts")
        );
        assert!(
            decrypt(&key, "!!.b.c.d.e")
                .unwrap_err()
                .message()
                .contains("not base64url")
        );
        // Described, not quoted (issue 14: an answer may be a session in clear).
        let error = decrypt_answer(&key, b"<html>oops</html>").unwrap_err();
        assert!(error.message().contains("no JSON (17 bytes)"), "{error}");
        assert!(!error.message().contains("oops"), "{error}");
    }

    /// Found by the `alliance_jwe` fuzz target: josekit computed `len - 8` on the encrypted key
    /// and panicked when it was shorter than 8 bytes.
    #[test]
    fn an_encrypted_key_of_the_wrong_length_is_refused_without_panic() {
        let key = key();
        let jwe = encrypt(key.public_key(), b"x").unwrap();
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        for length in [1, 7, 8, 24, 39, 41] {
            parts[1] = URL_SAFE_NO_PAD.encode(vec![0x34; length]);
            let error = decrypt(&key, &parts.join(".")).unwrap_err();
            assert!(
                error.message().contains(&format!("is {length} bytes")),
                "{error}"
            );
        }
        parts[1] = "!!".to_owned();
        assert!(
            decrypt(&key, &parts.join("."))
                .unwrap_err()
                .message()
                .contains("encrypted key is not base64url")
        );
    }

    #[test]
    fn decrypts_an_answer_object() {
        let key = key();
        let jwe = encrypt(key.public_key(), br#"{"a":1}"#).unwrap();
        let body = serde_json::json!({ "jwe": jwe }).to_string();
        assert_eq!(
            decrypt_answer(&key, body.as_bytes()).unwrap(),
            br#"{"a":1}"#
        );
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn a_wrong_shape_answer_is_described_not_quoted() {
        // The demo merchant's key of the protocol sheet (public test material).
        let key = MerchantKey::from_jwk(
            r#"{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW","d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd","x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC","y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#,
        )
        .unwrap();
        let body = br#"{"refreshToken":"Canary-R-1","authToken":"Canary-A-2"}"#;
        let error = decrypt_answer(&key, body).unwrap_err().to_string();
        assert!(!error.contains("Canary"), "{error}");
        assert!(
            error.contains("refreshToken, authToken") || error.contains("authToken, refreshToken"),
            "{error}"
        );
        assert_eq!(describe_shape(b"<html>"), "no JSON (6 bytes)");
    }
}
