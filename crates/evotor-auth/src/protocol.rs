//! The client side of the wire: which header carries the Cloud token on which path.
//!
//! - v1 (`/api/v1/...`, the "inventories" API): `X-Authorization: <token>`, no scheme.
//! - v2 (`/stores`, `/devices`, `/employees`, `/bulks/...`): `Authorization: Bearer <token>` and
//!   `Accept: application/vnd.evotor.v2+json`.
//!
//! The receiving side's wire types live in [`crate::webhook`].

use http::HeaderName;

/// The header that carries the Cloud token on v1 paths (no scheme).
pub const X_AUTHORIZATION: HeaderName = HeaderName::from_static("x-authorization");

/// The media type of v2 answers (`Accept`) and v2 bodies (`Content-Type`).
pub const V2_MEDIA_TYPE: &str = "application/vnd.evotor.v2+json";

/// The media type of v2 bulk-operation bodies.
pub const V2_BULK_MEDIA_TYPE: &str = "application/vnd.evotor.v2+bulk+json";

/// The v1 path prefix.
pub const V1_PREFIX: &str = "/api/v1/";

/// Which generation of the Cloud API a request path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/v1/...`: `X-Authorization`.
    V1,
    /// Everything else (`/stores`, `/devices`, ...): `Authorization: Bearer` by default.
    V2,
}

/// Classifies `path` (a URL path, which may start with the base URL's own path prefix
/// `base_path`, e.g. `/` or `/evotor/`).
pub fn api_version(base_path: &str, path: &str) -> ApiVersion {
    let prefix = base_path.trim_end_matches('/');
    let relative = path.strip_prefix(prefix).unwrap_or(path);
    if relative.starts_with(V1_PREFIX) || relative == "/api/v1" {
        ApiVersion::V1
    } else {
        ApiVersion::V2
    }
}

/// The value of `X-Authorization` on v1 paths: the token itself.
pub fn x_authorization_value(token: &str) -> String {
    token.to_owned()
}

/// The value of `Authorization` on v2 paths: `Bearer <token>`.
pub fn bearer_value(token: &str) -> String {
    format!("Bearer {token}")
}

/// Whether `token` can travel in a header as is: visible ASCII, no space, at most 1024 bytes.
/// Cloud tokens are UUID strings; anything else is refused before it reaches the wire.
pub fn is_header_safe_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 1024 && token.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Literal lines from the protocol sheet, section 2.
    const SHEET_V1_REQUEST: &str = "GET https://api.evotor.ru/api/v1/inventories/stores/search\nX-Authorization: f46b89a5-8e80-4591-b0aa-94551790444b\nAccept: application/json";
    const SHEET_V2_REQUEST: &str = "GET https://api.evotor.ru/stores\nAuthorization: Bearer f46b89a5-8e80-4591-b0aa-94551790444b\nAccept: application/vnd.evotor.v2+json";
    const TOKEN: &str = "f46b89a5-8e80-4591-b0aa-94551790444b";

    #[test]
    fn v1_header_matches_the_sheet() {
        let line = format!("X-Authorization: {}", x_authorization_value(TOKEN));
        assert!(SHEET_V1_REQUEST.lines().any(|l| l == line), "{line}");
        assert_eq!(X_AUTHORIZATION.as_str(), "x-authorization");
    }

    #[test]
    fn v2_headers_match_the_sheet() {
        let line = format!("Authorization: {}", bearer_value(TOKEN));
        assert!(SHEET_V2_REQUEST.lines().any(|l| l == line), "{line}");
        let accept = format!("Accept: {V2_MEDIA_TYPE}");
        assert!(SHEET_V2_REQUEST.lines().any(|l| l == accept), "{accept}");
    }

    #[test]
    fn paths_are_classified_by_prefix() {
        assert_eq!(
            api_version("/", "/api/v1/inventories/stores/search"),
            ApiVersion::V1
        );
        assert_eq!(
            api_version("/", "/api/v1/inventories/stores/abc/products"),
            ApiVersion::V1
        );
        assert_eq!(api_version("/", "/stores"), ApiVersion::V2);
        assert_eq!(api_version("/", "/stores/abc/products"), ApiVersion::V2);
        assert_eq!(api_version("/", "/bulks/1"), ApiVersion::V2);
        assert_eq!(
            api_version("/evotor/", "/evotor/api/v1/inventories/devices/search"),
            ApiVersion::V1
        );
        assert_eq!(api_version("/evotor/", "/evotor/stores"), ApiVersion::V2);
        assert_eq!(api_version("/", "/api/v10/things"), ApiVersion::V2);
    }

    #[test]
    fn only_visible_ascii_tokens_are_header_safe() {
        assert!(is_header_safe_token(TOKEN));
        assert!(!is_header_safe_token(""));
        assert!(!is_header_safe_token("a b"));
        assert!(!is_header_safe_token("a\r\nX-Evil: 1"));
        assert!(!is_header_safe_token("токен"));
    }
}
