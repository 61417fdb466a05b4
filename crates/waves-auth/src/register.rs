//! Registering a user with the authorization service: `POST {auth}/v1/user`, HTTP 201.

use std::fmt;

use auth_core::AuthError;
use auth_core::HttpSettings;
use auth_core::provider::read_body_limited;
use http::StatusCode;
use http::header::{ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};

use crate::PROVIDER;
use crate::config::{endpoint, parse_auth_url};
use crate::error::what_the_service_said;
use crate::protocol::{LoginField, REGISTER_PATH, RegisterRequest};
use crate::source::TOKEN_MAX_BYTES;

/// The language of the service's e-mails to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// `en`. The default.
    #[default]
    En,
    /// `ru`.
    Ru,
}

impl Locale {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }
}

/// What kind of user registers (the wire field `source`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UserKind {
    /// `license`: the owner of a platform licence. The default.
    #[default]
    License,
    /// `voting`: a WE Voting user.
    Voting,
    /// Another value the deployment expects (WE's web client sends `east-client`).
    Other(String),
}

impl UserKind {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::License => "license",
            Self::Voting => "voting",
            Self::Other(value) => value,
        }
    }
}

/// A user registration: `POST {auth}/v1/user` with
/// `{"login","password","locale","source"}`; only HTTP 201 means the user was registered.
///
/// Defaults: locale `en`, kind (`source`) `license`, the login sent as `login` (the documented field;
/// [`LoginField::Username`] sends `username` instead, as WE's web client does — never both).
#[derive(Clone)]
pub struct Registration {
    login: String,
    password: SecretString,
    locale: Locale,
    kind: UserKind,
    login_field: LoginField,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("locale", &self.locale)
            .field("kind", &self.kind)
            .field("login_field", &self.login_field)
            .finish()
    }
}

impl Registration {
    /// A registration of `login` (an e-mail address) with `password`.
    pub fn new(login: impl Into<String>, password: SecretString) -> Self {
        Self {
            login: login.into(),
            password,
            locale: Locale::default(),
            kind: UserKind::default(),
            login_field: LoginField::default(),
        }
    }

    /// The e-mail language. Default `en`.
    pub fn locale(mut self, locale: Locale) -> Self {
        self.locale = locale;
        self
    }

    /// The kind of user (sent as `source`). Default `license`.
    pub fn kind(mut self, kind: UserKind) -> Self {
        self.kind = kind;
        self
    }

    /// Which field carries the login. Default [`LoginField::Login`].
    pub fn login_field(mut self, field: LoginField) -> Self {
        self.login_field = field;
        self
    }

    /// Sends it to the authorization service at `auth_url`. `Ok` only on HTTP 201; any other
    /// answer is an error saying what the service said (secrets removed).
    pub async fn submit(&self, auth_url: &str, http: &HttpSettings) -> Result<(), AuthError> {
        if self.login.trim().is_empty() {
            return Err(AuthError::config(
                PROVIDER,
                "the registration's login is empty",
            ));
        }
        if self.password.expose_secret().is_empty() {
            return Err(AuthError::config(
                PROVIDER,
                "the registration's password is empty",
            ));
        }
        let url = endpoint(&parse_auth_url(Some(auth_url))?, REGISTER_PATH);
        let body = serde_json::to_string(&RegisterRequest {
            login_field: self.login_field,
            login: &self.login,
            password: self.password.expose_secret(),
            locale: self.locale.as_str(),
            source: self.kind.as_str(),
        })
        .map_err(|_| AuthError::config(PROVIDER, "the registration cannot be written as JSON"))?;
        let response = http
            .build_client(PROVIDER)?
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let body = read_body_limited(PROVIDER, response, TOKEN_MAX_BYTES).await?;
        if status == StatusCode::CREATED {
            return Ok(());
        }
        let said = what_the_service_said(&body, &[self.password.expose_secret()]);
        if status.is_success() {
            return Err(AuthError::protocol(
                PROVIDER,
                format!(
                    "registration answered HTTP {} instead of 201, so the user is not known to be registered ({said})",
                    status.as_u16()
                ),
            ));
        }
        Err(AuthError::Server {
            provider: PROVIDER,
            status: status.as_u16(),
            message: format!("registration failed: {said}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_are_the_sheets() {
        assert_eq!(Locale::En.as_str(), "en");
        assert_eq!(Locale::Ru.as_str(), "ru");
        assert_eq!(UserKind::License.as_str(), "license");
        assert_eq!(UserKind::Voting.as_str(), "voting");
        assert_eq!(
            UserKind::Other("east-client".into()).as_str(),
            "east-client"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let registration = Registration::new("user@example.com", SecretString::from("pw-secret"));
        assert!(!format!("{registration:?}").contains("pw-secret"));
    }
}
