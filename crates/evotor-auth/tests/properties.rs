//! Properties of reading what the Evotor Cloud sends (proptest, 256 cases each): `Authorization`
//! parsing and Basic decoding never panic and read back what a client writes; webhook bodies
//! never panic and are refused only with Evotor's 400 codes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use evotor_auth::ReceiverConfig;
use evotor_auth::webhook::{
    CloudTokenDelivery, InstallationEvent, Presented, ReceiptEvent, ServiceVerifier,
    SubscriptionEvent, UserCreate, UserVerify, WebhookError, decode_basic, parse_authorization,
    parse_body,
};
use proptest::prelude::*;
use secrecy::SecretString;

const SERVICE_TOKEN: &str = "3f0c1e2d-5b6a-4c7d-8e9f-0a1b2c3d4e5f";

fn verifier() -> ServiceVerifier {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .basic("login", SecretString::from("password"))
        .build()
        .unwrap();
    ServiceVerifier::new(&config)
}

fn any_case(word: &str, upper: &[bool]) -> String {
    word.chars()
        .zip(upper.iter().cycle())
        .map(|(c, up)| {
            if *up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn is_evotor_400(error: &WebhookError) -> bool {
    error.status().as_u16() == 400 && matches!(error.code(), Some(2001..=2003))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(presented) = parse_authorization(&bytes) {
            let (Presented::Bearer(credential) | Presented::Basic(credential) | Presented::Bare(credential)) = presented;
            prop_assert!(!credential.is_empty());
            prop_assert!(!credential.contains([' ', '\t']));
            let _ = verifier().verify(&presented);
        }
    }

    #[test]
    fn parsing_any_text_never_panics(text in any::<String>()) {
        let _ = parse_authorization(text.as_bytes());
        if let Some(decoded) = decode_basic(&text) {
            prop_assert_eq!(decoded.matches(':').count(), 1);
        }
    }

    #[test]
    fn bearer_reads_back_in_any_case_and_spacing(
        upper in proptest::collection::vec(any::<bool>(), 6),
        gap in "[ \t]{1,3}",
        token in "[!-~]{1,64}",
    ) {
        let header = format!("{}{gap}{token}", any_case("bearer", &upper));
        prop_assert_eq!(parse_authorization(header.as_bytes()), Ok(Presented::Bearer(token.as_str())));
    }

    #[test]
    fn basic_reads_back_and_decodes(
        upper in proptest::collection::vec(any::<bool>(), 5),
        login in "[^:\\p{Cc}]{1,20}",
        password in "[^:\\p{Cc}]{1,20}",
    ) {
        let encoded = STANDARD.encode(format!("{login}:{password}"));
        let header = format!("{} {encoded}", any_case("basic", &upper));
        prop_assert_eq!(parse_authorization(header.as_bytes()), Ok(Presented::Basic(encoded.as_str())));
        prop_assert_eq!(decode_basic(&encoded), Some(format!("{login}:{password}")));
    }

    #[test]
    fn decode_basic_of_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..60)) {
        if let Some(decoded) = decode_basic(&STANDARD.encode(&bytes)) {
            prop_assert_eq!(decoded.matches(':').count(), 1);
            prop_assert!(!decoded.chars().any(char::is_control));
        }
    }

    #[test]
    fn only_the_service_credential_verifies(token in "[!-~]{1,64}") {
        let verifier = verifier();
        let expected = token == SERVICE_TOKEN;
        let bearer = format!("Bearer {token}");
        prop_assert_eq!(verifier.verify(&parse_authorization(bearer.as_bytes()).unwrap()), expected);
        prop_assert_eq!(verifier.verify(&Presented::Bare(&token)), expected);
        prop_assert!(verifier.verify(&Presented::Bearer(SERVICE_TOKEN)));
    }

    #[test]
    fn any_body_parses_or_is_refused_with_evotor_codes(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "\\{(\"[a-zA-Z]{1,12}\":(\"[^\"\\\\]{0,12}\"|-?[0-9]{1,20}|null|true|\\[\\]|\\{\\}),?){0,6}\\}"
                .prop_map(String::into_bytes),
        ],
    ) {
        macro_rules! check {
            ($($t:ty),*) => {$(
                if let Err(error) = parse_body::<$t>(&body) {
                    prop_assert!(is_evotor_400(&error), "{:?}", error);
                }
            )*};
        }
        check!(UserCreate, UserVerify, CloudTokenDelivery, SubscriptionEvent, InstallationEvent, ReceiptEvent);
    }
}
