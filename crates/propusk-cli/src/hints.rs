//! The command line's own words after a library's message: the libraries say what is wrong in
//! terms of their API; here each such message gains the flag or variable that sets the thing it
//! names.

/// What a library message says, and the hint the command line adds to it.
const HINTS: &[(&str, &str)] = &[
    (
        "allow that origin",
        "propusk: allow it with --allow-origin ORIGIN or PROPUSK_ALLOW_ORIGINS",
    ),
    (
        "folder for the store",
        "propusk: choose the folder with --cache-dir PATH or PROPUSK_CACHE_DIR",
    ),
    (
        "use a folder of your own",
        "propusk: choose the folder with --cache-dir PATH or PROPUSK_CACHE_DIR",
    ),
    (
        "given as extra roots",
        "propusk: give the CA's PEM file in PROPUSK_STORE_CA_FILE",
    ),
];

/// `message` with the command line's hint added, when a library message names something the
/// command line sets.
pub fn with_cli_hint(message: String) -> String {
    match HINTS.iter().find(|(said, _)| message.contains(said)) {
        Some((_, hint)) => format!("{message} ({hint})"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_message_gains_the_flag_that_sets_what_it_names() {
        let said = with_cli_hint(
            "the credential is not sent to https://x.example: ...; allow that origin (AuthClient::allow_origin)".to_owned(),
        );
        assert!(
            said.ends_with(
                "(propusk: allow it with --allow-origin ORIGIN or PROPUSK_ALLOW_ORIGINS)"
            ),
            "{said}"
        );
        assert_eq!(with_cli_hint("unrelated".to_owned()), "unrelated");
    }
}
