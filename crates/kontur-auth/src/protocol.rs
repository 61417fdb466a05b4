//! The `KonturEdiAuth` header: how it is written and read.
//!
//! Written the way Kontur's own SDK writes it: the scheme, one space, `name=value` pairs joined
//! by `,` with no space, `api_client_id` first. Read leniently: the scheme in any case, `,`
//! followed by optional spaces or tabs, each pair split on its first `=` (tokens end in `=`).

/// The scheme name.
pub const SCHEME: &str = "KonturEdiAuth";
/// The developer key parameter.
pub const API_CLIENT_ID: &str = "konturediauth_api_client_id";
/// The login parameter (Authenticate only).
pub const LOGIN: &str = "konturediauth_login";
/// The password parameter (Authenticate only).
pub const PASSWORD: &str = "konturediauth_password";
/// The token parameter (every call after Authenticate).
pub const TOKEN: &str = "konturediauth_token";
/// The Authenticate path.
pub const AUTHENTICATE_PATH: &str = "V1/Authenticate";

/// The header value for `POST /V1/Authenticate`.
pub fn authenticate_header(api_client_id: &str, login: &str, password: &str) -> String {
    format!("{SCHEME} {API_CLIENT_ID}={api_client_id},{LOGIN}={login},{PASSWORD}={password}")
}

/// The header value for every call after Authenticate.
pub fn token_header(api_client_id: &str, token: &str) -> String {
    format!("{SCHEME} {API_CLIENT_ID}={api_client_id},{TOKEN}={token}")
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The value does not start with `KonturEdiAuth `.
    NotKonturEdiAuth,
    /// A parameter has no `=`.
    ParameterWithoutValue,
    /// No parameters at all.
    Empty,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotKonturEdiAuth => "the header does not use the KonturEdiAuth scheme",
            Self::ParameterWithoutValue => "a KonturEdiAuth parameter has no '='",
            Self::Empty => "the KonturEdiAuth header has no parameters",
        })
    }
}

impl std::error::Error for ParseError {}

/// Reads a `KonturEdiAuth` header value into its `(name, value)` pairs, in order.
pub fn parse_header(value: &str) -> Result<Vec<(&str, &str)>, ParseError> {
    let value = value.trim_start();
    let (scheme, rest) = value
        .split_once([' ', '\t'])
        .ok_or(ParseError::NotKonturEdiAuth)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(ParseError::NotKonturEdiAuth);
    }
    let mut pairs = Vec::new();
    for part in rest.split(',') {
        let part = part.trim_matches([' ', '\t']);
        if part.is_empty() {
            continue;
        }
        let (name, value) = part
            .split_once('=')
            .ok_or(ParseError::ParameterWithoutValue)?;
        pairs.push((name.trim_matches([' ', '\t']), value));
    }
    if pairs.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(pairs)
}

/// The value of parameter `name` in a parsed header.
pub fn parameter<'a>(pairs: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticate_header_matches_the_sheet() {
        assert_eq!(
            authenticate_header("<id>", "<login>", "<password>"),
            "KonturEdiAuth konturediauth_api_client_id=<id>,konturediauth_login=<login>,konturediauth_password=<password>"
        );
    }

    #[test]
    fn token_header_matches_the_sheet() {
        assert_eq!(
            token_header("<id>", "<token>"),
            "KonturEdiAuth konturediauth_api_client_id=<id>,konturediauth_token=<token>"
        );
    }

    #[test]
    fn the_docs_example_with_a_tab_parses_and_keeps_trailing_equals() {
        let header = "KonturEdiAuth konturediauth_api_client_id=testClient-8ee1638deae84c86b8e2069955c2825a,\tkonturediauth_token=3IU0iPhuhHPZ6lrlumGz4pICEedhQ1Xm/vfzRFuA==";
        let pairs = parse_header(header).unwrap();
        assert_eq!(
            parameter(&pairs, API_CLIENT_ID),
            Some("testClient-8ee1638deae84c86b8e2069955c2825a")
        );
        assert_eq!(
            parameter(&pairs, TOKEN),
            Some("3IU0iPhuhHPZ6lrlumGz4pICEedhQ1Xm/vfzRFuA==")
        );
    }

    #[test]
    fn community_separators_and_scheme_case_are_tolerated() {
        let pairs = parse_header("konturediauth konturediauth_api_client_id=a , konturediauth_login=b,  konturediauth_password=c").unwrap();
        assert_eq!(
            pairs,
            vec![(API_CLIENT_ID, "a"), (LOGIN, "b"), (PASSWORD, "c")]
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(
            parse_header("Bearer abc"),
            Err(ParseError::NotKonturEdiAuth)
        );
        assert_eq!(
            parse_header("KonturEdiAuth"),
            Err(ParseError::NotKonturEdiAuth)
        );
        assert_eq!(parse_header("KonturEdiAuth  ,"), Err(ParseError::Empty));
        assert_eq!(
            parse_header("KonturEdiAuth konturediauth_token"),
            Err(ParseError::ParameterWithoutValue)
        );
    }
}
