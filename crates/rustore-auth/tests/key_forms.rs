//! Every accepted key form parses, whitespace tolerated; every malformed form gets its own error
//! that names the form tried and never contains the key.

use auth_core::{AuthError, SecretString};
use rustore_auth::{KeyError, KeyForm, RustoreConfig, RustorePrivateKey};

const CONSOLE: &str = include_str!("fixtures/test-key.console.txt");
const PEM_PKCS8: &str = include_str!("fixtures/test-key.pkcs8.pem");
const PEM_PKCS1: &str = include_str!("fixtures/test-key.pkcs1.pem");
const DER_PKCS1: &str = include_str!("fixtures/test-key.pkcs1-der.txt");
const PUBLIC_PEM: &str = include_str!("fixtures/test-key.public.pem");
const EC_PEM: &str = include_str!("fixtures/not-rsa.ec.pem");
const EC_CONSOLE: &str = include_str!("fixtures/not-rsa.ec.console.txt");
const ED25519_PEM: &str = include_str!("fixtures/not-rsa.ed25519.pem");
const RSA_768: &str = include_str!("fixtures/too-short.rsa768.pem");
const ENCRYPTED_PKCS1: &str = include_str!("fixtures/encrypted.pkcs1.pem");
const ENCRYPTED_PKCS8: &str = include_str!("fixtures/encrypted.pkcs8.pem");
const ENCRYPTED_PKCS8_DER: &str = include_str!("fixtures/encrypted.pkcs8-der.txt");

fn parse(text: &str) -> Result<RustorePrivateKey, KeyError> {
    RustorePrivateKey::parse(text)
}

/// Chunks of the base64 inside `key`: none may appear in an error message.
fn key_fragments(key: &str) -> Vec<String> {
    let compact: String = key
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.contains(':'))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    compact
        .as_bytes()
        .chunks(12)
        .filter(|chunk| chunk.len() == 12)
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect()
}

fn assert_no_key_material(message: &str, keys: &[&str]) {
    for key in keys {
        for fragment in key_fragments(key) {
            assert!(
                !message.contains(&fragment),
                "message leaks key material: {message}"
            );
        }
    }
}

#[test]
fn each_accepted_form_parses() {
    assert_eq!(parse(CONSOLE).unwrap().form(), KeyForm::Base64Der);
    assert_eq!(parse(PEM_PKCS8).unwrap().form(), KeyForm::PemPkcs8);
    assert_eq!(parse(PEM_PKCS1).unwrap().form(), KeyForm::PemPkcs1);
    assert_eq!(parse(DER_PKCS1).unwrap().form(), KeyForm::Base64Der);
}

#[test]
fn whitespace_line_breaks_and_escapes_are_tolerated() {
    let reference = parse(CONSOLE).unwrap().sign_base64(b"m").unwrap();
    let wrapped: String = CONSOLE
        .trim()
        .as_bytes()
        .chunks(64)
        .map(|c| format!("   {}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let pem_crlf = PEM_PKCS8.replace('\n', "\r\n");
    let pem_indented: String = PEM_PKCS1.lines().map(|l| format!("\t  {l}  \n")).collect();
    let pem_escaped = PEM_PKCS8.trim().replace('\n', "\\n");
    let pem_one_line = PEM_PKCS8.replace('\n', " ");
    let quoted = format!("\"{}\"", CONSOLE.trim());
    let unpadded = CONSOLE.trim().trim_end_matches('=').to_owned();
    // Community plugins wrap the console string (PKCS#8) in an RSA PRIVATE KEY armour.
    let console_as_pkcs1_pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        CONSOLE.trim()
    );
    for text in [
        wrapped,
        pem_crlf,
        pem_indented,
        pem_escaped,
        pem_one_line,
        quoted,
        unpadded,
        console_as_pkcs1_pem,
        format!("\n\n  {CONSOLE}\n\n"),
    ] {
        let key = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(key.sign_base64(b"m").unwrap(), reference);
    }
}

#[test]
fn empty_key() {
    assert_eq!(parse("").unwrap_err(), KeyError::Empty);
    assert_eq!(parse(" \n\t ").unwrap_err(), KeyError::Empty);
}

#[test]
fn not_base64_names_the_form_and_the_place() {
    let mut damaged = CONSOLE.trim().to_owned();
    damaged.insert(100, '*');
    let error = parse(&damaged).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::NotBase64 {
                form: KeyForm::Base64Der,
                line: 1,
                column: 101,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("not base64") && text.contains("console"),
        "{text}"
    );
    assert_no_key_material(&text, &[CONSOLE]);

    let pem = PEM_PKCS8.replacen("MII", "MI%", 1);
    let error = parse(&pem).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::NotBase64 {
                form: KeyForm::PemPkcs8,
                line: 2,
                column: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("PEM PKCS#8"), "{error}");
}

#[test]
fn url_safe_base64_and_json_get_hints() {
    let url_safe = CONSOLE.trim().replace('+', "-").replace('/', "_");
    let error = parse(&url_safe).unwrap_err().to_string();
    assert!(error.contains("URL-safe"), "{error}");
    let json = r#"{"kty":"RSA","n":"abc"}"#;
    let error = parse(json).unwrap_err().to_string();
    assert!(error.contains("JSON"), "{error}");
}

#[test]
fn truncated_key_is_too_short() {
    let half = &CONSOLE.trim()[..800];
    let error = parse(half).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::Truncated {
                form: KeyForm::Base64Der,
                declared: 1216,
                present: 600
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("too short") && text.contains("truncated"),
        "{text}"
    );
    assert_no_key_material(&text, &[CONSOLE]);

    // A PEM whose END line got lost.
    let cut: String = PEM_PKCS8
        .lines()
        .take(10)
        .map(|l| format!("{l}\n"))
        .collect();
    let error = parse(&cut).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::BadPem {
                form: KeyForm::PemPkcs8,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("no END line"), "{error}");
}

#[test]
fn bad_base64_length_is_reported() {
    let error = parse(&CONSOLE.trim()[..801]).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::BadBase64 {
                form: KeyForm::Base64Der,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn non_rsa_keys_are_refused_as_not_rsa() {
    for (text, form, what) in [
        (EC_PEM, KeyForm::PemPkcs8, "EC"),
        (EC_CONSOLE, KeyForm::Base64Der, "EC"),
        (ED25519_PEM, KeyForm::PemPkcs8, "Ed25519"),
    ] {
        let error = parse(text).unwrap_err();
        assert!(
            matches!(&error, KeyError::NotRsa { form: f, .. } if *f == form),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(what) && message.contains("not an RSA key"),
            "{message}"
        );
        assert_no_key_material(&message, &[text]);
    }
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
    let error = parse(sec1).unwrap_err().to_string();
    assert!(error.contains("EC key"), "{error}");
}

#[test]
fn small_rsa_key_is_too_short() {
    let error = parse(RSA_768).unwrap_err();
    assert_eq!(
        error,
        KeyError::TooShort {
            form: KeyForm::PemPkcs8,
            bits: 768,
            min: 1024
        }
    );
    assert!(error.to_string().contains("2048"), "{error}");
}

#[test]
fn encrypted_keys_are_refused_as_encrypted() {
    for (text, form) in [
        (ENCRYPTED_PKCS1, KeyForm::PemPkcs1),
        (ENCRYPTED_PKCS8, KeyForm::PemPkcs8),
        (ENCRYPTED_PKCS8_DER, KeyForm::Base64Der),
    ] {
        let error = parse(text).unwrap_err();
        assert!(
            matches!(&error, KeyError::Encrypted { form: f, .. } if *f == form),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("encrypted with a passphrase"), "{message}");
        assert_no_key_material(&message, &[text]);
    }
}

#[test]
fn public_keys_are_refused_as_public() {
    let error = parse(PUBLIC_PEM).unwrap_err();
    assert!(matches!(error, KeyError::PublicKey { .. }), "{error:?}");
    // The same SubjectPublicKeyInfo as bare base64.
    let spki: String = PUBLIC_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let error = parse(&spki).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::PublicKey {
                form: KeyForm::Base64Der,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("not a private key"), "{error}");
}

#[test]
fn other_pem_and_other_bytes_are_named() {
    let openssh =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----";
    let error = parse(openssh).unwrap_err().to_string();
    assert!(
        error.contains("OPENSSH") && error.contains("ssh-keygen"),
        "{error}"
    );

    let mismatched = PEM_PKCS8.replace("END PRIVATE KEY", "END RSA PRIVATE KEY");
    let error = parse(&mismatched).unwrap_err().to_string();
    assert!(error.contains("does not match"), "{error}");

    let empty_pem = "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----";
    let error = parse(empty_pem).unwrap_err().to_string();
    assert!(error.contains("nothing between"), "{error}");

    // Valid base64, valid length, but not DER at all.
    let error = parse("aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGEga2V5").unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::NotAKey {
                form: KeyForm::Base64Der,
                ..
            }
        ),
        "{error:?}"
    );
    // A DER SEQUENCE that is neither PKCS#8 nor PKCS#1.
    let error = parse("MAYCAQUCAQc=").unwrap_err();
    assert!(matches!(error, KeyError::NotAKey { .. }), "{error:?}");
    assert!(error.to_string().contains("not PKCS#8") && error.to_string().contains("not PKCS#1"));
}

#[test]
fn key_errors_become_config_errors_naming_the_setting() {
    let error = RustoreConfig::builder()
        .key_id("1")
        .private_key(SecretString::from(&CONSOLE.trim()[..800]))
        .build()
        .unwrap_err();
    assert!(matches!(error, AuthError::Config { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("rustore: private_key: "), "{message}");
    assert_no_key_material(&message, &[CONSOLE]);
}

#[test]
fn key_file_is_read_and_a_missing_file_is_named() {
    let directory = std::env::temp_dir();
    let path = directory.join(format!("rustore-key-{}.pem", std::process::id()));
    std::fs::write(&path, PEM_PKCS1).unwrap();
    let config = RustoreConfig::builder()
        .key_id("1")
        .private_key_file(&path)
        .build()
        .unwrap();
    assert_eq!(config.private_key().form(), KeyForm::PemPkcs1);
    std::fs::remove_file(&path).unwrap();
    let error = RustoreConfig::builder()
        .key_id("1")
        .private_key_file(&path)
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
}

#[test]
fn debug_output_never_shows_the_key() {
    let key = parse(CONSOLE).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("2048"), "{debug}");
    assert_no_key_material(&debug, &[CONSOLE]);
    let builder = RustoreConfig::builder()
        .key_id("1")
        .private_key(SecretString::from(CONSOLE));
    let debug = format!("{builder:?}");
    assert_no_key_material(&debug, &[CONSOLE]);
    let config = builder.build().unwrap();
    let debug = format!("{config:?}");
    assert_no_key_material(&debug, &[CONSOLE]);
}
