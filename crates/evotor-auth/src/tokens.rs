//! Where Cloud tokens wait for the client: the [`CloudTokenStore`] trait, and the fixed token
//! behind [`EvotorConfigBuilder::cloud_token`](crate::EvotorConfigBuilder::cloud_token).
//!
//! The Cloud hands its token for a user to your receiver through `POST /api/v1/user/token`
//! (last write wins); the client reads the latest from the same store. The webhook stores
//! ([`crate::webhook::MemoryWebhookStore`], [`crate::webhook::FileWebhookStore`]) implement it.

use std::fmt;

use async_trait::async_trait;
use auth_core::AuthError;
use secrecy::SecretString;

use crate::UserId;

/// Cloud tokens by user id.
#[async_trait]
pub trait CloudTokenStore: Send + Sync + 'static {
    /// The latest Cloud token delivered for `user_id`, if any.
    async fn cloud_token(&self, user_id: &UserId) -> Result<Option<SecretString>, AuthError>;

    /// Keeps `token` as the Cloud token of `user_id`, replacing any earlier one.
    async fn save_cloud_token(
        &self,
        user_id: &UserId,
        token: SecretString,
    ) -> Result<(), AuthError>;
}

/// One Cloud token known in advance, answered for every user.
pub(crate) struct FixedCloudToken(SecretString);

impl FixedCloudToken {
    /// A store that always answers `token`.
    pub(crate) fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl fmt::Debug for FixedCloudToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedCloudToken([REDACTED])")
    }
}

#[async_trait]
impl CloudTokenStore for FixedCloudToken {
    async fn cloud_token(&self, _user_id: &UserId) -> Result<Option<SecretString>, AuthError> {
        Ok(Some(self.0.clone()))
    }

    async fn save_cloud_token(
        &self,
        _user_id: &UserId,
        _token: SecretString,
    ) -> Result<(), AuthError> {
        Err(AuthError::store(
            "a fixed Cloud token (EvotorConfigBuilder::cloud_token) cannot be replaced; give a webhook store to EvotorConfigBuilder::cloud_tokens to receive tokens",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_token() {
        let text = format!(
            "{:?}",
            FixedCloudToken::new(SecretString::from("f46b89a5-8e80"))
        );
        assert!(!text.contains("f46b89a5"), "{text}");
    }
}
