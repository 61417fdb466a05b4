//! Per-user tokens: what the receiver hands the Cloud in its answer to `/user/create` and
//! `/user/verify`, and what the Cloud sends back as `Authorization: Bearer <t>` on notifications.

use std::fmt;

use auth_core::AuthError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

use super::authorization::digest;

/// Random bytes per token: 32 (256 bits, well over the 128 required).
pub const USER_TOKEN_BYTES: usize = 32;

/// The longest user token the Cloud accepts: 128 characters. Ours are 43.
pub const MAX_USER_TOKEN_LEN: usize = 128;

/// A new user token: 32 bytes from the operating system's generator, URL-safe base64 without
/// padding (43 characters of `A-Z a-z 0-9 - _`, inside the Swagger pattern `[a-zA-Z0-9_=-]+`).
pub fn generate_user_token() -> Result<SecretString, AuthError> {
    let mut bytes = [0u8; USER_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        AuthError::store(format!(
            "the operating system's random generator failed ({error}); no user token issued"
        ))
    })?;
    Ok(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 digest of a user token: what stores keep and look up, so a copied store file
/// does not hand out working tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> Self {
        Self(digest(token.as_bytes()))
    }

    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn tokens_are_url_safe_unique_and_short_enough() {
        let a = generate_user_token().unwrap();
        let b = generate_user_token().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let text = a.expose_secret();
        assert_eq!(text.len(), 43);
        assert!(text.len() <= MAX_USER_TOKEN_LEN);
        assert!(
            text.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{text}"
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(text).unwrap().len(),
            USER_TOKEN_BYTES
        );
    }

    #[test]
    fn digests_round_trip_through_hex() {
        let digest = TokenDigest::of("toaWaep4chou7ahkoogiu9Iusaht9ima");
        assert_eq!(TokenDigest::from_hex(&digest.to_hex()), Some(digest));
        assert_eq!(TokenDigest::from_hex("zz"), None);
        assert!(!format!("{digest:?}").contains("toaWaep4"));
    }
}
