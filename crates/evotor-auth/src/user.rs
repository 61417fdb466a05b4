//! The Evotor user id (`01-000000000000001`), the key both sides share.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest user id accepted: 64 characters.
pub const MAX_USER_ID_LEN: usize = 64;

/// An Evotor user id, e.g. `01-000000000000001`.
///
/// The current spec says `^[0-9]{2}-[0-9]{15}$`, but older accounts were keyed by `userUuid`
/// values of another shape, so any 1 to 64 characters from `A-Z a-z 0-9 - _ .` are accepted:
/// enough to keep ids safe in logs and store keys, loose enough not to refuse a real account.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Checks `text` and wraps it; the error says what is wrong (without repeating the text).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            Err("is empty")
        } else if text.len() > MAX_USER_ID_LEN {
            Err("is longer than 64 characters")
        } else if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            Err("may hold only letters, digits, '-', '_' and '.'")
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// Whether it has the current spec's shape, `^[0-9]{2}-[0-9]{15}$`.
    pub fn is_canonical(&self) -> bool {
        let bytes = self.0.as_bytes();
        bytes.len() == 18
            && bytes[2] == b'-'
            && bytes[..2].iter().chain(&bytes[3..]).all(u8::is_ascii_digit)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UserId::parse(&text)
            .map_err(|problem| serde::de::Error::custom(format!("the user id {problem}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sheet_example_is_canonical() {
        let id = UserId::parse("01-000000000000001").unwrap();
        assert!(id.is_canonical());
        assert_eq!(id.to_string(), "01-000000000000001");
    }

    #[test]
    fn older_shapes_are_accepted_but_not_canonical() {
        let id = UserId::parse("a99fbf70-6307-4acc-b61c-741ee9eef6c0").unwrap();
        assert!(!id.is_canonical());
    }

    #[test]
    fn unsafe_ids_are_refused() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("01 000").is_err());
        assert!(UserId::parse("../etc/passwd").is_err());
        assert!(UserId::parse(&"1".repeat(65)).is_err());
        assert!(serde_json::from_str::<UserId>("\"a\\nb\"").is_err());
    }
}
