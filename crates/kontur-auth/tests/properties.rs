//! Properties of the `KonturEdiAuth` header (proptest, 256 cases each): what we write reads back,
//! and reading never panics on any text.

use kontur_auth::protocol::{
    API_CLIENT_ID, LOGIN, PASSWORD, SCHEME, TOKEN, authenticate_header, parameter, parse_header,
    token_header,
};
use proptest::prelude::*;

/// A value our writer can carry: no `,` (the pair separator), no whitespace at the ends.
const VALUE: &str = "[^,\\s]{1,40}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn token_header_round_trips(id in VALUE, token in "[A-Za-z0-9+/]{0,64}={0,2}") {
        let header = token_header(&id, &token);
        let pairs = parse_header(&header).unwrap();
        prop_assert_eq!(parameter(&pairs, API_CLIENT_ID), Some(id.as_str()));
        prop_assert_eq!(parameter(&pairs, TOKEN), Some(token.as_str()));
        prop_assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn authenticate_header_round_trips(id in VALUE, login in VALUE, password in VALUE) {
        let header = authenticate_header(&id, &login, &password);
        let pairs = parse_header(&header).unwrap();
        prop_assert_eq!(parameter(&pairs, API_CLIENT_ID), Some(id.as_str()));
        prop_assert_eq!(parameter(&pairs, LOGIN), Some(login.as_str()));
        prop_assert_eq!(parameter(&pairs, PASSWORD), Some(password.as_str()));
    }

    #[test]
    fn the_scheme_reads_in_any_case_with_any_spacing(
        upper in proptest::collection::vec(any::<bool>(), SCHEME.len()),
        gap in "[ \t]{1,3}",
        separator in ",[ \t]{0,3}",
        token in "[A-Za-z0-9]{1,20}=?",
    ) {
        let scheme: String = SCHEME
            .chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        let header = format!("{scheme}{gap}{API_CLIENT_ID}=id{separator}{TOKEN}={token}");
        let pairs = parse_header(&header).unwrap();
        prop_assert_eq!(parameter(&pairs, API_CLIENT_ID), Some("id"));
        prop_assert_eq!(parameter(&pairs, TOKEN), Some(token.as_str()));
    }

    #[test]
    fn parsing_any_text_never_panics(text in any::<String>()) {
        if let Ok(pairs) = parse_header(&text) {
            prop_assert!(!pairs.is_empty());
            for (name, value) in pairs {
                prop_assert!(!name.contains([',', '=']));
                prop_assert!(!value.contains(','));
            }
        }
    }

    #[test]
    fn parsing_header_like_text_never_panics(
        text in "(?i:konturediauth)[ \t]{0,2}[a-z_=, \t0-9]{0,60}",
    ) {
        let _ = parse_header(&text);
    }
}
