//! What can be wrong with a private key, and how RuStore errors map into [`AuthError`].
//!
//! Every message says which form of key was being read and what is wrong with it, and never
//! contains any part of the key: positions, lengths, labels and algorithm names only.

use std::fmt;

use auth_core::AuthError;

use crate::PROVIDER;

/// Which form of private key was being read when something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyForm {
    /// Base64 of DER with no PEM armour: PKCS#8 as the RuStore console shows it, or PKCS#1.
    Base64Der,
    /// PEM `-----BEGIN PRIVATE KEY-----` (PKCS#8).
    PemPkcs8,
    /// PEM `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1).
    PemPkcs1,
    /// PEM armour of some other kind (public key, certificate, EC key, ...).
    PemOther,
}

impl fmt::Display for KeyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Base64Der => "base64 DER without PEM armour (the console's form)",
            Self::PemPkcs8 => "PEM PKCS#8 (BEGIN PRIVATE KEY)",
            Self::PemPkcs1 => "PEM PKCS#1 (BEGIN RSA PRIVATE KEY)",
            Self::PemOther => "PEM",
        })
    }
}

/// Why a private key could not be used.
///
/// The message names the form that was tried ([`KeyForm`]) and what is wrong, and never echoes
/// the key. Converted into [`AuthError::Config`] by `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Nothing but whitespace was given.
    #[error(
        "the private key is empty; paste the key the RuStore console showed when it was created"
    )]
    Empty,
    /// A character outside the standard base64 alphabet.
    #[error(
        "read the private key as {form}: it is not base64: the character at line {line}, column {column} is not in the standard base64 alphabet (A-Z a-z 0-9 + / =){hint}"
    )]
    NotBase64 {
        /// The form tried.
        form: KeyForm,
        /// 1-based line of the offending character in the text given.
        line: usize,
        /// 1-based column (in characters) of the offending character.
        column: usize,
        /// A guess at what the text is instead, starting with `; `, or empty.
        hint: &'static str,
    },
    /// Base64 characters that do not make whole bytes (wrong length or padding).
    #[error(
        "read the private key as {form}: the base64 does not decode ({problem}); the key looks cut off or damaged: copy it again, whole"
    )]
    BadBase64 {
        /// The form tried.
        form: KeyForm,
        /// What is wrong with the base64.
        problem: &'static str,
    },
    /// The DER ends before the length its outer structure declares.
    #[error(
        "read the private key as {form}: it is too short: the key declares {declared} bytes but only {present} are there; it looks truncated: copy it again, whole"
    )]
    Truncated {
        /// The form tried.
        form: KeyForm,
        /// Bytes the DER header announces (header included).
        declared: usize,
        /// Bytes actually present.
        present: usize,
    },
    /// An RSA key, but too small to be a RuStore key (or to carry a SHA-512 signature).
    #[error(
        "read the private key as {form}: the RSA key is too short: {bits} bits, where RuStore issues 2048-bit keys (at least {min} bits are needed)"
    )]
    TooShort {
        /// The form tried.
        form: KeyForm,
        /// The modulus size of the key given.
        bits: usize,
        /// The least accepted.
        min: usize,
    },
    /// A private key of another algorithm.
    #[error(
        "read the private key as {form}: it is {what}, not an RSA key; RuStore API keys are RSA"
    )]
    NotRsa {
        /// The form tried.
        form: KeyForm,
        /// What it is instead, e.g. `an EC key`.
        what: String,
    },
    /// A passphrase-protected key.
    #[error(
        "read the private key as {form}: it is encrypted with a passphrase ({what}); give the unencrypted key, e.g. exported with `openssl pkey -in encrypted.pem -out plain.pem`"
    )]
    Encrypted {
        /// The form tried.
        form: KeyForm,
        /// Which kind of encryption was recognised.
        what: &'static str,
    },
    /// A public key or certificate where the private key was expected.
    #[error(
        "read the private key as {form}: it is {what}, not a private key; RuStore keeps the public key itself: give the private key the console showed once"
    )]
    PublicKey {
        /// The form tried.
        form: KeyForm,
        /// What it is, e.g. `a public key (SubjectPublicKeyInfo)`.
        what: &'static str,
    },
    /// PEM armour this crate does not read.
    #[error(
        "read the private key as PEM: `-----BEGIN {label}-----` is not a key RuStore can use; expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY{hint}"
    )]
    UnsupportedPem {
        /// The armour label (letters, digits and spaces only).
        label: String,
        /// Advice for known labels, starting with `; `, or empty.
        hint: &'static str,
    },
    /// Broken PEM armour.
    #[error("read the private key as {form}: {problem}")]
    BadPem {
        /// The form tried.
        form: KeyForm,
        /// What is wrong with the armour.
        problem: &'static str,
    },
    /// Well-formed base64, but the bytes are neither PKCS#8 nor PKCS#1 DER.
    #[error(
        "read the private key as {form}: the bytes are not a private key: not PKCS#8 ({pkcs8}), not PKCS#1 ({pkcs1})"
    )]
    NotAKey {
        /// The form tried.
        form: KeyForm,
        /// Why it is not PKCS#8 (a DER error: tags, lengths and positions only).
        pkcs8: String,
        /// Why it is not PKCS#1.
        pkcs1: String,
    },
    /// Parsed as RSA, but the numbers are inconsistent.
    #[error(
        "read the private key as {form}: the RSA key is invalid ({problem}); copy it again from the console"
    )]
    InvalidRsa {
        /// The form tried.
        form: KeyForm,
        /// What the RSA checks found.
        problem: String,
    },
    /// The key file could not be read.
    #[error("could not read the private key file {path}: {problem}")]
    File {
        /// The file's path.
        path: String,
        /// The I/O error.
        problem: String,
    },
}

impl From<KeyError> for AuthError {
    fn from(error: KeyError) -> Self {
        AuthError::config(PROVIDER, format!("private_key: {error}"))
    }
}
