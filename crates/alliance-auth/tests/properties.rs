//! Properties of the parsers that read what the bank sends and what users paste (proptest, 256
//! cases each): the lenient expiry-date reader, JWK validation and JWE decryption never panic;
//! generated valid dates, in every spelling the reader accepts, read back exactly.

use alliance_auth::jwe::decrypt;
use alliance_auth::protocol::parse_expiry;
use alliance_auth::{KeyRole, MerchantKey, PublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const KEY: &str = include_str!("fixtures/jwcrypto_key.json");

/// A valid instant with the offset it is written in, and how many fraction digits to write.
fn instant() -> impl Strategy<Value = (OffsetDateTime, usize)> {
    (
        (0i32..=9999, 1u8..=12, 1u8..=31),
        (0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000_000, 0usize..=9),
        (any::<bool>(), 0i8..=23, 0i8..=59),
    )
        .prop_filter_map(
            "a real calendar date",
            |((year, month, day), (h, m, s, nanos, digits), (negative, oh, om))| {
                let month = Month::try_from(month).ok()?;
                let date = Date::from_calendar_date(year, month, day).ok()?;
                // Only the written digits survive: keep the nanoseconds those digits can carry.
                let kept = nanos / 10u32.pow(9 - digits as u32) * 10u32.pow(9 - digits as u32);
                let time = Time::from_hms_nano(h, m, s, kept).ok()?;
                let sign = if negative { -1 } else { 1 };
                let offset = UtcOffset::from_hms(sign * oh, sign * om, 0).ok()?;
                Some((
                    PrimitiveDateTime::new(date, time).assume_offset(offset),
                    digits,
                ))
            },
        )
}

/// `at` written the way the bank (or a variant the reader accepts) writes it.
fn spelled(at: OffsetDateTime, digits: usize, style: (bool, bool, bool, u8, bool)) -> String {
    let (dots, t, comma, offset_style, space) = style;
    let separator = if dots { '.' } else { '-' };
    let mut text = format!(
        "{:04}{separator}{:02}{separator}{:02}{}{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        if t { 'T' } else { ' ' },
        at.hour(),
        at.minute(),
        at.second()
    );
    if digits > 0 {
        let fraction = format!("{:09}", at.nanosecond());
        text.push(if comma { ',' } else { '.' });
        text.push_str(&fraction[..digits]);
    }
    let offset = at.offset();
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let (h, m) = (h.unsigned_abs(), m.unsigned_abs());
    if space {
        text.push(' ');
    }
    match offset_style % 3 {
        _ if offset.is_utc() && offset_style == 3 => text.push('Z'),
        0 => text.push_str(&format!("{sign}{h:02}{m:02}")),
        1 => text.push_str(&format!("{sign}{h:02}:{m:02}")),
        _ if m == 0 => text.push_str(&format!("{sign}{h:02}")),
        _ => text.push_str(&format!("{sign}{h:02}:{m:02}")),
    }
    text
}

fn merchant() -> MerchantKey {
    MerchantKey::from_jwk(KEY).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_valid_date_reads_back_in_every_spelling(
        (at, digits) in instant(),
        style in (any::<bool>(), any::<bool>(), any::<bool>(), 0u8..4, any::<bool>()),
    ) {
        let text = spelled(at, digits, style);
        prop_assert_eq!(parse_expiry(&text, false), Some(at), "{}", text);
        prop_assert_eq!(parse_expiry(&text, true), Some(at), "{}", text);
    }

    #[test]
    fn a_date_without_offset_is_utc_only_when_assumed(
        (at, digits) in instant(),
    ) {
        let text = spelled(at, digits, (false, false, false, 0, false));
        let without_offset = &text[..text.len() - 5];
        prop_assert_eq!(parse_expiry(without_offset, false), None);
        let utc = PrimitiveDateTime::new(at.date(), at.time()).assume_utc();
        prop_assert_eq!(parse_expiry(without_offset, true), Some(utc));
    }

    #[test]
    fn parse_expiry_never_panics(text in any::<String>(), assume_utc in any::<bool>()) {
        let _ = parse_expiry(&text, assume_utc);
    }

    #[test]
    fn parse_expiry_never_panics_on_date_like_text(
        text in "[0-9]{0,5}[-.]?[0-9]{0,3}[-.]?[0-9]{0,3}[ T]?[0-9:]{0,9}([.,][0-9]{0,12})? ?([Zz]|[+-][0-9:]{0,6})?",
        assume_utc in any::<bool>(),
    ) {
        if let Some(at) = parse_expiry(&text, assume_utc) {
            let _ = at.unix_timestamp();
        }
    }

    #[test]
    fn jwk_validation_never_panics(text in any::<String>()) {
        let _ = MerchantKey::from_jwk(&text);
        let _ = PublicKey::from_jwk(KeyRole::ServerPublic, &text);
    }

    #[test]
    fn jwk_validation_of_any_coordinates_never_panics_nor_shows_d(
        x in proptest::collection::vec(any::<u8>(), 0..60),
        y in proptest::collection::vec(any::<u8>(), 0..60),
        d in proptest::collection::vec(any::<u8>(), 8..60),
    ) {
        let (x, y, d) = (
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y),
            URL_SAFE_NO_PAD.encode(d),
        );
        let jwk = format!(r#"{{"kty":"EC","crv":"P-384","x":"{x}","y":"{y}","d":"{d}"}}"#);
        if let Err(error) = MerchantKey::from_jwk(&jwk)
            && !x.contains(&d)
            && !y.contains(&d)
        {
            prop_assert!(!error.to_string().contains(&d));
            let debug = format!("{error:?}");
            prop_assert!(!debug.contains(&d));
        }
    }

    #[test]
    fn decrypting_any_text_never_panics(text in any::<String>()) {
        prop_assert!(decrypt(&merchant(), &text).is_err());
    }

    #[test]
    fn decrypting_any_five_parts_never_panics(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 5),
    ) {
        let compact = parts
            .iter()
            .map(|part| URL_SAFE_NO_PAD.encode(part))
            .collect::<Vec<_>>()
            .join(".");
        prop_assert!(decrypt(&merchant(), &compact).is_err());
    }
}
