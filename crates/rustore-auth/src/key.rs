//! The RuStore private key: reading it in any of the forms users paste, and signing with it.
//!
//! Accepted (all whitespace and line breaks ignored, also the two-character `\n` escapes a key
//! picks up in JSON or CI secrets):
//!
//! | form | recognised by |
//! |---|---|
//! | base64 PKCS#8 DER, no armour (what the console shows) | no `-----BEGIN` |
//! | PEM PKCS#8 | `-----BEGIN PRIVATE KEY-----` |
//! | PEM PKCS#1 | `-----BEGIN RSA PRIVATE KEY-----` |
//! | base64 PKCS#1 DER, no armour | DER that is an RSAPrivateKey rather than a PrivateKeyInfo |
//!
//! Whatever the armour says, the DER inside is tried as PKCS#8 first, then PKCS#1 (some tools
//! wrap the console's PKCS#8 string in `BEGIN RSA PRIVATE KEY`).

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::der::Decode as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::error::{KeyError, KeyForm};

/// The smallest RSA modulus accepted, in bits. RuStore issues 2048-bit keys.
pub const MIN_KEY_BITS: usize = 1024;

/// Standard base64 that does not insist on `=` padding (some copies lose it).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// A parsed RuStore private key, ready to sign.
///
/// `Debug` shows only the key size and the form it was read from; the key material is zeroed
/// when dropped (the `rsa` crate does that).
#[derive(Clone)]
pub struct RustorePrivateKey {
    signing: SigningKey<Sha512>,
    public: RsaPublicKey,
    form: KeyForm,
}

impl RustorePrivateKey {
    /// Reads a key in any accepted form (see the module docs). The error names the form tried
    /// and what is wrong, never the key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = Zeroizing::new(unescape_newlines(text));
        let trimmed = text.trim().trim_matches('"').trim();
        if trimmed.is_empty() {
            return Err(KeyError::Empty);
        }
        if trimmed.contains("-----BEGIN") {
            parse_pem(trimmed)
        } else {
            let first_line = 1 + text[..text.len() - text.trim_start().len()]
                .matches('\n')
                .count();
            let der = decode_base64(trimmed, first_line, KeyForm::Base64Der)?;
            parse_der(&der, KeyForm::Base64Der)
        }
    }

    /// [`parse`](Self::parse) for a key held as a secret.
    pub fn from_secret(text: &SecretString) -> Result<Self, KeyError> {
        Self::parse(text.expose_secret())
    }

    /// The form the key was read from.
    pub fn form(&self) -> KeyForm {
        self.form
    }

    /// The modulus size in bits (2048 for keys from the RuStore console).
    pub fn bits(&self) -> usize {
        self.public.n().bits()
    }

    /// The public half, as RuStore keeps it (what an emulator verifies with).
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// SHA512withRSA (RSASSA-PKCS1-v1_5 with SHA-512) over `message`, as standard base64 with
    /// padding on one line.
    ///
    /// PKCS#1 v1.5 is deterministic, so the result is the same for the same key and message. The
    /// private-key operation is blinded with the operating system's random numbers, which
    /// changes how long it takes, not what it produces.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, KeyError> {
        let signature = self
            .signing
            .try_sign_with_rng(&mut rand_core::OsRng, message)
            .map_err(|error| KeyError::InvalidRsa {
                form: self.form,
                problem: format!("signing failed: {error}"),
            })?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signature.to_vec()))
    }
}

impl fmt::Debug for RustorePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustorePrivateKey")
            .field("bits", &self.bits())
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

/// Turns the two-character escapes `\n` and `\r` (JSON strings, CI secrets) into line breaks.
/// A backslash is not base64, so no valid key changes.
fn unescape_newlines(text: &str) -> String {
    text.replace("\\r", "\r").replace("\\n", "\n")
}

fn parse_pem(text: &str) -> Result<RustorePrivateKey, KeyError> {
    let start = text.find("-----BEGIN").unwrap_or(0);
    let after_begin = &text[start + "-----BEGIN".len()..];
    let Some(label_end) = after_begin.find("-----") else {
        return Err(KeyError::BadPem {
            form: KeyForm::PemOther,
            problem: "the `-----BEGIN ...-----` line is not closed by five dashes",
        });
    };
    let label = after_begin[..label_end].trim();
    let form = match label {
        "PRIVATE KEY" => KeyForm::PemPkcs8,
        "RSA PRIVATE KEY" => KeyForm::PemPkcs1,
        "ENCRYPTED PRIVATE KEY" => {
            return Err(KeyError::Encrypted {
                form: KeyForm::PemPkcs8,
                what: "BEGIN ENCRYPTED PRIVATE KEY",
            });
        }
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            return Err(KeyError::PublicKey {
                form: KeyForm::PemOther,
                what: "a public key",
            });
        }
        "CERTIFICATE" => {
            return Err(KeyError::PublicKey {
                form: KeyForm::PemOther,
                what: "a certificate",
            });
        }
        other => {
            let hint = match other {
                "EC PRIVATE KEY" => "; this is an EC key, and RuStore API keys are RSA",
                "DSA PRIVATE KEY" => "; this is a DSA key, and RuStore API keys are RSA",
                "OPENSSH PRIVATE KEY" => {
                    "; this is OpenSSH's own format: convert it with `ssh-keygen -p -m PKCS8 -f FILE` (RSA keys only)"
                }
                _ => "",
            };
            return Err(KeyError::UnsupportedPem {
                label: safe_label(other),
                hint,
            });
        }
    };
    let body_start = label_end + "-----".len();
    let body_and_end = &after_begin[body_start..];
    let end_marker = format!("-----END {label}-----");
    let Some(body_end) = body_and_end.find(&end_marker) else {
        return Err(KeyError::BadPem {
            form,
            problem: if body_and_end.contains("-----END") {
                "the END line does not match the BEGIN line"
            } else {
                "there is no END line; the key looks cut off: copy it again, whole"
            },
        });
    };
    let body = &body_and_end[..body_end];
    let mut base64_lines = Zeroizing::new(String::with_capacity(body.len()));
    for line in body.lines() {
        if line.contains(':') {
            if line.contains("ENCRYPTED") || line.trim_start().starts_with("DEK-Info") {
                return Err(KeyError::Encrypted {
                    form,
                    what: "Proc-Type: 4,ENCRYPTED",
                });
            }
            // Another RFC 1421 header (Comment: ...): not part of the key; keep the line count.
            base64_lines.push('\n');
            continue;
        }
        base64_lines.push_str(line);
        base64_lines.push('\n');
    }
    if base64_lines.trim().is_empty() {
        return Err(KeyError::BadPem {
            form,
            problem: "there is nothing between the BEGIN and END lines",
        });
    }
    let first_line = 1 + text[..start].matches('\n').count();
    let der = decode_base64(&base64_lines, first_line, form)?;
    parse_der(&der, form)
}

/// The label, reduced to characters that cannot leak anything (letters, digits, spaces).
fn safe_label(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .take(40)
        .collect()
}

/// Decodes base64 spread over lines; `first_line` is the line of the whole text `text` starts
/// on, so an error can point at the right place.
fn decode_base64(
    text: &str,
    first_line: usize,
    form: KeyForm,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut compact = Zeroizing::new(String::with_capacity(text.len()));
    let mut line = first_line;
    let mut column = 0;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            column = 0;
            continue;
        }
        column += 1;
        if c.is_whitespace() {
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=') {
            let hint = match c {
                '-' | '_' => {
                    "; `-` and `_` belong to URL-safe base64 or to PEM armour: the key looks altered"
                }
                '{' | '}' | ':' => {
                    "; it looks like JSON (a JWK or a config file), not the key the console gives"
                }
                '\\' => "; only the escapes \\n and \\r are understood",
                _ => "",
            };
            return Err(KeyError::NotBase64 {
                form,
                line,
                column,
                hint,
            });
        }
        compact.push(c);
    }
    if compact.is_empty() {
        return Err(KeyError::Empty);
    }
    let unpadded = compact.trim_end_matches('=');
    if unpadded.contains('=') {
        return Err(KeyError::BadBase64 {
            form,
            problem: "`=` padding appears in the middle",
        });
    }
    if unpadded.len() % 4 == 1 {
        return Err(KeyError::BadBase64 {
            form,
            problem: "its length leaves a dangling character",
        });
    }
    LENIENT_BASE64
        .decode(unpadded.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::BadBase64 {
            form,
            problem: "the last characters do not make whole bytes",
        })
}

/// One DER tag-length header: `(tag, header length, content length)`.
fn der_header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return None;
    }
    let mut length = 0usize;
    for i in 0..count {
        length = (length << 8) | usize::from(*bytes.get(2 + i)?);
    }
    Some((tag, 2 + count, length))
}

fn parse_der(der: &[u8], form: KeyForm) -> Result<RustorePrivateKey, KeyError> {
    const SEQUENCE: u8 = 0x30;
    let Some((SEQUENCE, header, length)) = der_header(der) else {
        return Err(KeyError::NotAKey {
            form,
            pkcs8: "it does not start with a DER SEQUENCE".to_owned(),
            pkcs1: "it does not start with a DER SEQUENCE".to_owned(),
        });
    };
    let declared = header.saturating_add(length);
    if declared > der.len() {
        return Err(KeyError::Truncated {
            form,
            declared,
            present: der.len(),
        });
    }
    let content = &der[header..declared];
    recognise_non_private(content, form)?;

    let pkcs8_error = match rsa::pkcs8::PrivateKeyInfo::from_der(&der[..declared]) {
        Ok(info) => {
            let oid = info.algorithm.oid.to_string();
            if oid != RSA_ENCRYPTION {
                return Err(KeyError::NotRsa {
                    form,
                    what: algorithm_name(&oid),
                });
            }
            return match RsaPrivateKey::try_from(info) {
                Ok(key) => finish(key, form),
                Err(error) => Err(KeyError::InvalidRsa {
                    form,
                    problem: error.to_string(),
                }),
            };
        }
        Err(error) => error.to_string(),
    };
    match RsaPrivateKey::from_pkcs1_der(&der[..declared]) {
        Ok(key) => finish(key, form),
        Err(error) => Err(KeyError::NotAKey {
            form,
            pkcs8: pkcs8_error,
            pkcs1: error.to_string(),
        }),
    }
}

/// Spots public keys, encrypted PKCS#8 and SEC1 EC keys by their shape, so each gets its own
/// message instead of "not a key".
fn recognise_non_private(content: &[u8], form: KeyForm) -> Result<(), KeyError> {
    const INTEGER: u8 = 0x02;
    const SEQUENCE: u8 = 0x30;
    let Some((first_tag, first_header, first_length)) = der_header(content) else {
        return Ok(());
    };
    let second = content
        .get(first_header + first_length..)
        .and_then(der_header);
    match (first_tag, second) {
        // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }.
        (SEQUENCE, Some((0x03, _, _))) => Err(KeyError::PublicKey {
            form,
            what: "a public key (SubjectPublicKeyInfo)",
        }),
        // EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
        (SEQUENCE, Some((0x04, _, _))) => Err(KeyError::Encrypted {
            form,
            what: "an EncryptedPrivateKeyInfo (PKCS#8 with a passphrase)",
        }),
        // SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING, ... }.
        (INTEGER, Some((0x04, _, _)))
            if first_length == 1 && content.get(first_header) == Some(&1) =>
        {
            Err(KeyError::NotRsa {
                form,
                what: "an EC key (SEC1)".to_owned(),
            })
        }
        // PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n (large), INTEGER e }.
        (INTEGER, Some((INTEGER, h, l)))
            if first_length > 64 && first_header + first_length + h + l == content.len() =>
        {
            Err(KeyError::PublicKey {
                form,
                what: "an RSA public key (PKCS#1 RSAPublicKey)",
            })
        }
        _ => Ok(()),
    }
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an EC key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        "1.3.101.110" | "1.3.101.111" => "an X25519/X448 key".to_owned(),
        "1.2.840.10040.4.1" => "a DSA key".to_owned(),
        "1.2.840.113549.1.1.10" => {
            "an RSA-PSS-only key (id-RSASSA-PSS), which cannot sign PKCS#1 v1.5".to_owned()
        }
        "1.2.643.7.1.1.1.1" | "1.2.643.7.1.1.1.2" => "a GOST R 34.10-2012 key".to_owned(),
        other => format!("a key of algorithm {other}"),
    }
}

fn finish(key: RsaPrivateKey, form: KeyForm) -> Result<RustorePrivateKey, KeyError> {
    let bits = key.n().bits();
    if bits < MIN_KEY_BITS {
        return Err(KeyError::TooShort {
            form,
            bits,
            min: MIN_KEY_BITS,
        });
    }
    let public = key.to_public_key();
    Ok(RustorePrivateKey {
        signing: SigningKey::<Sha512>::new(key),
        public,
        form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_header_reads_short_and_long_lengths() {
        assert_eq!(der_header(&[0x30, 0x05]), Some((0x30, 2, 5)));
        assert_eq!(der_header(&[0x30, 0x82, 0x04, 0xbc]), Some((0x30, 4, 1212)));
        assert_eq!(der_header(&[0x30, 0x80]), None);
        assert_eq!(der_header(&[0x30]), None);
    }

    #[test]
    fn escaped_newlines_become_line_breaks() {
        assert_eq!(unescape_newlines("a\\nb\\r\\nc"), "a\nb\r\nc");
    }

    #[test]
    fn labels_are_sanitised() {
        assert_eq!(safe_label("FOO<script>BAR"), "FOOscriptBAR");
    }
}
