//! The one error type every provider maps into.

use std::fmt;

/// What went wrong while obtaining or using a credential.
///
/// Messages name the setting or field that is wrong and say what to do; they never contain a
/// secret (providers build them from field names and server messages, never from values).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A setting is missing or malformed (fix the configuration; retrying will not help).
    #[error("{provider}: {message}")]
    Config {
        /// The provider, e.g. `kontur`.
        provider: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The provider refused the credentials (wrong password, revoked key, rejected twice).
    #[error("{provider}: credentials rejected{}: {message}", status_suffix(*.status))]
    Rejected {
        /// The provider, e.g. `kontur`.
        provider: &'static str,
        /// The HTTP status of the refusal, when there was one.
        status: Option<u16>,
        /// What the provider said, and what to do.
        message: String,
    },
    /// The server could not be reached, or the exchange broke off (connection refused, reset,
    /// timeout). Always transient.
    #[error("{provider}: could not reach the server: {message}")]
    Transport {
        /// The provider, e.g. `kontur`.
        provider: &'static str,
        /// What failed.
        message: String,
    },
    /// The server answered with an error status that is not a rejection of the credentials.
    #[error("{provider}: server answered HTTP {status}: {message}")]
    Server {
        /// The provider, e.g. `kontur`.
        provider: &'static str,
        /// The HTTP status.
        status: u16,
        /// A short, secret-free excerpt of the answer.
        message: String,
    },
    /// The server's answer could not be understood (garbage, wrong JSON, too large).
    #[error("{provider}: unexpected answer from the server: {message}")]
    Protocol {
        /// The provider, e.g. `kontur`.
        provider: &'static str,
        /// What was wrong with the answer.
        message: String,
    },
    /// A credential store failed (unwritable folder, unreadable entry).
    #[error("credential store: {message}")]
    Store {
        /// What failed, and where.
        message: String,
    },
    /// A shared store could not be used over the network: unreachable, its TLS certificate not
    /// trusted, this client's password refused. Always transient for the cache.
    #[error("credential store: {message}")]
    StoreConnection {
        /// What failed, and what to do.
        message: String,
    },
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl AuthError {
    /// A configuration error.
    pub fn config(provider: &'static str, message: impl fmt::Display) -> Self {
        Self::Config {
            provider,
            message: message.to_string(),
        }
    }

    /// A rejection of the credentials.
    pub fn rejected(
        provider: &'static str,
        status: Option<u16>,
        message: impl fmt::Display,
    ) -> Self {
        Self::Rejected {
            provider,
            status,
            message: message.to_string(),
        }
    }

    /// A malformed answer.
    pub fn protocol(provider: &'static str, message: impl fmt::Display) -> Self {
        Self::Protocol {
            provider,
            message: message.to_string(),
        }
    }

    /// A store failure.
    pub fn store(message: impl fmt::Display) -> Self {
        Self::Store {
            message: message.to_string(),
        }
    }

    /// A failure to use a shared store over the network.
    pub fn store_connection(message: impl fmt::Display) -> Self {
        Self::StoreConnection {
            message: message.to_string(),
        }
    }

    /// An error status that is not a rejection; `body` is shortened to a safe excerpt.
    pub fn server(provider: &'static str, status: u16, body: &[u8]) -> Self {
        Self::Server {
            provider,
            status,
            message: excerpt(body),
        }
    }

    /// A transport failure from reqwest. The URL is left out: it may carry a query a user
    /// considers private.
    pub fn transport(provider: &'static str, error: reqwest::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_body() || error.is_decode() {
            "the answer broke off"
        } else {
            "request failed"
        };
        let error = error.without_url();
        let mut message = format!("{what}: {error}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        truncate_chars(&mut message, 400);
        Self::Transport { provider, message }
    }

    /// Whether trying again later may succeed: transport failures, 5xx, 408 and 429 are
    /// transient; a wrong password, a malformed key or a garbled answer are not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Server { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Self::Store { .. } | Self::StoreConnection { .. } => true,
            Self::Config { .. } | Self::Rejected { .. } | Self::Protocol { .. } => false,
        }
    }

    /// Whether the provider refused the credentials.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }
}

fn truncate_chars(text: &mut String, max: usize) {
    if let Some((index, _)) = text.char_indices().nth(max) {
        text.truncate(index);
    }
}

/// A short, printable excerpt of a server answer for error messages: at most 200 characters,
/// control characters replaced, so an HTML error page does not flood a terminal.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        "(empty body)".to_owned()
    } else {
        trimmed.to_owned()
    }
}
