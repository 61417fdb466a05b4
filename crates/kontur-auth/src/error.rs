//! How Kontur's failures become [`AuthError`]s. The messages name the builder method that sets
//! what is wrong, never a value, an environment variable or a command-line flag.

use auth_core::AuthError;

use crate::PROVIDER;

/// A required setting was not given: `what` is missing; `setter` (e.g.
/// `KonturConfigBuilder::password`) gives it.
pub(crate) fn missing(what: &str, setter: &str) -> AuthError {
    AuthError::config(
        PROVIDER,
        format!("the {what} is missing; give it to {setter}"),
    )
}

/// `POST /V1/Authenticate` answered 401 or 403: the developer key, login or password is wrong.
pub(crate) fn authenticate_refused(status: u16, body: &[u8]) -> AuthError {
    AuthError::rejected(
        PROVIDER,
        Some(status),
        format!(
            "Authenticate refused the developer key, login or password ({}); check the values given to KonturConfigBuilder::api_client_id, KonturConfigBuilder::login and KonturConfigBuilder::password",
            auth_core::provider::excerpt(body)
        ),
    )
}

/// A token endpoint (`endpoint`, e.g. "Authenticate") answered with a redirect, which token
/// endpoints never follow; `setting` names the URL to check.
pub(crate) fn token_endpoint_redirect(endpoint: &str, status: u16, setting: &str) -> AuthError {
    AuthError::protocol(
        PROVIDER,
        format!(
            "{endpoint} answered with a redirect (HTTP {status}); token endpoints are not followed across redirects — check the {setting}"
        ),
    )
}

/// The answer to Authenticate is not a token; `why` says what it is instead.
pub(crate) fn not_a_token(why: &str) -> AuthError {
    AuthError::protocol(PROVIDER, why.to_owned())
}

/// The identity provider refused the client credentials with an OAuth `error` (and maybe an
/// `error_description`).
pub(crate) fn client_credentials_refused(
    status: u16,
    error: &str,
    description: Option<&str>,
) -> AuthError {
    AuthError::rejected(
        PROVIDER,
        Some(status),
        format!(
            "the identity provider refused the client credentials: {error}{}",
            description.map(|d| format!(" ({d})")).unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_authentication_names_the_builder_methods_and_is_permanent() {
        let error = authenticate_refused(401, b"Invalid credentials");
        let message = error.to_string();
        assert!(error.is_rejection() && !error.is_transient(), "{error:?}");
        assert!(message.contains("Invalid credentials"), "{message}");
        assert!(
            message.contains("KonturConfigBuilder::password") && !message.contains("KONTUR_"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_setting_names_its_setter() {
        let message = missing("password", "KonturConfigBuilder::password").to_string();
        assert!(
            message.contains("the password is missing; give it to KonturConfigBuilder::password"),
            "{message}"
        );
    }
}
