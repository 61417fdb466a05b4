//! `kontur_auth::protocol::parse_header` on any text: no panic, and what it returns holds
//! together. A header we write ourselves reads back to the values written.
#![no_main]

use kontur_auth::protocol::{API_CLIENT_ID, TOKEN, parameter, parse_header, token_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_header(text) {
        Ok(pairs) => {
            assert!(!pairs.is_empty());
            for (name, value) in &pairs {
                assert!(!name.contains([',', '=']), "a name holds a separator");
                assert!(!value.contains(','), "a value holds the pair separator");
            }
            let _ = parameter(&pairs, API_CLIENT_ID);
            let _ = parameter(&pairs, TOKEN);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    // Round trip: the input split in two at the first NUL is an api_client_id and a token.
    let (id, token) = text.split_once('\0').unwrap_or((text, ""));
    let writable = |v: &str| !v.contains(',') && !v.ends_with([' ', '\t']);
    if writable(id) && writable(token) {
        let header = token_header(id, token);
        let pairs = parse_header(&header).expect("a header we wrote parses");
        assert_eq!(parameter(&pairs, API_CLIENT_ID), Some(id));
        assert_eq!(parameter(&pairs, TOKEN), Some(token));
    }
});
