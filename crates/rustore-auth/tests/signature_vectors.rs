//! The signer against signatures made by an independent implementation (the OpenSSL command
//! line, see `tests/fixtures/README.md`), for every accepted form of the same key.

use auth_core::SecretString;
use rustore_auth::protocol::signing_message;
use rustore_auth::{KeyForm, RustoreConfig, RustorePrivateKey, RustoreSource};
use secrecy::ExposeSecret as _;

const VECTORS: &str = include_str!("fixtures/vectors.tsv");
const CONSOLE: &str = include_str!("fixtures/test-key.console.txt");
const PEM_PKCS8: &str = include_str!("fixtures/test-key.pkcs8.pem");
const PEM_PKCS1: &str = include_str!("fixtures/test-key.pkcs1.pem");
const DER_PKCS1: &str = include_str!("fixtures/test-key.pkcs1-der.txt");

fn vectors() -> Vec<(&'static str, &'static str, &'static str)> {
    let vectors: Vec<_> = VECTORS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            )
        })
        .collect();
    assert_eq!(vectors.len(), 3, "vectors.tsv should hold three vectors");
    vectors
}

#[test]
fn openssl_vectors_match_byte_for_byte_in_every_key_form() {
    let forms = [
        (CONSOLE, KeyForm::Base64Der),
        (PEM_PKCS8, KeyForm::PemPkcs8),
        (PEM_PKCS1, KeyForm::PemPkcs1),
        (DER_PKCS1, KeyForm::Base64Der),
    ];
    for (text, form) in forms {
        let key = RustorePrivateKey::parse(text).expect("the fixture key parses");
        assert_eq!(key.form(), form);
        assert_eq!(key.bits(), 2048);
        for (key_id, timestamp, expected) in vectors() {
            let signature = key
                .sign_base64(signing_message(key_id, timestamp).as_bytes())
                .unwrap();
            assert_eq!(signature, expected, "{form:?} {key_id} {timestamp}");
        }
    }
}

#[test]
fn the_documented_example_message_is_what_gets_signed() {
    // keyId 123 + 2024-06-18T11:49:08.290+03:00 -> "1232024-06-18T11:49:08.290+03:00" (sheet §2.2).
    let (key_id, timestamp, expected) = vectors()[1];
    assert_eq!(key_id, "123");
    assert_eq!(
        signing_message(key_id, timestamp),
        "1232024-06-18T11:49:08.290+03:00"
    );
    let key = RustorePrivateKey::parse(CONSOLE).unwrap();
    assert_eq!(
        key.sign_base64(b"1232024-06-18T11:49:08.290+03:00")
            .unwrap(),
        expected
    );
}

#[test]
fn the_source_signs_exactly_the_timestamp_it_sends() {
    let (key_id, timestamp, expected) = vectors()[0];
    let config = RustoreConfig::builder()
        .key_id(key_id)
        .private_key(SecretString::from(CONSOLE))
        .build()
        .unwrap();
    let request = RustoreSource::new(config)
        .signed_request(timestamp)
        .unwrap();
    assert_eq!(request.timestamp, timestamp);
    assert_eq!(request.signature.expose_secret(), expected);
    let json: serde_json::Value = serde_json::to_value(&request).unwrap();
    assert_eq!(json["keyId"], key_id);
    assert_eq!(json["timestamp"], timestamp);
    assert_eq!(json["signature"], expected);
}

#[test]
fn signatures_are_standard_base64_on_one_line() {
    for (_, _, signature) in vectors() {
        assert_eq!(
            signature.len(),
            344,
            "2048-bit signature is 256 bytes = 344 base64 chars"
        );
        assert!(signature.ends_with('='));
        assert!(!signature.contains(['\n', '-', '_']));
    }
}
