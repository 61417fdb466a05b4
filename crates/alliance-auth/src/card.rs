//! Card fields encrypted to the bank's payment key: `encryptedCardNumber` (the PAN as plain
//! digits) and `encryptedCardData` (`YYMMCVV`, or `YYMM` for `NONCVV` transactions).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::JweError;
use crate::jwe;
use crate::key::PublicKey;

/// A card value that cannot be used; the message never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CardError(String);

/// A card number (PAN): 12 to 19 digits. Spaces and hyphens in the input are dropped.
/// `Debug` shows only the last four digits.
#[derive(Clone)]
pub struct CardNumber(SecretString);

impl CardNumber {
    /// Checks and keeps a PAN such as `5573670000000304` or `5573 6700 0000 0304`.
    pub fn new(pan: &str) -> Result<Self, CardError> {
        let digits: String = pan.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(CardError(
                "the card number must be digits only (spaces and hyphens are allowed between them)"
                    .into(),
            ));
        }
        if !(12..=19).contains(&digits.len()) {
            return Err(CardError(format!(
                "the card number has {} digits; a card number has 12 to 19",
                digits.len()
            )));
        }
        Ok(Self(SecretString::from(digits)))
    }

    /// The digits, as encrypted.
    pub fn digits(&self) -> &SecretString {
        &self.0
    }

    /// `encryptedCardNumber`: the digits encrypted to the payment key.
    pub fn encrypt(&self, payment_key: &PublicKey) -> Result<String, JweError> {
        jwe::encrypt(payment_key, self.0.expose_secret().as_bytes())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.expose_secret();
        write!(f, "CardNumber(…{})", &digits[digits.len() - 4..])
    }
}

/// The card's expiry and, unless the transaction is `NONCVV`, its CVV: the plaintext of
/// `encryptedCardData`, `YYMMCVV` (e.g. `2503111` for 03/25 with CVV 111) or `YYMM`.
/// `Debug` shows the expiry only.
#[derive(Clone)]
pub struct CardData {
    year: u8,
    month: u8,
    cvv: Option<SecretString>,
}

impl CardData {
    /// Expiry month (1–12), year (`25` or `2025`) and the 3- or 4-digit CVV.
    pub fn with_cvv(month: u8, year: u16, cvv: &str) -> Result<Self, CardError> {
        if !(3..=4).contains(&cvv.len()) || !cvv.chars().all(|c| c.is_ascii_digit()) {
            return Err(CardError("the CVV must be 3 or 4 digits".into()));
        }
        let mut data = Self::without_cvv(month, year)?;
        data.cvv = Some(SecretString::from(cvv));
        Ok(data)
    }

    /// Expiry only, for `NONCVV` transactions: `YYMM`.
    pub fn without_cvv(month: u8, year: u16) -> Result<Self, CardError> {
        if !(1..=12).contains(&month) {
            return Err(CardError(format!(
                "the expiry month is {month}; it must be 1 to 12"
            )));
        }
        let year = match year {
            0..=99 => year as u8,
            2000..=2099 => (year - 2000) as u8,
            _ => {
                return Err(CardError(format!(
                    "the expiry year is {year}; give it as 25 or 2025"
                )));
            }
        };
        Ok(Self {
            year,
            month,
            cvv: None,
        })
    }

    /// The plaintext: `YYMMCVV` or `YYMM`.
    pub fn plaintext(&self) -> SecretString {
        let cvv = self.cvv.as_ref().map(|c| c.expose_secret()).unwrap_or("");
        SecretString::from(format!("{:02}{:02}{cvv}", self.year, self.month))
    }

    /// `encryptedCardData`: the plaintext encrypted to the payment key.
    pub fn encrypt(&self, payment_key: &PublicKey) -> Result<String, JweError> {
        jwe::encrypt(payment_key, self.plaintext().expose_secret().as_bytes())
    }
}

impl fmt::Debug for CardData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardData")
            .field(
                "expiry",
                &format_args!("{:02}/{:02}", self.month, self.year),
            )
            .field("cvv", &self.cvv.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MerchantKey;

    const REPAIRED: &str = r#"{"kty":"EC","crv":"P-384",
 "d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
 "x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
 "y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

    #[test]
    fn sheet_examples() {
        // "`encryptedCardData` = JWE of `YYMMCVV`, e.g. `2503111` for 03/25 with CVV 111."
        assert_eq!(
            CardData::with_cvv(3, 25, "111")
                .unwrap()
                .plaintext()
                .expose_secret(),
            "2503111"
        );
        assert_eq!(
            CardData::with_cvv(3, 2025, "111")
                .unwrap()
                .plaintext()
                .expose_secret(),
            "2503111"
        );
        assert_eq!(
            CardData::without_cvv(3, 25)
                .unwrap()
                .plaintext()
                .expose_secret(),
            "2503"
        );
        assert_eq!(
            CardNumber::new("5573670000000304")
                .unwrap()
                .digits()
                .expose_secret(),
            "5573670000000304"
        );
        assert_eq!(
            CardNumber::new("5573 6700-0000 0304")
                .unwrap()
                .digits()
                .expose_secret(),
            "5573670000000304"
        );
    }

    #[test]
    fn encrypted_fields_decrypt_to_the_plaintext() {
        let key = MerchantKey::from_jwk(REPAIRED).unwrap();
        let number = CardNumber::new("5573670000000304")
            .unwrap()
            .encrypt(key.public_key())
            .unwrap();
        assert_eq!(jwe::decrypt(&key, &number).unwrap(), b"5573670000000304");
        let data = CardData::with_cvv(3, 25, "111")
            .unwrap()
            .encrypt(key.public_key())
            .unwrap();
        assert_eq!(jwe::decrypt(&key, &data).unwrap(), b"2503111");
    }

    #[test]
    fn bad_values_are_refused_without_echoing_them() {
        for pan in ["", "5573abcd00000304", "12345", "55736700000003041234"] {
            let error = CardNumber::new(pan).unwrap_err();
            if pan.len() > 4 {
                assert!(!error.to_string().contains(pan), "{error}");
            }
        }
        assert!(CardData::with_cvv(13, 25, "111").is_err());
        assert!(CardData::with_cvv(0, 25, "111").is_err());
        assert!(CardData::with_cvv(3, 1999, "111").is_err());
        let error = CardData::with_cvv(3, 25, "11a").unwrap_err();
        assert!(!error.to_string().contains("11a"));
        assert!(CardData::with_cvv(3, 25, "12345").is_err());
        assert_eq!(
            CardData::with_cvv(12, 30, "1234")
                .unwrap()
                .plaintext()
                .expose_secret(),
            "30121234"
        );
    }

    #[test]
    fn debug_hides_pan_and_cvv() {
        let number = CardNumber::new("5573670000000304").unwrap();
        assert_eq!(format!("{number:?}"), "CardNumber(…0304)");
        let data = CardData::with_cvv(3, 25, "987").unwrap();
        let debug = format!("{data:?}");
        assert!(!debug.contains("987"), "{debug}");
        assert!(debug.contains("03/25"), "{debug}");
    }
}
