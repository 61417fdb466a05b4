//! The crate's own errors, and how each maps into [`auth_core::AuthError`]: [`JweError`] and
//! [`AllianceError`] live here; [`KeyError`] beside the keys it judges, [`CardError`] beside the
//! card data.
//!
//! - [`KeyError`] (a JWK that cannot be used) → [`AuthError::Config`]: fix the key file.
//! - [`JweError`] (an answer that cannot be decrypted, a refused JWE header) →
//!   [`AuthError::Protocol`].
//! - [`CardError`] (a malformed card number, expiry or CVV) → [`AuthError::Config`].
//!
//! None of their messages contains a secret: key errors name fields, never the value of `d`;
//! card errors never repeat the card data.

use std::fmt;

use auth_core::AuthError;

use crate::PROVIDER;
use crate::card::CardError;
use crate::key::KeyError;

/// A JWE could not be made, read or decrypted (see [`jwe`](crate::jwe)). Messages never contain
/// plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JweError {
    message: String,
}

impl JweError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JweError {}

/// Any error of this crate's own operations (keys, JWE, card data).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AllianceError {
    /// A JWK that cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A JWE that cannot be made, read or decrypted.
    #[error(transparent)]
    Jwe(#[from] JweError),
    /// Card data that cannot be used.
    #[error(transparent)]
    Card(#[from] CardError),
}

impl From<KeyError> for AuthError {
    fn from(error: KeyError) -> Self {
        AuthError::config(PROVIDER, error)
    }
}

impl From<JweError> for AuthError {
    fn from(error: JweError) -> Self {
        AuthError::protocol(PROVIDER, error)
    }
}

impl From<CardError> for AuthError {
    fn from(error: CardError) -> Self {
        AuthError::config(PROVIDER, error)
    }
}

impl From<AllianceError> for AuthError {
    fn from(error: AllianceError) -> Self {
        match error {
            AllianceError::Key(error) => error.into(),
            AllianceError::Jwe(error) => error.into(),
            AllianceError::Card(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MerchantKey;

    #[test]
    fn key_errors_become_config_errors_without_d() {
        let seed = r#"{"kty":"EC","crv":"P-384","d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
            "x":"lxF9kVkpdTRqd256CO0Q3fOEAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
            "y":"3aQaGq0Va9OshPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;
        let error: AuthError = AllianceError::from(MerchantKey::from_jwk(seed).unwrap_err()).into();
        assert!(matches!(error, AuthError::Config { .. }));
        let message = error.to_string();
        assert!(
            message.starts_with("alliance: authorization key: field `x` is 63"),
            "{message}"
        );
        assert!(
            !message.contains("QVwaujXBuM1mdyNSadU5qSjRk5xggY"),
            "{message}"
        );
        assert!(!error.is_transient());
    }
}
