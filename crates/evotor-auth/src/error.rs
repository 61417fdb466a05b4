//! The client side's own failures, mapped into [`AuthError`].

use auth_core::AuthError;

use crate::{PROVIDER, UserId};

/// No Cloud token has been delivered for `user_id` yet.
pub(crate) fn no_cloud_token(user_id: &UserId) -> AuthError {
    AuthError::rejected(
        PROVIDER,
        None,
        format!(
            "the Evotor Cloud has not delivered a token for user {user_id} yet: it sends one to your receiver's POST /api/v1/user/token after the user installs the app; wait for that delivery, or give a token known in advance to EvotorConfigBuilder::cloud_token"
        ),
    )
}

/// The stored Cloud token cannot travel in a header.
pub(crate) fn unusable_cloud_token(user_id: &UserId) -> AuthError {
    AuthError::protocol(
        PROVIDER,
        format!(
            "the Cloud token stored for user {user_id} cannot be sent in a header (it has spaces, control or non-ASCII characters); a new /user/token delivery will replace it"
        ),
    )
}

/// A source over a store needs to know whose token to read.
pub(crate) fn missing_user_id() -> AuthError {
    AuthError::config(
        PROVIDER,
        "the user id is missing: a Cloud token store keeps one token per Evotor user, so give the user (e.g. 01-000000000000001) to EvotorConfigBuilder::user_id",
    )
}

/// Neither a store nor a fixed token was given.
pub(crate) fn no_token_source() -> AuthError {
    AuthError::config(
        PROVIDER,
        "the Cloud token is missing: give the store your receiver keeps the Cloud's tokens in to EvotorConfigBuilder::cloud_tokens, or one token known in advance to EvotorConfigBuilder::cloud_token",
    )
}

/// Both a store and a fixed token were given.
pub(crate) fn two_token_sources() -> AuthError {
    AuthError::config(
        PROVIDER,
        "the Cloud token comes from EvotorConfigBuilder::cloud_tokens or EvotorConfigBuilder::cloud_token, not both",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_token_error_says_what_to_wait_for() {
        let user = UserId::parse("01-000000000000001").unwrap();
        let error = no_cloud_token(&user);
        assert!(error.is_rejection());
        let text = error.to_string();
        assert!(text.contains("01-000000000000001"), "{text}");
        assert!(text.contains("/user/token"), "{text}");
    }
}
