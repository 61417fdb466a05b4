//! Reading an access token's expiry from its JWT `exp` claim, without verifying the signature.
//!
//! The client is not the verifier (the node is, with the authorization service's public key);
//! it only needs to know when to refresh. A token that lies about `exp` is rejected by the node
//! with 401, which the cache handles.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The latest `exp` taken seriously: 9999-12-31T23:59:59Z. Anything beyond is a broken claim.
const LATEST_EXP: u64 = 253_402_300_799;

/// Why a token's expiry could not be read. Never contains any part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryProblem {
    /// Not three dot-separated parts (`header.payload.signature`).
    NotAJwt,
    /// The payload is not base64url.
    PayloadNotBase64,
    /// The payload is not a JSON object.
    PayloadNotJson,
    /// The payload has no `exp` claim.
    NoExp,
    /// `exp` is not a non-negative number of seconds before the year 10000.
    BadExp,
}

impl fmt::Display for ExpiryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAJwt => "the access token is not a JWT (expected header.payload.signature)",
            Self::PayloadNotBase64 => "the access token's payload is not base64url",
            Self::PayloadNotJson => "the access token's payload is not a JSON object",
            Self::NoExp => "the access token has no `exp` claim",
            Self::BadExp => "the access token's `exp` claim is not a plausible Unix time",
        })
    }
}

/// When the JWT `token` expires, from its `exp` claim (Unix seconds; a fractional value is
/// rounded down). The signature is not checked.
pub fn expiry_of(token: &str) -> Result<SystemTime, ExpiryProblem> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ExpiryProblem::NotAJwt);
    };
    let payload = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ExpiryProblem::PayloadNotBase64)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|_| ExpiryProblem::PayloadNotJson)?;
    let claims = claims.as_object().ok_or(ExpiryProblem::PayloadNotJson)?;
    let exp = claims.get("exp").ok_or(ExpiryProblem::NoExp)?;
    let seconds = if let Some(whole) = exp.as_u64() {
        whole
    } else if let Some(fractional) = exp.as_f64().filter(|f| f.is_finite() && *f >= 0.0) {
        fractional.floor() as u64
    } else {
        return Err(ExpiryProblem::BadExp);
    };
    if seconds > LATEST_EXP {
        return Err(ExpiryProblem::BadExp);
    }
    Ok(UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_exp_from_a_literal_token() {
        // {"alg":"RS256","typ":"JWT"} . {"sub":"user@example.com","exp":1700000000,"roles":["user"]}
        let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyQGV4YW1wbGUuY29tIiwiZXhwIjoxNzAwMDAwMDAwLCJyb2xlcyI6WyJ1c2VyIl19.AAAA";
        assert_eq!(
            expiry_of(token),
            Ok(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn accepts_padding_and_fractional_exp() {
        let padded = format!(
            "a.{}.b",
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp":5}"#)
        );
        assert_eq!(expiry_of(&padded), Ok(UNIX_EPOCH + Duration::from_secs(5)));
        assert_eq!(
            expiry_of(&token_with(r#"{"exp":1700000000.9}"#)),
            Ok(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(expiry_of("opaque-token"), Err(ExpiryProblem::NotAJwt));
        assert_eq!(expiry_of("a.b.c.d"), Err(ExpiryProblem::NotAJwt));
        assert_eq!(expiry_of("a.!!!.c"), Err(ExpiryProblem::PayloadNotBase64));
        assert_eq!(
            expiry_of(&token_with("not json")),
            Err(ExpiryProblem::PayloadNotJson)
        );
        assert_eq!(
            expiry_of(&token_with("[1]")),
            Err(ExpiryProblem::PayloadNotJson)
        );
        assert_eq!(
            expiry_of(&token_with(r#"{"sub":"x"}"#)),
            Err(ExpiryProblem::NoExp)
        );
        for bad in [
            r#"{"exp":"1700000000"}"#,
            r#"{"exp":-5}"#,
            r#"{"exp":1e300}"#,
            r#"{"exp":null}"#,
            r#"{"exp":99999999999999}"#,
        ] {
            assert_eq!(
                expiry_of(&token_with(bad)),
                Err(ExpiryProblem::BadExp),
                "{bad}"
            );
        }
    }

    #[test]
    fn problems_never_quote_the_token() {
        let secret = "sekrit-payload";
        let problem = expiry_of(&format!("x.{secret}.y")).unwrap_err();
        assert!(!problem.to_string().contains(secret));
        assert!(!format!("{problem:?}").contains(secret));
    }
}
